// Log Explorer at scale and under the answers Cloudflare's schema allows (issue 8, issue 12
// items 4 and 9): real SDK → Cloudflare emulator → DuckDB running our SQL, then the planner.
import { afterEach, describe, expect, it } from 'vitest'
import type Cloudflare from 'cloudflare'
import { createCloudflareClient } from '../action/src/adapters/cloudflare-client.js'
import { buildCollectPlan } from '../action/src/core/plan.js'
import type { ExclusionRule, Observations } from '../action/src/core/types.js'
import { queryLogExplorer, type LogExplorerOptions } from '../action/src/sources/log-explorer/index.js'
import { startCloudflareEmulator, type CloudflareEmulator, type CloudflareEmulatorOptions } from './emulators/cloudflare.js'
import { prng } from '../scripts/make-sample.js'

type Row = Record<string, unknown>
const t = (iso: string): number => Date.parse(iso)
const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z')
const HOUR = 3_600_000
const WINDOW = { from: t('2026-10-01T22:00:00Z'), to: t('2026-10-02T22:00:00Z') }
const SPAN = WINDOW.to - WINDOW.from
/** Thresholds no device reaches: for tests about something else than the device rule. */
const OFF = { minDestinations: 1_000_000, minFailedPercent: 100 }
const GOOGLE: ExclusionRule = { value: 'google.com', kind: 'host', reason: 'tenant restrictions', line: 1 }

let emu: CloudflareEmulator | undefined
afterEach(async () => {
  await emu?.close()
  emu = undefined
})

async function boot(opts: CloudflareEmulatorOptions = {}): Promise<{ emu: CloudflareEmulator; client: Cloudflare }> {
  emu = await startCloudflareEmulator(opts)
  return { emu, client: createCloudflareClient({ apiToken: emu.token, baseURL: emu.url, maxRetries: 2 }) }
}

function run(e: CloudflareEmulator, client: Cloudflare, extra: Partial<LogExplorerOptions> = {}): Promise<Observations> & { lines: string[] } {
  const lines: string[] = []
  const p = queryLogExplorer({ client, accountId: e.accountId, window: WINDOW, ports: [443], policy: { name: 'DNI' }, log: (m) => lines.push(m), ...extra })
  return Object.assign(p, { lines })
}

const fail = (at: number, sni: string | null, ip: string, device: string): Row => ({
  SessionStartTime: iso(at), SNI: sni, OriginIP: ip, OriginPort: 443, ConnectionCloseReason: 'CLIENT_TLS_ERROR', DeviceID: device, UserID: `u-${device}`
})
const ok = (at: number, sni: string, ip: string, device: string): Row => ({ ...fail(at, sni, ip, device), ConnectionCloseReason: 'CLIENT_CLOSED' })

function plan(obs: Observations, rules: ExclusionRule[] = [], minDevices = 1) {
  return buildCollectPlan({ observations: obs, current: { ips: [], hosts: [] }, rules, expiredRules: [], options: { minSessions: 2, minDevices, maxNewEntries: Infinity, now: WINDOW.to } })
}


/** SQL calls per grouped query kind, told apart by their SELECT list. */
function countBy(e: CloudflareEmulator, select: RegExp): number {
  return e.sqlQueries.filter((q) => select.test(q.sql)).length
}

describe('Log Explorer: exact past the row cap', () => {
  it('12,000 hosts × 2 sessions on 2 devices at independent times across the window: every device count is exact, all proposed at min-devices 2', async () => {
    const { emu: e, client } = await boot()
    const zt: Row[] = []
    const rnd = prng(8)
    const at = (): number => WINDOW.from + Math.floor(rnd() * SPAN / 1000) * 1000
    // Two independent times per host: about half the hosts have one session in each half of
    // the window, which is where merging per-half distinct counts undercounted (issue 8).
    for (let i = 0; i < 12_000; i++) {
      const host = `h${i}.bulk.example`
      zt.push(fail(at(), host, '192.0.2.1', `a-${i}`))
      zt.push(fail(at(), host, '192.0.2.1', `b-${i}`))
    }
    await e.setLogRows('zero_trust_network_sessions', zt)
    const p = run(e, client)
    const got = await p
    expect(got.hostFailures.size).toBe(12_000)
    expect([...got.hostFailures.values()].every((s) => s.sessions === 2 && s.devices === 2 && s.users === 2)).toBe(true)
    const planned = plan(got, [], 2)
    expect(planned.additions).toHaveLength(12_000)
    expect(planned.belowThreshold).toHaveLength(0)
    // At most 1 + ⌈groups / cap⌉ queries per grouped query; no split, no lower-bound warning.
    expect(countBy(e, /^SELECT lower\(sni\) AS host, COUNT\(\*\) AS sessions, COUNT\(DISTINCT/)).toBeLessThanOrEqual(1 + Math.ceil(12_000 / 10_000))
    expect(countBy(e, /^SELECT lower\(sni\) AS host, lower\(originip\) AS ip/)).toBeLessThanOrEqual(1 + Math.ceil(12_000 / 10_000))
    // 24,000 devices, each failing on one destination: tallied exactly, none certificate-less.
    expect(got.certless).toMatchObject({ devicesSeen: 24_000, devices: [], sessionsExcluded: 0 })
    expect(countBy(e, /^SELECT deviceid AS device/)).toBeLessThanOrEqual(1 + Math.ceil(24_000 / 10_000))
    expect(got.stats.warnings).toEqual([])
    expect(got.stats.queries).toBe(e.sqlQueries.length)
    expect(e.sqlQueries.length).toBeLessThanOrEqual(11)
  })

  it('the same with the cap lowered to 1,000: 12 pages of host failures, each over the whole window', async () => {
    const { emu: e, client } = await boot()
    const zt: Row[] = []
    for (let i = 0; i < 12_000; i++) {
      zt.push(fail(WINDOW.from + i * 1000, `h${i}.bulk.example`, `10.0.${i >> 8}.${i & 255}`, 'a'))
      zt.push(fail(WINDOW.to - 1000 - i * 1000, `h${i}.bulk.example`, `10.0.${i >> 8}.${i & 255}`, 'b'))
    }
    await e.setLogRows('zero_trust_network_sessions', zt)
    const got = await run(e, client, { rowCap: 1_000, certless: OFF })
    expect([...got.hostFailures.values()].filter((s) => s.devices === 2)).toHaveLength(12_000)
    const hostQueries = e.sqlQueries.filter((q) => /^SELECT lower\(sni\) AS host, COUNT\(\*\) AS sessions, COUNT\(DISTINCT/.test(q.sql))
    expect(hostQueries.length).toBeLessThanOrEqual(1 + Math.ceil(12_000 / 1_000))
    for (const q of hostQueries) expect(q.sql).toContain("sessionstarttime >= '2026-10-01T22:00:00Z' AND sessionstarttime < '2026-10-02T22:00:00Z'")
  })
})

describe('Log Explorer: hostile SNIs cannot stop the run (issue 12 item 9)', () => {
  it('30,000 distinct SNIs with a backslash spread over the window: valid candidates proposed, hostile ones counted, queries bounded', async () => {
    const { emu: e, client } = await boot()
    const zt: Row[] = []
    for (let i = 0; i < 30_000; i++) zt.push(fail(WINDOW.from + Math.floor((i / 30_000) * SPAN / 1000) * 1000, `a\\${i}.evil.example`, '203.0.113.9', 'attacker'))
    for (let h = 0; h < 40; h++) {
      for (const d of ['d1', 'd2']) zt.push(fail(WINDOW.from + h * HOUR / 2 + (d === 'd1' ? 0 : 1000), `pinned-${h}.example`, '192.0.2.7', d))
    }
    await e.setLogRows('zero_trust_network_sessions', zt)
    // The device rule is off here: this is about the keys, whoever sends them.
    const got = await run(e, client, { certless: OFF })
    expect(got.hostFailures.size).toBe(40)
    expect(got.stats.warnings).toContainEqual(expect.stringMatching(/^Log Explorer: 30000 failing session\(s\) on 30000 distinct SNI\/OriginIP value\(s\) that can never be list entries/))
    expect(plan(got, [], 2).additions.map((c) => c.value).sort()).toEqual(Array.from({ length: 40 }, (_, h) => `pinned-${h}.example`).sort())
    expect(e.sqlQueries.length).toBeLessThanOrEqual(8)
    for (const { sql } of e.sqlQueries) expect(sql).not.toContain('\\')
  })

  it('the same flood in the bypass log (gateway_http) and on a candidate IP cannot block those queries either', async () => {
    const { emu: e, client } = await boot()
    const zt: Row[] = [fail(WINDOW.from + HOUR, '', '198.51.100.5', 'd1'), fail(WINDOW.from + 2 * HOUR, '', '198.51.100.5', 'd2')]
    const gh: Row[] = []
    for (let i = 0; i < 3_000; i++) {
      zt.push(ok(WINDOW.from + i * 1000, `x\\${i}.example`, '198.51.100.5', 'n'))
      gh.push({ Datetime: iso(WINDOW.from + i * 1000), Action: 'bypass', PolicyName: 'DNI', HTTPHost: `y\\${i}.example`, DeviceID: 'n' })
    }
    gh.push({ Datetime: iso(WINDOW.from + HOUR), Action: 'bypass', PolicyName: 'DNI', HTTPHost: 'kept.example', DeviceID: 'n' })
    await e.setLogRows('zero_trust_network_sessions', zt)
    await e.setLogRows('gateway_http', gh)
    const got = await run(e, client, { rowCap: 100 })
    expect([...got.ipFailures.keys()]).toEqual(['198.51.100.5'])
    expect([...got.bypassedHosts.keys()]).toEqual(['kept.example'])
    expect(got.ipHosts.get('198.51.100.5')).toBeUndefined() // no valid name seen on it
  })
})

describe('Log Explorer: the shared-IP guard compares canonical values (issue 12 item 4)', () => {
  it('a failure logged as ::ffff:142.250.1.1 is not proposed when accounts.google.com was seen on 142.250.1.1', async () => {
    const { emu: e, client } = await boot()
    const zt = [
      fail(WINDOW.from + HOUR, '', '::ffff:142.250.1.1', 'd1'),
      fail(WINDOW.from + 2 * HOUR, null, '::FFFF:142.250.1.1', 'd2'),
      ok(WINDOW.from + 3 * HOUR, 'accounts.google.com', '142.250.1.1', 'd3'),
      // A control: an IP where only an ordinary name was seen is still proposed.
      fail(WINDOW.from + HOUR, '', '::ffff:198.51.100.77', 'd1'),
      fail(WINDOW.from + 2 * HOUR, '', '::ffff:198.51.100.77', 'd2'),
      ok(WINDOW.from + 3 * HOUR, 'plain.example', '198.51.100.77', 'd3')
    ]
    await e.setLogRows('zero_trust_network_sessions', zt)
    const got = await run(e, client, { exclusions: [GOOGLE] })
    const p = plan(got, [GOOGLE])
    expect(p.additions.map((c) => c.value)).toEqual(['198.51.100.77'])
    expect(p.suppressed.map((s) => [s.candidate.value, s.via])).toEqual([['142.250.1.1', 'accounts.google.com']])
  })

  it('also through gateway_network, and for an excluded name in any case with a trailing dot', async () => {
    const { emu: e, client } = await boot()
    await e.setLogRows('zero_trust_network_sessions', [fail(WINDOW.from + HOUR, '', '142.250.9.9', 'd1'), fail(WINDOW.from + 2 * HOUR, '', '142.250.9.9', 'd2')])
    await e.setLogRows('gateway_network', [{ Datetime: iso(WINDOW.from + HOUR), DestinationIP: '::ffff:8efa:909', SNI: 'Mail.Google.com.', Action: 'allow' }])
    const got = await run(e, client, { exclusions: [GOOGLE] })
    expect(plan(got, [GOOGLE]).additions).toEqual([])
  })
})

describe('Log Explorer: answers the schema allows', () => {
  it('result: null or missing on a successful query means no rows', async () => {
    const { emu: e, client } = await boot()
    await e.setLogRows('zero_trust_network_sessions', [fail(WINDOW.from + HOUR, 'a.example', '192.0.2.1', 'd1')])
    e.inject({ path: /logs\/explorer\/query\/sql$/, status: 200, body: JSON.stringify({ result: null, success: true, errors: [], messages: [] }) })
    e.inject({ path: /logs\/explorer\/query\/sql$/, status: 200, body: JSON.stringify({ success: true, errors: [], messages: [] }) })
    const got = await run(e, client)
    expect(got.certless?.devicesSeen).toBe(0) // the first answer (the device tally) was null
    expect(got.hostFailures.size).toBe(0) // the second (host failures) had no result at all
    expect(got.ipFailures.size).toBe(0)
    expect(got.hostIps.get('a.example')).toEqual(new Set(['192.0.2.1']))
    expect(e.pendingFaults()).toBe(0)
  })

  it('HTTP 507 narrows the page, never repeats the same SQL', async () => {
    const { emu: e, client } = await boot({ logExhausted: (sql) => / LIMIT (10000|2500)$/.test(sql) && sql.includes(' AS devices') })
    await e.setLogRows('zero_trust_network_sessions', [fail(WINDOW.from + HOUR, 'a.example', '192.0.2.1', 'd1'), fail(WINDOW.from + 2 * HOUR, 'a.example', '192.0.2.1', 'd2')])
    const p = run(e, client)
    const got = await p
    expect(got.hostFailures.get('a.example')).toMatchObject({ sessions: 2, devices: 2 })
    const exhausted = e.sqlQueries.filter((q) => q.status === 507).map((q) => q.sql)
    expect(exhausted.length).toBeGreaterThan(0)
    expect(new Set(e.sqlQueries.map((q) => q.sql)).size).toBe(e.sqlQueries.length)
    expect(p.lines.some((l) => /HTTP 507.*pages of 2500; retrying with pages of 625/.test(l))).toBe(true)
  })

  it('HTTP 507 on an additive query (names on candidate IPs) reads the window in halves; sums stay exact', async () => {
    const span = (sql: string): number => {
      const [a, b] = [...sql.matchAll(/sessionstarttime [<>]=? '([^']+)'/g)].map((m) => t(m[1]!))
      return (b ?? 0) - (a ?? 0)
    }
    const { emu: e, client } = await boot({ logExhausted: (sql) => sql.includes('lower(originip) IN (') && span(sql) > 6 * HOUR })
    await e.setLogRows('zero_trust_network_sessions', [
      fail(WINDOW.from + HOUR, '', '198.51.100.5', 'd1'), fail(WINDOW.from + 2 * HOUR, '', '198.51.100.5', 'd2'),
      ok(WINDOW.from + HOUR, 'early.example', '198.51.100.5', 'x'), ok(WINDOW.to - HOUR, 'late.example', '198.51.100.5', 'x')
    ])
    const p = run(e, client)
    const got = await p
    expect(got.ipHosts.get('198.51.100.5')).toEqual(new Set(['early.example', 'late.example']))
    expect(p.lines.filter((l) => /reading it in two halves/.test(l)).length).toBeGreaterThan(0)
  })

  it('HTTP 507 on a distinct-count query that no page size fixes fails the run with what to do', async () => {
    const { emu: e, client } = await boot({ logExhausted: (sql) => sql.includes(' AS devices') })
    await e.setLogRows('zero_trust_network_sessions', [fail(WINDOW.from + HOUR, 'a.example', '192.0.2.1', 'd1')])
    await expect(run(e, client)).rejects.toThrow(/ran out of resources \(HTTP 507\) on the host-failures query .* even with pages of 100 groups; .*nothing was proposed\. Shorten the `lookback` input/)
  })
})

describe('Log Explorer: the time column comes from datasets/available', () => {
  const rows = [
    // Started before the window, ended inside it: only the end time puts it in the window.
    { ...fail(WINDOW.from - HOUR, 'ends-inside.example', '192.0.2.1', 'd1'), SessionEndTime: iso(WINDOW.from + HOUR) },
    { ...fail(WINDOW.from + HOUR, 'starts-inside.example', '192.0.2.1', 'd1'), SessionEndTime: iso(WINDOW.to + HOUR) }
  ]

  it('uses the timestamp_field the account reports', async () => {
    const { emu: e, client } = await boot({ logTimestampFields: { zero_trust_network_sessions: 'SessionEndTime' } })
    await e.setLogRows('zero_trust_network_sessions', rows)
    const p = run(e, client)
    const got = await p
    expect([...got.hostFailures.keys()]).toEqual(['ends-inside.example'])
    expect(e.requests[0]?.path).toBe(`/accounts/${e.accountId}/logs/explorer/datasets/available`)
    expect(e.sqlQueries.every((q) => !q.sql.includes('FROM zero_trust_network_sessions') || q.sql.includes("sessionendtime >= '2026-10-01T22:00:00Z'"))).toBe(true)
    expect(p.lines).toContain('Log Explorer: time columns zero_trust_network_sessions.sessionendtime, gateway_http.datetime, gateway_network.datetime')
  })

  it.each([
    ['absent', { logTimestampFields: { zero_trust_network_sessions: null } }, /zero_trust_network_sessions has no usable timestamp_field in datasets\/available; falling back to sessionstarttime/],
    ['not a plain identifier', { logTimestampFields: { zero_trust_network_sessions: "x' OR 1=1 --" } }, /zero_trust_network_sessions has no usable timestamp_field .*falling back to sessionstarttime/]
  ] as const)('falls back to sessionstarttime when the field is %s, and says so', async (_name, opts, line) => {
    const { emu: e, client } = await boot(opts)
    await e.setLogRows('zero_trust_network_sessions', rows)
    const p = run(e, client)
    expect([...(await p).hostFailures.keys()]).toEqual(['starts-inside.example'])
    expect(p.lines.some((l) => line.test(l))).toBe(true)
    for (const { sql } of e.sqlQueries) expect(sql).not.toContain('OR 1=1')
  })

  it('falls back when the endpoint fails, and says so', async () => {
    const { emu: e, client } = await boot()
    await e.setLogRows('zero_trust_network_sessions', rows)
    e.inject({ path: /datasets\/available$/, status: 500, times: 2 })
    const p = run(e, client)
    expect([...(await p).hostFailures.keys()]).toEqual(['starts-inside.example'])
    expect(p.lines.some((l) => /could not read the datasets' time columns \(.*HTTP 500.*\); using the fallback columns zero_trust_network_sessions.sessionstarttime/.test(l))).toBe(true)
  })
})
