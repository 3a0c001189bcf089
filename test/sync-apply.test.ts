// The adapter against the Cloudflare emulator, through the real SDK.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type Cloudflare from 'cloudflare'
import { createCloudflareClient } from '../action/src/adapters/cloudflare-client.js'
import { applySyncPlan, GatewayApiError, readRemoteState } from '../action/src/adapters/gateway.js'
import { RateLimiter } from '../action/src/adapters/rate-limiter.js'
import { planSync, TooMuchChangeError, type SyncOptions, type SyncPlan } from '../action/src/core/sync-plan.js'
import { startCloudflareEmulator, type CloudflareEmulator, type CloudflareEmulatorOptions } from './emulators/cloudflare.js'

const OPTS: SyncOptions = {
  prefix: 'TLS bypass',
  policyName: 'TLS bypass: Do Not Inspect',
  capacity: 1000,
  force: false,
  provenance: { repository: 'acme/bypass', commit: 'abcdef1234567890' }
}

const instant = (): Promise<void> => Promise.resolve()

let emu: CloudflareEmulator
let client: Cloudflare
let log: string[]

async function start(o: CloudflareEmulatorOptions = {}): Promise<void> {
  emu = await startCloudflareEmulator(o)
  client = createCloudflareClient({ apiToken: emu.token, baseURL: emu.url, maxRetries: 4, timeoutMs: 2000 })
}

beforeEach(async () => {
  log = []
  await start()
})
afterEach(async () => {
  await emu.close()
})

const limiter = (): RateLimiter => new RateLimiter({ perMinute: 600, per5Min: 1200, sleep: instant })

async function plan(desired: { ips: string[]; hosts: string[] }, o: Partial<SyncOptions> = {}): Promise<SyncPlan> {
  const remote = await readRemoteState(client, emu.accountId, { prefix: OPTS.prefix, policyName: OPTS.policyName, limiter: limiter(), sleep: instant })
  return planSync(desired, remote, { ...OPTS, ...o })
}

async function run(desired: { ips: string[]; hosts: string[] }, o: Partial<SyncOptions> = {}): Promise<{ plan: SyncPlan; writes: number }> {
  const p = await plan(desired, o)
  const { writes } = await applySyncPlan(client, emu.accountId, p, { limiter: limiter(), sleep: instant, log: (m) => log.push(m) })
  return { plan: p, writes }
}

/** Canonical-ish view of the emulator: list name → sorted values (without the /32 echo). */
function contents(): Record<string, string[]> {
  const out: Record<string, string[]> = {}
  for (const l of emu.lists.values()) out[l.name] = l.items.map((i) => i.value.replace(/\/32$/, '')).sort()
  return out
}

function allValues(type: 'IP' | 'DOMAIN'): string[] {
  return [...emu.lists.values()].filter((l) => l.type === type).flatMap((l) => l.items.map((i) => i.value.replace(/\/32$/, ''))).sort()
}

function policy(): { action: string; enabled: boolean; filters: string[]; traffic: string; precedence: number; description: string } {
  const rules = [...emu.rules.values()].filter((r) => r.name === OPTS.policyName)
  expect(rules).toHaveLength(1)
  return rules[0]!
}

/** Every managed list is referenced by the policy, with the API's hyphen-less ids. */
function expectPolicyReferencesAll(): void {
  const p = policy()
  expect(p).toMatchObject({ action: 'off', enabled: true, filters: ['http'] })
  for (const l of emu.lists.values()) expect(p.traffic).toContain(`$${l.id.replace(/-/g, '')}`)
}

const ips = (n: number): string[] => Array.from({ length: n }, (_, i) => `10.${Math.floor(i / 250)}.0.${(i % 250) + 1}`)
const hosts = (n: number): string[] => Array.from({ length: n }, (_, i) => `h${i}.example.com`)

describe('sync against the emulator', () => {
  it('creates lists and the policy from an empty account; a second run makes zero writes', async () => {
    const first = await run({ ips: ['1.2.3.4', '10.0.0.0/8'], hosts: ['pinned.example.com'] })
    expect(first.plan.changes).toBe(2 + 1 + 2 + 1)
    expect(contents()).toEqual({ 'TLS bypass IP 1': ['1.2.3.4', '10.0.0.0/8'], 'TLS bypass hosts 1': ['pinned.example.com'] })
    expectPolicyReferencesAll()
    for (const l of emu.lists.values()) for (const i of l.items) expect(i.description).toBe('gateway-tls-bypass: from acme/bypass@abcdef1')

    const stored = [...emu.lists.values()].flatMap((l) => l.items.map((i) => i.value))
    expect(stored).toContain('1.2.3.4/32')
    const before = emu.writes().length
    // The emulator echoes 1.2.3.4 as 1.2.3.4/32 and rewrites the traffic: neither is churn.
    const second = await run({ ips: ['10.0.0.0/8', '1.2.3.4'], hosts: ['pinned.example.com'] })
    expect(second.plan.changes).toBe(0)
    expect(second.writes).toBe(0)
    expect(emu.writes().length).toBe(before)
  })

  it('shards across lists at capacity and fills freed slots before creating lists', async () => {
    await emu.close()
    await start({ listCapacity: 5 })
    await run({ ips: ips(12), hosts: [] }, { capacity: 5 })
    expect(Object.entries(contents()).map(([n, v]) => [n, v.length])).toEqual([
      ['TLS bypass IP 1', 5], ['TLS bypass IP 2', 5], ['TLS bypass IP 3', 2], ['TLS bypass hosts 1', 0]
    ])
    expectPolicyReferencesAll()
    // Drop 3 from list 1, add 6 new: 3 freed slots in list 1 + 3 free in list 3, no new list.
    const desired = [...ips(12).slice(3), '192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4', '192.0.2.5', '192.0.2.6']
    const r = await run({ ips: desired, hosts: [] }, { capacity: 5 })
    expect(r.plan.ips.creates).toEqual([])
    expect(emu.lists.size).toBe(4)
    expect(allValues('IP')).toEqual([...desired].sort())
    expect((await plan({ ips: desired, hosts: [] }, { capacity: 5 })).changes).toBe(0)
  })

  it('reads every page: 120 items with the default 50-per-page API', async () => {
    await run({ ips: [], hosts: hosts(120) })
    const remote = await readRemoteState(client, emu.accountId, { prefix: OPTS.prefix, policyName: OPTS.policyName, limiter: limiter() })
    expect(remote.lists.find((l) => l.type === 'DOMAIN')?.items).toHaveLength(120)
    const itemReads = emu.requests.filter((q) => q.method === 'GET' && q.path.endsWith('/items'))
    expect(itemReads.every((q) => q.query['per_page'] === '1000')).toBe(true)
    expect((await run({ ips: [], hosts: hosts(120) })).writes).toBe(0)
  })

  it('reads more than one page when the API caps per_page', async () => {
    await run({ ips: [], hosts: hosts(120) })
    // Serve 50 per page whatever per_page says, as the API did before per_page existed.
    const listId = [...emu.lists.values()].find((l) => l.type === 'DOMAIN')!.id
    const page = (n: number, values: string[]): string => JSON.stringify({
      success: true, errors: [], messages: [], result: values.map((value) => ({ value })), result_info: { page: n, per_page: 50, count: values.length, total_count: 120 }
    })
    const h = hosts(120)
    emu.inject({ method: 'GET', path: new RegExp(`${listId}/items$`), status: 200, body: page(1, h.slice(0, 50)) })
    emu.inject({ method: 'GET', path: new RegExp(`${listId}/items$`), status: 200, body: page(2, h.slice(50, 100)) })
    emu.inject({ method: 'GET', path: new RegExp(`${listId}/items$`), status: 200, body: page(3, h.slice(100)) })
    const remote = await readRemoteState(client, emu.accountId, { prefix: OPTS.prefix, policyName: OPTS.policyName, limiter: limiter() })
    expect(remote.lists.find((l) => l.id === listId)?.items.map((i) => i.value)).toEqual(h)
  })

  it('keeps a hand-added item, reports it as drift, and never removes it', async () => {
    await run({ ips: ['1.1.1.1'], hosts: [] })
    const list = [...emu.lists.values()].find((l) => l.type === 'IP')!
    list.items.push({ value: '9.9.9.9/32', created_at: new Date().toISOString() })
    list.items.push({ value: '8.8.8.8/32', description: 'added by the network team', created_at: new Date().toISOString() })
    const r = await run({ ips: ['1.1.1.1'], hosts: [] })
    expect(r.writes).toBe(0)
    expect(r.plan.ips.drift.map((d) => d.value)).toEqual(['8.8.8.8', '9.9.9.9'])
    expect(allValues('IP')).toEqual(['1.1.1.1', '8.8.8.8', '9.9.9.9'])
  })

  it('refuses a mass removal before any write unless forced', async () => {
    await run({ ips: ips(20), hosts: [] })
    const before = emu.writes().length
    const p = await plan({ ips: ips(20).slice(10), hosts: [] })
    expect(p.guard.safe).toBe(false)
    await expect(applySyncPlan(client, emu.accountId, p, { limiter: limiter(), sleep: instant })).rejects.toThrow(TooMuchChangeError)
    expect(emu.writes().length).toBe(before)
    const forced = await run({ ips: ips(20).slice(10), hosts: [] }, { force: true })
    expect(forced.writes).toBe(1)
    expect(allValues('IP')).toEqual(ips(20).slice(10).sort())
  })

  it('an emptied file needs force', async () => {
    await run({ ips: ['1.1.1.1'], hosts: ['a.example.com'] })
    await expect(run({ ips: ['1.1.1.1'], hosts: [] })).rejects.toThrow(/hostname file is empty.*force: true/)
    await run({ ips: ['1.1.1.1'], hosts: [] }, { force: true })
    expect(contents()).toEqual({ 'TLS bypass IP 1': ['1.1.1.1'], 'TLS bypass hosts 1': [] })
    expectPolicyReferencesAll()
  })

  it('restores a policy edited by hand, keeping the fields it does not manage', async () => {
    await run({ ips: ['1.1.1.1'], hosts: ['a.example.com'] })
    const rule = [...emu.rules.values()][0]!
    rule.enabled = false
    rule.traffic = 'http.conn.hostname == "x.example.com"'
    rule.precedence = 4242
    rule.description = 'hand-written note'
    const r = await run({ ips: ['1.1.1.1'], hosts: ['a.example.com'] })
    expect(r.plan.policy).toMatchObject({ action: 'update', handEdited: true })
    expect(r.plan.policy.reasons.join(' ')).toMatch(/disabled/)
    expect(r.writes).toBe(1)
    expectPolicyReferencesAll()
    expect(policy()).toMatchObject({ precedence: 4242, description: 'hand-written note' })
    expect((await plan({ ips: ['1.1.1.1'], hosts: ['a.example.com'] })).changes).toBe(0)
  })

  it('recreates a deleted policy', async () => {
    await run({ ips: ['1.1.1.1'], hosts: [] })
    emu.rules.clear()
    const r = await run({ ips: ['1.1.1.1'], hosts: [] })
    expect(r.plan.policy.action).toBe('create')
    expectPolicyReferencesAll()
  })

  it('removes a duplicate left in two lists by a past partial run', async () => {
    await emu.close()
    await start({ listCapacity: 2 })
    await run({ ips: ['1.1.1.1', '2.2.2.2', '3.3.3.3'], hosts: [] }, { capacity: 2 })
    const list2 = [...emu.lists.values()].find((l) => l.name === 'TLS bypass IP 2')!
    list2.items.push({ value: '1.1.1.1/32', description: 'gateway-tls-bypass: from acme/bypass@0000000', created_at: '' })
    const r = await run({ ips: ['1.1.1.1', '2.2.2.2', '3.3.3.3'], hosts: [] }, { capacity: 2 })
    expect(r.plan.counts.duplicates).toBe(1)
    expect(contents()['TLS bypass IP 2']).toEqual(['3.3.3.3'])
  })
})

describe('resilience', () => {
  it('waits out a 429 with Retry-After on a read (SDK) and on a write (own retry)', async () => {
    emu.inject({ method: 'GET', path: /\/gateway\/lists$/, status: 429, headers: { 'retry-after-ms': '10' } })
    emu.inject({ method: 'POST', path: /\/gateway\/lists$/, status: 429, headers: { 'Retry-After': '3' } })
    const sleeps: number[] = []
    const p = await plan({ ips: ['1.1.1.1'], hosts: [] })
    await applySyncPlan(client, emu.accountId, p, { limiter: limiter(), sleep: (ms) => { sleeps.push(ms); return Promise.resolve() } })
    expect(sleeps).toContain(3000)
    expect(emu.pendingFaults()).toBe(0)
    expect(contents()).toEqual({ 'TLS bypass IP 1': ['1.1.1.1'], 'TLS bypass hosts 1': [] })
    expect([...emu.lists.values()].filter((l) => l.name === 'TLS bypass IP 1')).toHaveLength(1)
  })

  it('retries 500s without duplicating lists or items', async () => {
    emu.inject({ method: 'GET', status: 500, times: 2 })
    emu.inject({ method: 'POST', path: /\/gateway\/lists$/, status: 500 })
    emu.inject({ method: 'POST', path: /\/gateway\/rules$/, status: 503 })
    await run({ ips: ips(2), hosts: hosts(2) })
    expect(emu.pendingFaults()).toBe(0)
    emu.inject({ method: 'PATCH', status: 502 })
    emu.inject({ method: 'PUT', status: 500 })
    const rule = [...emu.rules.values()][0]!
    rule.enabled = false
    await run({ ips: ips(3), hosts: hosts(2) })
    expect(emu.pendingFaults()).toBe(0)
    expect(emu.lists.size).toBe(2)
    expect(allValues('IP')).toEqual(ips(3).sort())
    expectPolicyReferencesAll()
  })

  it.each([
    ['list create', 'POST', /\/gateway\/lists$/],
    ['item append', 'PATCH', /\/gateway\/lists\/[^/]+$/],
    ['policy create', 'POST', /\/gateway\/rules$/],
    ['policy update', 'PUT', /\/gateway\/rules\/[^/]+$/]
  ] as const)('recovers when a %s is applied but its response fails (afterApply)', async (_n, method, path) => {
    // A first run so that there is something to PATCH / PUT.
    await run({ ips: ['1.1.1.1'], hosts: ['a.example.com'] })
    if (method === 'POST' && path.source.includes('rules')) emu.rules.clear()
    if (method === 'PUT') [...emu.rules.values()][0]!.enabled = false
    emu.inject({ method, path, status: 500, afterApply: true })
    const desired = { ips: ['1.1.1.1', '2.2.2.2'], hosts: ['a.example.com', 'b.example.com'] }
    await run(desired, { capacity: method === 'POST' && !path.source.includes('rules') ? 1 : 1000 })
    expect(emu.pendingFaults()).toBe(0)
    expect(allValues('IP')).toEqual(['1.1.1.1', '2.2.2.2'])
    expect(allValues('DOMAIN')).toEqual(['a.example.com', 'b.example.com'])
    expect(new Set([...emu.lists.values()].map((l) => l.name)).size).toBe(emu.lists.size)
    expectPolicyReferencesAll()
  })

  it('a run that fails in the middle of a multi-call plan is completed by the next run', async () => {
    await emu.close()
    await start({ listCapacity: 5 })
    await run({ ips: ips(12), hosts: hosts(3) }, { capacity: 5 })
    // Next plan: a list create (applied, response lost), appends, policy update, removals. The appends fail for good.
    const desired = { ips: [...ips(12).slice(2), '192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4', '192.0.2.5'], hosts: [...hosts(3), ...hosts(9).slice(3)] }
    emu.inject({ method: 'POST', path: /\/gateway\/lists$/, status: 500, afterApply: true })
    emu.inject({ method: 'PATCH', status: 500, times: 5 })
    await expect(run(desired, { capacity: 5 })).rejects.toThrow(GatewayApiError)
    // Nothing was removed before the policy was right.
    for (const v of ips(2)) expect(allValues('IP')).toContain(v)
    const again = await run(desired, { capacity: 5 })
    expect(again.plan.changes).toBeGreaterThan(0)
    expect(allValues('IP')).toEqual([...desired.ips].sort())
    expect(allValues('DOMAIN')).toEqual([...desired.hosts].sort())
    expect(new Set([...emu.lists.values()].map((l) => l.name)).size).toBe(emu.lists.size)
    expectPolicyReferencesAll()
    expect((await plan(desired, { capacity: 5 })).changes).toBe(0)
  })

  it('turns malformed JSON and success:false into clear errors', async () => {
    emu.inject({ method: 'GET', path: /\/gateway\/rules$/, status: 200, body: '{"result": [', times: 3 })
    await expect(plan({ ips: [], hosts: [] })).rejects.toThrow(/gateway\/rules.*malformed JSON/)
    emu.inject({ method: 'GET', path: /\/gateway\/lists$/, envelope: { success: false, errors: [{ code: 10000, message: 'Authentication error' }] }, times: 3 })
    await expect(plan({ ips: [], hosts: [] })).rejects.toThrow(/success:false: \[10000\] Authentication error/)
    // A single malformed answer is retried.
    emu.inject({ method: 'GET', path: /\/gateway\/rules$/, status: 200, body: 'not json' })
    await expect(plan({ ips: [], hosts: [] })).resolves.toBeDefined()
  })

  it('a definitive 4xx on a write stops at once with the permission hint', async () => {
    emu.inject({ method: 'POST', status: 403, envelope: { success: false, errors: [{ code: 10000, message: 'Authentication error' }] } })
    await expect(run({ ips: ['1.1.1.1'], hosts: [] })).rejects.toThrow(/HTTP 403.*Zero Trust › Edit/)
    expect(emu.writes()).toHaveLength(1)
  })

  it('survives a timeout and a dropped connection on writes', async () => {
    emu.inject({ method: 'POST', path: /\/gateway\/lists$/, delayMs: 2500 })
    emu.inject({ method: 'PATCH', dropConnection: true })
    await run({ ips: ['1.1.1.1'], hosts: [] })
    await run({ ips: ['1.1.1.1', '2.2.2.2'], hosts: [] })
    expect(allValues('IP')).toEqual(['1.1.1.1', '2.2.2.2'])
    expect(emu.lists.size).toBe(2)
  })
})
