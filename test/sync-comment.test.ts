// The merged PR hears what sync did (issue 10): the sync command, in-process, through the
// real Octokit against the GitHub emulator and the real SDK against the Cloudflare emulator.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createGitHubClient, type Octokit } from '../action/src/adapters/github.js'
import { appliedCommentMarker } from '../action/src/core/render/sync.js'
import { startCloudflareEmulator, type CloudflareEmulator } from './emulators/cloudflare.js'
import { startGitHubEmulator, type GitHubEmulator } from './emulators/github.js'
import { runCaptured, testRuntime } from './harness/runtime.js'

const ACCOUNT = 'abcdef0123456789abcdef0123456789'
const RUN_URL = 'https://github.com/acme/zero-trust/actions/runs/4242'
const EXCLUSIONS = 'exclusions: []\n'

let gh: GitHubEmulator
let cf: CloudflareEmulator
let person: Octokit

beforeEach(async () => {
  gh = await startGitHubEmulator({ files: { 'lists/ips.txt': '', 'lists/hosts.txt': '', 'exclusions.yaml': EXCLUSIONS } })
  cf = await startCloudflareEmulator({ accountId: ACCOUNT })
  person = createGitHubClient({ token: gh.token, baseUrl: gh.url, retries: 0, pacing: false })
})
afterEach(async () => {
  await gh.close()
  await cf.close()
})

/** A person's PR that sets the list files, merged with the merge button: the merge commit's SHA. */
async function mergePr(ips: string[], hosts: string[]): Promise<{ sha: string; number: number }> {
  const branch = `person/change-${gh.pulls.length + 1}`
  await gh.pushAsHuman(branch, { 'lists/ips.txt': ips.map((v) => `${v}\n`).join(''), 'lists/hosts.txt': hosts.map((v) => `${v}\n`).join('') }, 'Change the lists\n')
  const { data } = await person.rest.pulls.create({ owner: gh.owner, repo: gh.repo, head: branch, base: gh.defaultBranch, title: 'Change the lists' })
  return { sha: await gh.mergePull(data.number), number: data.number }
}

/** sync as the workflow runs it, on the files of `sha`. */
async function sync(sha: string, ips: string[], hosts: string[], extra: Record<string, string> = {}) {
  const rt = await testRuntime({
    withRepoFiles: false,
    files: { 'lists/ips.txt': ips.map((v) => `${v}\n`).join(''), 'lists/hosts.txt': hosts.map((v) => `${v}\n`).join(''), 'exclusions.yaml': EXCLUSIONS },
    github: { owner: gh.owner, repo: gh.repo, apiUrl: gh.url, sha, runUrl: RUN_URL }
  })
  const o = await runCaptured(rt, {
    'command': 'sync', 'cloudflare-account-id': ACCOUNT, 'cloudflare-api-token': cf.token, 'cloudflare-api-url': cf.url, 'github-token': gh.token, ...extra
  })
  return { ...o, rt }
}

const commentWrites = () => gh.requests.filter((r) => (r.method === 'POST' || r.method === 'PATCH') && /\/comments/.test(r.path))

describe('the merged PR hears what sync did', () => {
  it('a merged PR gets the applied comment: counts, lists touched, the policy, the run link; no values', async () => {
    const { sha, number } = await mergePr(['203.0.113.7'], ['api.pinned.example'])
    const o = await sync(sha, ['203.0.113.7'], ['api.pinned.example'])
    expect(o.error).toBeUndefined()
    const pr = gh.pulls.find((p) => p.number === number)!
    expect(pr.comments).toHaveLength(1)
    const c = pr.comments[0]!
    expect(c.startsWith(appliedCommentMarker(sha))).toBe(true)
    expect(c).toContain('### ✅ Applied to Cloudflare Gateway')
    expect(c).toMatch(/\*\*Applied:\*\* 2 added, 2 lists created, policy created \(5 changes, \d+ write calls\)\./)
    expect(c).toContain('| `gateway-tls-bypass IP 1` | created with 1 entry |')
    expect(c).toContain('**Policy `gateway-tls-bypass`** was created')
    expect(c).toContain(`[sync workflow run](${RUN_URL})`)
    // Counts and list names only: the values stay in the job summary.
    expect(c).not.toContain('203.0.113.7')
    expect(c).not.toContain('api.pinned.example')
    expect(o.rt.summaries.at(-1)).toMatch(/^### Cloudflare Gateway sync: applied\n\n\*\*Applied:\*\* 2 added/)
  })

  it('a re-run for the same commit updates its one comment (failure, then applied)', async () => {
    const { sha, number } = await mergePr(['203.0.113.7'], [])
    cf.inject({ method: 'POST', path: /\/gateway\/lists$/, status: 403, times: 1 })
    const failed = await sync(sha, ['203.0.113.7'], [])
    expect(failed.error?.message).toMatch(/Creating list .* failed/)
    const pr = gh.pulls.find((p) => p.number === number)!
    expect(pr.comments).toHaveLength(1)
    expect(pr.comments[0]).toContain('### ❌ Sync failed while applying the plan to Cloudflare')
    expect(pr.comments[0]).toContain('The next sync run re-reads Cloudflare and completes it')
    expect(failed.rt.summaries.at(-1)).toMatch(/^### Cloudflare Gateway sync: failed\n\n\*\*Failed while applying the plan to Cloudflare\.\*\*/)

    const ok = await sync(sha, ['203.0.113.7'], [])
    expect(ok.error).toBeUndefined()
    expect(pr.comments).toHaveLength(1)
    expect(pr.comments[0]).toContain('### ✅ Applied to Cloudflare Gateway')
    expect(commentWrites().map((r) => r.method)).toEqual(['POST', 'PATCH'])

    // Nothing left to do: the old PR is left alone (the daily run must not rewrite it).
    const quiet = await sync(sha, ['203.0.113.7'], [])
    expect(quiet.result?.result).toMatchObject({ writes: 0 })
    expect(commentWrites()).toHaveLength(2)
    expect(quiet.rt.summaries.at(-1)).toMatch(/^### Cloudflare Gateway sync: no changes\n\n\*\*No changes:\*\* Cloudflare already matches the list files \(no write calls\)\./)
  })

  it('a guard refusal says how to apply anyway; the sync still fails', async () => {
    const ips = Array.from({ length: 20 }, (_, i) => `198.51.100.${i + 1}`)
    const first = await mergePr(ips, [])
    expect((await sync(first.sha, ips, [])).error).toBeUndefined()
    const { sha, number } = await mergePr(ips.slice(0, 5), [])
    const o = await sync(sha, ips.slice(0, 5), [])
    expect(o.error?.name).toBe('TooMuchChangeError')
    const c = gh.pulls.find((p) => p.number === number)!.comments
    expect(c).toHaveLength(1)
    expect(c[0]).toContain('### ⛔ Not applied: sync refused this change')
    expect(c[0]).toContain('run the sync workflow by hand with the `force` input (*Run workflow › force: true*)')
    expect(c[0]).toContain('Planned: 15 to remove (15 changes).')
    expect(o.rt.summaries.at(-1)).toMatch(/^### Cloudflare Gateway sync: refused, nothing written\n/)
    expect([...cf.lists.values()].filter((l) => l.type === 'IP').flatMap((l) => l.items)).toHaveLength(20)
  })

  it('a direct push with no PR gets no comment', async () => {
    const sha = await gh.commitToDefault({ 'lists/ips.txt': '203.0.113.7\n' }, 'Direct push\n')
    const o = await sync(sha, ['203.0.113.7'], [])
    expect(o.error).toBeUndefined()
    expect(gh.requests.some((r) => r.method === 'GET' && r.path.includes(`/commits/${sha}/pulls`))).toBe(true)
    expect(commentWrites()).toHaveLength(0)
  })

  it('a person who pastes the marker into their own comment does not get it overwritten', async () => {
    const { sha, number } = await mergePr(['203.0.113.7'], [])
    await gh.commentAsHuman(number, `${appliedCommentMarker(sha)}\nmy own words`)
    expect((await sync(sha, ['203.0.113.7'], [])).error).toBeUndefined()
    const c = gh.pulls.find((p) => p.number === number)!.comments
    expect(c).toHaveLength(2)
    expect(c[0]).toBe(`${appliedCommentMarker(sha)}\nmy own words`)
    expect(c[1]).toContain('### ✅ Applied to Cloudflare Gateway')
  })

  it.each([
    ['403 (no pull-requests: write)', 403, /Grant the sync job pull-requests: write/],
    ['422', 422, /Could not comment on the pull request of commit [0-9a-f]{7}: /]
  ])('a comment that cannot be written is a warning, never a failed sync: %s', async (_n, status, warning) => {
    const { sha } = await mergePr(['203.0.113.7'], [])
    gh.inject({ method: 'POST', path: /\/issues\/\d+\/comments$/, status })
    const o = await sync(sha, ['203.0.113.7'], [])
    expect(o.error).toBeUndefined()
    expect(o.result?.result).toMatchObject({ writes: expect.any(Number) })
    expect(o.rt.logs.filter((l) => l.level === 'warning').map((l) => l.message).join('\n')).toMatch(warning)
    expect([...cf.lists.values()].flatMap((l) => l.items.map((i) => i.value.replace(/\/32$/, '')))).toEqual(['203.0.113.7'])
  })

  it('a comment that cannot be written never hides the sync failure itself', async () => {
    const { sha } = await mergePr(['203.0.113.7'], [])
    cf.inject({ method: 'POST', path: /\/gateway\/lists$/, status: 403 })
    // 403: not retried (a 5xx would be, with real back-off waits).
    gh.inject({ path: /\/commits\/[0-9a-f]+\/pulls$/, status: 403 })
    const o = await sync(sha, ['203.0.113.7'], [])
    expect(o.error?.message).toMatch(/Creating list .* failed/)
    expect(o.rt.logs.some((l) => l.level === 'warning' && /Could not comment/.test(l.message))).toBe(true)
  })

  it('the comment carries no secret, even when the failure message echoes the token', async () => {
    const { sha, number } = await mergePr(['203.0.113.7'], [])
    cf.inject({ method: 'POST', path: /\/gateway\/lists$/, status: 400, envelope: { success: false, errors: [{ code: 1, message: `bad token ${cf.token} from admin@example.com` }] } })
    const rt = await testRuntime({
      withRepoFiles: false,
      files: { 'lists/ips.txt': '203.0.113.7\n', 'lists/hosts.txt': '', 'exclusions.yaml': EXCLUSIONS },
      github: { owner: gh.owner, repo: gh.repo, apiUrl: gh.url, sha, runUrl: RUN_URL }
    })
    rt.redact = (t) => t.split(cf.token).join('***')
    const o = await runCaptured(rt, { 'command': 'sync', 'cloudflare-account-id': ACCOUNT, 'cloudflare-api-token': cf.token, 'cloudflare-api-url': cf.url, 'github-token': gh.token })
    expect(o.error).toBeDefined()
    const c = gh.pulls.find((p) => p.number === number)!.comments.join('\n')
    expect(c).toContain('Sync failed while applying the plan')
    expect(c).not.toContain(cf.token)
    expect(c).toContain('bad token \\*\\*\\* from email hidden')
    expect(c).not.toContain('admin@example.com')
    expect(rt.summaries.join('\n')).not.toContain('admin@example.com')
  })

  it('check and a dry run never comment', async () => {
    const { sha } = await mergePr(['203.0.113.7'], [])
    const rt = await testRuntime({ withRepoFiles: false, files: { 'lists/ips.txt': '203.0.113.7\n', 'lists/hosts.txt': '', 'exclusions.yaml': EXCLUSIONS }, github: { owner: gh.owner, repo: gh.repo, apiUrl: gh.url, sha } })
    const base = { 'cloudflare-account-id': ACCOUNT, 'cloudflare-api-token': cf.token, 'cloudflare-api-url': cf.url, 'github-token': gh.token }
    expect((await runCaptured(rt, { command: 'check', ...base })).error).toBeUndefined()
    expect((await runCaptured(rt, { command: 'sync', 'dry-run': 'true', ...base })).error).toBeUndefined()
    expect(gh.requests.filter((r) => r.path.includes('/comments') || r.path.includes('/pulls?') || /\/commits\/.*\/pulls/.test(r.path))).toHaveLength(0)
    expect(rt.summaries[1]).toMatch(/^### Cloudflare Gateway sync: dry run, nothing written\n\n\*\*Dry run: nothing was written\.\*\*/)
    expect(rt.printed[1]).toMatch(/^Dry run: nothing will be written\.\n/)
  })
})
