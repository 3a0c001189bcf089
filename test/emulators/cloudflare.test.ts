// Drives the Cloudflare emulator through the real `cloudflare` SDK via the product's client
// factory, so both the emulator's wire behaviour and the factory's safety settings are proven.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type Cloudflare from 'cloudflare'
import { APIConnectionError, APIConnectionTimeoutError, AuthenticationError, BadRequestError, InternalServerError, PermissionDeniedError } from 'cloudflare'
import { createCloudflareClient, describeCloudflareError } from '../../action/src/adapters/cloudflare-client.js'
import { startCloudflareEmulator, type CloudflareEmulator, type CloudflareEmulatorOptions } from './cloudflare.js'

let emu: CloudflareEmulator
let cf: Cloudflare
let account: { account_id: string }

async function boot(opts: CloudflareEmulatorOptions = {}, client: { maxRetries?: number; timeoutMs?: number } = {}): Promise<void> {
  emu = await startCloudflareEmulator(opts)
  cf = createCloudflareClient({ apiToken: emu.token, baseURL: emu.url, maxRetries: client.maxRetries ?? 0, ...(client.timeoutMs !== undefined ? { timeoutMs: client.timeoutMs } : {}) })
  account = { account_id: emu.accountId }
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p
  } catch (e) {
    return e
  }
  throw new Error('expected a rejection')
}

/** Runs SQL through the SDK's Log Explorer method (a plain string body is sent verbatim as text/plain). */
async function sql(query: string): Promise<Record<string, unknown>[]> {
  const rows: Record<string, unknown>[] = []
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  for await (const row of cf.logs.logExplorer.query.sql(query as any, account)) rows.push(row)
  return rows
}

const ipItems = (n: number, offset = 0): { value: string }[] =>
  Array.from({ length: n }, (_, i) => ({ value: `10.${Math.floor((i + offset) / 65536) % 256}.${Math.floor((i + offset) / 256) % 256}.${(i + offset) % 256}` }))

afterEach(async () => {
  await emu?.close()
})

describe('auth and client factory', () => {
  beforeEach(() => boot())

  it('sends only the bearer token even when env carries key, email and custom headers', async () => {
    const saved = { ...process.env }
    process.env['CLOUDFLARE_API_KEY'] = 'leaky-key'
    process.env['CLOUDFLARE_EMAIL'] = 'leak@example.com'
    process.env['CLOUDFLARE_CUSTOM_HEADERS'] = 'X-Leak: yes\nAuthorization: Bearer stolen'
    process.env['CLOUDFLARE_LOG'] = 'debug'
    try {
      const client = createCloudflareClient({ apiToken: emu.token, baseURL: emu.url, maxRetries: 0 })
      await client.zeroTrust.gateway.lists.list(account)
    } finally {
      process.env = saved
    }
    const h = emu.requests.at(-1)?.headers ?? {}
    expect(h['authorization']).toBe(`Bearer ${emu.token}`)
    expect(h['x-auth-key']).toBeUndefined()
    expect(h['x-auth-email']).toBeUndefined()
    expect(h['x-leak']).toBeUndefined()
    expect(emu.requests.at(-1)?.status).toBe(200)
  })

  it('refuses key/email headers (400) and a wrong token (401)', async () => {
    const leaky = await fetch(`${emu.url}/accounts/${emu.accountId}/gateway/lists`, {
      headers: { Authorization: `Bearer ${emu.token}`, 'X-Auth-Key': 'k', 'X-Auth-Email': 'e@x' }
    })
    expect(leaky.status).toBe(400)
    expect(leaky.headers.get('content-type')).toContain('application/json')
    const bad = createCloudflareClient({ apiToken: 'nope', baseURL: emu.url, maxRetries: 0 })
    const err = await rejection(bad.zeroTrust.gateway.lists.list(account))
    expect(err).toBeInstanceOf(AuthenticationError)
    const line = describeCloudflareError(err)
    expect(line).toContain('HTTP 401')
    expect(line).not.toContain('nope')
  })

  it('scopes routes to the configured account and explains 403 without the token', async () => {
    const err = await rejection(cf.zeroTrust.gateway.lists.list({ account_id: 'f'.repeat(32) }))
    expect(err).toBeInstanceOf(PermissionDeniedError)
    const line = describeCloudflareError(err, 'Zero Trust: Edit')
    expect(line).toMatch(/HTTP 403 – \[10000\] Authentication error \(the API token likely lacks the "Zero Trust: Edit" permission/)
    expect(line).not.toContain(emu.token)
    expect(line).not.toContain('\n')
  })

  it('serves the /client/v4 prefix too and records paths without it', async () => {
    const client = createCloudflareClient({ apiToken: emu.token, baseURL: `${emu.url}/client/v4`, maxRetries: 0 })
    await client.zeroTrust.gateway.lists.list(account)
    expect(emu.requests.at(-1)?.path).toBe(`/accounts/${emu.accountId}/gateway/lists`)
  })

  it('refuses a cleartext base URL that is not loopback', () => {
    expect(() => createCloudflareClient({ apiToken: 't', baseURL: 'http://api.example.com' })).toThrow(/https/)
  })
})

describe('gateway lists', () => {
  beforeEach(() => boot())

  it('creates, lists by type, gets metadata without items, echoes /32 and keeps descriptions', async () => {
    const created = await cf.zeroTrust.gateway.lists.create({
      ...account, name: 'dni-ip', type: 'IP', description: 'd', items: [{ value: '192.0.2.1', description: 'why' }, { value: '198.51.100.0/24' }]
    })
    await cf.zeroTrust.gateway.lists.create({ ...account, name: 'dni-host', type: 'DOMAIN', items: [{ value: 'example.com' }] })
    expect(created.items?.map((i) => i.value)).toEqual(['192.0.2.1/32', '198.51.100.0/24'])
    const ipLists = []
    for await (const l of cf.zeroTrust.gateway.lists.list({ ...account, type: 'IP' })) ipLists.push(l)
    expect(ipLists.map((l) => [l.name, l.count])).toEqual([['dni-ip', 2]])
    const got = await cf.zeroTrust.gateway.lists.get(created.id ?? '', account)
    expect(got.items).toBeUndefined()
    expect(got.count).toBe(2)
    const items = []
    for await (const it of cf.zeroTrust.gateway.lists.items.list(created.id ?? '', account)) items.push(it)
    expect(items[0]).toMatchObject({ value: '192.0.2.1/32', description: 'why' })
    expect(typeof items[0]?.created_at).toBe('string')
  })

  it('can echo IPs as given when echoSlash32 is false', async () => {
    await emu.close()
    await boot({ echoSlash32: false })
    const l = await cf.zeroTrust.gateway.lists.create({ ...account, name: 'x', type: 'IP', items: [{ value: '192.0.2.1' }] })
    expect(l.items?.[0]?.value).toBe('192.0.2.1')
  })

  it('paginates items: default 50, per_page up to 1000, result_info, SDK auto-pagination', async () => {
    const l = await cf.zeroTrust.gateway.lists.create({ ...account, name: 'big', type: 'IP', items: ipItems(120) })
    const path = `/accounts/${emu.accountId}/gateway/lists/${l.id ?? ''}/items`
    const first = await cf.get<{ result: unknown[]; result_info: Record<string, number> }>(path)
    expect(first.result).toHaveLength(50)
    expect(first.result_info).toEqual({ page: 1, per_page: 50, count: 50, total_count: 120 })
    const third = await cf.get<{ result: unknown[]; result_info: Record<string, number> }>(path, { query: { page: 3, per_page: 50 } })
    expect(third.result_info).toEqual({ page: 3, per_page: 50, count: 20, total_count: 120 })
    const all = await cf.get<{ result: unknown[] }>(path, { query: { per_page: 1000 } })
    expect(all.result).toHaveLength(120)
    expect(await rejection(cf.get(path, { query: { per_page: 1001 } }))).toBeInstanceOf(BadRequestError)
    const seen: string[] = []
    for await (const it of cf.zeroTrust.gateway.lists.items.list(l.id ?? '', account)) seen.push(it.value ?? '')
    expect(new Set(seen).size).toBe(120)
  })

  it('PUT replaces items when non-empty and leaves them alone when omitted or empty', async () => {
    const l = await cf.zeroTrust.gateway.lists.create({ ...account, name: 'h', type: 'DOMAIN', items: [{ value: 'a.example' }] })
    const id = l.id ?? ''
    await cf.zeroTrust.gateway.lists.update(id, { ...account, name: 'h2', items: [{ value: 'b.example' }, { value: 'c.example' }] })
    expect(emu.lists.get(id)?.items.map((i) => i.value)).toEqual(['b.example', 'c.example'])
    await cf.zeroTrust.gateway.lists.update(id, { ...account, name: 'h2', items: [] })
    await cf.zeroTrust.gateway.lists.update(id, { ...account, name: 'h3' })
    expect(emu.lists.get(id)?.items).toHaveLength(2)
    expect(emu.lists.get(id)?.name).toBe('h3')
  })

  it('PATCH appends and removes in one call', async () => {
    const l = await cf.zeroTrust.gateway.lists.create({ ...account, name: 'p', type: 'IP', items: [{ value: '192.0.2.1' }] })
    const id = l.id ?? ''
    const res = await cf.zeroTrust.gateway.lists.edit(id, { ...account, append: [{ value: '192.0.2.2', description: 'n' }], remove: ['192.0.2.1/32'] })
    expect(res.count).toBe(1)
    expect(emu.lists.get(id)?.items).toMatchObject([{ value: '192.0.2.2/32', description: 'n' }])
    expect(emu.writes().map((w) => w.method)).toEqual(['POST', 'PATCH'])
  })

  it('validates like the real API', async () => {
    const ip = await cf.zeroTrust.gateway.lists.create({ ...account, name: 'ip', type: 'IP', items: [{ value: '192.0.2.1' }] })
    const dom = await cf.zeroTrust.gateway.lists.create({ ...account, name: 'dom', type: 'DOMAIN' })
    const cases: [string, Promise<unknown>][] = [
      ['duplicate in request', cf.zeroTrust.gateway.lists.create({ ...account, name: 'd', type: 'DOMAIN', items: [{ value: 'x.example' }, { value: 'X.example' }] })],
      ['already present', cf.zeroTrust.gateway.lists.edit(ip.id ?? '', { ...account, append: [{ value: '192.0.2.1/32' }] })],
      ['wildcard', cf.zeroTrust.gateway.lists.edit(dom.id ?? '', { ...account, append: [{ value: '*.example.com' }] })],
      ['bad ip', cf.zeroTrust.gateway.lists.edit(ip.id ?? '', { ...account, append: [{ value: '300.1.1.1' }] })],
      ['bad cidr', cf.zeroTrust.gateway.lists.edit(ip.id ?? '', { ...account, append: [{ value: '10.0.0.0/33' }] })],
      ['over 1000 in one request', cf.zeroTrust.gateway.lists.edit(ip.id ?? '', { ...account, append: ipItems(1001, 1000) })],
      ['remove missing', cf.zeroTrust.gateway.lists.edit(ip.id ?? '', { ...account, remove: ['192.0.2.1'] })]
    ]
    for (const [name, p] of cases) {
      const err = await rejection(p)
      expect(err, name).toBeInstanceOf(BadRequestError)
      expect((err as BadRequestError).errors[0]?.message, name).toBeTruthy()
    }
    expect(emu.lists.get(ip.id ?? '')?.items).toHaveLength(1)
  })

  it('enforces list capacity with a message and 100 lists per account', async () => {
    await emu.close()
    await boot({ listCapacity: 5, maxLists: 3 })
    const l = await cf.zeroTrust.gateway.lists.create({ ...account, name: 'c', type: 'IP', items: ipItems(5) })
    const err = await rejection(cf.zeroTrust.gateway.lists.edit(l.id ?? '', { ...account, append: ipItems(1, 10) }))
    expect(describeCloudflareError(err)).toMatch(/HTTP 400 – \[\d+\] list would have 6 items; the maximum number of items per list is 5/)
    await cf.zeroTrust.gateway.lists.create({ ...account, name: 'c2', type: 'IP' })
    await cf.zeroTrust.gateway.lists.create({ ...account, name: 'c3', type: 'IP' })
    expect(await rejection(cf.zeroTrust.gateway.lists.create({ ...account, name: 'c4', type: 'IP' }))).toBeInstanceOf(BadRequestError)
  })

  it('stores IDNs as Punycode and treats case/Punycode collisions as duplicates', async () => {
    const l = await cf.zeroTrust.gateway.lists.create({ ...account, name: 'idn', type: 'DOMAIN', items: [{ value: 'bücher.example' }] })
    expect(l.items?.[0]?.value).toBe('xn--bcher-kva.example')
    expect(await rejection(cf.zeroTrust.gateway.lists.edit(l.id ?? '', { ...account, append: [{ value: 'XN--BCHER-KVA.example' }] }))).toBeInstanceOf(BadRequestError)
  })

  it('deletes lists', async () => {
    const l = await cf.zeroTrust.gateway.lists.create({ ...account, name: 'gone', type: 'IP' })
    await cf.zeroTrust.gateway.lists.delete(l.id ?? '', account)
    expect(emu.lists.size).toBe(0)
    expect(describeCloudflareError(await rejection(cf.zeroTrust.gateway.lists.get(l.id ?? '', account)))).toContain('HTTP 404')
  })
})

describe('gateway rules', () => {
  beforeEach(() => boot())

  it('rewrites traffic on create/update: list UUIDs lose hyphens, whitespace collapses', async () => {
    const ip = await cf.zeroTrust.gateway.lists.create({ ...account, name: 'ip', type: 'IP' })
    const host = await cf.zeroTrust.gateway.lists.create({ ...account, name: 'host', type: 'DOMAIN' })
    const traffic = `any(http.conn.dst_ip[*] in $${ip.id ?? ''})\n   or  http.conn.hostname in $${host.id ?? ''}`
    const rule = await cf.zeroTrust.gateway.rules.create({ ...account, name: 'DNI', action: 'off', filters: ['http'], enabled: true, precedence: 100, traffic })
    const hex = (s: string | undefined): string => (s ?? '').replace(/-/g, '')
    expect(rule.traffic).toBe(`any(http.conn.dst_ip[*] in $${hex(ip.id)}) or http.conn.hostname in $${hex(host.id)}`)
    expect(rule.traffic).not.toBe(traffic)
    const listed = []
    for await (const r of cf.zeroTrust.gateway.rules.list(account)) listed.push(r)
    expect(listed).toHaveLength(1)
    const updated = await cf.zeroTrust.gateway.rules.update(rule.id ?? '', { ...account, name: 'DNI', action: 'off', filters: ['http'], enabled: true, traffic: `http.conn.hostname in $${host.id ?? ''}` })
    expect(updated.traffic).toBe(`http.conn.hostname in $${hex(host.id)}`)
    expect((await cf.zeroTrust.gateway.rules.get(rule.id ?? '', account)).precedence).toBe(100)
  })

  it('PUT is a full replace and requires name and action; bad references are refused', async () => {
    const rule = await cf.zeroTrust.gateway.rules.create({ ...account, name: 'r', action: 'off', filters: ['http'], description: 'keep?', traffic: 'http.conn.hostname == "a.example"' })
    const noAction = await rejection(cf.put(`/accounts/${emu.accountId}/gateway/rules/${rule.id ?? ''}`, { body: { name: 'r' } }))
    expect(noAction).toBeInstanceOf(BadRequestError)
    const replaced = await cf.zeroTrust.gateway.rules.update(rule.id ?? '', { ...account, name: 'r', action: 'off' })
    expect(replaced.description).toBe('')
    expect(replaced.traffic).toBe('')
    const byName = await rejection(cf.zeroTrust.gateway.rules.create({ ...account, name: 'x', action: 'off', traffic: 'http.conn.hostname in $my-list' }))
    expect(describeCloudflareError(byName)).toContain('invalid UUID length')
    const unknown = await rejection(cf.zeroTrust.gateway.rules.create({ ...account, name: 'x', action: 'off', traffic: `http.conn.hostname in $${'0'.repeat(32)}` }))
    expect(unknown).toBeInstanceOf(BadRequestError)
  })

  it('keeps unmodelled writable fields across a GET→PUT round-trip and can keep UUID case', async () => {
    const rule = await cf.zeroTrust.gateway.rules.create({ ...account, name: 'r', action: 'off', schedule: { mon: '08:00-12:00' } } as Parameters<typeof cf.zeroTrust.gateway.rules.create>[0])
    const got = await cf.zeroTrust.gateway.rules.get(rule.id ?? '', account)
    const { id: _id, version: _v, created_at: _c, updated_at: _u, deleted_at: _d, ...writable } = got as unknown as Record<string, unknown>
    await cf.put(`/accounts/${emu.accountId}/gateway/rules/${rule.id ?? ''}`, { body: writable })
    expect(emu.rules.get(rule.id ?? '')?.['schedule']).toEqual({ mon: '08:00-12:00' })
    expect(emu.rules.get(rule.id ?? '')?.version).toBe(2)
    await emu.close()
    await boot({ lowercaseUuidsInTraffic: false, validateListRefs: false })
    const upper = 'ABCDEF01-2345-6789-ABCD-EF0123456789'
    const r2 = await cf.zeroTrust.gateway.rules.create({ ...account, name: 'u', action: 'off', traffic: `http.conn.hostname in $${upper}` })
    expect(r2.traffic).toBe(`http.conn.hostname in $${upper.replace(/-/g, '')}`)
  })

  it('refuses deleting a list a rule still uses, then deletes rule and list', async () => {
    const host = await cf.zeroTrust.gateway.lists.create({ ...account, name: 'host', type: 'DOMAIN' })
    const rule = await cf.zeroTrust.gateway.rules.create({ ...account, name: 'r', action: 'off', traffic: `http.conn.hostname in $${host.id ?? ''}` })
    expect(await rejection(cf.zeroTrust.gateway.lists.delete(host.id ?? '', account))).toBeInstanceOf(BadRequestError)
    await cf.zeroTrust.gateway.rules.delete(rule.id ?? '', account)
    await cf.zeroTrust.gateway.lists.delete(host.id ?? '', account)
    expect(emu.rules.size + emu.lists.size).toBe(0)
  })
})

describe('rate limits', () => {
  it('limits the lists endpoint and the account globally, with Retry-After, on a fake clock', async () => {
    let now = 1_000_000
    await boot({ now: () => now, rateLimits: { listsPerMinute: 3, globalPer5Min: 6 } })
    for (let i = 0; i < 3; i++) await cf.zeroTrust.gateway.lists.list(account)
    const err = await rejection(cf.zeroTrust.gateway.lists.list(account))
    expect(describeCloudflareError(err)).toContain('HTTP 429')
    expect(emu.requests.at(-1)?.status).toBe(429)
    const plain = await fetch(`${emu.url}/accounts/${emu.accountId}/gateway/rules`, { headers: { Authorization: `Bearer ${emu.token}` } })
    expect(plain.headers.get('ratelimit')).toBe('"default";r=2;t=300')
    expect((err as InternalServerError).headers?.get('retry-after')).toBe('120')
    // Rules are not a lists endpoint: only the global budget applies.
    now += 121_000
    await cf.zeroTrust.gateway.lists.list(account)
    expect(emu.rateLimitCounters()).toMatchObject({ global: 5, lists: 1, throttled: 1 })
    await cf.zeroTrust.gateway.rules.list(account)
    const globalErr = await rejection(cf.zeroTrust.gateway.rules.list(account))
    expect((globalErr as InternalServerError).headers?.get('retry-after')).toBe('300')
    expect(emu.rateLimitCounters().globalBlockedUntil).toBe(now + 300_000)
    emu.resetRateLimits()
    await cf.zeroTrust.gateway.rules.list(account)
  })
})

describe('faults', () => {
  const listsPath = /\/gateway\/lists$/

  it('SDK retries honour Retry-After and retry-after-ms on injected 429s', async () => {
    await boot({}, { maxRetries: 2 })
    emu.inject({ method: 'GET', path: listsPath, status: 429, headers: { 'Retry-After': '1' } })
    const t0 = Date.now()
    await cf.zeroTrust.gateway.lists.list(account)
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900)
    emu.inject({ path: listsPath, status: 429, headers: { 'retry-after-ms': '30' }, times: 2 })
    await cf.zeroTrust.gateway.lists.list(account)
    expect(emu.requests.map((r) => r.status)).toEqual([429, 200, 429, 429, 200])
    expect(emu.requests[1]?.headers['x-stainless-retry-count']).toBe('1')
  })

  it('5xx, success:false with 200, malformed JSON with 200', async () => {
    await boot()
    for (const status of [500, 502, 503]) {
      emu.inject({ status })
      expect(await rejection(cf.zeroTrust.gateway.lists.list(account))).toBeInstanceOf(InternalServerError)
    }
    emu.inject({ envelope: { success: false, errors: [{ code: 1234, message: 'nope' }] } })
    const env = await cf.get<{ success: boolean; errors: unknown[] }>(`/accounts/${emu.accountId}/gateway/lists`)
    expect(env).toMatchObject({ success: false, errors: [{ code: 1234, message: 'nope' }] })
    emu.inject({ status: 502, body: '<html>Bad gateway</html>', headers: { 'Content-Type': 'text/html' } })
    const html = await rejection(cf.zeroTrust.gateway.lists.list(account))
    expect(describeCloudflareError(html)).toBe('Cloudflare API error: HTTP 502 – <html>Bad gateway</html>')
    emu.inject({ body: '{"result": [' })
    expect(await rejection(cf.zeroTrust.gateway.lists.list(account))).toBeInstanceOf(Error)
    expect(emu.pendingFaults()).toBe(0)
  })

  it('timeout (delay > client timeout) leaves no change; dropped connection is a connection error', async () => {
    await boot({}, { timeoutMs: 200 })
    emu.inject({ method: 'POST', delayMs: 500 })
    const err = await rejection(cf.zeroTrust.gateway.lists.create({ ...account, name: 'slow', type: 'IP' }))
    expect(err).toBeInstanceOf(APIConnectionTimeoutError)
    expect(describeCloudflareError(err)).toContain('timed out')
    await new Promise((r) => setTimeout(r, 400))
    expect(emu.lists.size).toBe(0)
    emu.inject({ dropConnection: true })
    const dropped = await rejection(cf.zeroTrust.gateway.lists.list(account))
    expect(dropped).toBeInstanceOf(APIConnectionError)
    expect(describeCloudflareError(dropped)).toMatch(/^Cloudflare API connection failed/)
  })

  it('afterApply applies the change then fails, so a re-run must converge', async () => {
    await boot()
    const l = await cf.zeroTrust.gateway.lists.create({ ...account, name: 'x', type: 'IP' })
    emu.inject({ method: 'PATCH', afterApply: true, status: 502 })
    expect(await rejection(cf.zeroTrust.gateway.lists.edit(l.id ?? '', { ...account, append: [{ value: '192.0.2.9' }] }))).toBeInstanceOf(InternalServerError)
    expect(emu.lists.get(l.id ?? '')?.items.map((i) => i.value)).toEqual(['192.0.2.9/32'])
    // A naive retry of the same append now fails as a duplicate: the product must re-read state.
    expect(await rejection(cf.zeroTrust.gateway.lists.edit(l.id ?? '', { ...account, append: [{ value: '192.0.2.9' }] }))).toBeInstanceOf(BadRequestError)
  })
})

describe('log explorer', () => {
  beforeEach(() => boot({ enabledDatasets: ['zero_trust_network_sessions', 'gateway_http'] }))

  const sessions = [
    { SessionStartTime: '2026-10-01T10:00:00Z', SNI: 'pinned.example', OriginIP: '192.0.2.1', OriginPort: 443, ConnectionCloseReason: 'CLIENT_TLS_ERROR' },
    { SessionStartTime: '2026-10-01T11:00:00Z', SNI: 'pinned.example', OriginIP: '192.0.2.1', OriginPort: 443, ConnectionCloseReason: 'clientTlsError' },
    { SessionStartTime: '1759320000000000000', SNI: 'other.example', OriginIP: '192.0.2.2', OriginPort: 443, ConnectionCloseReason: 'CLIENT_CLOSED' }
  ]

  it('runs POSTed SQL with lower-case keys, RFC3339 timestamps and a derived date column', async () => {
    await emu.setLogRows('zero_trust_network_sessions', sessions)
    const rows = await sql(`SELECT SNI, originIP, COUNT(*) AS Failures, MIN(sessionstarttime) AS first_seen, MAX(sessionstarttime) AS last_seen
      FROM zero_trust_network_sessions
      WHERE date >= '2026-10-01' AND sessionstarttime >= '2026-10-01T00:00:00Z'
        AND upper(connectionclosereason) IN ('CLIENT_TLS_ERROR', 'CLIENTTLSERROR') AND originport = 443
      GROUP BY sni, originip ORDER BY failures DESC LIMIT 100`)
    expect(rows).toEqual([{ sni: 'pinned.example', originip: '192.0.2.1', failures: 2, first_seen: '2026-10-01T10:00:00Z', last_seen: '2026-10-01T11:00:00Z' }])
    const dated = await sql("SELECT date, sessionstarttime FROM zero_trust_network_sessions WHERE sni = 'other.example'")
    expect(dated).toEqual([{ date: '2025-10-01', sessionstarttime: '2025-10-01T12:00:00Z' }])
    const req = emu.requests.find((r) => r.path.endsWith('/logs/explorer/query/sql'))
    expect(req?.method).toBe('POST')
    expect(req?.headers['content-type']).toBe('text/plain')
    expect(emu.sqlQueries.at(-1)?.executed).toMatch(/LIMIT 10000$/)
  })

  it('refuses what the service refuses', async () => {
    const bad = [
      'SELECT * FROM gateway_http g JOIN zero_trust_network_sessions z ON g.sessionid = z.sessionid',
      'SELECT * FROM gateway_http, zero_trust_network_sessions',
      'SELECT * FROM gateway_http WHERE sessionid IN (SELECT sessionid FROM zero_trust_network_sessions)',
      'WITH x AS (SELECT 1) SELECT * FROM x',
      'SELECT sni FROM zero_trust_network_sessions UNION SELECT httphost FROM gateway_http',
      'SELECT sni, row_number() OVER (ORDER BY sni) AS n FROM zero_trust_network_sessions',
      'SELECT COUNT(*) FILTER (WHERE originport = 443) AS n FROM zero_trust_network_sessions',
      `SELECT sni FROM zero_trust_network_sessions WHERE ${Array.from({ length: 26 }, (_, i) => `originport <> ${i}`).join(' AND ')}`,
      'SELECT sni FROM zero_trust_network_sessions LIMIT 10001',
      'DELETE FROM gateway_http',
      'SELECT 1 FROM gateway_http; SELECT 2 FROM gateway_http',
      'SELECT string_agg(sni, \',\') AS s FROM zero_trust_network_sessions',
      'SELECT sni FROM gateway_network',
      'SELECT nosuchcolumn FROM gateway_http'
    ]
    for (const q of bad) {
      const err = await rejection(sql(q))
      expect(err, q).toBeInstanceOf(BadRequestError)
      expect((err as BadRequestError).errors[0]?.message, q).toBeTruthy()
    }
    expect(describeCloudflareError(await rejection(sql('SELECT sni FROM gateway_network')))).toContain('dataset gateway_network is not enabled')
    // 25 predicates with BETWEEN, an allowed query: quoting keeps hostile text inert.
    const ok = `SELECT httphost FROM gateway_http WHERE datetime BETWEEN '2026-01-01' AND '2026-12-31' AND policyname = 'x'' OR 1=1; DROP TABLE y; --' AND ${Array.from({ length: 23 }, (_, i) => `destinationport <> ${i}`).join(' AND ')}`
    expect(await sql(ok)).toEqual([])
    expect(emu.sqlQueries.at(-1)?.sql).toBe(ok)
  })

  it('truncates to 10,000 rows silently when LIMIT is absent', async () => {
    const rows = Array.from({ length: 10_050 }, (_, i) => ({ Datetime: 1759312800 + i, HTTPHost: `h${i}.example`, PolicyID: 'p', Action: 'bypass' }))
    await emu.setLogRows('gateway_http', rows)
    const got = await sql("SELECT httphost, datetime FROM gateway_http WHERE policyid = 'p'")
    expect(got).toHaveLength(10_000)
    expect(got[0]).toEqual({ httphost: 'h0.example', datetime: '2025-10-01T10:00:00Z' })
  })

  it('accepts the deprecated GET form but records it', async () => {
    await emu.setLogRows('gateway_http', [{ Datetime: '2026-10-01T00:00:00Z', HTTPHost: 'a.example' }])
    const env = await cf.get<{ result: unknown[] }>(`/accounts/${emu.accountId}/logs/explorer/query/sql`, { query: { query: 'SELECT httphost FROM gateway_http' } })
    expect(env.result).toEqual([{ httphost: 'a.example' }])
    expect(emu.sqlQueries.map((q) => q.via)).toEqual(['GET'])
  })

  it('serves datasets/available with each timestamp_field (configurable, or left out), read by the SDK', async () => {
    const listed: { dataset: string; timestamp_field?: string; object_type: string }[] = []
    for await (const d of cf.logs.logExplorer.datasets.available.list(account)) listed.push(d)
    expect(listed.map((d) => [d.dataset, d.timestamp_field, d.object_type])).toEqual([
      ['zero_trust_network_sessions', 'sessionstarttime', 'account'],
      ['gateway_http', 'datetime', 'account'],
      ['gateway_network', 'datetime', 'account']
    ])
    await emu.close()
    await boot({ logTimestampFields: { zero_trust_network_sessions: 'SessionEndTime', gateway_http: null } })
    const again: { dataset: string; timestamp_field?: string }[] = []
    for await (const d of cf.logs.logExplorer.datasets.available.list(account)) again.push(d)
    expect(again[0]?.timestamp_field).toBe('SessionEndTime')
    expect(again[1] && 'timestamp_field' in again[1]).toBe(false)
    // The date partition follows the configured field.
    await emu.setLogRows('zero_trust_network_sessions', [{ SessionStartTime: '2026-09-30T23:59:00Z', SessionEndTime: '2026-10-01T00:01:00Z', SNI: 'x.example' }])
    expect(await sql("SELECT sni AS s FROM zero_trust_network_sessions WHERE date = '2026-10-01'")).toEqual([{ s: 'x.example' }])
  })

  it('answers HTTP 507 ResourcesExhausted to the queries the test chooses', async () => {
    await emu.close()
    await boot({ logExhausted: (q) => q.includes('LIMIT 10000') })
    const err = await rejection(sql('SELECT sni FROM zero_trust_network_sessions LIMIT 10000'))
    expect((err as InternalServerError).status).toBe(507)
    expect(await sql('SELECT sni FROM zero_trust_network_sessions LIMIT 10')).toEqual([])
    expect(emu.sqlQueries.map((q) => q.status)).toEqual([507, 200])
  })
})
