// Issue 12, sync side: a widened managed policy is restored (old → new shown), the breadth
// guards (addresses covered, max-sync-additions, max-lists), Gateway items paging that does
// not assume 1,000 a page, and convergence after two concurrent runs made duplicates.
// Pure tables first, then the adapter against the emulator through the real SDK, then the
// commands (check / sync) as a workflow runs them.
import { readFileSync } from 'node:fs'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type Cloudflare from 'cloudflare'
import { createCloudflareClient } from '../action/src/adapters/cloudflare-client.js'
import { applySyncPlan, readRemoteState } from '../action/src/adapters/gateway.js'
import { RateLimiter } from '../action/src/adapters/rate-limiter.js'
import { addedCoverage, coverage, formatCount } from '../action/src/core/sync-breadth.js'
import { normaliseTraffic } from '../action/src/core/sync-traffic.js'
import {
  adoptOldest, assertPlanAllowed, PlanLimitError, planSync, policyTraffic, TooMuchChangeError,
  type RemoteRule, type RemoteState, type SyncOptions, type SyncPlan
} from '../action/src/core/sync-plan.js'
import { renderSyncMarkdown, renderSyncText } from '../action/src/core/render/sync.js'
import { formatListFile } from '../action/src/core/listfile.js'
import { runCommand } from '../action/src/run.js'
import { startCloudflareEmulator, type CloudflareEmulator, type CloudflareEmulatorOptions, type EmuRule } from './emulators/cloudflare.js'
import { inputsFor, testRuntime } from './harness/runtime.js'

const PREFIX = 'gateway-tls-bypass'
const POLICY = 'gateway-tls-bypass'
const OPTS: SyncOptions = {
  prefix: PREFIX, policyName: POLICY, capacity: 1000, force: false,
  provenance: { repository: 'acme/bypass', commit: 'abcdef1234567890' }
}
const instant = (): Promise<void> => Promise.resolve()
const limiter = (): RateLimiter => new RateLimiter({ perMinute: 100_000, per5Min: 100_000, sleep: instant })
const ips = (n: number, first = 0): string[] => Array.from({ length: n }, (_, k) => {
  const i = k + first
  return `10.${Math.floor(i / 62_500)}.${Math.floor(i / 250) % 250}.${(i % 250) + 1}`
})
const hosts = (n: number): string[] => Array.from({ length: n }, (_, i) => `h${i}.example.com`)
const WIDENING = ' or http.conn.dst_port == 443'

let emu: CloudflareEmulator
let client: Cloudflare

async function start(o: CloudflareEmulatorOptions = {}): Promise<void> {
  emu = await startCloudflareEmulator({ rateLimits: { listsPerMinute: 1_000_000, globalPer5Min: 1_000_000 }, ...o })
  client = createCloudflareClient({ apiToken: emu.token, baseURL: emu.url, maxRetries: 2, timeoutMs: 5000 })
}
afterEach(async () => {
  await emu?.close()
})

async function plan(desired: { ips: string[]; hosts: string[] }, o: Partial<SyncOptions> = {}): Promise<SyncPlan> {
  const remote = await readRemoteState(client, emu.accountId, { prefix: PREFIX, policyName: POLICY, limiter: limiter(), sleep: instant })
  return planSync(desired, remote, { ...OPTS, ...o })
}

async function run(desired: { ips: string[]; hosts: string[] }, o: Partial<SyncOptions> = {}): Promise<{ plan: SyncPlan; writes: number }> {
  const p = await plan(desired, o)
  const { writes } = await applySyncPlan(client, emu.accountId, p, { limiter: limiter(), sleep: instant })
  return { plan: p, writes }
}

const rules = (): EmuRule[] => [...emu.rules.values()].filter((r) => r.name === POLICY)

describe('normaliseTraffic', () => {
  const id = '0123456789abcdef0123456789abcdef'
  const hyph = '01234567-89AB-CDEF-0123-456789ABCDEF'
  it.each([
    ['whitespace', `any(http.conn.dst_ip[*] in $${id})   or  http.conn.hostname in $${id}`, `any( http.conn.dst_ip[*] in $${id} ) or http.conn.hostname in $${id}`],
    ['hyphens and case of list ids', `http.conn.hostname in $${hyph}`, `http.conn.hostname in $${id}`],
    ['order of clauses', `a == 1 or b == 2`, `b == 2 or a == 1`],
    ['|| for or', `a == 1 || b == 2`, `a == 1 or b == 2`]
  ])('treats as equal: %s', (_n, a, b) => {
    expect(normaliseTraffic(a)).toEqual(normaliseTraffic(b))
  })
  it.each([
    ['an appended clause', `http.conn.hostname in $${id}`, `http.conn.hostname in $${id}${WIDENING}`],
    ['and inside a clause', `http.conn.hostname in $${id}`, `http.conn.hostname in $${id} and a == 1`],
    ['a string literal', `http.conn.hostname == "a  b"`, `http.conn.hostname == "a b"`],
    ['or inside a string is not an operator', `x == "a or b"`, `x == "a" or b`],
    ['not', `http.conn.hostname in $${id}`, `not http.conn.hostname in $${id}`]
  ])('tells apart: %s', (_n, a, b) => {
    expect(normaliseTraffic(a)).not.toEqual(normaliseTraffic(b))
  })
  it('does not split an or inside parentheses or identifiers', () => {
    expect(normaliseTraffic('(a or b) or http.conn.hostname_or == 1')).toEqual(['(aorb)', 'http.conn.hostname_or==1'].sort())
  })
})

describe('widened managed policy (issue 12 item 2)', () => {
  const L = { ip: '11111111-1111-4111-8111-111111111111', host: '33333333-3333-4333-8333-333333333333' }
  const apiTraffic = policyTraffic([{ type: 'IP', id: L.ip }, { type: 'DOMAIN', id: L.host }]).replace(/-/g, '')
  const state = (over: Partial<RemoteRule>): RemoteState => ({
    lists: [
      { id: L.ip, name: `${PREFIX} IP 1`, type: 'IP', items: [] },
      { id: L.host, name: `${PREFIX} hosts 1`, type: 'DOMAIN', items: [] }
    ],
    policy: { id: 'r1', name: POLICY, action: 'off', enabled: true, filters: ['http'], traffic: apiTraffic, ...over }
  })

  it('an appended "or http.conn.dst_port == 443" is a change, shown old → new', () => {
    const p = planSync({ ips: [], hosts: [] }, state({ traffic: apiTraffic + WIDENING }), OPTS)
    expect(p.policy).toMatchObject({ action: 'update', handEdited: true })
    expect(p.policy.reasons.join(' ')).toContain('http.conn.dst_port==443')
    expect(p.policy.changes).toEqual([{ field: 'traffic', old: apiTraffic + WIDENING, new: policyTraffic([{ type: 'IP', id: L.ip }, { type: 'DOMAIN', id: L.host }]) }])
    expect(renderSyncMarkdown(p)).toContain('| ~ traffic |')
    expect(renderSyncMarkdown(p)).toContain('http.conn.dst_port == 443')
    expect(renderSyncText(p)).toMatch(/~ traffic = ".*or http\.conn\.dst_port == 443" -> "any\(/)
  })

  it.each([
    ['action', { action: 'allow' }, { field: 'action', old: 'allow', new: 'off' }],
    ['enabled', { enabled: false }, { field: 'enabled', old: 'false', new: 'true' }],
    ['filters', { filters: ['dns'] }, { field: 'filters', old: '["dns"]', new: '["http"]' }]
  ] as const)('%s: restored and shown old → new', (_n, over, change) => {
    const p = planSync({ ips: [], hosts: [] }, state(over as Partial<RemoteRule>), OPTS)
    expect(p.policy.changes).toEqual([change])
    expect(renderSyncText(p)).toContain(`~ ${change.field} = ${JSON.stringify(change.old)} -> ${JSON.stringify(change.new)}`)
  })

  it('a hostile expression stays inert in the summary table and on the terminal', () => {
    const hostile = `${apiTraffic} or http.conn.hostname == "x|y\`\`<!-- @admin\n| forged | row |"`
    const p = planSync({ ips: [], hosts: [] }, state({ traffic: hostile }), OPTS)
    const md = renderSyncMarkdown(p)
    const row = md.split('\n').find((l) => l.startsWith('| ~ traffic |'))!
    expect(row).toBeDefined()
    expect(md).not.toContain('<!--')
    expect(md).not.toMatch(/^\| forged/m)
    expect(row).toContain('\\u000a')
    expect(renderSyncText(p).split('\n').filter((l) => l.includes('forged'))).toHaveLength(2)
  })

  it('the API spelling of our own expression is not a change', () => {
    const reordered = `http.conn.hostname in $${L.host.replace(/-/g, '').toUpperCase()}  or any(http.conn.dst_ip[*] in $${L.ip})`
    expect(planSync({ ips: [], hosts: [] }, state({ traffic: reordered }), OPTS).changes).toBe(0)
  })

  describe('against the emulator', () => {
    beforeEach(async () => { await start() })

    it('sync restores the widened expression; the next run reports no change', async () => {
      await run({ ips: ['192.0.2.1'], hosts: ['a.example.com'] })
      const rule = rules()[0]!
      const ours = rule.traffic
      rule.traffic = ours + WIDENING
      const r = await run({ ips: ['192.0.2.1'], hosts: ['a.example.com'] })
      expect(r.plan.policy.changes.map((c) => [c.field, c.old])).toEqual([['traffic', ours + WIDENING]])
      expect(r.writes).toBe(1)
      expect(rules()[0]!.traffic).toBe(ours)
      const again = await run({ ips: ['192.0.2.1'], hosts: ['a.example.com'] })
      expect([again.plan.changes, again.writes]).toEqual([0, 0])
    })

    it.each([
      ['action', (r: EmuRule) => { r.action = 'block' }],
      ['enabled', (r: EmuRule) => { r.enabled = false }],
      ['filters', (r: EmuRule) => { r.filters = ['dns'] }]
    ] as const)('sync restores %s; the next run reports no change', async (field, edit) => {
      await run({ ips: ['192.0.2.1'], hosts: [] })
      edit(rules()[0]!)
      const r = await run({ ips: ['192.0.2.1'], hosts: [] })
      expect(r.plan.policy.changes.map((c) => c.field)).toEqual([field])
      expect(rules()[0]).toMatchObject({ action: 'off', enabled: true, filters: ['http'] })
      expect((await run({ ips: ['192.0.2.1'], hosts: [] })).writes).toBe(0)
    })
  })
})

describe('breadth (issue 12 item 6)', () => {
  it.each([
    [['192.0.2.1'], 1n, 0n],
    [['10.0.0.0/8', '10.1.2.3', '10.1.0.0/16'], 16_777_216n, 0n],
    [['192.0.2.0/24', '192.0.3.0/24'], 512n, 0n],
    [['2001:db8::/64', '2001:db8::1'], 0n, 1n << 64n],
    [['::ffff:192.0.2.1'], 1n, 0n],
    [['not an ip'], 0n, 0n]
  ])('coverage of %j is the size of the union', (values, v4, v6) => {
    expect(coverage(values)).toEqual({ v4, v6 })
  })

  it('counts what a run adds, not what it already had', () => {
    expect(addedCoverage(['10.0.0.0/24'], ['10.0.0.0/24', '10.0.0.5', '10.0.1.0/24'])).toEqual({ v4: 256n, v6: 0n })
    expect(addedCoverage(['10.0.0.0/24'], ['10.0.0.7'])).toEqual({ v4: 0n, v6: 0n })
  })

  it.each([
    [0n, '0'], [256n, '256'], [16_777_216n, '16,777,216'], [1n << 64n, '2^64'], [(1n << 64n) * 3n, '≈2^65.6'], [1n << 128n, '2^128']
  ])('formatCount(%s) = %s', (n, text) => {
    expect(formatCount(n)).toBe(text)
  })

  it('the plan states total and added coverage per family', () => {
    const remote: RemoteState = { lists: [], policy: null }
    const p = planSync({ ips: ['192.0.2.0/24', '2001:db8::/48'], hosts: [] }, remote, OPTS)
    expect(p.breadth).toEqual({ total: { v4: 256n, v6: 1n << 80n }, added: { v4: 256n, v6: 1n << 80n } })
    expect(renderSyncMarkdown(p)).toContain('IP entries cover 256 IPv4 and 2^80 IPv6 addresses; this run adds 256 IPv4 and 2^80 IPv6.')
  })

  it.each([
    [5000, 5000, true],
    [5001, 5000, false],
    [6000, 6000, true]
  ])('%i additions with max-sync-additions %i: allowed=%s; force overrides', (n, max, allowed) => {
    const p = planSync({ ips: ips(n), hosts: [] }, { lists: [], policy: null }, { ...OPTS, maxAdditions: max, maxLists: 100 })
    expect(p.guard.allowed).toBe(allowed)
    if (!allowed) {
      expect(() => assertPlanAllowed(p)).toThrow(TooMuchChangeError)
      expect(() => assertPlanAllowed(p)).toThrow(/adds 5001 entries.*limit 5000, input max-sync-additions.*force: true/)
      expect(planSync({ ips: ips(n), hosts: [] }, { lists: [], policy: null }, { ...OPTS, maxAdditions: max, maxLists: 100, force: true }).guard.allowed).toBe(true)
    }
  })

  it.each([
    // capacity, IPs, hosts, max-lists → lists needed, allowed
    [1000, 8000, 1000, 10, 9, true],
    [1000, 9001, 1000, 10, 11, false],
    [1000, 120_000, 0, 10, 121, false],
    [5000, 45_000, 5000, 10, 10, true]
  ])('capacity %i, %i IPs + %i hosts, max-lists %i: %i lists, allowed=%s, whatever force says', (capacity, nIps, nHosts, maxLists, needed, allowed) => {
    for (const force of [false, true]) {
      const p = planSync({ ips: ips(nIps), hosts: hosts(nHosts) }, { lists: [], policy: null }, { ...OPTS, capacity, maxLists, maxAdditions: 10_000_000, force })
      expect(p.ips.creates.length + p.hosts.creates.length).toBe(needed)
      expect(p.guard.allowed).toBe(allowed)
      if (!allowed) {
        expect(() => assertPlanAllowed(p)).toThrow(PlanLimitError)
        expect(p.guard.limits.join(' ')).toMatch(new RegExp(`needs ${needed} Gateway lists.*max-lists \\(${maxLists}\\).*list-capacity to 5000`))
        expect(renderSyncMarkdown(p)).toContain('force does not override this limit')
      }
    }
  })

  describe('against the emulator', () => {
    beforeEach(async () => { await start({ listCapacity: 1000 }) })

    it('50,000 new IPs in one run are refused before any write, with how to apply anyway', async () => {
      const p = await plan({ ips: ips(50_000), hosts: [] }, { maxLists: 100 })
      expect(p.guard.violations.join(' ')).toMatch(/adds 50000 entries.*max-sync-additions/)
      await expect(applySyncPlan(client, emu.accountId, p, { limiter: limiter(), sleep: instant })).rejects.toThrow(/force: true, or raise max-sync-additions/)
      expect(emu.writes()).toHaveLength(0)
    })

    it('120,000 IPs do not eat the account\'s lists: refused before any write, even with force', async () => {
      const p = await plan({ ips: ips(120_000), hosts: [] }, { force: true })
      await expect(applySyncPlan(client, emu.accountId, p, { limiter: limiter(), sleep: instant })).rejects.toThrow(PlanLimitError)
      expect(emu.writes()).toHaveLength(0)
      expect(emu.lists.size).toBe(0)
    })
  })
})

describe('Gateway items paging', () => {
  it.each([50, 7, 1000])('reads a 5,000-item list whole when the API serves %i a page', async (cap) => {
    await start({ listCapacity: 5000, itemsPageCap: cap })
    const values = ips(5000)
    await run({ ips: values, hosts: [] }, { capacity: 5000 })
    const remote = await readRemoteState(client, emu.accountId, { prefix: PREFIX, policyName: POLICY, limiter: limiter(), sleep: instant })
    const list = remote.lists.find((l) => l.type === 'IP')!
    expect(list.items).toHaveLength(5000)
    expect(new Set(list.items.map((i) => i.value)).size).toBe(5000)
    const reads = emu.requests.filter((q) => q.method === 'GET' && q.path.endsWith(`${list.id}/items`))
    // Stopped on total_count: no extra empty page.
    expect(reads.length).toBeGreaterThanOrEqual(Math.ceil(5000 / cap))
    expect((await run({ ips: values, hosts: [] }, { capacity: 5000 })).writes).toBe(0)
  })

  it('stops on a short page when there is no total_count, and refuses a read that ends early', async () => {
    await start()
    await run({ ips: [], hosts: hosts(3) })
    const id = [...emu.lists.values()].find((l) => l.type === 'DOMAIN')!.id
    const page = (values: string[], info: Record<string, number>): string => JSON.stringify({ success: true, errors: [], messages: [], result: values.map((value) => ({ value })), result_info: info })
    const path = new RegExp(`${id}/items$`)
    emu.inject({ method: 'GET', path, status: 200, body: page(['a.example', 'b.example'], { page: 1, per_page: 2 }) })
    emu.inject({ method: 'GET', path, status: 200, body: page(['c.example'], { page: 2, per_page: 2 }) })
    const r = await readRemoteState(client, emu.accountId, { prefix: PREFIX, policyName: POLICY, limiter: limiter(), sleep: instant })
    expect(r.lists.find((l) => l.id === id)?.items.map((i) => i.value)).toEqual(['a.example', 'b.example', 'c.example'])
    emu.inject({ method: 'GET', path, status: 200, body: page(['a.example'], { page: 1, per_page: 1, total_count: 3 }) })
    emu.inject({ method: 'GET', path, status: 200, body: page([], { page: 2, per_page: 1, total_count: 3 }) })
    await expect(readRemoteState(client, emu.accountId, { prefix: PREFIX, policyName: POLICY, limiter: limiter(), sleep: instant }))
      .rejects.toThrow(/read 1 of its 3 items.*partial read/)
  })
})

describe('concurrent syncs (duplicates by name)', () => {
  it('adopts the oldest, then the smallest id, whatever the order read', () => {
    const xs = [
      { id: 'b', createdAt: '2026-01-01T00:00:00Z' }, { id: 'a', createdAt: '2026-01-01T00:00:00Z' },
      { id: 'c', createdAt: '2025-12-31T00:00:00Z' }, { id: '0' }
    ]
    for (const order of [xs, [...xs].reverse()]) {
      const r = adoptOldest(order, (x) => x)
      expect([r.adopted?.id, r.rest.map((x) => x.id)]).toEqual(['c', ['a', 'b', '0']])
    }
  })

  it('two CLI runs planned at once: the next run adopts one of each, reports the rest, and converges', async () => {
    await start({ uniqueListNames: false })
    const desired = { ips: ['192.0.2.1', '192.0.2.2'], hosts: ['a.example.com'] }
    // Both read the empty account before either writes, as two CLI runs would.
    const p1 = await plan(desired)
    const p2 = await plan(desired)
    await applySyncPlan(client, emu.accountId, p1, { limiter: limiter(), sleep: instant })
    await applySyncPlan(client, emu.accountId, p2, { limiter: limiter(), sleep: instant })
    expect(rules()).toHaveLength(2)
    expect([...emu.lists.values()].filter((l) => l.name === `${PREFIX} IP 1`)).toHaveLength(2)

    const third = await run(desired)
    const firstIp = [...emu.lists.values()].filter((l) => l.name === `${PREFIX} IP 1`).sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id))[0]!
    expect(third.plan.duplicateLists.map((d) => d.name).sort()).toEqual([`${PREFIX} IP 1`, `${PREFIX} hosts 1`])
    expect(third.plan.duplicateLists.find((d) => d.type === 'IP')?.adoptedId).toBe(firstIp.id)
    expect(third.plan.policy.duplicates).toHaveLength(1)
    const md = renderSyncMarkdown(third.plan)
    expect(md).toMatch(/exist twice.*delete them by hand/)
    expect(md).toMatch(/other policy is named.*disables the others and never deletes them/)
    // Never a list deleted; one enabled policy, referencing only adopted lists.
    expect(emu.lists.size).toBe(4)
    const enabled = rules().filter((r) => r.enabled)
    expect(enabled).toHaveLength(1)
    const dupIds = new Set(third.plan.duplicateLists.map((d) => d.id.replace(/-/g, '')))
    expect([...enabled[0]!.traffic.matchAll(/\$([0-9a-f]{32})/g)].map((m) => m[1]).filter((id) => dupIds.has(id!))).toEqual([])
    expect(enabled[0]!.traffic).toContain(firstIp.id.replace(/-/g, ''))

    const fourth = await run(desired)
    expect(fourth.writes).toBe(0)
    expect(fourth.plan.duplicateLists).toHaveLength(2)
    expect(renderSyncText(fourth.plan)).toMatch(/duplicate list .* delete it by hand/)
  })

  it('seeded duplicates named "gateway-tls-bypass IP 1" and two policies "gateway-tls-bypass": the same convergence', async () => {
    await start({ uniqueListNames: false })
    await run({ ips: ['192.0.2.1'], hosts: [] })
    const original = [...emu.lists.values()].find((l) => l.name === `${PREFIX} IP 1`)!
    const policy = rules()[0]!
    // A later copy of each, as a concurrent run would have made; the copy policy references the copy list.
    const copyId = '99999999-9999-4999-8999-999999999999'
    emu.lists.set(copyId, { ...original, id: copyId, items: [{ value: '203.0.113.9/32', created_at: '' }], created_at: '2999-01-01T00:00:00.000Z' })
    emu.rules.set('rule-copy', { ...policy, id: 'rule-copy', traffic: `any(http.conn.dst_ip[*] in $${copyId.replace(/-/g, '')})`, created_at: '2999-01-01T00:00:00.000Z' })
    policy.traffic += ` or any(http.conn.dst_ip[*] in $${copyId.replace(/-/g, '')})`
    const r = await run({ ips: ['192.0.2.1'], hosts: [] })
    expect(r.plan.duplicateLists).toEqual([{ id: copyId, name: `${PREFIX} IP 1`, type: 'IP', items: 1, createdAt: '2999-01-01T00:00:00.000Z', adoptedId: original.id }])
    expect(r.plan.policy.reasons.join(' ')).toMatch(/duplicate of gateway-tls-bypass IP 1/)
    expect(r.plan.policy.handEdited).toBe(false)
    expect(emu.rules.get('rule-copy')?.enabled).toBe(false)
    expect(policy.id).toBe(rules().find((x) => x.enabled)?.id)
    expect(rules().find((x) => x.enabled)?.traffic).not.toContain(copyId.replace(/-/g, ''))
    expect(emu.lists.has(copyId)).toBe(true)
    expect((await run({ ips: ['192.0.2.1'], hosts: [] })).writes).toBe(0)
  })
})

describe('check and sync commands', () => {
  const repoFile = (p: string): string => readFileSync(new URL(`../${p}`, import.meta.url), 'utf8')
  const header = (p: string): string[] => repoFile(p).split('\n').slice(0, -1)
  const files = (d: { ips: string[]; hosts: string[] }): Record<string, string> => ({
    'lists/ips.txt': formatListFile(header('lists/ips.txt'), d.ips, 'ip'),
    'lists/hosts.txt': formatListFile(header('lists/hosts.txt'), d.hosts, 'host')
  })
  async function command(name: 'sync' | 'check', d: { ips: string[]; hosts: string[] }, extra: Record<string, string> = {}): Promise<{ text: string; summary: string; error?: Error }> {
    const rt = await testRuntime({ files: files(d), github: { owner: 'acme', repo: 'bypass', apiUrl: 'http://127.0.0.1:9', sha: '0123456789abcdef0123456789abcdef01234567' } })
    let error: Error | undefined
    try {
      await runCommand(rt, inputsFor({ command: name, 'cloudflare-account-id': emu.accountId, 'cloudflare-api-token': emu.token, 'cloudflare-api-url': emu.url, ...extra }))
    } catch (e) {
      error = e as Error
    }
    const out: { text: string; summary: string; error?: Error } = { text: [rt.all(), error?.message ?? ''].join('\n'), summary: rt.summaries.join('\n') }
    if (error !== undefined) out.error = error
    return out
  }
  beforeEach(async () => { await start() })

  it('check shows the widened policy as a plan (old → new) and writes nothing; sync restores it', async () => {
    const d = { ips: ['192.0.2.1'], hosts: ['a.example.com'] }
    await command('sync', d)
    const rule = rules()[0]!
    rule.traffic += WIDENING
    const before = emu.writes().length
    const check = await command('check', d)
    expect(check.error).toBeUndefined()
    expect(emu.writes().length).toBe(before)
    expect(check.summary).toContain('| ~ traffic |')
    expect(check.summary).toContain('or http.conn.dst_port == 443')
    const sync = await command('sync', d)
    expect(sync.summary).toContain('or http.conn.dst_port == 443')
    expect(rules()[0]!.traffic).not.toContain('dst_port')
    const quiet = await command('sync', d)
    expect(quiet.text).toContain('No changes')
  })

  it('check warns and sync refuses more than max-sync-additions; force applies', async () => {
    const d = { ips: ips(5001), hosts: [] }
    const check = await command('check', d)
    expect(check.text).toMatch(/sync will refuse this plan.*adds 5001 entries/)
    const refused = await command('sync', d)
    expect(refused.error?.message).toMatch(/adds 5001 entries.*force: true/)
    expect(emu.writes()).toHaveLength(0)
    const forced = await command('sync', d, { force: 'true' })
    expect(forced.error).toBeUndefined()
    expect(emu.lists.size).toBe(7)
  })

  it('sync refuses a plan needing more than max-lists, even with force', async () => {
    const refused = await command('sync', { ips: ips(3000), hosts: [] }, { 'max-lists': '3', force: 'true' })
    expect(refused.error?.message).toMatch(/needs 4 Gateway lists.*max-lists \(3\)/)
    expect(emu.writes()).toHaveLength(0)
  })
})
