import { describe, expect, it } from 'vitest'
import { parseCount, parseRow, parseTimestamp, mergeStats } from '../action/src/sources/log-explorer/rows.js'
import {
  afterPredicate,
  buildSql,
  chunk,
  devicePredicate,
  isSqlSafe,
  namesPattern,
  portsPredicate,
  rfc3339,
  sqlInt,
  sqlString,
  timePredicates,
  utcDate
} from '../action/src/sources/log-explorer/sql.js'

const t = (iso: string): number => Date.parse(iso)

describe('sqlString', () => {
  it.each([
    ['plain', "'plain'"],
    ['', "''"],
    ["x' OR '1'='1", "'x'' OR ''1''=''1'"],
    ["'", "''''"],
    ["O'Brien's policy", "'O''Brien''s policy'"],
    ['Do Not Inspect — pinned ✓', "'Do Not Inspect — pinned ✓'"],
    ['a"b;--c/*d*/', "'a\"b;--c/*d*/'"],
    ['emoji 😀', "'emoji 😀'"]
  ])('quotes %j', (input, expected) => {
    expect(sqlString(input)).toBe(expected)
    expect(isSqlSafe(input)).toBe(true)
  })

  it.each([
    ['NUL', 'a\u0000b'],
    ['newline', 'a\nb'],
    ['tab', 'a\tb'],
    ['DEL', 'a\u007fb'],
    ['C1 control', 'a\u0085b'],
    ['backslash', "a\\' OR 1=1 --"],
    ['lone high surrogate', 'a\ud800b'],
    ['lone low surrogate', 'a\udc00b']
  ])('rejects %s', (_name, input) => {
    expect(() => sqlString(input)).toThrow(/refusing to put a value into SQL/)
    expect(isSqlSafe(input)).toBe(false)
  })

  it('the quoted text has an even number of quotes inside and no way out of the literal', () => {
    for (const v of ["'", "''", "a'b'c", "';DROP TABLE x;--", "\u2019'"]) {
      const q = sqlString(v)
      const inner = q.slice(1, -1)
      // Every quote inside is part of a doubled pair.
      expect(inner.replaceAll("''", '')).not.toContain("'")
    }
  })
})

describe('sqlInt and ports', () => {
  it('accepts integers in range only', () => {
    expect(sqlInt(443, 1, 65535)).toBe('443')
    for (const bad of [0, 65536, 1.5, Number.NaN, -1]) expect(() => sqlInt(bad, 1, 65535)).toThrow()
  })
  it('builds a sorted, de-duplicated IN list', () => {
    expect(portsPredicate([443])).toBe('originport IN (443)')
    expect(portsPredicate([8443, 443, 443])).toBe('originport IN (443, 8443)')
    expect(() => portsPredicate([])).toThrow()
    expect(() => portsPredicate([443, 70000])).toThrow()
    expect(() => portsPredicate(['443) OR (1=1' as unknown as number])).toThrow()
  })
})

describe('time predicates', () => {
  it.each([
    ['inside one day', '2026-10-01T10:00:00Z', '2026-10-01T12:30:00Z', '2026-10-01', '2026-10-01', "'2026-10-01T10:00:00Z'", "'2026-10-01T12:30:00Z'"],
    ['crossing midnight', '2026-10-01T23:30:00Z', '2026-10-02T00:30:00Z', '2026-10-01', '2026-10-02', "'2026-10-01T23:30:00Z'", "'2026-10-02T00:30:00Z'"],
    ['ending exactly at midnight (exclusive)', '2026-10-01T00:00:00Z', '2026-10-02T00:00:00Z', '2026-10-01', '2026-10-01', "'2026-10-01T00:00:00Z'", "'2026-10-02T00:00:00Z'"],
    ['seven days', '2026-09-24T08:15:00Z', '2026-10-01T08:15:00Z', '2026-09-24', '2026-10-01', "'2026-09-24T08:15:00Z'", "'2026-10-01T08:15:00Z'"],
    ['across a year end', '2026-12-31T22:00:00Z', '2027-01-01T02:00:00Z', '2026-12-31', '2027-01-01', "'2026-12-31T22:00:00Z'", "'2027-01-01T02:00:00Z'"],
    ['with milliseconds', '2026-10-01T10:00:00.250Z', '2026-10-01T10:30:00.750Z', '2026-10-01', '2026-10-01', "'2026-10-01T10:00:00.250Z'", "'2026-10-01T10:30:00.750Z'"]
  ])('%s', (_name, from, to, d1, d2, ts1, ts2) => {
    expect(timePredicates('sessionstarttime', { from: t(from), to: t(to) })).toEqual([
      `date >= '${d1}'`,
      `date <= '${d2}'`,
      `sessionstarttime >= ${ts1}`,
      `sessionstarttime < ${ts2}`
    ])
  })
  it('uses datetime for gateway datasets and rejects empty windows', () => {
    expect(timePredicates('datetime', { from: t('2026-10-01T00:00:00Z'), to: t('2026-10-01T01:00:00Z') })[2]).toBe("datetime >= '2026-10-01T00:00:00Z'")
    expect(() => timePredicates('datetime', { from: 5, to: 5 })).toThrow()
    expect(() => timePredicates('datetime', { from: Number.NaN, to: 5 })).toThrow()
  })
  it('formats dates and timestamps in UTC', () => {
    expect(utcDate(t('2026-03-01T00:00:00Z') - 1)).toBe('2026-02-28')
    expect(rfc3339(t('2026-10-01T00:00:00Z'))).toBe('2026-10-01T00:00:00Z')
    expect(rfc3339(t('2026-10-01T00:00:00.001Z'))).toBe('2026-10-01T00:00:00.001Z')
  })
})

describe('chunk', () => {
  it('splits IN lists at the chunk size', () => {
    const ips = Array.from({ length: 401 }, (_, i) => `10.0.${Math.floor(i / 256)}.${i % 256}`)
    const parts = chunk(ips, 200)
    expect(parts.map((p) => p.length)).toEqual([200, 200, 1])
    expect(parts.flat()).toEqual(ips)
    expect(chunk([], 200)).toEqual([])
    expect(() => chunk([1], 0)).toThrow()
  })
})

const W = { from: t('2026-10-01T23:00:00Z'), to: t('2026-10-02T01:00:00Z') }
const TIME = "date >= '2026-10-01' AND date <= '2026-10-02' AND sessionstarttime >= '2026-10-01T23:00:00Z' AND sessionstarttime < '2026-10-02T01:00:00Z'"
const GW_TIME = "date >= '2026-10-01' AND date <= '2026-10-02' AND datetime >= '2026-10-01T23:00:00Z' AND datetime < '2026-10-02T01:00:00Z'"
const FAILING = "upper(replace(connectionclosereason, '_', '')) = 'CLIENTTLSERROR'"
const STATS = (col: string): string =>
  "COUNT(*) AS sessions, COUNT(DISTINCT CASE WHEN deviceid <> '' THEN deviceid END) AS devices, " +
  "COUNT(DISTINCT CASE WHEN userid <> '' THEN userid WHEN email <> '' THEN email END) AS users, " +
  `MIN(${col}) AS first_seen, MAX(${col}) AS last_seen`

const HOST_OK = "regexp_like(lower(sni), '^[a-z0-9._-]+$')"
const IP_OK = "regexp_like(lower(originip), '^[0-9a-f.:]+$')"

describe('buildSql', () => {
  it('host failures: only keys that can be list entries', () => {
    expect(buildSql({ kind: 'host-failures', window: W, ports: [443, 8443] })).toBe(
      `SELECT lower(sni) AS host, ${STATS('sessionstarttime')} FROM zero_trust_network_sessions WHERE ${TIME} AND ${FAILING} AND originport IN (443, 8443) AND sni <> '' AND ${HOST_OK} GROUP BY lower(sni) LIMIT 10000`
    )
  })
  it('ip failures (no SNI)', () => {
    expect(buildSql({ kind: 'ip-failures', window: W, ports: [443] }, 50)).toBe(
      `SELECT lower(originip) AS ip, ${STATS('sessionstarttime')} FROM zero_trust_network_sessions WHERE ${TIME} AND ${FAILING} AND originport IN (443) AND (sni IS NULL OR sni = '') AND originip <> '' AND ${IP_OK} GROUP BY lower(originip) LIMIT 50`
    )
  })
  it('host/ip pairs', () => {
    expect(buildSql({ kind: 'host-ips', window: W, ports: [443] })).toBe(
      `SELECT lower(sni) AS host, lower(originip) AS ip, COUNT(*) AS sessions FROM zero_trust_network_sessions WHERE ${TIME} AND ${FAILING} AND originport IN (443) AND sni <> '' AND ${HOST_OK} AND originip <> '' AND ${IP_OK} GROUP BY lower(sni), lower(originip) LIMIT 10000`
    )
  })
  it('hostnames on IPs, both datasets (IPs compared lower-cased)', () => {
    expect(buildSql({ kind: 'ip-hosts', dataset: 'zero_trust_network_sessions', window: W, ips: ['192.0.2.1', '2001:DB8::1'] })).toBe(
      `SELECT lower(originip) AS ip, lower(sni) AS host, COUNT(*) AS sessions FROM zero_trust_network_sessions WHERE ${TIME} AND lower(originip) IN ('192.0.2.1', '2001:db8::1') AND sni <> '' AND ${HOST_OK} GROUP BY lower(originip), lower(sni) LIMIT 10000`
    )
    expect(buildSql({ kind: 'ip-hosts', dataset: 'gateway_network', window: W, ips: ['192.0.2.1'] })).toBe(
      `SELECT lower(destinationip) AS ip, lower(sni) AS host, COUNT(*) AS sessions FROM gateway_network WHERE ${GW_TIME} AND lower(destinationip) IN ('192.0.2.1') AND sni <> '' AND ${HOST_OK} GROUP BY lower(destinationip), lower(sni) LIMIT 10000`
    )
    expect(() => buildSql({ kind: 'ip-hosts', dataset: 'gateway_network', window: W, ips: [] })).toThrow()
  })
  it('guard: every IP on which an excluded name (or a subdomain) was seen, one regexp without backslashes', () => {
    const sql = buildSql({ kind: 'guard-ips', dataset: 'zero_trust_network_sessions', window: W, names: ['google.com', 'login.live.com'] })
    expect(sql).toBe(
      `SELECT lower(originip) AS ip, MIN(lower(sni)) AS host, COUNT(*) AS sessions FROM zero_trust_network_sessions WHERE ${TIME} AND regexp_like(lower(sni), '(^|[.])(google[.]com|login[.]live[.]com)[.]?$') AND lower(originip) <> '' AND ${IP_OK} GROUP BY lower(originip) LIMIT 10000`
    )
    expect(sql).not.toContain('\\')
    expect(() => buildSql({ kind: 'guard-ips', dataset: 'gateway_network', window: W, names: ["x') OR ('1"] })).toThrow(/canonical/)
    expect(() => buildSql({ kind: 'guard-ips', dataset: 'gateway_network', window: W, names: [] })).toThrow()
  })
  it.each([
    ['google.com', true], ['accounts.google.com', true], ['accounts.google.com.', true], ['a.b.google.com', true],
    ['notgoogle.com', false], ['google.com.evil.example', false], ['google.co', false], ['googleXcom', false], ['login.live.com', true], ['live.com', false]
  ])('the guard pattern matches %s: %s (same rule as hostUnderDomain)', (sni, expected) => {
    const re = new RegExp(namesPattern(['google.com', 'login.live.com']))
    expect(re.test(sni)).toBe(expected)
  })
  it('bypassed hosts by policy name (escaped) or id (preferred)', () => {
    expect(buildSql({ kind: 'bypassed-hosts', window: W, policy: { name: "x' OR '1'='1" } })).toBe(
      `SELECT lower(httphost) AS host, ${STATS('datetime')} FROM gateway_http WHERE ${GW_TIME} AND lower(action) = 'bypass' AND policyname = 'x'' OR ''1''=''1' AND httphost <> '' AND regexp_like(lower(httphost), '^[a-z0-9._-]+$') GROUP BY lower(httphost) LIMIT 10000`
    )
    expect(buildSql({ kind: 'bypassed-hosts', window: W, policy: { name: 'n', id: 'f6c1d3a2-0000-4000-8000-000000000001' } })).toContain(
      "AND policyid = 'f6c1d3a2-0000-4000-8000-000000000001' AND"
    )
    expect(() => buildSql({ kind: 'bypassed-hosts', window: W, policy: {} })).toThrow(/name or an id/)
    expect(() => buildSql({ kind: 'bypassed-hosts', window: W, policy: { name: 'a\\b' } })).toThrow(/refusing/)
  })
  it('count, and the count of values that can never be list entries', () => {
    expect(buildSql({ kind: 'count', window: W })).toBe(`SELECT COUNT(*) AS n FROM zero_trust_network_sessions WHERE ${TIME}`)
    expect(buildSql({ kind: 'ignored', window: W, ports: [443] })).toBe(
      `SELECT COUNT(*) AS sessions, COUNT(DISTINCT CASE WHEN sni <> '' THEN lower(sni) ELSE lower(originip) END) AS n FROM zero_trust_network_sessions WHERE ${TIME} AND ${FAILING} AND originport IN (443) AND ((sni <> '' AND NOT ${HOST_OK}) OR ((sni IS NULL OR sni = '') AND originip <> '' AND NOT ${IP_OK}))`
    )
  })
  it('uses the time column it is given, and only a plain identifier', () => {
    const time = { zero_trust_network_sessions: 'sessionendtime', gateway_http: 'datetime', gateway_network: 'datetime' }
    expect(buildSql({ kind: 'host-failures', window: W, ports: [443] }, 10, time)).toContain("sessionendtime >= '2026-10-01T23:00:00Z' AND sessionendtime < ")
    expect(buildSql({ kind: 'host-failures', window: W, ports: [443] }, 10, time)).toContain('MIN(sessionendtime) AS first_seen')
    for (const bad of ['x; DROP', 'a b', "t'", 'Upper', '', '1abc']) {
      expect(() => buildSql({ kind: 'count', window: W }, 10, { ...time, zero_trust_network_sessions: bad })).toThrow(/identifier/)
    }
  })
  it('device filters: NULL device ids are kept by NOT IN; long lists are chunked; too many refused', () => {
    expect(devicePredicate({ mode: 'exclude', ids: ['b', "it's"] })).toBe("(deviceid IS NULL OR deviceid NOT IN ('b', 'it''s'))")
    expect(devicePredicate({ mode: 'only', ids: ['a'] })).toBe("deviceid IN ('a')")
    const many = Array.from({ length: 2_001 }, (_, i) => `d${String(i).padStart(5, '0')}`)
    expect(devicePredicate({ mode: 'exclude', ids: many }).match(/NOT IN \(/g)).toHaveLength(3)
    expect(devicePredicate({ mode: 'only', ids: many }).match(/ OR deviceid IN \(/g)).toHaveLength(2)
    expect(() => devicePredicate({ mode: 'exclude', ids: Array.from({ length: 8_001 }, (_, i) => `d${i}`) })).toThrow(/too many devices/)
    expect(() => devicePredicate({ mode: 'exclude', ids: ['a\\b'] })).toThrow(/refusing/)
    expect(buildSql({ kind: 'host-failures', window: W, ports: [443], devices: { mode: 'exclude', ids: ['d1'] } })).toContain(
      "AND (deviceid IS NULL OR deviceid NOT IN ('d1')) GROUP BY"
    )
  })
  it('key paging: ORDER BY the aliases and a strictly-after predicate on the expressions', () => {
    expect(buildSql({ kind: 'host-failures', window: W, ports: [443], page: {} }, 100)).toMatch(/GROUP BY lower\(sni\) ORDER BY host LIMIT 100$/)
    expect(buildSql({ kind: 'host-failures', window: W, ports: [443], page: { after: ["it's.example"] } })).toContain(
      "AND lower(sni) > 'it''s.example' GROUP BY"
    )
    expect(buildSql({ kind: 'host-ips', window: W, ports: [443], page: { after: ['a.example', '192.0.2.9'] } })).toContain(
      "AND (lower(sni) > 'a.example' OR (lower(sni) = 'a.example' AND lower(originip) > '192.0.2.9')) GROUP BY lower(sni), lower(originip) ORDER BY host, ip LIMIT"
    )
    expect(afterPredicate([{ expr: 'a', alias: 'a' }, { expr: 'b', alias: 'b' }, { expr: 'c', alias: 'c' }], ['1', '2', '3'])).toBe(
      "(a > '1' OR (a = '1' AND b > '2') OR (a = '1' AND b = '2' AND c > '3'))"
    )
    expect(() => buildSql({ kind: 'host-failures', window: W, ports: [443], page: { after: ['a\u0000'] } })).toThrow(/refusing/)
  })
  it('rejects limits above the Log Explorer maximum', () => {
    expect(() => buildSql({ kind: 'count', window: W }, 10_001)).toThrow()
    expect(() => buildSql({ kind: 'host-failures', window: W, ports: [443] }, 0)).toThrow()
  })
  it('stays within 25 WHERE predicates (rough count of comparisons), device filters included', () => {
    const devices = { mode: 'exclude' as const, ids: Array.from({ length: 8_000 }, (_, i) => `d${i}`) }
    for (const sql of [
      buildSql({ kind: 'host-ips', window: W, ports: [443, 8443], page: { after: ['a', 'b'] }, devices }),
      buildSql({ kind: 'ip-failures', window: W, ports: [443], page: { after: ['a'] }, devices }),
      buildSql({ kind: 'ignored', window: W, ports: [443] })
    ]) {
      const end = sql.indexOf(' GROUP BY ')
      const where = sql.slice(sql.indexOf(' WHERE '), end < 0 ? undefined : end)
      expect(where.split(/ AND | OR /).length).toBeLessThanOrEqual(25)
    }
  })
})

describe('row parsing', () => {
  const good = { host: ' Example.COM ', sessions: '12', devices: 3, users: '2', first_seen: '2026-10-01T10:00:00Z', last_seen: '2026-10-01T11:00:00.123456789Z' }
  it('accepts numbers or numeric strings and RFC 3339 timestamps', () => {
    expect(parseRow(good, ['host'], true)).toEqual({
      keys: ['example.com'],
      raw: [' Example.COM '],
      sessions: 12,
      stats: { sessions: 12, devices: 3, users: 2, firstSeen: t('2026-10-01T10:00:00Z'), lastSeen: t('2026-10-01T11:00:00.123Z') }
    })
  })
  it.each([
    ['missing key', { ...good, host: undefined }],
    ['empty key', { ...good, host: '  ' }],
    ['number key', { ...good, host: 5 }],
    ['negative count', { ...good, sessions: -1 }],
    ['fractional count', { ...good, devices: 1.5 }],
    ['text count', { ...good, users: 'many' }],
    ['bad timestamp', { ...good, first_seen: 'yesterday' }],
    ['last before first', { ...good, first_seen: '2026-10-02T00:00:00Z' }],
    ['not an object', 'row'],
    ['null', null]
  ])('rejects %s', (_n, row) => {
    expect(parseRow(row, ['host'], true)).toBeUndefined()
  })
  it('parses pair rows and count rows', () => {
    expect(parseRow({ ip: '2001:DB8::1', host: 'a.example', sessions: 4 }, ['ip', 'host'], false)).toEqual({ keys: ['2001:db8::1', 'a.example'], raw: ['2001:DB8::1', 'a.example'], sessions: 4 })
    expect(parseCount([{ n: '0' }])).toBe(0)
    expect(parseCount([{ n: 7 }])).toBe(7)
    expect(parseCount([])).toBeUndefined()
  })
  it.each([
    ['2026-10-01T10:00:00Z', '2026-10-01T10:00:00.000Z'],
    ['2026-10-01 10:00:00', '2026-10-01T10:00:00.000Z'],
    ['2026-10-01 10:00:00.5', '2026-10-01T10:00:00.500Z'],
    ['2026-10-01T12:00:00+02:00', '2026-10-01T10:00:00.000Z'],
    ['2026-10-01T12:00:00+0200', '2026-10-01T10:00:00.000Z'],
    [1790848800, '2026-10-01T10:00:00.000Z'],
    [1790848800000, '2026-10-01T10:00:00.000Z'],
    ['1790848800000000000', '2026-10-01T10:00:00.000Z']
  ])('timestamp %j', (input, iso) => {
    expect(parseTimestamp(input)).toBe(t(iso))
  })
  it('merges split parts: sessions add, distinct counts take the max, first/last min/max', () => {
    expect(mergeStats({ sessions: 2, devices: 2, users: 1, firstSeen: 10, lastSeen: 20 }, { sessions: 3, devices: 1, users: 4, firstSeen: 5, lastSeen: 15 }))
      .toEqual({ sessions: 5, devices: 2, users: 4, firstSeen: 5, lastSeen: 20 })
  })
})
