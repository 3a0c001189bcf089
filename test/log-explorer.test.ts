// The Log Explorer source end to end: real SDK → Cloudflare emulator → DuckDB running our SQL.
// Every expectation about counts is checked against a reference aggregation computed here, in
// plain TypeScript, from the very rows loaded into the emulator.
import { isIP } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import type Cloudflare from 'cloudflare'
import { createCloudflareClient } from '../action/src/adapters/cloudflare-client.js'
import type { Observations, Stats } from '../action/src/core/types.js'
import { queryLogExplorer, type LogExplorerOptions } from '../action/src/sources/log-explorer/index.js'
import { startCloudflareEmulator, type CloudflareEmulator, type CloudflareEmulatorOptions } from './emulators/cloudflare.js'
import { maskSql } from './emulators/cloudflare-logexplorer.js'
import { prng } from '../scripts/make-sample.js'

type Row = Record<string, unknown>

const t = (iso: string): number => Date.parse(iso)
const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z')
const HOUR = 3_600_000
// Crosses midnight on purpose: the date predicate must span two days.
const WINDOW = { from: t('2026-10-01T22:00:00Z'), to: t('2026-10-02T04:00:00Z') }
const POLICY = 'Do Not Inspect: pinned apps'
const HOSTILE = "x' OR '1'='1"

let emu: CloudflareEmulator | undefined
afterEach(async () => {
  await emu?.close()
  emu = undefined
})

async function boot(opts: CloudflareEmulatorOptions = {}): Promise<{ emu: CloudflareEmulator; client: Cloudflare }> {
  emu = await startCloudflareEmulator(opts)
  // Client-level retries on: the source must still send each SQL call with maxRetries 0.
  const client = createCloudflareClient({ apiToken: emu.token, baseURL: emu.url, maxRetries: 2 })
  return { emu, client }
}

function run(e: CloudflareEmulator, client: Cloudflare, extra: Partial<LogExplorerOptions> = {}): Promise<Observations> & { lines: string[] } {
  const lines: string[] = []
  // The one deliberate retry keeps happening; only its wait is skipped (no test sleeps).
  const p = queryLogExplorer({ client, accountId: e.accountId, window: WINDOW, ports: [443], policy: { name: POLICY }, log: (m) => lines.push(m), sleep: async () => undefined, ...extra })
  return Object.assign(p, { lines })
}


interface Fixture { zt: Row[]; gn: Row[]; gh: Row[] }

/**
 * 30 pinned hosts × several devices, each host clustered in its own slice of the window (so
 * time halving converges); both close-reason spellings; noise (other reasons, other port,
 * out-of-window); no-SNI failures on shared IPs; gateway rows for the policy and others.
 */
function fixture(opts: { recurring?: boolean } = {}): Fixture {
  const rnd = prng(42)
  const zt: Row[] = []
  const span = WINDOW.to - WINDOW.from
  for (let h = 0; h < 30; h++) {
    const host = `pinned-${String(h).padStart(2, '0')}.example`
    const devices = 1 + (h % 4)
    for (let d = 0; d < devices; d++) {
      for (let s = 0; s < 1 + (h % 3); s++) {
        const at = opts.recurring === true
          ? WINDOW.from + Math.floor(rnd() * span / 1000) * 1000
          : WINDOW.from + Math.floor((h * span) / 30 / 1000) * 1000 + (d * 3 + s) * 1000
        zt.push({
          SessionStartTime: iso(at),
          SNI: h === 7 && s === 0 ? host.toUpperCase() : host,
          OriginIP: `203.0.113.${h}`,
          OriginPort: 443,
          ConnectionCloseReason: h % 2 === 0 ? 'CLIENT_TLS_ERROR' : 'clientTlsError',
          DeviceID: `dev-${h}-${d}`,
          // Device 0 of odd hosts has no user id: the email stands in for it.
          UserID: h % 2 === 1 && d === 0 ? '' : `user-${d}`,
          Email: `u${d}@corp.example`
        })
      }
    }
  }
  // Noise: other close reasons, another port, outside the window (before, exactly at `to`).
  zt.push(
    { SessionStartTime: iso(WINDOW.from + HOUR), SNI: 'fine.example', OriginIP: '192.0.2.10', OriginPort: 443, ConnectionCloseReason: 'CLIENT_CLOSED', DeviceID: 'd1', UserID: 'u1' },
    { SessionStartTime: iso(WINDOW.from + HOUR), SNI: 'origin-bad.example', OriginIP: '192.0.2.11', OriginPort: 443, ConnectionCloseReason: 'ORIGIN_TLS_ERROR', DeviceID: 'd1', UserID: 'u1' },
    { SessionStartTime: iso(WINDOW.from + HOUR), SNI: 'alt-port.example', OriginIP: '192.0.2.12', OriginPort: 8443, ConnectionCloseReason: 'CLIENT_TLS_ERROR', DeviceID: 'd1', UserID: 'u1' },
    { SessionStartTime: iso(WINDOW.from - 1000), SNI: 'too-early.example', OriginIP: '192.0.2.13', OriginPort: 443, ConnectionCloseReason: 'CLIENT_TLS_ERROR', DeviceID: 'd1', UserID: 'u1' },
    { SessionStartTime: iso(WINDOW.to), SNI: 'too-late.example', OriginIP: '192.0.2.14', OriginPort: 443, ConnectionCloseReason: 'CLIENT_TLS_ERROR', DeviceID: 'd1', UserID: 'u1' },
    { SessionStartTime: iso(WINDOW.from - 3 * 24 * HOUR), SNI: 'last-week.example', OriginIP: '192.0.2.15', OriginPort: 443, ConnectionCloseReason: 'CLIENT_TLS_ERROR', DeviceID: 'd1', UserID: 'u1' }
  )
  // No-SNI failures on 198.51.100.1-4 (empty and null SNI), one invalid OriginIP, and
  // ordinary sessions that show which names live on those IPs.
  for (let i = 1; i <= 4; i++) {
    for (let d = 0; d < i; d++) {
      zt.push({ SessionStartTime: iso(WINDOW.from + i * HOUR + d * 1000), SNI: d % 2 === 0 ? '' : null, OriginIP: `198.51.100.${i}`, OriginPort: 443, ConnectionCloseReason: 'CLIENT_TLS_ERROR', DeviceID: `nd-${d}`, UserID: `nu-${d}` })
    }
  }
  zt.push({ SessionStartTime: iso(WINDOW.from + 2 * HOUR), SNI: '', OriginIP: 'not-an-ip', OriginPort: 443, ConnectionCloseReason: 'CLIENT_TLS_ERROR', DeviceID: 'x', UserID: 'x' })
  zt.push(
    { SessionStartTime: iso(WINDOW.from + 3 * HOUR), SNI: 'Shared-A.example', OriginIP: '198.51.100.1', OriginPort: 443, ConnectionCloseReason: 'CLIENT_CLOSED', DeviceID: 'o', UserID: 'o' },
    { SessionStartTime: iso(WINDOW.from + 3 * HOUR), SNI: 'shared-b.example', OriginIP: '198.51.100.1', OriginPort: 80, ConnectionCloseReason: 'ORIGIN_CLOSED', DeviceID: 'o', UserID: 'o' },
    { SessionStartTime: iso(WINDOW.from - HOUR), SNI: 'shared-old.example', OriginIP: '198.51.100.1', OriginPort: 443, ConnectionCloseReason: 'CLIENT_CLOSED', DeviceID: 'o', UserID: 'o' }
  )
  const gn: Row[] = [
    { Datetime: iso(WINDOW.from + HOUR), DestinationIP: '198.51.100.2', SNI: 'gw-only.example', Action: 'allow' },
    { Datetime: iso(WINDOW.from + HOUR), DestinationIP: '198.51.100.2', SNI: '', Action: 'allow' },
    { Datetime: iso(WINDOW.from + HOUR), DestinationIP: '192.0.2.99', SNI: 'unrelated.example', Action: 'allow' }
  ]
  const gh: Row[] = []
  for (let i = 0; i < 5; i++) {
    // Destination IPs of bypassed requests: two spellings, none, and one that can never be an IP.
    const DestinationIP = ['198.51.100.50', '::FFFF:198.51.100.51', '', 'not-an-ip<', '198.51.100.50'][i]
    gh.push({ Datetime: iso(WINDOW.from + i * HOUR), Action: i === 0 ? 'Bypass' : 'bypass', PolicyName: POLICY, PolicyID: 'pol-1', HTTPHost: i < 3 ? 'Bypassed-1.example' : 'bypassed-2.example', DestinationIP, DeviceID: `bd-${i % 2}`, UserID: '', Email: `b${i}@corp.example` })
  }
  gh.push(
    { Datetime: iso(WINDOW.from + HOUR), Action: 'bypass', PolicyName: 'Other policy', PolicyID: 'pol-2', HTTPHost: 'other-policy.example', DeviceID: 'x', UserID: 'x' },
    { Datetime: iso(WINDOW.from + HOUR), Action: 'allow', PolicyName: POLICY, PolicyID: 'pol-1', HTTPHost: 'allowed.example', DeviceID: 'x', UserID: 'x' },
    { Datetime: iso(WINDOW.from + HOUR), Action: 'bypass', PolicyName: POLICY, PolicyID: 'pol-1', HTTPHost: '', DeviceID: 'x', UserID: 'x' },
    { Datetime: iso(WINDOW.from + HOUR), Action: 'bypass', PolicyName: HOSTILE, PolicyID: 'pol-3', HTTPHost: 'hostile-only.example', DeviceID: 'h', UserID: 'h' },
    { Datetime: iso(WINDOW.from + HOUR), Action: 'bypass', PolicyName: 'x', PolicyID: 'pol-4', HTTPHost: 'prefix-x.example', DeviceID: 'h', UserID: 'h' },
    { Datetime: iso(WINDOW.to + HOUR), Action: 'bypass', PolicyName: POLICY, PolicyID: 'pol-1', HTTPHost: 'late.example', DeviceID: 'x', UserID: 'x' }
  )
  return { zt, gn, gh }
}

async function load(e: CloudflareEmulator, f: Fixture): Promise<void> {
  await e.setLogRows('zero_trust_network_sessions', f.zt)
  await e.setLogRows('gateway_network', f.gn)
  await e.setLogRows('gateway_http', f.gh)
}

// ---- Reference aggregation: the same semantics, written independently of the SQL. ----

const str = (v: unknown): string => (typeof v === 'string' ? v : '')
// What can ever be a list entry (independent copies of the SQL classes, issue 12 item 9).
const HOST_CLASS = /^[a-z0-9._-]+$/
const IP_CLASS = /^[0-9a-f.:]+$/
const inWindow = (v: unknown): boolean => {
  const ms = t(str(v))
  return ms >= WINDOW.from && ms < WINDOW.to
}

class Acc {
  sessions = 0
  devices = new Set<string>()
  users = new Set<string>()
  first = Infinity
  last = -Infinity
  add(r: Row, time: string): void {
    this.sessions++
    if (str(r.DeviceID) !== '') this.devices.add(str(r.DeviceID))
    const user = str(r.UserID) !== '' ? str(r.UserID) : str(r.Email)
    if (user !== '') this.users.add(user)
    const ms = t(str(r[time]))
    this.first = Math.min(this.first, ms)
    this.last = Math.max(this.last, ms)
  }
  stats(): Stats {
    return { sessions: this.sessions, devices: this.devices.size, users: this.users.size, firstSeen: this.first, lastSeen: this.last }
  }
}

function accumulate(map: Map<string, Acc>, key: string, r: Row, time: string): void {
  let a = map.get(key)
  if (a === undefined) map.set(key, (a = new Acc()))
  a.add(r, time)
}

function addPair(map: Map<string, Set<string>>, a: string, b: string): void {
  let s = map.get(a)
  if (s === undefined) map.set(a, (s = new Set()))
  s.add(b)
}

function reference(f: Fixture, ports: number[], policyName: string): Omit<Observations, 'stats' | 'window'> {
  const failing = f.zt.filter((r) =>
    inWindow(r.SessionStartTime) && ports.includes(r.OriginPort as number) &&
    str(r.ConnectionCloseReason).replaceAll('_', '').toUpperCase() === 'CLIENTTLSERROR')
  const hosts = new Map<string, Acc>()
  const ips = new Map<string, Acc>()
  const hostIps = new Map<string, Set<string>>()
  const rawIps = new Set<string>()
  for (const r of failing) {
    const sni = str(r.SNI)
    if (sni !== '' && !HOST_CLASS.test(sni.toLowerCase())) continue
    if (sni === '' && str(r.OriginIP) !== '' && !IP_CLASS.test(str(r.OriginIP).toLowerCase())) continue
    if (sni !== '') {
      accumulate(hosts, sni.toLowerCase(), r, 'SessionStartTime')
      if (IP_CLASS.test(str(r.OriginIP).toLowerCase())) addPair(hostIps, sni.toLowerCase(), str(r.OriginIP).toLowerCase())
    } else if (str(r.OriginIP) !== '') {
      accumulate(ips, str(r.OriginIP).toLowerCase(), r, 'SessionStartTime')
      rawIps.add(str(r.OriginIP))
    }
  }
  const candidates = new Set([...rawIps].filter((ip) => isIP(ip) !== 0).map((ip) => ip.toLowerCase()))
  const ipHosts = new Map<string, Set<string>>()
  for (const r of f.zt) {
    if (inWindow(r.SessionStartTime) && candidates.has(str(r.OriginIP).toLowerCase()) && HOST_CLASS.test(str(r.SNI).toLowerCase())) addPair(ipHosts, str(r.OriginIP).toLowerCase(), str(r.SNI).toLowerCase())
  }
  for (const r of f.gn) {
    if (inWindow(r.Datetime) && candidates.has(str(r.DestinationIP).toLowerCase()) && HOST_CLASS.test(str(r.SNI).toLowerCase())) addPair(ipHosts, str(r.DestinationIP).toLowerCase(), str(r.SNI).toLowerCase())
  }
  const bypassed = new Map<string, Acc>()
  for (const r of f.gh) {
    if (inWindow(r.Datetime) && str(r.Action).toLowerCase() === 'bypass' && r.PolicyName === policyName && HOST_CLASS.test(str(r.HTTPHost).toLowerCase())) {
      accumulate(bypassed, str(r.HTTPHost).toLowerCase(), r, 'Datetime')
      // A bypassed request's destination is a "seen with" pair of its hostname.
      const dip = str(r.DestinationIP).toLowerCase()
      if (dip !== '' && IP_CLASS.test(dip)) addPair(hostIps, str(r.HTTPHost).toLowerCase(), dip)
    }
  }
  const stats = (m: Map<string, Acc>): Map<string, Stats> => new Map([...m].map(([k, a]) => [k, a.stats()]))
  return { hostFailures: stats(hosts), ipFailures: stats(ips), hostIps, ipHosts, bypassedHosts: stats(bypassed) }
}

function expectExact(got: Observations, ref: ReturnType<typeof reference>): void {
  expect(got.hostFailures).toEqual(ref.hostFailures)
  expect(got.ipFailures).toEqual(ref.ipFailures)
  expect(got.hostIps).toEqual(ref.hostIps)
  expect(got.ipHosts).toEqual(ref.ipHosts)
  expect(got.bypassedHosts).toEqual(ref.bypassedHosts)
}

/** Every string literal of every SQL text, unescaped. */
function literals(sql: string): string[] {
  return [...sql.matchAll(/'((?:[^']|'')*)'/g)].map((m) => (m[1] ?? '').replaceAll("''", "'"))
}

function expectNoRawInput(e: CloudflareEmulator, inputs: string[]): void {
  for (const { sql } of e.sqlQueries) {
    const masked = maskSql(sql)
    for (const input of inputs) {
      // Outside literals, no fragment of the input survives; inside, it is one whole literal.
      for (const part of input.split(/\s+/).filter((p) => p.length > 2)) expect(masked).not.toContain(part)
      if (sql.includes(input.replaceAll("'", "''"))) expect(literals(sql)).toContain(input)
    }
    // No control character or backslash ever reaches SQL, not even from a logged SNI used as a cursor.
    // eslint-disable-next-line no-control-regex
    expect(sql).not.toMatch(/[\u0000-\u001f\\]/)
  }
}

describe('queryLogExplorer against the emulator', () => {
  it('returns exactly the reference aggregation, with the close reason in either spelling', async () => {
    const { emu: e, client } = await boot()
    const f = fixture()
    await load(e, f)
    const got = await run(e, client)
    expectExact(got, reference(f, [443], POLICY))

    expect(got.hostFailures.get('pinned-07.example')?.sessions).toBe(4 * 2) // upper-case SNI merged by lower(sni)
    expect(got.hostFailures.get('pinned-01.example')).toMatchObject({ sessions: 4, devices: 2, users: 2 }) // clientTlsError; email fallback
    for (const absent of ['fine.example', 'origin-bad.example', 'alt-port.example', 'too-early.example', 'too-late.example', 'last-week.example']) {
      expect(got.hostFailures.has(absent), absent).toBe(false)
    }
    expect(got.ipFailures.get('198.51.100.4')).toMatchObject({ sessions: 4, devices: 4 })
    expect(got.ipFailures.has('not-an-ip')).toBe(false) // can never be a list entry: counted, not paged
    expect(got.ipHosts.get('198.51.100.1')).toEqual(new Set(['shared-a.example', 'shared-b.example']))
    expect(got.ipHosts.get('198.51.100.2')).toEqual(new Set(['gw-only.example']))
    expect(got.bypassedHosts.get('bypassed-1.example')).toMatchObject({ sessions: 3, devices: 2, users: 3 })
    expect([...got.bypassedHosts.keys()].sort()).toEqual(['bypassed-1.example', 'bypassed-2.example'])
    expect(got.window).toEqual(WINDOW)

    const ref = reference(f, [443], POLICY)
    const failingSessions = [...ref.hostFailures.values(), ...ref.ipFailures.values()].reduce((n, s) => n + s.sessions, 0)
    expect(got.stats).toMatchObject({
      source: 'log-explorer',
      records: { zero_trust_network_sessions: failingSessions, gateway_http: 5, gateway_network: 1 },
      malformedLines: 0,
      splits: 0,
      queries: e.sqlQueries.length
    })
    expect(got.stats.inWindow).toBe(failingSessions + 5 + 1)
    expect(got.stats.warnings).toEqual([expect.stringMatching(/^Log Explorer: 1 failing session\(s\) on 1 distinct SNI\/OriginIP value\(s\) that can never be list entries .* were counted and ignored$/)])

    // Every SQL call: POST text/plain, no SDK retries, date + timestamp bounds, GROUP BY, lower-case aliases.
    const sqlRequests = e.requests.filter((r) => r.path.endsWith('/logs/explorer/query/sql'))
    expect(sqlRequests.every((r) => r.method === 'POST' && r.headers['content-type'] === 'text/plain')).toBe(true)
    expect(e.sqlQueries.every((q) => q.status === 200)).toBe(true)
    for (const { sql } of e.sqlQueries) {
      expect(sql).toMatch(/date >= '2026-10-01' AND date <= '2026-10-02' AND (sessionstarttime|datetime) >= '2026-10-01T22:00:00Z' AND (sessionstarttime|datetime) < '2026-10-02T04:00:00Z'/)
      if (!sql.startsWith('SELECT COUNT(*) AS sessions, COUNT(DISTINCT')) expect(sql).toMatch(/ GROUP BY .* ORDER BY .* LIMIT 10000$/)
      expect(sql).not.toMatch(/SELECT \*/)
    }
    expect(e.sqlQueries.find((q) => q.sql.includes('FROM gateway_network'))?.sql).toContain("lower(destinationip) IN ('198.51.100.1', '198.51.100.2', '198.51.100.3', '198.51.100.4')")
    expectNoRawInput(e, [POLICY])
  })

  it('honours several ports', async () => {
    const { emu: e, client } = await boot()
    const f = fixture()
    await load(e, f)
    const got = await run(e, client, { ports: [443, 8443] })
    expectExact(got, reference(f, [443, 8443], POLICY))
    expect(got.hostFailures.has('alt-port.example')).toBe(true)
  })

  it('reads past the row cap by key paging over the whole window: distinct counts stay exact', async () => {
    const { emu: e, client } = await boot()
    const f = fixture()
    // One host in both halves of the window: two devices early, a third device late.
    for (const [at, dev] of [[HOUR, 'a'], [HOUR + 1000, 'b'], [5 * HOUR, 'c']] as const) {
      f.zt.push({ SessionStartTime: iso(WINDOW.from + at), SNI: 'straddle.example', OriginIP: '192.0.2.50', OriginPort: 443, ConnectionCloseReason: 'CLIENT_TLS_ERROR', DeviceID: dev, UserID: dev })
    }
    await load(e, f)
    const p = run(e, client, { rowCap: 20 })
    const got = await p
    const ref = reference(f, [443], POLICY)
    expectExact(got, ref)
    expect(got.hostFailures.get('straddle.example')).toMatchObject({ sessions: 3, devices: 3, users: 3, firstSeen: WINDOW.from + HOUR, lastSeen: WINDOW.from + 5 * HOUR })
    expect(got.stats.queries).toBe(e.sqlQueries.length)
    expect(got.stats.warnings.some((w) => /split|lower bound/.test(w))).toBe(false)
    // Every grouped statement covers the whole window, in key order, within the cap it asked for.
    for (const { sql } of e.sqlQueries.filter((q) => / GROUP BY /.test(q.sql))) {
      expect(sql).toMatch(/>= '2026-10-01T22:00:00Z' AND \w+ < '2026-10-02T04:00:00Z'/)
      expect(sql).toMatch(/ ORDER BY [a-z, ]+ LIMIT 20$/)
    }
    // 31 hosts in pages of 20: 2 queries, the bound 1 + ⌈31 / 20⌉ = 3.
    expect(e.sqlQueries.filter((q) => /^SELECT lower\(sni\) AS host, COUNT\(\*\) AS sessions, COUNT\(DISTINCT/.test(q.sql))).toHaveLength(2)
  })

  it('pages by key with small pages (hosts recur through the window): exact counts', async () => {
    const { emu: e, client } = await boot()
    const f = fixture({ recurring: true })
    await load(e, f)
    const got = await run(e, client, { rowCap: 7 })
    expectExact(got, reference(f, [443], POLICY))
    expect(e.sqlQueries.some((q) => / ORDER BY host LIMIT 7$/.test(q.sql) && / lower\(sni\) > '/.test(q.sql))).toBe(true)
    expect(e.sqlQueries.some((q) => / ORDER BY host, ip LIMIT 7$/.test(q.sql) && /\(lower\(sni\) > '.*' OR \(lower\(sni\) = '.*' AND lower\(originip\) > '.*'\)\)/.test(q.sql))).toBe(true)
  })

  it('keeps values that can never be list entries out of the paged queries, and counts them', async () => {
    const { emu: e, client } = await boot()
    const rows: Row[] = []
    for (const sni of ['a.example', 'b.example', 'c.example', 'd\u0001x.example', 'e.example', 'f\\x.example', 'f x.example', 'zz.example']) {
      rows.push({ SessionStartTime: iso(WINDOW.from + HOUR), SNI: sni, OriginIP: '192.0.2.1', OriginPort: 443, ConnectionCloseReason: 'CLIENT_TLS_ERROR', DeviceID: 'd', UserID: 'u' })
    }
    await e.setLogRows('zero_trust_network_sessions', rows)
    const got = await run(e, client, { rowCap: 3 })
    expect([...got.hostFailures.keys()].sort()).toEqual(['a.example', 'b.example', 'c.example', 'e.example', 'zz.example'])
    expect(got.stats.warnings).toContainEqual(expect.stringMatching(/^Log Explorer: 3 failing session\(s\) on 3 distinct SNI\/OriginIP value\(s\) that can never be list entries/))
    const cursors = e.sqlQueries.filter((q) => /FROM zero_trust_network_sessions .*lower\(sni\) > '.*' GROUP BY lower\(sni\) ORDER/.test(q.sql)).map((q) => literals(q.sql).at(-1))
    expect(cursors).toEqual(['c.example'])
    expectNoRawInput(e, [])
  })

  it('fails loudly instead of returning partial results when a full page has no key it can continue from', async () => {
    const { emu: e, client } = await boot()
    // An engine that ignored the key filter: a full page whose keys cannot be quoted.
    const result = ['a\\1', 'a\\2'].map((host) => ({ host, sessions: 1, devices: 1, users: 1, first_seen: '2026-10-01T23:00:00Z', last_seen: '2026-10-01T23:00:00Z' }))
    e.inject({ path: /logs\/explorer\/query\/sql$/, status: 200, body: JSON.stringify({ result: [], success: true, errors: [], messages: [] }) })
    e.inject({ path: /logs\/explorer\/query\/sql$/, status: 200, body: JSON.stringify({ result, success: true, errors: [], messages: [] }) })
    await expect(run(e, client, { rowCap: 2 })).rejects.toThrow(/host-failures .*refusing to return incomplete results/)
  })

  it('is exact at the real 10,000-row cap with 12,000 distinct SNIs spread over the window', async () => {
    const { emu: e, client } = await boot()
    const zt: Row[] = []
    const span = WINDOW.to - WINDOW.from
    for (let i = 0; i < 12_000; i++) {
      const at = WINDOW.from + Math.floor((i / 12_000) * span / 1000) * 1000
      zt.push({ SessionStartTime: iso(at), SNI: `h${i}.bulk.example`, OriginIP: `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, OriginPort: 443, ConnectionCloseReason: 'CLIENT_TLS_ERROR', DeviceID: `d${i % 97}`, UserID: `u${i % 13}` })
      if (i % 5 === 0) zt.push({ ...zt.at(-1), DeviceID: `e${i}` })
    }
    const f = { zt, gn: [], gh: [] }
    await load(e, f)
    // Synthetic: every session fails, so the device rule (tested elsewhere) is off.
    const got = await run(e, client, { certless: { minDestinations: 1_000_000, minFailedPercent: 100 } })
    const ref = reference(f, [443], POLICY)
    expect(got.hostFailures.size).toBe(12_000)
    expect(got.hostFailures).toEqual(ref.hostFailures)
    expect(got.hostIps).toEqual(ref.hostIps)
    expect(got.stats.records.zero_trust_network_sessions).toBe(zt.length)
    // 1 + ⌈12,000 / 10,000⌉ = 3 at most per grouped query; key paging needs 2.
    expect(e.sqlQueries.filter((q) => /^SELECT lower\(sni\) AS host, COUNT\(\*\) AS sessions, COUNT\(DISTINCT/.test(q.sql))).toHaveLength(2)
  })

  it('is complete at the real 10,000-row cap with 12,000 SNIs recurring in both halves (key paging)', async () => {
    const { emu: e, client } = await boot()
    const zt: Row[] = []
    for (let i = 0; i < 12_000; i++) {
      for (const offset of [HOUR, 5 * HOUR]) {
        zt.push({ SessionStartTime: iso(WINDOW.from + offset + (i % 3600) * 1000), SNI: `r${i}.bulk.example`, OriginIP: '192.0.2.1', OriginPort: 443, ConnectionCloseReason: 'CLIENT_TLS_ERROR', DeviceID: `d${offset}-${i % 3}`, UserID: `u${i % 2}` })
      }
    }
    const f = { zt, gn: [], gh: [] }
    await load(e, f)
    // Synthetic: every session fails, so the device rule (tested elsewhere) is off.
    const got = await run(e, client, { certless: { minDestinations: 1_000_000, minFailedPercent: 100 } })
    expect(got.hostFailures.size).toBe(12_000)
    expectExact(got, reference(f, [443], POLICY))
    expect(got.hostFailures.get('r5.bulk.example')).toMatchObject({ sessions: 2, devices: 2 })
  })

  it('treats a hostile policy name as a plain string', async () => {
    const { emu: e, client } = await boot()
    const f = fixture()
    await load(e, f)
    const got = await run(e, client, { policy: { name: HOSTILE } })
    expect([...got.bypassedHosts.keys()]).toEqual(['hostile-only.example'])
    const bypassSql = e.sqlQueries.find((q) => q.sql.includes('FROM gateway_http'))!.sql
    expect(bypassSql).toContain("policyname = 'x'' OR ''1''=''1'")
    expect(literals(bypassSql)).toContain(HOSTILE)
    expectNoRawInput(e, [HOSTILE])
  })

  it('prefers the policy id when known', async () => {
    const { emu: e, client } = await boot()
    const f = fixture()
    await load(e, f)
    const got = await run(e, client, { policy: { name: 'renamed since', id: 'pol-1' } })
    expect([...got.bypassedHosts.keys()].sort()).toEqual(['bypassed-1.example', 'bypassed-2.example'])
  })

  it('refuses a policy name it cannot quote, before any query', async () => {
    const { emu: e, client } = await boot()
    for (const name of ["a\\' OR 1=1 --", 'line\nbreak', 'nul\u0000']) {
      await expect(run(e, client, { policy: { name } })).rejects.toThrow(/policy name\/id cannot be used/)
    }
    expect(e.sqlQueries).toHaveLength(0)
  })

  it('warns when the optional gateway datasets are not enabled', async () => {
    const { emu: e, client } = await boot({ enabledDatasets: ['zero_trust_network_sessions'] })
    const f = fixture()
    await e.setLogRows('zero_trust_network_sessions', f.zt)
    const got = await run(e, client)
    const ref = reference({ ...f, gn: [] }, [443], POLICY)
    expect(got.hostFailures).toEqual(ref.hostFailures)
    expect(got.ipHosts).toEqual(ref.ipHosts)
    expect(got.bypassedHosts.size).toBe(0)
    expect(got.stats.warnings.filter((w) => /dataset gateway_http is not available/.test(w))).toHaveLength(1)
    expect(got.stats.warnings.filter((w) => /dataset gateway_network is not available/.test(w))).toHaveLength(1)
    expect(got.stats.records.gateway_http).toBeUndefined()
  })

  it('fails clearly when zero_trust_network_sessions is not enabled', async () => {
    const { emu: e, client } = await boot({ enabledDatasets: ['gateway_http'] })
    await expect(run(e, client)).rejects.toThrow(/zero_trust_network_sessions is not available.*Enable it for this account in Log Explorer.*Account › Logs › Read/)
  })

  it('names the permission on 403', async () => {
    const { emu: e, client } = await boot()
    const err = await run(e, client, { accountId: '0'.repeat(32) }).catch((x: unknown) => x)
    expect(err).toBeInstanceOf(Error)
    expect((err as Error).message).toMatch(/HTTP 403.*"Account › Logs › Read".*Log Explorer must be enabled for zero_trust_network_sessions/)
    expect(e.sqlQueries).toHaveLength(0) // refused at the account check, and not retried
    expect(e.requests.map((r) => r.path.replace(/^.*\/logs\/explorer\//, ''))).toEqual(['datasets/available', 'query/sql'])
  })

  it('retries a 500 once, deliberately, then succeeds', async () => {
    const { emu: e, client } = await boot()
    const f = fixture()
    await load(e, f)
    e.inject({ path: /logs\/explorer\/query\/sql$/, status: 500, times: 1 })
    const p = run(e, client)
    const got = await p
    expectExact(got, reference(f, [443], POLICY))
    expect(p.lines.filter((l) => /retrying once/.test(l))).toHaveLength(1)
    const sqlRequests = e.requests.filter((r) => r.path.endsWith('/logs/explorer/query/sql'))
    expect(sqlRequests[0]?.status).toBe(500)
    expect(sqlRequests[0]?.body).toBe(sqlRequests[1]?.body)
    expect(got.stats.queries).toBe(sqlRequests.length)
  })

  it('gives up after the one retry with a clear message (SDK retries are off)', async () => {
    const { emu: e, client } = await boot()
    await load(e, fixture())
    e.inject({ path: /logs\/explorer\/query\/sql$/, status: 503, times: 2 })
    await expect(run(e, client)).rejects.toThrow(/Log Explorer query on zero_trust_network_sessions failed \(also after one retry\): Cloudflare API error: HTTP 503/)
    expect(e.requests.filter((r) => r.path.endsWith('/logs/explorer/query/sql'))).toHaveLength(2)
  })

  it('retries a timeout once', async () => {
    const { emu: e, client } = await boot()
    await load(e, fixture())
    e.inject({ path: /logs\/explorer\/query\/sql$/, delayMs: 1_500, status: 200, body: '{}' })
    const p = run(e, client, { sqlTimeoutMs: 500 })
    const got = await p
    expect(got.hostFailures.size).toBe(30)
    expect(p.lines.some((l) => /timed out.*retrying once/.test(l))).toBe(true)
  })

  it('does not take success:false (HTTP 200) for an empty result', async () => {
    const { emu: e, client } = await boot()
    await load(e, fixture())
    e.inject({ path: /logs\/explorer\/query\/sql$/, status: 200, envelope: { success: false, errors: [{ code: 1000, message: 'query failed' }] } })
    await expect(run(e, client)).rejects.toThrow(/unexpected response/)
  })

  it('counts and skips malformed rows', async () => {
    const { emu: e, client } = await boot()
    await load(e, fixture())
    const result = [
      { host: 'good.example', sessions: '3', devices: '2', users: 1, first_seen: '2026-10-01T23:00:00Z', last_seen: '2026-10-02T01:00:00Z' },
      { host: 'bad-count.example', sessions: 'three', devices: 1, users: 1, first_seen: '2026-10-01T23:00:00Z', last_seen: '2026-10-01T23:00:00Z' },
      { host: 'bad-time.example', sessions: 1, devices: 1, users: 1, first_seen: 'soon', last_seen: '2026-10-01T23:00:00Z' },
      { sessions: 1, devices: 1, users: 1, first_seen: '2026-10-01T23:00:00Z', last_seen: '2026-10-01T23:00:00Z' },
      'not a row'
    ]
    // The device tally answers first (no devices), then the host failures with the bad rows.
    e.inject({ path: /logs\/explorer\/query\/sql$/, status: 200, body: JSON.stringify({ result: [], success: true, errors: [], messages: [] }) })
    e.inject({ path: /logs\/explorer\/query\/sql$/, status: 200, body: JSON.stringify({ result, success: true, errors: [], messages: [] }) })
    const got = await run(e, client)
    expect(got.hostFailures).toEqual(new Map([['good.example', { sessions: 3, devices: 2, users: 1, firstSeen: t('2026-10-01T23:00:00Z'), lastSeen: t('2026-10-02T01:00:00Z') }]]))
    expect(got.stats.malformedLines).toBe(4)
    expect(got.stats.warnings).toContain('Log Explorer: 4 malformed row(s) in the host-failures results were skipped')
  })

  it('warns that "no rows" may mean "no data", not "no failures"', async () => {
    const { emu: e, client } = await boot()
    const got = await run(e, client)
    expect(got.hostFailures.size + got.ipFailures.size + got.bypassedHosts.size).toBe(0)
    expect(got.stats.warnings.some((w) => /zero_trust_network_sessions has no sessions at all between 2026-10-01T22:00:00Z and 2026-10-02T04:00:00Z.*may not be enabled/.test(w))).toBe(true)
    expect(e.sqlQueries.at(-1)?.sql).toBe("SELECT COUNT(*) AS n FROM zero_trust_network_sessions WHERE date >= '2026-10-01' AND date <= '2026-10-02' AND sessionstarttime >= '2026-10-01T22:00:00Z' AND sessionstarttime < '2026-10-02T04:00:00Z'")
  })

  it('does not warn when there is traffic but nothing failed, and reports the real count (a quiet day)', async () => {
    const { emu: e, client } = await boot()
    const quiet = fixture().zt.filter((r) => r.ConnectionCloseReason === 'CLIENT_CLOSED' && t(String(r.SessionStartTime)) >= WINDOW.from && t(String(r.SessionStartTime)) < WINDOW.to)
    expect(quiet.length).toBeGreaterThan(0)
    await e.setLogRows('zero_trust_network_sessions', quiet)
    const p = run(e, client)
    const got = await p
    expect(got.hostFailures.size).toBe(0)
    expect(got.stats.records.zero_trust_network_sessions).toBe(quiet.length)
    expect(got.stats.inWindow).toBe(quiet.length)
    expect(got.stats.warnings).toEqual([])
    expect(p.lines.some((l) => /none failing TLS inspection/.test(l))).toBe(true)
  })
})
