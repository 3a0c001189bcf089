/**
 * Pure SQL builders for the Log Explorer source. Nothing here talks to the network: every
 * function takes plain values and returns SQL text, so the exact statements are unit-tested.
 *
 * Injection policy: a value from outside (policy name, IP, cursor key, date) enters SQL only
 * through {@link sqlString}; numbers only through {@link sqlInt}. Identifiers and operators
 * are constants of this file.
 */
import type { Dataset } from '../../core/types.js'

/** Half-open time window `[from, to)` in epoch milliseconds. */
export interface TimeWindow {
  from: number
  to: number
}

/** The managed Do Not Inspect policy, as the caller knows it. */
export interface PolicyRef {
  name?: string
  id?: string
}

/** Log Explorer's documented maximum (and default) `LIMIT`. */
export const MAX_ROWS = 10_000

/** IP values per `IN (…)` list: keeps statements small (reference Gotcha 4). */
export const IN_CHUNK = 200

// Rejected inside literals. C0/C1 controls and DEL: invisible, and NUL may truncate the text
// server-side. Backslash: standard SQL treats it literally, but some dialects/modes read it as
// an escape, and we cannot prove which one Log Explorer's parser uses. Lone surrogates: they
// cannot be encoded as UTF-8, so the engine would see U+FFFD, not the value we meant.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\\]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

/** True when {@link sqlString} would accept the value. */
export function isSqlSafe(value: string): boolean {
  return !UNSAFE.test(value)
}

/**
 * Quotes a value as a SQL string literal: the ONLY way a value enters our SQL.
 *
 * Single quotes are doubled (standard SQL, which DataFusion and DuckDB both follow), so the
 * engine compares the result as a plain string; e.g. `x' OR '1'='1` becomes
 * `'x'' OR ''1''=''1'`. Throws on characters whose treatment we cannot prove safe (controls,
 * NUL, backslash, lone surrogates) instead of guessing.
 */
export function sqlString(value: string): string {
  if (typeof value !== 'string') throw new TypeError('sqlString: value must be a string')
  const bad = UNSAFE.exec(value)
  if (bad) {
    const code = bad[0].codePointAt(0) ?? 0
    throw new Error(`refusing to put a value into SQL: it contains U+${code.toString(16).toUpperCase().padStart(4, '0')} at position ${bad.index} (control characters, backslashes and lone surrogates are not allowed)`)
  }
  return `'${value.replaceAll("'", "''")}'`
}

/** An integer literal, checked against `[min, max]`. */
export function sqlInt(n: number, min: number, max: number): string {
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new Error(`refusing to put ${String(n)} into SQL: expected an integer in ${min}–${max}`)
  return String(n)
}

/** `YYYY-MM-DD` (UTC) of an epoch-ms instant. */
export function utcDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10)
}

/** RFC 3339 UTC timestamp; milliseconds only when non-zero, matching the documented examples. */
export function rfc3339(ms: number): string {
  const iso = new Date(ms).toISOString()
  return iso.endsWith('.000Z') ? `${iso.slice(0, 19)}Z` : iso
}

function checkWindow(w: TimeWindow): void {
  if (!Number.isFinite(w.from) || !Number.isFinite(w.to) || w.to <= w.from) {
    throw new Error(`invalid Log Explorer window: from=${String(w.from)} to=${String(w.to)} (need from < to)`)
  }
}

/** The primary time column of each dataset (from `datasets/available`, else the fallback). */
export type TimeColumns = Record<Dataset, string>

/** Used when `datasets/available` gives no usable `timestamp_field` (reference A2: unconfirmed for sessions). */
export const DEFAULT_TIME_COLUMNS: TimeColumns = {
  zero_trust_network_sessions: 'sessionstarttime',
  gateway_http: 'datetime',
  gateway_network: 'datetime'
}

/** A column name as SQL may receive it: the time column comes from an API answer, so it is checked. */
export function sqlIdentifier(name: string): string {
  if (typeof name !== 'string' || !/^[a-z_][a-z0-9_]{0,63}$/.test(name)) throw new Error('refusing to use a column name that is not a plain lower-case identifier')
  return name
}

/**
 * The four time predicates: the `date` partition column (so Log Explorer scans only those
 * days, reference Gotcha 6) and the precise half-open bound on the timestamp column.
 * The last day is the day of `to - 1 ms` because `to` itself is excluded.
 */
export function timePredicates(timeColumn: string, w: TimeWindow): string[] {
  checkWindow(w)
  const col = sqlIdentifier(timeColumn)
  return [
    `date >= ${sqlString(utcDate(w.from))}`,
    `date <= ${sqlString(utcDate(w.to - 1))}`,
    `${col} >= ${sqlString(rfc3339(w.from))}`,
    `${col} < ${sqlString(rfc3339(w.to))}`
  ]
}

/** `ConnectionCloseReason` is CLIENT_TLS_ERROR in any historical spelling (`clientTlsError`, Gotcha 8). */
export const CLIENT_TLS_ERROR = "upper(replace(connectionclosereason, '_', '')) = 'CLIENTTLSERROR'"

/**
 * What a key must look like to be read at all (issue 12 item 9). A client chooses its SNI, so
 * it can send values that can never be list entries (backslashes, controls, spaces…), and
 * enough of them to fill every page. Keeping them out in SQL means every key we page on can
 * be quoted; they are counted by the `ignored` query instead. Hostnames on the wire are
 * ASCII (RFC 6066; IDNs travel as punycode), so this class loses no hostname that
 * `canonicalHost` would accept from an SNI. No backslash is needed to write either pattern.
 */
export const HOST_PATTERN = '^[a-z0-9._-]+$'
export const IP_PATTERN = '^[0-9a-f.:]+$'
const validHost = (expr: string): string => `regexp_like(${expr}, ${sqlString(HOST_PATTERN)})`
const validIp = (expr: string): string => `regexp_like(${expr}, ${sqlString(IP_PATTERN)})`
// Device ids are Cloudflare's UUIDs; anything else is not tallied (and cannot block paging).
const DEVICE_PATTERN = '^[A-Za-z0-9._:-]+$'

/** `originport IN (…)` from validated, de-duplicated port integers. */
export function portsPredicate(ports: readonly number[]): string {
  if (ports.length === 0) throw new Error('at least one port is required')
  const unique = [...new Set(ports)].sort((a, b) => a - b)
  return `originport IN (${unique.map((p) => sqlInt(p, 1, 65535)).join(', ')})`
}

/** Splits a list into chunks of at most `size`. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  if (!Number.isInteger(size) || size < 1) throw new Error('chunk size must be a positive integer')
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

/** Device ids per `IN (…)` list, and how many lists one statement may carry (25-predicate limit). */
export const DEVICE_CHUNK = 1_000
export const MAX_DEVICE_CHUNKS = 8

/** Leave out (`exclude`) or keep only (`only`) the sessions of these devices. */
export interface DeviceFilter {
  mode: 'exclude' | 'only'
  ids: readonly string[]
}

/**
 * The device filter as one predicate. A NULL device id is never in the list, and must not be
 * dropped by `NOT IN` (SQL's NULL NOT IN (…) is unknown, i.e. false).
 */
export function devicePredicate(f: DeviceFilter): string {
  if (f.ids.length === 0) throw new Error('a device filter needs at least one id')
  const lists = chunk([...f.ids].sort(), DEVICE_CHUNK)
  if (lists.length > MAX_DEVICE_CHUNKS) throw new Error(`too many devices for one statement (${f.ids.length}; at most ${DEVICE_CHUNK * MAX_DEVICE_CHUNKS})`)
  const op = f.mode === 'exclude' ? 'NOT IN' : 'IN'
  const terms = lists.map((ids) => `deviceid ${op} (${ids.map(sqlString).join(', ')})`)
  if (f.mode === 'only') return terms.length === 1 ? terms[0]! : `(${terms.join(' OR ')})`
  return `(deviceid IS NULL OR ${terms.length === 1 ? terms[0]! : `(${terms.join(' AND ')})`})`
}

/**
 * One regexp matching an SNI that is one of `names` or under one of them (label boundary),
 * with an optional trailing dot, as `hostUnderDomain` judges canonical names. Names must be
 * canonical hostnames: `.` is written `[.]` so no backslash is needed.
 */
export function namesPattern(names: readonly string[]): string {
  if (names.length === 0) throw new Error('at least one name is required')
  for (const n of names) if (!/^[a-z0-9_-]+(\.[a-z0-9_-]+)+$/.test(n)) throw new Error('namesPattern: not a canonical hostname')
  return `(^|[.])(${[...names].sort().map((n) => n.replaceAll('.', '[.]')).join('|')})[.]?$`
}

/** The queries this source runs. */
export type QueryKind = 'host-failures' | 'ip-failures' | 'host-ips' | 'ip-hosts' | 'guard-ips' | 'bypassed-hosts' | 'bypassed-host-ips' | 'devices' | 'count' | 'ignored' | 'usage-hosts' | 'usage-ips' | 'usage-span'

type Failures = { window: TimeWindow; ports: readonly number[]; devices?: DeviceFilter; page?: Page }
type GatewayIps = 'zero_trust_network_sessions' | 'gateway_network'

/**
 * One statement to build. `page` turns on key-ordered paging: `ORDER BY` the group keys and,
 * with `after`, only groups strictly after that key tuple (in the engine's own ordering).
 */
export type QuerySpec =
  | ({ kind: 'host-failures' | 'ip-failures' | 'host-ips' } & Failures)
  | { kind: 'ip-hosts'; dataset: GatewayIps; window: TimeWindow; ips: readonly string[]; page?: Page }
  | { kind: 'guard-ips'; dataset: GatewayIps; window: TimeWindow; names: readonly string[]; page?: Page }
  | { kind: 'bypassed-hosts'; window: TimeWindow; policy: PolicyRef; page?: Page }
  /** The (HTTPHost, DestinationIP) pairs the managed policy bypassed: "Seen with" of bypass-log rows. */
  | { kind: 'bypassed-host-ips'; window: TimeWindow; policy: PolicyRef; page?: Page }
  | { kind: 'devices'; window: TimeWindow; ports: readonly number[]; page?: Page }
  | { kind: 'count'; window: TimeWindow }
  | { kind: 'ignored'; window: TimeWindow; ports: readonly number[] }
  /** Last bypassed request per HTTPHost; `hosts` restricts it to those names (lower-case). */
  | { kind: 'usage-hosts'; window: TimeWindow; policy: PolicyRef; hosts?: readonly string[]; page?: Page }
  /** Last bypassed request per DestinationIP; `like` restricts it to IPs matching one of the patterns. */
  | { kind: 'usage-ips'; window: TimeWindow; policy: PolicyRef; like?: readonly string[]; page?: Page }
  /** The earliest and newest gateway_http record of any action: the span the dataset holds. */
  | { kind: 'usage-span'; window: TimeWindow }

export type GroupedSpec = Exclude<QuerySpec, { kind: 'count' | 'ignored' | 'usage-span' }>

/** Key-ordered paging: `after` holds one raw value per group key, as the engine returned it. */
export interface Page {
  after?: readonly string[]
}

/** A group key: its SQL expression and its (lower-case, non-column) output alias. */
export interface GroupKey {
  expr: string
  alias: string
}

// Aliases deliberately differ from column names (`host`, not `sni`) so that ORDER BY and the
// engine's alias resolution can never pick the raw column instead of the expression.
const HOST_KEY: GroupKey = { expr: 'lower(sni)', alias: 'host' }
const IP_KEY: GroupKey = { expr: 'lower(originip)', alias: 'ip' }

// Empty strings are not ids: counting '' as a device would inflate the device threshold.
// Users fall back to the email where the user id is empty (Stats.users); CASE is documented.
const DEVICES = "COUNT(DISTINCT CASE WHEN deviceid <> '' THEN deviceid END) AS devices"
const USERS = "COUNT(DISTINCT CASE WHEN userid <> '' THEN userid WHEN email <> '' THEN email END) AS users"

function statsColumns(timeColumn: string): string[] {
  return ['COUNT(*) AS sessions', DEVICES, USERS, `MIN(${timeColumn}) AS first_seen`, `MAX(${timeColumn}) AS last_seen`]
}

/** Shape of one grouped query, independent of window and page. */
export interface QueryShape {
  dataset: Dataset
  keys: GroupKey[]
  /** Aggregate columns besides the keys. */
  columns: string[]
  /** Filters besides time and paging. */
  filters: string[]
  timeColumn: string
  /**
   * Every column sums (or takes min/max) across time parts, so a window may be split on
   * HTTP 507. False when a distinct count is involved: those are never merged across parts.
   */
  additive: boolean
}

const FAILING_HOST = (ports: readonly number[]): string[] => [CLIENT_TLS_ERROR, portsPredicate(ports), "sni <> ''", validHost('lower(sni)')]
// An empty OriginIP is nothing one could bypass; excluding it also keeps NULL out of key paging.
const FAILING_IP = (ports: readonly number[]): string[] => [CLIENT_TLS_ERROR, portsPredicate(ports), "(sni IS NULL OR sni = '')", "originip <> ''", validIp('lower(originip)')]

/** The grouped shape of a query kind. */
export function queryShape(spec: GroupedSpec, time: TimeColumns = DEFAULT_TIME_COLUMNS): QueryShape {
  const zt = time.zero_trust_network_sessions
  const devices = 'devices' in spec && spec.devices !== undefined ? [devicePredicate(spec.devices)] : []
  switch (spec.kind) {
    case 'host-failures':
      return { dataset: 'zero_trust_network_sessions', keys: [HOST_KEY], columns: statsColumns(zt), filters: [...FAILING_HOST(spec.ports), ...devices], timeColumn: zt, additive: false }
    case 'ip-failures':
      return { dataset: 'zero_trust_network_sessions', keys: [IP_KEY], columns: statsColumns(zt), filters: [...FAILING_IP(spec.ports), ...devices], timeColumn: zt, additive: false }
    case 'host-ips':
      return {
        dataset: 'zero_trust_network_sessions',
        keys: [HOST_KEY, IP_KEY],
        columns: ['COUNT(*) AS sessions'],
        filters: [...FAILING_HOST(spec.ports), "originip <> ''", validIp('lower(originip)'), ...devices],
        timeColumn: zt,
        additive: true
      }
    case 'ip-hosts': {
      if (spec.ips.length === 0) throw new Error('ip-hosts needs at least one IP')
      if (spec.ips.length > MAX_ROWS) throw new Error('ip-hosts: too many IPs for one statement')
      const ip = `lower(${spec.dataset === 'gateway_network' ? 'destinationip' : 'originip'})`
      return {
        dataset: spec.dataset,
        keys: [{ expr: ip, alias: 'ip' }, HOST_KEY],
        columns: ['COUNT(*) AS sessions'],
        // Every session, failing or not, and every port: the shared-IP guard wants all names on the IP.
        filters: [`${ip} IN (${spec.ips.map((v) => sqlString(v.toLowerCase())).join(', ')})`, "sni <> ''", validHost('lower(sni)')],
        timeColumn: time[spec.dataset],
        additive: true
      }
    }
    case 'guard-ips': {
      // Every IP, in any spelling, on which an excluded name was seen: compared canonically
      // by the caller, so `::ffff:a.b.c.d` and `a.b.c.d` meet (issue 12 item 4).
      const ip = `lower(${spec.dataset === 'gateway_network' ? 'destinationip' : 'originip'})`
      return {
        dataset: spec.dataset,
        keys: [{ expr: ip, alias: 'ip' }],
        columns: ['MIN(lower(sni)) AS host', 'COUNT(*) AS sessions'],
        filters: [`regexp_like(lower(sni), ${sqlString(namesPattern(spec.names))})`, `${ip} <> ''`, validIp(ip)],
        timeColumn: time[spec.dataset],
        additive: true
      }
    }
    case 'bypassed-hosts':
      return {
        dataset: 'gateway_http',
        keys: [HTTP_HOST_KEY],
        columns: statsColumns(time.gateway_http),
        filters: [...bypassedBy(spec.policy), "httphost <> ''", validHost(HTTP_HOST_KEY.expr)],
        timeColumn: time.gateway_http,
        additive: false
      }
    case 'bypassed-host-ips':
      return {
        dataset: 'gateway_http',
        keys: [HTTP_HOST_KEY, DESTINATION_KEY],
        columns: ['COUNT(*) AS sessions'],
        filters: [...bypassedBy(spec.policy), "httphost <> ''", validHost(HTTP_HOST_KEY.expr), "destinationip <> ''", validIp(DESTINATION_KEY.expr)],
        timeColumn: time.gateway_http,
        additive: true
      }
    case 'usage-hosts':
    case 'usage-ips':
      return usageShape(spec, time.gateway_http)
    case 'devices':
      return {
        dataset: 'zero_trust_network_sessions',
        keys: [{ expr: 'deviceid', alias: 'device' }],
        columns: [
          'COUNT(*) AS tls',
          `SUM(CASE WHEN ${CLIENT_TLS_ERROR} THEN 1 ELSE 0 END) AS failed`,
          `COUNT(DISTINCT CASE WHEN ${CLIENT_TLS_ERROR} AND sni <> '' THEN lower(sni) WHEN ${CLIENT_TLS_ERROR} AND originip <> '' THEN lower(originip) END) AS destinations`
        ],
        filters: [portsPredicate(spec.ports), `regexp_like(deviceid, ${sqlString(DEVICE_PATTERN)})`],
        timeColumn: zt,
        additive: false
      }
  }
}

const HTTP_HOST_KEY: GroupKey = { expr: 'lower(httphost)', alias: 'host' }
const DESTINATION_KEY: GroupKey = { expr: 'lower(destinationip)', alias: 'ip' }

/** Requests the managed Do Not Inspect policy bypassed: the one predicate every bypass query shares. */
export function bypassedBy(policy: PolicyRef): string[] {
  return ["lower(action) = 'bypass'", policyPredicate(policy)]
}

/**
 * Issue 10's usage: the last bypassed request per logged HTTPHost or DestinationIP. MAX is
 * exact across key pages and across time parts, so a 507 may split the window. Keys that can
 * never be list entries are kept out, as in every paged query (a client writes its own SNI,
 * which Gateway logs as HTTPHost for Do Not Inspect).
 */
function usageShape(spec: Extract<QuerySpec, { kind: 'usage-hosts' | 'usage-ips' }>, timeColumn: string): QueryShape {
  const key = spec.kind === 'usage-hosts' ? HTTP_HOST_KEY : DESTINATION_KEY
  const column = spec.kind === 'usage-hosts' ? 'httphost' : 'destinationip'
  const valid = spec.kind === 'usage-hosts' ? validHost(key.expr) : validIp(key.expr)
  const only: string[] = []
  if (spec.kind === 'usage-hosts' && spec.hosts !== undefined) {
    if (spec.hosts.length === 0 || spec.hosts.length > IN_CHUNK) throw new Error(`usage-hosts: 1–${IN_CHUNK} names per statement`)
    only.push(`${key.expr} IN (${spec.hosts.map((h) => sqlString(h.toLowerCase())).join(', ')})`)
  }
  if (spec.kind === 'usage-ips' && spec.like !== undefined) {
    if (spec.like.length === 0 || spec.like.length > 4) throw new Error('usage-ips: 1–4 LIKE patterns per statement')
    for (const l of spec.like) if (!/^[0-9a-f.:]+%?$/.test(l)) throw new Error('usage-ips: a LIKE pattern is IP text with an optional trailing %')
    const terms = spec.like.map((l) => `${key.expr} LIKE ${sqlString(l)}`)
    only.push(terms.length === 1 ? terms[0]! : `(${terms.join(' OR ')})`)
  }
  return {
    dataset: 'gateway_http',
    keys: [key],
    columns: ['COUNT(*) AS sessions', `MAX(${timeColumn}) AS last_seen`],
    filters: [...bypassedBy(spec.policy), `${column} <> ''`, valid, ...only],
    timeColumn,
    additive: true
  }
}

/** `policyid = …` when the id is known (stable across renames), else `policyname = …`. */
export function policyPredicate(policy: PolicyRef): string {
  if (policy.id !== undefined && policy.id !== '') return `policyid = ${sqlString(policy.id)}`
  if (policy.name !== undefined && policy.name !== '') return `policyname = ${sqlString(policy.name)}`
  throw new Error('the Do Not Inspect policy needs a name or an id')
}

/**
 * Strictly-after predicate for a key tuple, lexicographic over the keys:
 * `(k1 > a OR (k1 = a AND k2 > b))`. Uses the group expressions, since WHERE cannot see aliases.
 */
export function afterPredicate(keys: readonly GroupKey[], after: readonly string[]): string {
  if (after.length !== keys.length) throw new Error('paging cursor does not match the group keys')
  const terms: string[] = []
  for (let i = 0; i < keys.length; i++) {
    const eq = keys.slice(0, i).map((k, j) => `${k.expr} = ${sqlString(after[j]!)}`)
    const gt = `${keys[i]!.expr} > ${sqlString(after[i]!)}`
    terms.push(eq.length === 0 ? gt : `(${[...eq, gt].join(' AND ')})`)
  }
  return terms.length === 1 ? terms[0]! : `(${terms.join(' OR ')})`
}

// Failing sessions whose key can never be a list entry: counted, never paged (item 9).
function ignoredSql(spec: { window: TimeWindow; ports: readonly number[] }, time: TimeColumns): string {
  const zt = time.zero_trust_network_sessions
  const badHost = `(sni <> '' AND NOT ${validHost('lower(sni)')})`
  const badIp = `((sni IS NULL OR sni = '') AND originip <> '' AND NOT ${validIp('lower(originip)')})`
  const where = [...timePredicates(zt, spec.window), CLIENT_TLS_ERROR, portsPredicate(spec.ports), `(${badHost} OR ${badIp})`]
  return `SELECT COUNT(*) AS sessions, COUNT(DISTINCT CASE WHEN sni <> '' THEN lower(sni) ELSE lower(originip) END) AS n FROM zero_trust_network_sessions WHERE ${where.join(' AND ')}`
}

/**
 * Builds the SQL text of one query. Aggregation happens in Cloudflare (GROUP BY, never raw
 * rows); aliases are lower-case because result keys come back lower-cased (Gotcha 5);
 * `LIMIT` is explicit so a full result (`rows === limit`) is detectable as possibly truncated.
 */
export function buildSql(spec: QuerySpec, limit: number = MAX_ROWS, time: TimeColumns = DEFAULT_TIME_COLUMNS): string {
  const lim = sqlInt(limit, 1, MAX_ROWS)
  if (spec.kind === 'count') {
    return `SELECT COUNT(*) AS n FROM zero_trust_network_sessions WHERE ${timePredicates(time.zero_trust_network_sessions, spec.window).join(' AND ')}`
  }
  if (spec.kind === 'ignored') return ignoredSql(spec, time)
  if (spec.kind === 'usage-span') {
    const col = sqlIdentifier(time.gateway_http)
    return `SELECT MIN(${col}) AS first_seen, MAX(${col}) AS last_seen FROM gateway_http WHERE ${timePredicates(time.gateway_http, spec.window).join(' AND ')}`
  }
  const shape = queryShape(spec, time)
  const where = [...timePredicates(shape.timeColumn, spec.window), ...shape.filters]
  if (spec.page?.after !== undefined) where.push(afterPredicate(shape.keys, spec.page.after))
  const select = [...shape.keys.map((k) => `${k.expr} AS ${k.alias}`), ...shape.columns].join(', ')
  const groupBy = shape.keys.map((k) => k.expr).join(', ')
  const orderBy = spec.page !== undefined ? ` ORDER BY ${shape.keys.map((k) => k.alias).join(', ')}` : ''
  return `SELECT ${select} FROM ${shape.dataset} WHERE ${where.join(' AND ')} GROUP BY ${groupBy}${orderBy} LIMIT ${lim}`
}
