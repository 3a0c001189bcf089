// Issue 12 item 1: whoever can edit the proposal PR (its body, or its branch) must not be
// able to make the next collect run commit values of their choosing as a verified bot
// commit. What a run carries forward comes only from the bot's own commit on the branch:
// the values its list files add, with the evidence its message states, and only when
// GitHub vouches that the bot wrote it. Runs are in-process (`runCommand`), against the
// Cloudflare and GitHub emulators, through the real SDK and Octokit.
import { describe, expect, it, type TestContext } from 'vitest'
import { COMMIT_TRAILER } from '../action/src/adapters/pull-request.js'
import { failingSessions } from './harness/log-rows.js'
import { BRANCH, proposalWorld } from './harness/proposal-world.js'

const NOW = Date.now()
const PINNED = failingSessions('api.pinnedbank.example', '192.0.2.10', [1, 2], NOW)
const LATER = failingSessions('telemetry.vendor-app.example', '192.0.2.44', [3, 4], NOW)
const FORGED = ['45.0.0.0/8', '45.1.2.3', 'forged.example']
const HUGE = 'sessions=48213 devices=1890 users=1890 first=2026-01-01T00:00Z last=2026-06-01T00:00Z'

async function setup(ctx: TestContext) {
  const { cf, gh, git, person, openPull, runCollect } = await proposalWorld(ctx)
  await cf.setLogRows('zero_trust_network_sessions', PINNED)

  async function collect() {
    const o = await runCollect()
    if (o.error) throw new Error(`collect failed: ${o.error.message}\n${o.text}`)
    return o
  }

  /** Everything the bot wrote to GitHub after a run: branch files, tip commit message, PR title and body. */
  async function written(): Promise<string> {
    const pr = openPull()
    return [
      (await gh.readFile(BRANCH, 'lists/ips.txt')) ?? '',
      (await gh.readFile(BRANCH, 'lists/hosts.txt')) ?? '',
      git('log', '-1', '--format=%B', BRANCH),
      pr?.title ?? '',
      pr?.body ?? ''
    ].join('\n')
  }
  return { cf, gh, git, person, openPull, collect, written }
}

/** A forged evidence line, exactly as `renderCommitMessage` writes real ones. */
const forgedLines = (): string => FORGED.map((v) => `+ ${v.includes('.example') ? 'host' : 'ip'} ${v}  tls-error ${HUGE} ${v.includes('.example') ? 'ips' : 'hosts'}=0`).join('\n')

describe.concurrent('forged PR state', () => {
  it('an edited PR body (old hidden state + forged evidence) is never read: the next run neither proposes nor commits the values', { timeout: 90_000 }, async (ctx) => {
    const s = await setup(ctx)
    await s.collect()
    const pr = s.openPull()!
    expect(pr.body).not.toContain('<!--')
    const state = { version: 1, additions: FORGED.map((value) => ({ kind: value.includes('.example') ? 'host' : 'ip', value, source: 'tls-error', stats: { sessions: 48213, devices: 1890, users: 1890, firstSeen: 1, lastSeen: 2 }, otherSide: [], otherSideTotal: 0 })) }
    await s.person.rest.pulls.update({
      owner: s.gh.owner,
      repo: s.gh.repo,
      pull_number: pr.number,
      body: `${pr.body}\n${forgedLines()}\n<!-- gateway-tls-bypass:state v1 ${JSON.stringify(state)} -->\n`
    })
    // New evidence, so the run writes a new commit (the laundering step of the attack).
    await s.cf.setLogRows('zero_trust_network_sessions', [...PINNED, ...LATER])
    const o = await s.collect()
    expect(o.text).toMatch(/Pull request: updated/)
    const out = await s.written()
    expect(out).toContain('telemetry.vendor-app.example')
    expect(out).toContain('api.pinnedbank.example') // the bot's own proposal is still there
    for (const v of FORGED) expect(out).not.toContain(v)
    expect(o.text).not.toMatch(/45\.|forged\.example/)
  })

  it('a re-run with no new logs keeps proposing what the bot proposed before, from its own commit', { timeout: 90_000 }, async (ctx) => {
    const s = await setup(ctx)
    await s.collect()
    const head = s.git('rev-parse', BRANCH)
    await s.cf.setLogRows('zero_trust_network_sessions', [])
    const o = await s.collect()
    expect(o.text).toMatch(/carries 1 proposed entry from the bot's own commit/)
    expect(o.text).toMatch(/Pull request: unchanged/)
    expect(s.git('rev-parse', BRANCH)).toBe(head)
    expect(await s.gh.readFile(BRANCH, 'lists/hosts.txt')).toContain('api.pinnedbank.example')
    // Its evidence came back from the commit message, not from this (empty) window.
    // (4 sessions: this window has none; the row's layout is the renderer's business.)
    expect(s.openPull()!.body).toMatch(/^\|[^\n]*`api\.pinnedbank\.example`[^\n]*\| 4 \|/m)
  })

  it.for([
    ['a commit signed with their own key, claiming the bot as author', 'impostor'],
    ['an unsigned commit made through the API with the bot as author', 'api']
  ] as const)('a person\u2019s commit with the trailer and forged + lines is not trusted as carried evidence: %s', { timeout: 90_000 }, async ([, how], ctx) => {
    const s = await setup(ctx)
    await s.collect()
    const base = s.git('rev-parse', s.gh.defaultBranch)
    const ips = `${(await s.gh.readFile(s.gh.defaultBranch, 'lists/ips.txt'))!.trimEnd()}\n45.1.2.3\n`
    const hosts = `${(await s.gh.readFile(BRANCH, 'lists/hosts.txt'))!.trimEnd()}\nforged.example\n`
    const message = `TLS bypass: add 3\n\n${forgedLines()}\n+ host api.pinnedbank.example  tls-error sessions=4 devices=2 users=2 first=- last=- ips=1\n\n${COMMIT_TRAILER}\n`
    let sha: string
    if (how === 'impostor') {
      // Built on the base alone, so the branch again holds ONE commit over it, like the bot's.
      sha = await s.gh.pushAsImpostor('scratch', { 'lists/ips.txt': ips, 'lists/hosts.txt': hosts }, message)
    } else {
      const where = { owner: s.gh.owner, repo: s.gh.repo }
      const baseTree = (await s.person.rest.git.getCommit({ ...where, commit_sha: base })).data.tree.sha
      const tree = (await s.person.rest.git.createTree({ ...where, base_tree: baseTree, tree: [{ path: 'lists/ips.txt', mode: '100644', type: 'blob', content: ips }, { path: 'lists/hosts.txt', mode: '100644', type: 'blob', content: hosts }] })).data.sha
      const bot = { name: 'github-actions[bot]', email: '41898282+github-actions[bot]@users.noreply.github.com' }
      sha = (await s.person.rest.git.createCommit({ ...where, message, tree, parents: [base], author: bot, committer: bot })).data.sha
    }
    await s.person.rest.git.updateRef({ owner: s.gh.owner, repo: s.gh.repo, ref: `heads/${BRANCH}`, sha, force: true })
    expect(s.git('rev-list', '--count', `${s.gh.defaultBranch}..${BRANCH}`)).toBe('1')

    const o = await s.collect()
    expect(o.text).toMatch(/nothing is carried forward because its commit [0-9a-f]{7} is not provably the bot's/)
    const out = await s.written()
    for (const v of ['45.1.2.3', 'forged.example']) expect(out).not.toContain(v)
    expect(out).toContain('api.pinnedbank.example') // still in the logs: proposed from this run's evidence
    expect(s.gh.verification(s.git('rev-parse', BRANCH)).verified).toBe(true) // the branch is the bot's again
  })
})
