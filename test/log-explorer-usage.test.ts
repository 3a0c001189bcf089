// Issue 10's usage data from Log Explorer: what the managed Do Not Inspect policy bypassed,
// per HTTPHost and per DestinationIP, over `idle-days` whatever the lookback, and the span the
// dataset's records vouch for. Real SDK → Cloudflare emulator → DuckDB running our SQL.
import { afterEach, describe, expect, it } from 'vitest'
import type Cloudflare from 'cloudflare'
import { createCloudflareClient } from '../action/src/adapters/cloudflare-client.js'
import type { Observations } from '../action/src/core/types.js'
import { lastBypassed, queryLogExplorer, type LogExplorerOptions } from '../action/src/sources/log-explorer/index.js'
import { ipv4Like } from '../action/src/sources/log-explorer/usage.js'
import { startCloudflareEmulator, type CloudflareEmulator, type CloudflareEmulatorOptions } from './emulators/cloudflare.js'
import { prng } from '../scripts/make-sample.js'

type Row = Record<string, unknown>
const t = (iso: string): number => Date.parse(iso)
const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z')
const DAY = 86_400_000
const HOUR = 3_600_000
const NOW = t('2026-10-31T00:00:00Z')
/** A one-hour lookback: the usage window must not follow it. */
const WINDOW = { from: NOW - HOUR, to: NOW }
const IDLE_FROM = NOW - 30 * DAY

let emu: CloudflareEmulator | undefined
afterEach(async () => {
  await emu?.close()
  emu = undefined
})

async function boot(opts: CloudflareEmulatorOptions = {}): Promise<{ e: CloudflareEmulator; client: Cloudflare }> {
  const e = (emu = await startCloudflareEmulator(opts))
  // One healthy session so the source's own emptiness check stays quiet.
  await e.setLogRows('zero_trust_network_sessions', [{ SessionStartTime: iso(NOW - 60_000), SNI: 'ok.example', OriginIP: '192.0.2.1', OriginPort: 443, ConnectionCloseReason: 'CLIENT_CLOSED', DeviceID: 'd', UserID: 'u' }])
  return { e, client: createCloudflareClient({ apiToken: e.token, baseURL: e.url, maxRetries: 0 }) }
}

async function collect(e: CloudflareEmulator, client: Cloudflare, extra: Partial<LogExplorerOptions> = {}): Promise<{ obs: Observations; lines: string[] }> {
  const lines: string[] = []
  const obs = await queryLogExplorer({ client, accountId: e.accountId, window: WINDOW, ports: [443], policy: { name: 'DNI' }, usageDays: 30, log: (m) => lines.push(m), ...extra })
  return { obs, lines }
}

const http = (at: number, host: string, ip: string, over: Row = {}): Row => ({
  Datetime: iso(at), Action: 'bypass', PolicyName: 'DNI', PolicyID: 'pol-1', HTTPHost: host, DestinationIP: ip, ...over
})

const select = {
  span: /^SELECT MIN\(datetime\) AS first_seen, MAX\(datetime\) AS last_seen FROM gateway_http/,
  hosts: /^SELECT lower\(httphost\) AS host, COUNT\(\*\) AS sessions, MAX\(/,
  ips: /^SELECT lower\(destinationip\) AS ip, COUNT\(\*\) AS sessions, MAX\(/
}
const count = (e: CloudflareEmulator, re: RegExp): number => e.sqlQueries.filter((q) => re.test(q.sql)).length


describe('Log Explorer usage (issue 10)', () => {
  it('last bypassed request per host and per IP over 30 days, exact past the row cap; other policies, other actions and older requests do not count', async () => {
    const { e, client } = await boot()
    const rnd = prng(10)
    const at = (): number => IDLE_FROM + Math.floor(rnd() * 30 * DAY / 1000) * 1000
    const rows: Row[] = []
    const hosts = new Map<string, number>()
    const ips = new Map<string, number>()
    for (let i = 0; i < 450; i++) {
      const host = `h${i}.bulk.example`
      const ip = `10.${i >> 8}.${i & 255}.7`
      for (let k = 0; k < 3; k++) {
        const when = at()
        rows.push(http(when, host, ip))
        hosts.set(host, Math.max(hosts.get(host) ?? 0, when))
        ips.set(ip, Math.max(ips.get(ip) ?? 0, when))
      }
      // Later requests that are not the managed policy bypassing: never usage.
      rows.push(http(NOW - 1000, host, ip, { PolicyName: 'Other', PolicyID: 'pol-2' }))
      rows.push(http(NOW - 1000, host, ip, { Action: 'allow' }))
    }
    rows.push(http(IDLE_FROM - DAY, 'old.example', '203.0.113.9')) // before the idle window
    await e.setLogRows('gateway_http', rows)

    const { obs } = await collect(e, client, { rowCap: 100 })
    expect(obs.usage?.hosts).toEqual(hosts)
    expect(obs.usage?.ips).toEqual(ips)
    expect(obs.usage?.covers).toEqual({ from: IDLE_FROM, to: NOW })
    // 450 groups at 100 a page: 5 pages each, plus the one span statement.
    expect([count(e, select.span), count(e, select.hosts), count(e, select.ips)]).toEqual([1, 5, 5])
    // Whatever the lookback, the usage statements span the 30 days (and the date partitions).
    const usageSql = e.sqlQueries.filter((q) => select.hosts.test(q.sql))
    expect(usageSql.every((q) => q.sql.includes(`datetime >= '${iso(IDLE_FROM)}'`) && q.sql.includes("date >= '2026-10-01'"))).toBe(true)
    expect(usageSql.every((q) => q.sql.includes("lower(action) = 'bypass' AND policyname = 'DNI'"))).toBe(true)
  })

  it('the policy id, when known, selects the rows (a renamed policy keeps its usage)', async () => {
    const { e, client } = await boot()
    await e.setLogRows('gateway_http', [http(NOW - DAY, 'renamed.example', '198.51.100.1', { PolicyName: 'DNI (renamed)' }), http(NOW - 40 * DAY, 'x.example', '198.51.100.2')])
    const { obs } = await collect(e, client, { policy: { id: 'pol-1', name: 'DNI' } })
    expect(obs.usage?.hosts).toEqual(new Map([['renamed.example', NOW - DAY]]))
  })

  it('idle-days 0 (or absent) reads no usage at all', async () => {
    for (const usageDays of [0, undefined]) {
      const { e, client } = await boot()
      await e.setLogRows('gateway_http', [http(NOW - DAY, 'a.example', '198.51.100.1')])
      const { obs } = await collect(e, client, { usageDays })
      expect(obs.usage).toBeUndefined()
      expect(count(e, select.span) + count(e, select.hosts) + count(e, select.ips)).toBe(0)
      await e.close()
      emu = undefined
    }
  })

  it.each([
    ['records from before the idle window: covers all 30 days', [NOW - 35 * DAY, NOW - HOUR], { from: IDLE_FROM, to: NOW }],
    ['dataset enabled 5 days ago: covers from its first record', [NOW - 5 * DAY + 1234_000, NOW - HOUR], { from: NOW - 5 * DAY + 1234_000, to: NOW }],
    ['first record an hour into the window: not yet the whole window', [IDLE_FROM + HOUR, NOW - HOUR], { from: IDLE_FROM + HOUR, to: NOW }],
    ['records stopped 3 days ago: covers up to the last one', [NOW - 33 * DAY, NOW - 3 * DAY], { from: IDLE_FROM, to: NOW - 3 * DAY }],
    ['newest record 20 hours old (a quiet night): still now', [NOW - 36 * DAY, NOW - 20 * HOUR], { from: IDLE_FROM, to: NOW }],
    ['no record since 37 days: nothing covered', [], { from: NOW, to: NOW }]
  ])('covers: %s', async (_name, times, covers) => {
    const { e, client } = await boot()
    // Any action counts for the span: these are not bypasses.
    await e.setLogRows('gateway_http', times.map((ms) => http(ms, 'seen.example', '198.51.100.1', { Action: 'allow' })))
    const { obs, lines } = await collect(e, client)
    expect(obs.usage?.covers).toEqual(covers)
    expect(obs.usage?.hosts.size).toBe(0)
    if (covers.from > IDLE_FROM || covers.to < NOW) expect(lines.some((l) => /idleness cannot be judged/.test(l))).toBe(true)
    else expect(lines.some((l) => /idleness cannot be judged/.test(l))).toBe(false)
    // An empty span skips the grouped statements.
    expect(count(e, select.hosts)).toBe(covers.from === covers.to ? 0 : 1)
  })

  it('says for how many days idleness cannot be judged yet', async () => {
    const { e, client } = await boot()
    await e.setLogRows('gateway_http', [http(NOW - 5 * DAY, 'a.example', '198.51.100.1')])
    const { lines } = await collect(e, client)
    expect(lines).toContain('Log Explorer: idleness cannot be judged yet: gateway_http holds records only since 2026-10-26T00:00:00Z, 25 day(s) short of the 30-day idle window')
  })

  it('gateway_http not enabled: no usage, a log line, and the run goes on with its other evidence', async () => {
    const { e, client } = await boot({ enabledDatasets: ['zero_trust_network_sessions', 'gateway_network'] })
    await e.setLogRows('zero_trust_network_sessions', [
      { SessionStartTime: iso(NOW - 60_000), SNI: 'pinned.example', OriginIP: '192.0.2.5', OriginPort: 443, ConnectionCloseReason: 'CLIENT_TLS_ERROR', DeviceID: 'd', UserID: 'u' }
    ])
    const { obs, lines } = await collect(e, client)
    expect(obs.usage).toBeUndefined()
    expect(obs.hostFailures.get('pinned.example')?.sessions).toBe(1)
    expect(lines.some((l) => /idleness cannot be judged: .*gateway_http is not enabled in Log Explorer.*no entry is called idle/.test(l))).toBe(true)
    // Stops at the first refused statement.
    expect(count(e, select.span)).toBe(1)
    expect(count(e, select.hosts) + count(e, select.ips)).toBe(0)
  })

  it('any other failure of the usage statements leaves no usage and fails nothing', async () => {
    const { e, client } = await boot({ logExhausted: (sql) => select.ips.test(sql) })
    await e.setLogRows('gateway_http', [http(NOW - 40 * DAY, 'a.example', '198.51.100.1'), http(NOW - DAY, 'a.example', '198.51.100.1')])
    const { obs, lines } = await collect(e, client)
    expect(obs.usage).toBeUndefined()
    expect(lines.some((l) => /idleness cannot be judged: .*HTTP 507/.test(l))).toBe(true)
  })

  it('a 507 on a usage statement narrows it and stays exact (MAX adds up across time parts)', async () => {
    const { e, client } = await boot({ logExhausted: (sql) => select.hosts.test(sql) && sql.includes(`datetime >= '${iso(IDLE_FROM)}'`) && sql.includes(`datetime < '${iso(NOW)}'`) })
    await e.setLogRows('gateway_http', [http(NOW - 40 * DAY, 'z.example', '198.51.100.9'), http(NOW - 20 * DAY, 'a.example', '198.51.100.1'), http(NOW - 2 * DAY, 'a.example', '198.51.100.1'), http(NOW - 25 * DAY, 'b.example', '198.51.100.2')])
    const { obs } = await collect(e, client)
    expect(obs.usage?.hosts).toEqual(new Map([['a.example', NOW - 2 * DAY], ['b.example', NOW - 25 * DAY]]))
  })

  it('hostile HTTPHost and DestinationIP values never become keys, nor fill pages or block the cursor', async () => {
    const { e, client } = await boot()
    const hostile = [
      "evil.example' OR '1'='1", 'a b.example', 'tab\t.example', 'nul\u0000.example', 'back\\slash.example', 'ünï.example',
      'x.example:8443', '<script>.example', '%.example', '_%', '', 'UPPER.Example'
    ]
    const rows: Row[] = []
    // 300 hostile names that sort before every real one ('!' < 'a'): with pages of 100 they
    // would fill the first pages if the SQL let them in.
    for (let i = 0; i < 300; i++) rows.push(http(NOW - DAY, `!${String(i).padStart(3, '0')} \\'`, `zz'${i}`))
    for (const h of hostile) rows.push(http(NOW - DAY, h, `1.2.3.4'; --`))
    for (let i = 0; i < 150; i++) rows.push(http(NOW - 2 * DAY, `ok${i}.example`, `198.51.100.${i}`))
    rows.push(http(NOW - 40 * DAY, 'before.example', '198.51.100.200'))
    await e.setLogRows('gateway_http', rows)
    const { obs } = await collect(e, client, { rowCap: 100 })
    const hosts = [...obs.usage!.hosts.keys()]
    expect(hosts.filter((h) => !/^ok\d+\.example$/.test(h))).toEqual(['upper.example'])
    expect(hosts).toHaveLength(151)
    expect([...obs.usage!.ips.keys()].every((ip) => /^198\.51\.100\.\d+$/.test(ip))).toBe(true)
    expect(obs.usage!.ips.size).toBe(150)
    expect([count(e, select.hosts), count(e, select.ips)]).toEqual([2, 2])
  })
})

describe('lastBypassed (for `why`)', () => {
  async function fixture(): Promise<{ e: CloudflareEmulator; client: Cloudflare }> {
    const { e, client } = await boot()
    await e.setLogRows('gateway_http', [
      http(NOW - 3 * DAY, 'app.example', '10.1.2.3'),
      http(NOW - 1 * DAY, 'APP.example.', '10.1.9.9'), // trailing dot, upper case: the same entry
      http(NOW - 2 * HOUR, 'app.example', '10.1.2.3', { PolicyName: 'Other', PolicyID: 'pol-2' }),
      http(NOW - 3 * HOUR, 'app.example', '10.1.2.3', { Action: 'allow' }),
      http(NOW - 2 * DAY, 'sub.app.example', '::ffff:10.1.200.1'), // mapped spelling, inside 10.1/16
      http(NOW - 5 * HOUR, 'ten.example', '10.10.0.1'), // shares the text "10.1" but not the network
      http(NOW - 6 * HOUR, 'two.example', '10.2.0.1'),
      http(NOW - 4 * DAY, 'v6.example', '2001:DB8::7'),
      http(NOW - 8 * DAY, 'v6.example', '2001:db8:0:0::5'),
      http(NOW - 7 * HOUR, 'v6b.example', '2001:db9::1'),
      http(NOW - 50 * DAY, 'old.example', '192.0.2.77')
    ])
    return { e, client }
  }
  const opts = (e: CloudflareEmulator, client: Cloudflare) => ({ client, accountId: e.accountId, policy: { name: 'DNI' }, now: NOW })

  it.each([
    ['host', 'app.example', NOW - 1 * DAY],
    ['host', 'App.Example.', NOW - 1 * DAY],
    ['host', 'sub.app.example', NOW - 2 * DAY],
    ['host', 'other.example', null],
    ['host', 'old.example', null],
    ['ip', '10.1.0.0/16', NOW - 1 * DAY],
    ['ip', '10.1.200.0/24', NOW - 2 * DAY],
    ['ip', '10.1.2.3', NOW - 3 * DAY],
    ['ip', '10.1.2.3/32', NOW - 3 * DAY],
    ['ip', '10.0.0.0/12', NOW - 5 * HOUR], // 10.0–10.15: 10.10.0.1 is inside
    ['ip', '10.0.0.0/7', NOW - 5 * HOUR],
    ['ip', '2001:db8::/32', NOW - 4 * DAY],
    ['ip', '2001:db8::5', NOW - 8 * DAY],
    ['ip', '192.0.2.77', null]
  ] as const)('%s %s → last bypassed', async (kind, value, expected) => {
    const { e, client } = await fixture()
    const got = await lastBypassed(opts(e, client), { kind, value }, 30)
    expect(got).toBe(expected)
    // One statement: the host by name, an IPv4 network narrowed by LIKE, IPv6 read whole.
    expect(e.sqlQueries).toHaveLength(1)
  })

  it('narrows an IPv4 network with LIKE on its whole octets and both spellings', async () => {
    const { e, client } = await fixture()
    await lastBypassed(opts(e, client), { kind: 'ip', value: '10.1.0.0/16' }, 30)
    expect(e.sqlQueries[0]!.sql).toContain("(lower(destinationip) LIKE '10.1.%' OR lower(destinationip) LIKE '::ffff:10.1.%')")
  })

  it('looks back the given number of days', async () => {
    const { e, client } = await fixture()
    expect(await lastBypassed(opts(e, client), { kind: 'host', value: 'old.example' }, 60)).toBe(NOW - 50 * DAY)
  })

  it('refuses values that are not list entries, and a missing policy, before any query', async () => {
    const { e, client } = await fixture()
    await expect(lastBypassed(opts(e, client), { kind: 'host', value: "x' OR '1'='1" }, 30)).rejects.toThrow(/not a hostname/)
    await expect(lastBypassed(opts(e, client), { kind: 'ip', value: '10.1.0.0/33' }, 30)).rejects.toThrow(/not an IP or network/)
    await expect(lastBypassed({ ...opts(e, client), policy: {} }, { kind: 'host', value: 'a.example' }, 30)).rejects.toThrow(/policy needs a name or an id/)
    await expect(lastBypassed(opts(e, client), { kind: 'host', value: 'a.example' }, 0)).rejects.toThrow(/integer in 1–3650/)
    expect(e.sqlQueries).toHaveLength(0)
  })

  it('gateway_http not enabled: a clear error', async () => {
    const { e, client } = await boot({ enabledDatasets: ['zero_trust_network_sessions'] })
    await expect(lastBypassed(opts(e, client), { kind: 'host', value: 'a.example' }, 30)).rejects.toThrow(/gateway_http is not available.*Enable gateway_http in Log Explorer/)
  })
})

describe('ipv4Like', () => {
  it.each([
    ['10.1.0.0/16', ['10.1.%', '::ffff:10.1.%']],
    ['10.1.2.0/23', ['10.1.%', '::ffff:10.1.%']],
    ['10.1.2.0/24', ['10.1.2.%', '::ffff:10.1.2.%']],
    ['10.1.2.3', ['10.1.2.3', '::ffff:10.1.2.3']],
    ['10.1.2.3/32', ['10.1.2.3', '::ffff:10.1.2.3']],
    ['10.0.0.0/8', ['10.%', '::ffff:10.%']],
    ['0.0.0.0/7', undefined],
    ['2001:db8::/32', undefined],
    ['::ffff:10.0.0.0/104', undefined]
  ])('%s', (net, want) => {
    expect(ipv4Like(net)).toEqual(want)
  })
})
