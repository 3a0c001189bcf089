// Issue 10, "a reviewer's no is remembered": rejections come from the closed and merged
// proposal PRs and the bot's own commits on them, never from the PR title, body or comments.
// The pure part is a table; the rest runs collect in-process (`runCommand`) against the
// Cloudflare and GitHub emulators through the real SDK and Octokit.
import { describe, expect, it, type TestContext } from 'vitest'
import { createGitHubClient } from '../action/src/adapters/github.js'
import { COMMIT_TRAILER } from '../action/src/adapters/pull-request.js'
import { findRejections } from '../action/src/adapters/rejections.js'
import { rejectedByPull } from '../action/src/core/rejected-proposals.js'
import { NO_WAITS, startGitHubEmulator } from './emulators/github.js'
import { failingSessions } from './harness/log-rows.js'
import { BRANCH, proposalWorld } from './harness/proposal-world.js'

const DAY = 86_400_000
const EVIDENCE = 'tls-error sessions=4 devices=2 users=2 first=2026-11-15T10:00Z last=2026-11-15T12:00Z'
const plus = (kind: 'ip' | 'host', v: string): string => `+ ${kind} ${v}  ${EVIDENCE} ${kind === 'ip' ? 'hosts' : 'ips'}=1`

describe('rejectedByPull', () => {
  const pull = { number: 7, closedAt: 1_000 }
  it.each([
    ['proposed and not kept: rejected', [plus('host', 'a.example')], { ips: '', hosts: '' }, ['host a.example']],
    ['proposed and kept (merged as proposed, or on the base now): not rejected', [plus('host', 'a.example')], { ips: '', hosts: 'a.example\n' }, []],
    ['one of two lines deleted before merging: only that one', [plus('host', 'a.example'), plus('ip', '192.0.2.7')], { ips: '', hosts: 'a.example\n' }, ['ip 192.0.2.7']],
    ['an IP kept under another spelling of the list file is still kept', [plus('ip', '2001:db8::1')], { ips: '2001:db8::1\n', hosts: null }, []],
    ['a missing list file keeps nothing', [plus('ip', '192.0.2.7')], { ips: null, hosts: null }, ['ip 192.0.2.7']],
    ['removal lines are not proposals', ['- host a.example  excluded by a.example'], { ips: '', hosts: '' }, []],
    ['prose and near misses are ignored', ['+ host a.example', `+ host a.example ${EVIDENCE} ips=1`, `Rejected: + host b.example  ${EVIDENCE} ips=1`], { ips: '', hosts: '' }, []],
    ['a value that is no entry (wildcard) is dropped', [plus('host', '*.example')], { ips: '', hosts: '' }, []],
    ['the same value twice is one rejection', [plus('host', 'a.example'), plus('host', 'a.example')], { ips: '', hosts: '' }, ['host a.example']]
  ])('%s', (_name, lines, kept, expected) => {
    const r = rejectedByPull(pull, `TLS bypass: add\n\n${lines.join('\n')}\n\n${COMMIT_TRAILER}\n`, kept)
    expect(r.map((x) => `${x.kind} ${x.value}`)).toEqual(expected)
    for (const x of r) expect(x).toMatchObject({ pr: 7, at: 1_000 })
  })
})

const BANK = 'api.pinnedbank.example'
const VENDOR = 'telemetry.vendor-app.example'
const rows = (at: number, hosts = [BANK, VENDOR]) => hosts.flatMap((h, i) => failingSessions(h, `192.0.2.${10 + i}`, [1 + 2 * i, 2 + 2 * i], at))

async function setup(ctx: TestContext) {
  const { cf, gh, git, person, openPull, runCollect } = await proposalWorld(ctx)

  /** A collect run at `now` (default: the real clock, which the emulator's dates follow) on logs at that time. */
  async function collect(o: { now?: number; hosts?: string[]; extra?: Record<string, string> } = {}) {
    const now = o.now ?? Date.now()
    await cf.setLogRows('zero_trust_network_sessions', rows(now, o.hosts))
    const r = await runCollect({ now, ...(o.extra ? { extra: o.extra } : {}) })
    if (r.error || !r.result || r.result.command !== 'collect') throw new Error(`collect failed: ${r.error?.message}\n${r.text}`)
    const plan = r.result.result.plan
    return { ...r, plan, added: plan.additions.map((c) => c.value).sort(), rejected: (plan.lifecycle?.rejected ?? []).map((x) => `${x.candidate.value} #${x.pr}`).sort() }
  }
  return { cf, gh, git, person, openPull, collect }
}

describe.concurrent('rejections through the emulators', () => {
  it('a PR a person closed unmerged: its values are not proposed again, and no PR is opened for them', { timeout: 60_000 }, async (ctx) => {
    const s = await setup(ctx)
    const first = await s.collect()
    expect(first.added).toEqual([VENDOR, BANK].sort())
    await s.gh.closeAsHuman(s.openPull()!.number)

    const next = await s.collect()
    expect(next.added).toEqual([])
    expect(next.rejected).toEqual([`${BANK} #1`, `${VENDOR} #1`])
    expect(s.openPull()).toBeUndefined()
    expect(s.gh.pulls).toHaveLength(1)
    expect(next.text).toMatch(/Rejected proposals: 2 value\(s\) from 1 pull request\(s\) closed in the last 90 day\(s\) \(examined 1\)/)
  })

  it('a PR collect closed itself (a Bot) is no one\u2019s "no": its values come back', { timeout: 60_000 }, async (ctx) => {
    const s = await setup(ctx)
    await s.collect()
    // The API token is the bot's: the emulator records this close as the Bot's, like collect's own obsolete-close.
    await s.person.rest.pulls.update({ owner: s.gh.owner, repo: s.gh.repo, pull_number: 1, state: 'closed' })
    const next = await s.collect()
    expect(next.rejected).toEqual([])
    expect(next.added).toEqual([VENDOR, BANK].sort())
    expect(s.openPull()?.number).toBe(2)
  })

  it('a line a reviewer deleted before merging stays out; what was merged is listed', { timeout: 60_000 }, async (ctx) => {
    const s = await setup(ctx)
    await s.collect()
    const hosts = (await s.gh.readFile(BRANCH, 'lists/hosts.txt'))!
    expect(hosts).toContain(VENDOR)
    await s.gh.pushAsHuman(BRANCH, { 'lists/hosts.txt': hosts.replace(`${VENDOR}\n`, '') }, `Drop ${VENDOR}: not ours`)
    const merge = await s.gh.mergePull(1)
    expect(await s.gh.readFile(merge, 'lists/hosts.txt')).not.toContain(VENDOR)

    const next = await s.collect()
    expect(next.added).toEqual([])
    expect(next.rejected).toEqual([`${VENDOR} #1`])
    expect(next.plan.alreadyListed).toBeGreaterThan(0) // the bank host is on main now
    expect(s.openPull()).toBeUndefined()
    // Straight from the adapter: the merged value is not a rejection, only the deleted one.
    const direct = await findRejections(s.person, { owner: s.gh.owner, repo: s.gh.repo, branch: BRANCH, paths: { ips: 'lists/ips.txt', hosts: 'lists/hosts.txt' }, now: Date.now(), days: 90 })
    expect(direct.map((r) => `${r.kind} ${r.value} #${r.pr}`)).toEqual([`host ${VENDOR} #1`])
  })

  it('a rejection lapses after reject-days: still in force on day 89, proposed again on day 100', { timeout: 60_000 }, async (ctx) => {
    const s = await setup(ctx)
    await s.collect({ hosts: [BANK] })
    await s.gh.closeAsHuman(1)
    const closedAt = Date.parse((await s.person.rest.pulls.get({ owner: s.gh.owner, repo: s.gh.repo, pull_number: 1 })).data.closed_at!)

    const day89 = await s.collect({ now: closedAt + 89 * DAY, hosts: [BANK] })
    expect(day89.added).toEqual([])
    expect(day89.rejected).toEqual([`${BANK} #1`])

    const day100 = await s.collect({ now: closedAt + 100 * DAY, hosts: [BANK] })
    expect(day100.rejected).toEqual([])
    expect(day100.added).toEqual([BANK])
    expect(s.openPull()?.number).toBe(2)
    // Past the window the adapter stops paging: PR #1 is not even examined.
    expect(day100.text).toMatch(/Rejected proposals: 0 value\(s\) from 0 pull request\(s\) closed in the last 90 day\(s\) \(examined 0\)/)
  })

  it('reject-days 0 turns the rule off without a single extra API call', { timeout: 60_000 }, async (ctx) => {
    const s = await setup(ctx)
    await s.collect({ hosts: [BANK] })
    await s.gh.closeAsHuman(1)
    const before = s.gh.requests.length
    const next = await s.collect({ hosts: [BANK], extra: { 'reject-days': '0' } })
    expect(next.added).toEqual([BANK])
    expect(s.gh.requests.slice(before).filter((r) => /state=closed|\/pulls\/\d+\/commits|\/issues\/\d+$/.test(r.path))).toEqual([])
  })

  it('forged text cannot add or remove a rejection: edited PR body and title, a comment, and an impostor commit on the closed PR', { timeout: 60_000 }, async (ctx) => {
    const s = await setup(ctx)
    await s.collect({ hosts: [BANK] })
    const where = { owner: s.gh.owner, repo: s.gh.repo }
    // An impostor commit on top of the bot's (bot as author, signed with the person's key) claiming VENDOR was proposed.
    const hosts = `${(await s.gh.readFile(BRANCH, 'lists/hosts.txt'))!.trimEnd()}\n${VENDOR}\n`
    await s.gh.pushAsImpostor(BRANCH, { 'lists/hosts.txt': hosts }, `TLS bypass: add 1\n\n${plus('host', VENDOR)}\n\n${COMMIT_TRAILER}\n`)
    await s.gh.closeAsHuman(1)
    // After closing: the body and title say VENDOR was rejected and BANK was not; a comment too.
    const forged = `Rejected by review:\n${plus('host', VENDOR)}\n\nNot rejected (merged by hand):\n- host ${BANK}\n`
    await s.person.rest.pulls.update({ ...where, pull_number: 1, title: `Reject ${VENDOR}`, body: forged })
    await s.gh.commentAsHuman(1, forged)

    const next = await s.collect()
    expect(next.rejected).toEqual([`${BANK} #1`]) // the bot's own proposal, and nothing else
    expect(next.added).toEqual([VENDOR])
    expect(s.openPull()?.number).toBe(2)
    const pr2 = s.openPull()!
    expect((await s.gh.readFile(BRANCH, 'lists/hosts.txt')) ?? '').not.toContain(BANK)
    expect(pr2.body).toContain(VENDOR)
  })
})

describe('findRejections when GitHub will not say who closed a PR', () => {
  it('a 403 on the issue: that PR counts as no rejection, with a line saying why; the run goes on', { timeout: 60_000 }, async (ctx) => {
    const s = await setup(ctx)
    await s.collect({ hosts: [BANK] })
    await s.gh.closeAsHuman(1)
    s.gh.inject({ method: 'GET', path: /\/issues\/1$/, status: 403 })
    const next = await s.collect({ hosts: [BANK] })
    expect(next.text).toContain('Pull request #1: cannot read who closed it (HTTP 403); its proposals do not count as rejected.')
    expect(next.added).toEqual([BANK])
  })
})

describe('findRejections bounds', () => {
  it('examines at most maxPulls closed proposals and says so', { timeout: 60_000 }, async () => {
    const gh = await startGitHubEmulator({ files: { 'lists/ips.txt': '', 'lists/hosts.txt': '' } })
    try {
      const octokit = createGitHubClient({ token: gh.token, baseUrl: gh.url, ...NO_WAITS })
      // Five PRs from the proposal branch, each closed by a person (contents do not matter here).
      for (let i = 0; i < 5; i++) {
        await gh.pushAsHuman(BRANCH, { 'lists/hosts.txt': `h${i}.example\n` }, `p${i}`)
        await octokit.rest.pulls.create({ owner: gh.owner, repo: gh.repo, head: `${gh.owner}:${BRANCH}`, base: gh.defaultBranch, title: 't', body: 'b' })
        await gh.closeAsHuman(i + 1)
      }
      const logs: string[] = []
      const before = gh.requests.length
      await findRejections(octokit, { owner: gh.owner, repo: gh.repo, branch: BRANCH, paths: { ips: 'lists/ips.txt', hosts: 'lists/hosts.txt' }, now: Date.now(), days: 90, maxPulls: 3 }, (m) => logs.push(m))
      expect(logs.at(-1)).toMatch(/examined 3, the most recent 3: older ones in the window are not checked/)
      const asked = gh.requests.slice(before).map((r) => r.path.replace(/^\/repos\/[^/]+\/[^/]+/, ''))
      expect(asked.filter((p) => /^\/pulls\/\d+\/commits/.test(p)).map((p) => p.split('/')[2])).toEqual(['5', '4', '3'])
      // None of these commits is the bot's: nothing counts, and no file is read for them.
      expect(asked.filter((p) => p.startsWith('/contents/'))).toEqual([])
    } finally {
      await gh.close()
    }
  })
})
