// Issue 5, GitHub side, at the COMMAND level: `runCommand` with command collect (Log Explorer
// source on the Cloudflare emulator, real Octokit with its retry and throttling plugins, waits at 0 ms) against
// the GitHub emulator, with races and faults injected. Each scenario checks the outcome, what
// a person reads, the repository state (ONE open proposal PR, the right files, branch on the
// base tip) and that the next run converges. No scenario may print a token. Adapter-level
// cases (pull-request.test.ts) cover the mechanics with pacing off; these cover the command.
import { readFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { describe, expect, it, type TestContext } from 'vitest'
import { createGitHubClient } from '../action/src/adapters/github.js'
import type { RunResult } from '../action/src/run.js'
import { startCloudflareEmulator, type CloudflareEmulator } from './emulators/cloudflare.js'
import { NO_WAITS, startGitHubEmulator, type GitHubEmulator } from './emulators/github.js'
import { runCaptured, testRuntime, type CapturedRuntime } from './harness/runtime.js'
import { failingSessions } from './harness/log-rows.js'

const ACCOUNT = 'fedcba9876543210fedcba9876543210'
const CF_TOKEN = 'cf-secret-token-77aa0d15ea5e'
const BRANCH = 'gateway-tls-bypass/proposals'
const repoFile = (p: string): string => readFileSync(new URL(`../${p}`, import.meta.url), 'utf8')

const NOW = Date.now()
const failing = (sni: string, ip: string, devices: number[]): Record<string, unknown>[] => failingSessions(sni, ip, devices, NOW)
const FIRST = failing('api.pinnedbank.example', '192.0.2.10', [1, 2])
const SECOND = failing('telemetry.vendor-app.example', '192.0.2.44', [3, 4])

interface Outcome {
  rt: CapturedRuntime
  result?: RunResult
  error?: Error
  text: string
}

/**
 * Fresh emulators for one test, and the helpers bound to them. Runs use NO_WAITS: the
 * retry and throttling plugins are on, their back-off and pacing last 0 ms.
 */
async function setup(ctx: TestContext) {
  const cf: CloudflareEmulator = await startCloudflareEmulator({ accountId: ACCOUNT, token: CF_TOKEN })
  await cf.setLogRows('zero_trust_network_sessions', FIRST)
  const gh: GitHubEmulator = await startGitHubEmulator({
    files: {
      'lists/ips.txt': repoFile('lists/ips.txt'),
      'lists/hosts.txt': repoFile('lists/hosts.txt'),
      'exclusions.yaml': repoFile('exclusions.yaml'),
      'README.md': '# bypass lists\n'
    }
  })
  ctx.onTestFinished(async () => {
    await cf.close()
    await gh.close()
  })
  const git = (...args: string[]): string => execFileSync('git', ['--git-dir', gh.bareRepo, ...args]).toString().trim()
  const openPulls = () => gh.pulls.filter((p) => p.state === 'open')
  const writes = () => gh.requests.filter((r) => r.method !== 'GET')

  /** A collect run as the action runs it: workspace = the default branch's files. */
  async function collect(): Promise<Outcome> {
    const files: Record<string, string> = {}
    for (const p of ['lists/ips.txt', 'lists/hosts.txt', 'exclusions.yaml']) files[p] = (await gh.readFile(gh.defaultBranch, p))!
    const rt = await testRuntime({ files, github: { owner: gh.owner, repo: gh.repo, apiUrl: gh.url, sha: git('rev-parse', gh.defaultBranch), timing: NO_WAITS } })
    const { result, error, text } = await runCaptured(rt, {
      'command': 'collect',
      'cloudflare-account-id': ACCOUNT,
      'cloudflare-api-token': cf.token,
      'cloudflare-api-url': cf.url,
      'github-token': gh.token
    })
    for (const secret of [cf.token, gh.token]) expect(text).not.toContain(secret)
    expect(text).not.toMatch(/(bearer|token)\s+[A-Za-z0-9_-]{12,}/i)
    return { rt, result, error, text }
  }

  async function collectOk(): Promise<Outcome> {
    const o = await collect()
    if (o.error !== undefined) throw new Error(`collect failed unexpectedly: ${o.error.message}\n${o.text}`)
    return o
  }

  /**
   * ONE open proposal PR whose branch is one bot commit on the current base tip with these
   * hosts; `proposed` (default: all of them) are the ones its body must present.
   */
  async function expectOneProposal(hosts: string[], proposed = hosts): Promise<void> {
    expect(openPulls()).toHaveLength(1)
    const pr = openPulls()[0]!
    expect(pr.head.ref).toBe(BRANCH)
    expect(pr.labels).toContain('tls-bypass')
    expect(git('rev-parse', `${BRANCH}^`)).toBe(git('rev-parse', gh.defaultBranch))
    expect(git('rev-list', '--count', `${gh.defaultBranch}..${BRANCH}`)).toBe('1')
    const listed = ((await gh.readFile(BRANCH, 'lists/hosts.txt')) ?? '').split('\n').filter((l) => l !== '' && !l.startsWith('#'))
    expect(listed).toEqual(hosts)
    for (const h of proposed) expect(pr.body).toContain(h)
  }

  /** The next run with nothing new: same PR, no commit, no ref update, no PR creation. */
  async function expectQuietRerun(): Promise<void> {
    const head = git('rev-parse', BRANCH)
    const pr = openPulls()[0]!.number
    const before = writes().length
    const o = await collectOk()
    expect(o.text).toMatch(/Pull request: unchanged/)
    expect(git('rev-parse', BRANCH)).toBe(head)
    expect(openPulls().map((p) => p.number)).toEqual([pr])
    // A tree POST is content-addressed and changes nothing; commits, refs and PR creation would.
    expect(writes().slice(before).filter((r) => /\/git\/(commits|refs)|\/pulls$/.test(r.path))).toHaveLength(0)
  }

  return { cf, gh, git, openPulls, writes, collect, collectOk, expectOneProposal, expectQuietRerun }
}

describe.concurrent('collect under GitHub faults', () => {
  it('422 "A pull request already exists" (another run won the race), after a 502 tree write and a 503 branch creation: ONE open PR, updated', { timeout: 90_000 }, async (ctx) => {
    const { gh, openPulls, collectOk, expectOneProposal, expectQuietRerun } = await setup(ctx)
    // Git-data 5xx on the way are retried by the client (each answered once with the fault).
    gh.inject({ method: 'POST', path: /\/git\/trees$/, status: 502 })
    gh.inject({ method: 'POST', path: /\/git\/refs$/, status: 503 })
    const other = createGitHubClient({ token: gh.token, baseUrl: gh.url, retries: 0, pacing: false })
    gh.inject({
      method: 'POST',
      path: /\/pulls$/,
      before: async () => {
        await other.rest.pulls.create({ owner: gh.owner, repo: gh.repo, head: `${gh.owner}:${BRANCH}`, base: gh.defaultBranch, title: 'opened by a concurrent run', body: 'stale body' })
      }
    })
    const o = await collectOk()
    expect(gh.requests.filter((r) => r.path.endsWith('/git/trees')).map((r) => r.status)).toEqual([502, 201])
    expect(gh.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/git/refs')).map((r) => r.status)).toEqual([503, 201])
    // Ours (422) and the concurrent run's (201); recorded in arrival order, ours first.
    expect(gh.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/pulls')).map((r) => r.status)).toEqual([422, 201])
    expect(o.text).toMatch(/Pull request #1 appeared meanwhile; updating it\./)
    expect(o.rt.outputs['pull-request-number']).toBe('1')
    expect(gh.pulls).toHaveLength(1)
    expect(openPulls()[0]!.title).not.toBe('opened by a concurrent run')
    expect(openPulls()[0]!.body).not.toBe('stale body')
    await expectOneProposal(['api.pinnedbank.example'])
    await expectQuietRerun()
  })

  it('the proposal branch moved by a person: warning, branch and PR untouched; after the merge the next run proposes again', { timeout: 90_000 }, async (ctx) => {
    const { cf, gh, git, openPulls, writes, collectOk, expectOneProposal } = await setup(ctx)
    await collectOk()
    const pr = openPulls()[0]!
    const human = await gh.pushAsHuman(BRANCH, { 'NOTES.md': 'why we bypass the bank app\n' }, 'Add a note for reviewers')
    const body = pr.body
    await cf.setLogRows('zero_trust_network_sessions', [...FIRST, ...SECOND])
    const before = writes().length
    const o = await collectOk()
    expect(o.rt.logs.filter((l) => l.level === 'warning').map((l) => l.message)).toContain(
      `Someone pushed to ${BRANCH}; collect leaves that branch and its pull request alone. Merge or close it, then the next run proposes again.`
    )
    expect(git('rev-parse', BRANCH)).toBe(human)
    expect(openPulls()).toHaveLength(1)
    expect(openPulls()[0]).toMatchObject({ number: pr.number, body })
    expect(writes().slice(before)).toHaveLength(0)

    await gh.mergePull(pr.number)
    const next = await collectOk()
    expect(next.rt.outputs['pull-request-number']).toBe('2')
    await expectOneProposal(['api.pinnedbank.example', 'telemetry.vendor-app.example'], ['telemetry.vendor-app.example'])
    expect(await gh.readFile(BRANCH, 'NOTES.md')).toBe('why we bypass the bank app\n') // the merged note stays
  })

  it('the base branch moved between two runs: the next run rebuilds the proposal on the new base, same PR, through a 502 commit write and a 503 ref update', { timeout: 90_000 }, async (ctx) => {
    const { cf, gh, git, openPulls, collectOk, expectOneProposal } = await setup(ctx)
    await collectOk()
    const pr = openPulls()[0]!.number
    const moved = await gh.commitToDefault({ 'README.md': '# bypass lists\n\nReviewed quarterly.\n' }, 'Docs')
    await cf.setLogRows('zero_trust_network_sessions', [...FIRST, ...SECOND])
    gh.inject({ method: 'POST', path: /\/git\/commits$/, status: 502 })
    gh.inject({ method: 'PATCH', path: /\/git\/refs\/.+$/, status: 503 })
    const o = await collectOk()
    expect(gh.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/git/commits')).map((r) => r.status)).toEqual([201, 502, 201])
    expect(gh.requests.filter((r) => r.method === 'PATCH' && r.path.includes('/git/refs/')).map((r) => r.status)).toEqual([503, 200])
    expect(o.text).toMatch(/Pull request: updated/)
    expect(git('rev-parse', `${BRANCH}^`)).toBe(moved)
    expect(openPulls().map((p) => p.number)).toEqual([pr])
    await expectOneProposal(['api.pinnedbank.example', 'telemetry.vendor-app.example'])
    expect(await gh.readFile(BRANCH, 'README.md')).toContain('Reviewed quarterly.')
    expect(gh.verification(git('rev-parse', BRANCH)).verified).toBe(true)
  })

  it('a 503 on PR creation that outlasts the retries: the run fails; the next run opens ONE PR from the pushed branch', { timeout: 90_000 }, async (ctx) => {
    const { gh, git, openPulls, collect, collectOk, expectOneProposal } = await setup(ctx)
    gh.inject({ method: 'POST', path: /\/pulls$/, status: 503, times: 4 })
    const o = await collect()
    expect(o.error).toBeDefined()
    // What failed, the status, and what happens next (regression: was the bare Octokit
    // message "Injected 503 - https://docs.github.com/rest").
    expect(o.error?.message).toMatch(/pull request/i)
    expect(o.error?.message).toMatch(/HTTP 503/)
    expect(o.error?.message).toMatch(/next run/)
    expect(openPulls()).toHaveLength(0)
    const pushed = git('rev-parse', BRANCH) // the branch was pushed before the PR call
    const next = await collectOk()
    expect(git('rev-parse', BRANCH)).toBe(pushed) // same content: no new commit
    expect(next.rt.outputs['pull-request-number']).toBe('1')
    await expectOneProposal(['api.pinnedbank.example'])
  })
})
