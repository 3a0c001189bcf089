// Issue 11, the pull request: a reviewer's ticks survive the hourly body rewrite (and are
// the only thing read from the body), "Removals are intended" appears only with removals,
// and a label the token cannot create is one warning, never a failed run.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { afterEach, describe, expect, it, type TestContext } from 'vitest'
import { createGitHubClient } from '../action/src/adapters/github.js'
import { upsertProposal, type ProposalRequest } from '../action/src/adapters/pull-request.js'
import { buildCollectPlan } from '../action/src/core/plan.js'
import { renderPrBody } from '../action/src/core/render/collect.js'
import { carryTicks, tickedItems } from '../action/src/core/render/ticks.js'
import type { Observations } from '../action/src/core/types.js'
import { startCloudflareEmulator } from './emulators/cloudflare.js'
import { NO_WAITS, startGitHubEmulator, type GitHubEmulator } from './emulators/github.js'
import { failingSessions } from './harness/log-rows.js'
import { runCaptured, testRuntime } from './harness/runtime.js'

const LIST = ['### Before merging', '', '- [ ] Alpha is fine.', '- [ ] Beta is fine.', '- [ ] Removals are intended.'].join('\n')
const body = (checklist: string, extra = ''): string => `## Proposal\n\n- [ ] Alpha is fine.\n\n${checklist}\n${extra}\n---\nfooter`

describe('tickedItems / carryTicks', () => {
  it.each([
    ['nothing ticked: the new body as rendered', body(LIST), body(LIST)],
    ['a ticked item is ticked again', body(LIST.replace('[ ] Beta', '[x] Beta')), body(LIST.replace('[ ] Beta', '[x] Beta'))],
    ['capital X and another bullet count', body(LIST.replace('- [ ] Alpha', '* [X] Alpha')), body(LIST.replace('[ ] Alpha is fine.\n- [ ] Beta', '[x] Alpha is fine.\n- [ ] Beta'))],
    ['CRLF from the web editor', body(LIST.replace('[ ] Beta', '[x] Beta')).replace(/\n/g, '\r\n'), body(LIST.replace('[ ] Beta', '[x] Beta'))],
    ['an item whose text changed is not ticked', body(LIST.replace('[ ] Beta is fine.', '[x] Beta was fine.')), body(LIST)],
    ['a ticked item outside the section does not tick the checklist', body(LIST, '').replace('## Proposal\n\n- [ ] Alpha', '## Proposal\n\n- [x] Alpha'), body(LIST)],
    ['a typed item that the renderer does not produce is not added', body(LIST.replace('- [ ] Removals', '- [x] Ship it anyway\n- [ ] Removals')), body(LIST)],
    ['an item gone from the new checklist is simply gone', body(LIST.replace('[ ] Removals', '[x] Removals')), body(LIST.replace('\n- [ ] Removals are intended.', ''))],
    ['no checklist in the old body: nothing ticked', '- [x] Alpha is fine.', body(LIST)],
    ['a heading with hostile trailing text is not the section', body(LIST.replace('### Before merging', '### Before merging <img src=x>').replace('[ ] Alpha', '[x] Alpha')), body(LIST)]
  ])('%s', (_name, current, expected) => {
    const next = expected.replace(/\[x\]/g, '[ ]')
    const out = carryTicks(current, next)
    expect(out).toBe(expected)
    expect(out.length).toBe(next.length)
  })

  it('only ever changes the box of one of the new body\u2019s own items', () => {
    const current = body(LIST.replace(/\[ \]/g, '[x]'), '\n- [x] <!-- state -->\n')
    const next = body(LIST)
    const out = carryTicks(current, next)
    const diff = [...out].flatMap((ch, i) => (ch === next[i] ? [] : [`${next[i]}→${ch}`]))
    expect(diff).toEqual([' →x', ' →x', ' →x'])
    // Read from the editable body, but only as texts to compare with the renderer's own items.
    expect(tickedItems(current)).toEqual(new Set(['Alpha is fine.', 'Beta is fine.', 'Removals are intended.', '<!-- state -->']))
  })
})

describe('"Removals are intended" only with removals', () => {
  const NOW = Date.parse('2026-11-15T12:00:00Z')
  const obs = (): Observations => ({
    window: { from: NOW - 86_400_000, to: NOW },
    hostFailures: new Map([['api.pinnedbank.example', { sessions: 5, devices: 2, users: 2, firstSeen: NOW - 3_600_000, lastSeen: NOW }]]),
    ipFailures: new Map(),
    hostIps: new Map(),
    ipHosts: new Map(),
    bypassedHosts: new Map(),
    stats: { source: 'logpush', records: { zero_trust_network_sessions: 5 }, inWindow: 5, malformedLines: 0, filesRead: 1, filesSkipped: 0, filesCorrupt: 0, warnings: [] }
  })
  const ctx = { lookback: '24h', source: 'logpush' }
  it.each([
    ['additions only', [], false],
    ['an entry an exclusion now covers is removed', ['203.0.113.7'], true]
  ] as const)('%s', (_name, ips, shown) => {
    const plan = buildCollectPlan({
      observations: obs(),
      current: { ips: [...ips], hosts: [] },
      rules: [{ value: '203.0.113.0/24', kind: 'ip', reason: 'shared CDN range', line: 3 }] as never,
      expiredRules: [],
      options: { minSessions: 2, minDevices: 1, maxNewEntries: 10, now: NOW }
    })
    expect(plan.removals.length > 0).toBe(shown)
    expect(renderPrBody(plan, ctx).includes('Removals are intended')).toBe(shown)
    expect(renderPrBody(plan, ctx)).toContain('No hostname is shared or a CDN/front door')
  })
})

const BRANCH = 'gateway-tls-bypass/proposals'

describe('upsertProposal keeps ticks and labels without failing', () => {
  let emu: GitHubEmulator
  afterEach(async () => {
    await emu.close()
  })
  const req = (e: GitHubEmulator, ips: string, extra: Partial<ProposalRequest> = {}): ProposalRequest => ({
    owner: e.owner, repo: e.repo, branch: BRANCH, files: [{ path: 'lists/ips.txt', content: ips }], message: 'm', title: 'TLS bypass proposals', body: body(LIST), labels: ['tls-bypass'], ...extra
  })

  it('a re-run with a new body keeps what the reviewer ticked (only that) and writes nothing when the body is otherwise the same', async () => {
    emu = await startGitHubEmulator({ files: { 'lists/ips.txt': '192.0.2.1\n' } })
    const gh = createGitHubClient({ token: emu.token, baseUrl: emu.url, ...NO_WAITS })
    await upsertProposal(gh, req(emu, '192.0.2.1\n192.0.2.2\n'))
    // The reviewer ticks Beta in the web editor (CRLF) and types a ticked item of their own.
    const ticked = body(LIST.replace('[ ] Beta', '[x] Beta').replace('- [ ] Removals', '- [x] Looks good to me\n- [ ] Removals')).replace(/\n/g, '\r\n')
    await gh.rest.pulls.update({ owner: emu.owner, repo: emu.repo, pull_number: 1, body: ticked })
    const r = await upsertProposal(gh, req(emu, '192.0.2.1\n192.0.2.2\n192.0.2.3\n', { body: body(LIST, 'new evidence') }))
    expect(r.operation).toBe('updated')
    expect(emu.pulls[0]!.body).toBe(body(LIST.replace('[ ] Beta', '[x] Beta'), 'new evidence'))
    const edits = () => emu.requests.filter((q) => q.method === 'PATCH' && /\/pulls\/1$/.test(q.path)).length
    const before = edits()
    await upsertProposal(gh, req(emu, '192.0.2.1\n192.0.2.2\n192.0.2.3\n', { body: body(LIST, 'new evidence') }))
    expect(edits()).toBe(before) // same body once the ticks are carried: no edit
  })

  it('a label the token cannot create: the PR is opened, one warning, and later runs neither warn nor retry', async () => {
    emu = await startGitHubEmulator({ files: { 'lists/ips.txt': '192.0.2.1\n' }, labels: ['reviewed'], canCreateLabels: false })
    const gh = createGitHubClient({ token: emu.token, baseUrl: emu.url, ...NO_WAITS })
    const first = await upsertProposal(gh, req(emu, '192.0.2.1\n192.0.2.2\n', { labels: ['tls-bypass', 'reviewed'] }))
    expect(first.operation).toBe('created')
    expect(emu.pulls[0]!.labels).toEqual(['reviewed']) // the existing label is added
    expect(first.warnings).toEqual([
      'The repository has no label "tls-bypass" and this token cannot create one (that needs issues: write, which collect.yml does not grant). Create it under Issues › Labels to label the next pull request; #1 stays without it, and nothing else is affected.'
    ])
    const before = emu.requests.length
    const logs: string[] = []
    const next = await upsertProposal(gh, req(emu, '192.0.2.1\n192.0.2.2\n192.0.2.3\n', { labels: ['tls-bypass', 'reviewed'] }), (m) => logs.push(m))
    expect(next.operation).toBe('updated')
    expect(next.warnings).toBeUndefined()
    expect(emu.requests.slice(before).filter((q) => q.path.includes('/labels'))).toEqual([expect.objectContaining({ method: 'GET', status: 404 })])
    expect(logs.some((l) => l.startsWith('Label "tls-bypass" does not exist'))).toBe(true)
  })

  it('a label that exists is added on an update too', async () => {
    emu = await startGitHubEmulator({ files: { 'lists/ips.txt': '192.0.2.1\n' }, labels: ['tls-bypass', 'automated'], canCreateLabels: false })
    const gh = createGitHubClient({ token: emu.token, baseUrl: emu.url, ...NO_WAITS })
    await upsertProposal(gh, req(emu, '192.0.2.1\n192.0.2.2\n'))
    const r = await upsertProposal(gh, req(emu, '192.0.2.1\n192.0.2.2\n', { labels: ['tls-bypass', 'automated'] }))
    expect(r).toMatchObject({ operation: 'unchanged', edited: true })
    expect(emu.pulls[0]!.labels).toEqual(['tls-bypass', 'automated'])
  })
})

describe('collect re-run keeps the reviewer\u2019s ticks (command level)', () => {
  it('ticks survive a run with new evidence; a missing label is one warning, not a failure', { timeout: 60_000 }, async (ctx: TestContext) => {
    const ACCOUNT = 'fedcba9876543210fedcba9876543210'
    const repoFile = (p: string): string => readFileSync(new URL(`../${p}`, import.meta.url), 'utf8')
    const cf = await startCloudflareEmulator({ accountId: ACCOUNT })
    const gh = await startGitHubEmulator({ files: { 'lists/ips.txt': repoFile('lists/ips.txt'), 'lists/hosts.txt': repoFile('lists/hosts.txt'), 'exclusions.yaml': repoFile('exclusions.yaml') }, canCreateLabels: false })
    ctx.onTestFinished(async () => {
      await cf.close()
      await gh.close()
    })
    const git = (...args: string[]): string => execFileSync('git', ['--git-dir', gh.bareRepo, ...args]).toString().trim()
    const run = async (hosts: string[]) => {
      const now = Date.now()
      await cf.setLogRows('zero_trust_network_sessions', hosts.flatMap((h, i) => failingSessions(h, `192.0.2.${10 + i}`, [1, 2], now)))
      const files: Record<string, string> = {}
      for (const p of ['lists/ips.txt', 'lists/hosts.txt', 'exclusions.yaml']) files[p] = (await gh.readFile(gh.defaultBranch, p))!
      const rt = await testRuntime({ files, now, github: { owner: gh.owner, repo: gh.repo, apiUrl: gh.url, sha: git('rev-parse', gh.defaultBranch), timing: NO_WAITS } })
      const o = await runCaptured(rt, { 'command': 'collect', 'cloudflare-account-id': ACCOUNT, 'cloudflare-api-token': cf.token, 'cloudflare-api-url': cf.url, 'github-token': gh.token })
      if (o.error) throw new Error(`collect failed: ${o.error.message}\n${o.text}`)
      return rt
    }
    const first = await run(['api.pinnedbank.example'])
    expect(first.logs.filter((l) => l.level === 'warning' && l.message.includes('issues: write'))).toHaveLength(1)
    const pr = gh.pulls[0]!
    const items = [...pr.body.matchAll(/^- \[ \] (.+)$/gm)].map((m) => m[1]!)
    expect(items.length).toBeGreaterThanOrEqual(3)
    // The reviewer ticks the first and the last checklist item.
    const tickedBody = pr.body.replace(`- [ ] ${items[0]}`, `- [x] ${items[0]}`).replace(`- [ ] ${items.at(-1)}`, `- [x] ${items.at(-1)}`)
    const person = createGitHubClient({ token: gh.token, baseUrl: gh.url, retries: 0, pacing: false })
    await person.rest.pulls.update({ owner: gh.owner, repo: gh.repo, pull_number: pr.number, body: tickedBody })

    const second = await run(['api.pinnedbank.example', 'telemetry.vendor-app.example'])
    const now = gh.pulls[0]!.body
    expect(now).toContain('telemetry.vendor-app.example') // the body was rewritten
    expect(now).toContain(`- [x] ${items[0]}`)
    expect(now).toContain(`- [x] ${items.at(-1)}`)
    expect([...now.matchAll(/^- \[x\] /gm)]).toHaveLength(2)
    expect(second.logs.filter((l) => l.level === 'warning' && l.message.includes('label'))).toEqual([])
  })
})
