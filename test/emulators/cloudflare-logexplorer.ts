// Log Explorer SQL emulation (reference §A): the service's documented restrictions are enforced
// by a small lexical guard, then the query runs on an in-memory DuckDB over tables built from
// test rows. DuckDB is close to the service's (DataFusion-like) dialect for the subset this
// product uses; known differences are listed at DIALECT NOTES below.
import { DuckDBInstance, type DuckDBAppender, type DuckDBConnection } from '@duckdb/node-api'

/** Datasets the emulator can hold rows for. */
export type LogDataset = 'zero_trust_network_sessions' | 'gateway_http' | 'gateway_network'

/** One SQL text received by the query endpoint. */
export interface SqlRecord {
  /** The SQL exactly as received (body for POST, `?query=` for the deprecated GET). */
  sql: string
  via: 'POST' | 'GET'
  /** HTTP status answered (200 or the refusal's status). */
  status: number
  /** What DuckDB ran (after the implicit `LIMIT 10000`); undefined when refused before running. */
  executed?: string
}

type ColType = 'VARCHAR' | 'BIGINT' | 'DOUBLE' | 'BOOLEAN'

/** Behaviours of the emulated Log Explorer. */
export interface LogExplorerOptions {
  /** Emulate the unconfirmed report that `SELECT DISTINCT` fails on an empty result. */
  selectDistinctEmptyFails?: boolean
  /** `timestamp_field` per dataset in `datasets/available` (null: left out of the answer); the `date` column follows it. */
  timestampFields?: Partial<Record<LogDataset, string | null>>
  /** Answer HTTP 507 ResourcesExhausted to every query for which this returns true (e.g. too large a LIMIT). */
  exhausted?: (sql: string) => boolean
}

const DATASETS: LogDataset[] = ['zero_trust_network_sessions', 'gateway_http', 'gateway_network']

/** Primary time column per dataset; `sessionstarttime` for sessions is an assumption (reference A2: unconfirmed). */
const TIMESTAMP_FIELD: Record<LogDataset, string> = {
  zero_trust_network_sessions: 'sessionstarttime',
  gateway_http: 'datetime',
  gateway_network: 'datetime'
}

/** Fields rendered as RFC3339 strings, as Log Explorer exposes timestamps. */
const TIME_FIELDS = new Set(['datetime', 'sessionstarttime', 'sessionendtime'])

const V = 'VARCHAR' as const
const I = 'BIGINT' as const
const B = 'BOOLEAN' as const

/**
 * Documented columns (reference §B, lower-cased) so queries on an empty or sparse dataset
 * still bind. Columns found in `setLogRows` rows are added on top.
 */
const BASE_COLUMNS: Record<LogDataset, Record<string, ColType>> = {
  zero_trust_network_sessions: {
    accountid: V, deviceid: V, devicename: V, email: V, userid: V, registrationid: V, tenantid: V, virtualnetworkid: V,
    bytesreceived: I, bytessent: I, clienttcphandshakedurationms: I, clienttlscipher: V, clienttlshandshakedurationms: I,
    clienttlsversion: V, connectionclosereason: V, connectionreuse: B, destinationreplicaid: V, destinationtunnelid: V,
    detectedprotocol: V, egresscoloname: V, egressip: V, egressport: I, egressruleid: V, egressrulename: V,
    ingresscoloname: V, initialoriginip: V, offramp: V, onramptype: V, originip: V, originport: I,
    origintlscertificateissuer: V, origintlscertificatevalidationresult: V, origintlscipher: V,
    origintlshandshakedurationms: I, origintlsversion: V, protocol: V, resolvedfqdn: V, ruleevaluationdurationms: I,
    sni: V, sessionendtime: V, sessionid: V, sessionstarttime: V, sourceid: V, sourceip: V, sourceinternalip: V,
    sourcename: V, sourceport: I
  },
  gateway_http: {
    accountid: V, action: V, policyid: V, policyname: V, httphost: V, destinationip: V, destinationport: I, datetime: V,
    url: V, requestid: V, sessionid: V, sourceip: V, sourceinternalip: V, email: V, userid: V, deviceid: V,
    devicename: V, untrustedcertificateaction: V, httpstatuscode: I, httpmethod: V, applicationids: V,
    applicationnames: V, categoryids: V, categorynames: V
  },
  gateway_network: {
    accountid: V, action: V, policyid: V, policyname: V, datetime: V, destinationip: V, destinationport: I, sni: V,
    sessionid: V, sourceip: V, sourceinternalip: V, sourceport: I, detectedprotocol: V, transportprotocol: V,
    overrideip: V, overrideport: I, email: V, userid: V, deviceid: V, devicename: V, applicationids: V,
    applicationnames: V, categoryids: V, categorynames: V, proxyendpoint: V, tenantid: V, virtualnetworkid: V,
    virtualnetworkname: V
  }
}

/** Documented limits (reference A2). */
const MAX_LIMIT = 10_000
const MAX_WHERE_PREDICATES = 25
const BLOCKED_FUNCTIONS = ['array_agg', 'string_agg', 'median', 'percentile_cont', 'percentile_disc']

/** A refusal as the service would send it: 400 with a message. Codes are generic (reference A1). */
export class SqlRefusal extends Error {
  readonly status = 400
  readonly code = 1000
}

/**
 * Replaces string literals, quoted identifiers and comments with same-length filler so keyword
 * checks cannot be fooled by (or trip over) text inside quotes, e.g. a hostile policy name.
 */
export function maskSql(sql: string): string {
  let out = ''
  let i = 0
  while (i < sql.length) {
    const c = sql[i] ?? ''
    const next = sql[i + 1] ?? ''
    if (c === "'" || c === '"') {
      let j = i + 1
      for (; j < sql.length; j++) {
        if (sql[j] === c) {
          if (sql[j + 1] === c) { j++; continue }
          break
        }
      }
      if (j >= sql.length) throw new SqlRefusal('unterminated quoted string in query')
      out += c + '_'.repeat(j - i - 1) + c
      i = j + 1
    } else if (c === '-' && next === '-') {
      const end = sql.indexOf('\n', i)
      const j = end < 0 ? sql.length : end
      out += ' '.repeat(j - i)
      i = j
    } else if (c === '/' && next === '*') {
      const end = sql.indexOf('*/', i + 2)
      if (end < 0) throw new SqlRefusal('unterminated comment in query')
      out += ' '.repeat(end + 2 - i)
      i = end + 2
    } else {
      out += c
      i++
    }
  }
  return out
}

/** Masked text with everything inside parentheses blanked: what remains is the top level. */
function topLevel(masked: string): string {
  let depth = 0
  let out = ''
  for (const c of masked) {
    if (c === '(') { depth++; out += ' '; continue }
    if (c === ')') { depth = Math.max(0, depth - 1); out += ' '; continue }
    out += depth === 0 ? c : ' '
  }
  return out
}

interface Guarded { dataset: string; executed: string; distinct: boolean }

/**
 * Enforces the documented restrictions (reference A2, Gotchas 3-4) and returns the SQL to run.
 * The WHERE predicate count is approximated by counting AND/OR at any depth inside the WHERE
 * clause (minus the AND of each BETWEEN), plus one: stricter than counting only top-level ones,
 * and a `IN (…)` list counts as one predicate (unconfirmed how the service counts either).
 */
export function guardSql(sql: string, enabled: ReadonlySet<string>): Guarded {
  let text = sql.trim()
  let masked = maskSql(text)
  // One trailing semicolon is harmless; anything after a semicolon is a second statement.
  const semi = masked.indexOf(';')
  if (semi >= 0) {
    if (masked.slice(semi + 1).trim() !== '') throw new SqlRefusal('multiple statements are not supported')
    text = text.slice(0, semi).trimEnd()
    masked = masked.slice(0, semi).trimEnd()
  }
  if (text === '') throw new SqlRefusal('empty query')
  const upper = masked.toUpperCase()
  if (/^\s*WITH\b/.test(upper)) throw new SqlRefusal('common table expressions (WITH) are not supported')
  if (!/^\s*SELECT\b/.test(upper)) throw new SqlRefusal('only SELECT statements are supported')
  if (/\bJOIN\b/.test(upper)) throw new SqlRefusal('joins are not supported')
  if (/\(\s*SELECT\b/.test(upper)) throw new SqlRefusal('subqueries are not supported')
  if (/\b(UNION|INTERSECT|EXCEPT)\b/.test(upper)) throw new SqlRefusal('UNION, INTERSECT and EXCEPT are not supported')
  if (/\bOVER\s*(\(|[A-Z_])/.test(upper) || /\bWINDOW\b/.test(upper)) throw new SqlRefusal('window functions are not supported')
  if (/\bFILTER\s*\(\s*WHERE\b/.test(upper)) throw new SqlRefusal('FILTER (WHERE ...) is not supported')
  for (const fn of BLOCKED_FUNCTIONS) {
    if (new RegExp(`\\b${fn}\\s*\\(`, 'i').test(masked)) throw new SqlRefusal(`function ${fn} is not supported`)
  }

  const top = topLevel(upper)
  const froms = [...top.matchAll(/\bFROM\b/g)]
  if (froms.length !== 1) throw new SqlRefusal(froms.length === 0 ? 'query must select FROM one dataset' : 'only one FROM clause is supported')
  const fromAt = (froms[0]?.index ?? 0) + 4
  const clauseEnd = /\b(WHERE|GROUP\s+BY|HAVING|ORDER\s+BY|LIMIT|OFFSET)\b/.exec(top.slice(fromAt))
  const fromClause = text.slice(fromAt, clauseEnd === null ? undefined : fromAt + clauseEnd.index).trim()
  if (fromClause.includes(',')) throw new SqlRefusal('joins are not supported')
  const table = /^([A-Za-z_][A-Za-z0-9_]*)(\s+(AS\s+)?[A-Za-z_][A-Za-z0-9_]*)?$/i.exec(fromClause)
  if (table === null) throw new SqlRefusal(`invalid dataset reference: ${fromClause}`)
  const dataset = (table[1] ?? '').toLowerCase()
  // The real error shape for a dataset that is not enabled is unconfirmed (reference Gotcha 2
  // says 404 or 400); the emulator answers 400 with a message naming the dataset.
  if (!enabled.has(dataset)) throw new SqlRefusal(`dataset ${dataset} is not enabled for this account (enable it in Log Explorer first)`)

  const where = /\bWHERE\b/.exec(top)
  if (where !== null) {
    const start = where.index + 5
    const end = /\b(GROUP\s+BY|HAVING|ORDER\s+BY|LIMIT|OFFSET)\b/.exec(top.slice(start))
    const clause = upper.slice(start, end === null ? undefined : start + end.index)
    const connectives = (clause.match(/\b(AND|OR)\b/g) ?? []).length - (clause.match(/\bBETWEEN\b/g) ?? []).length
    if (connectives + 1 > MAX_WHERE_PREDICATES) {
      throw new SqlRefusal(`the WHERE clause supports up to ${MAX_WHERE_PREDICATES} predicates (found ${connectives + 1})`)
    }
  }

  const limits = [...top.matchAll(/\bLIMIT\s+([^\s]+)/g)]
  let executed = text
  if (limits.length > 1) throw new SqlRefusal('only one LIMIT clause is supported')
  const limitMatch = limits[0]
  if (limitMatch === undefined) {
    // The service silently applies LIMIT 10,000 (reference A2); so does the emulator.
    executed = `${text}\nLIMIT ${MAX_LIMIT}`
  } else {
    const arg = limitMatch[1] ?? ''
    if (!/^\d+$/.test(arg)) throw new SqlRefusal(`LIMIT must be an integer literal, got ${arg}`)
    if (Number(arg) > MAX_LIMIT) throw new SqlRefusal(`the maximum LIMIT value is ${MAX_LIMIT}`)
  }
  return { dataset, executed, distinct: /^\s*SELECT\s+DISTINCT\b/.test(upper) }
}

function toRfc3339(v: unknown): string | null {
  if (v === null || v === undefined || v === '') return null
  if (v instanceof Date) return v.toISOString().replace('.000Z', 'Z')
  const asNumber = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : undefined
  if (asNumber !== undefined) {
    // Logpush-style numeric timestamps: seconds, ms or ns depending on magnitude (reference B1).
    const ms = asNumber > 1e17 ? asNumber / 1e6 : asNumber > 1e11 ? asNumber : asNumber * 1000
    return new Date(Math.floor(ms)).toISOString().replace('.000Z', 'Z')
  }
  if (typeof v === 'string') {
    // Stored as text and compared as text (as the SQL sees RFC3339 strings), so every row
    // must share one format: '…00.000Z' would sort before the bound '…00Z' ('.' < 'Z').
    // Normalise to whole seconds in UTC; unparseable strings are kept for the SQL to see.
    const ms = Date.parse(v)
    return Number.isNaN(ms) ? v : new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z')
  }
  throw new Error(`cannot use ${JSON.stringify(v)} as a timestamp`)
}

function inferType(v: unknown): ColType {
  if (typeof v === 'boolean') return 'BOOLEAN'
  if (typeof v === 'bigint') return 'BIGINT'
  if (typeof v === 'number') return Number.isSafeInteger(v) ? 'BIGINT' : 'DOUBLE'
  return 'VARCHAR'
}

function appendValue(app: DuckDBAppender, type: ColType, v: unknown, column: string): void {
  if (v === null || v === undefined) { app.appendNull(); return }
  switch (type) {
    case 'BIGINT': {
      const s = typeof v === 'bigint' ? v.toString() : String(v)
      if (!/^-?\d+$/.test(s)) throw new Error(`column ${column}: ${JSON.stringify(v)} is not an integer`)
      app.appendBigInt(BigInt(s))
      return
    }
    case 'DOUBLE': {
      const n = Number(v)
      if (Number.isNaN(n)) throw new Error(`column ${column}: ${JSON.stringify(v)} is not a number`)
      app.appendDouble(n)
      return
    }
    case 'BOOLEAN':
      if (typeof v === 'boolean') app.appendBoolean(v)
      else if (v === 'true' || v === 'false') app.appendBoolean(v === 'true')
      else throw new Error(`column ${column}: ${JSON.stringify(v)} is not a boolean`)
      return
    default:
      app.appendVarchar(typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v))
  }
}

function toJsonValue(v: unknown): unknown {
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString()
  if (v instanceof Date) return v.toISOString()
  if (Array.isArray(v)) return v.map(toJsonValue)
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toJsonValue(x)]))
  }
  return v
}

const quoteIdent = (s: string): string => `"${s.replace(/"/g, '""')}"`

/**
 * DIALECT NOTES (DuckDB here vs the service's DataFusion-like engine):
 * - Unaliased expressions are named differently (`count_star()` vs `count(*)`): always alias.
 * - `regexp_like` and `approx_distinct` are provided as macros over DuckDB's
 *   `regexp_matches` / `approx_count_distinct`.
 * - Timestamps are VARCHAR here: comparing them to RFC3339 string literals works in both, but
 *   `ts >= now() - INTERVAL '1' DAY` needs an implicit VARCHAR→TIMESTAMP cast DuckDB may refuse.
 * - Array fields (ApplicationIDs, CategoryIDs…) are stored as JSON text, not lists, so
 *   `ARRAY_CONTAINS` does not work on them here.
 * - `to_timestamp` takes epoch seconds in DuckDB but also parses strings in DataFusion.
 */
export class LogExplorer {
  readonly queries: SqlRecord[] = []
  private readonly enabled: Set<string>
  private instance: DuckDBInstance | undefined
  private conn: Promise<DuckDBConnection> | undefined
  /** Serialises DuckDB work so setLogRows and queries never interleave. */
  private chain: Promise<unknown> = Promise.resolve()

  constructor(enabledDatasets: string[], private readonly opts: LogExplorerOptions = {}) {
    this.enabled = new Set(enabledDatasets.map((d) => d.toLowerCase()))
  }

  /** The dataset's primary time column (the `date` partition is derived from it). */
  private timeField(ds: LogDataset): string {
    const f = this.opts.timestampFields?.[ds]?.toLowerCase()
    // A field that is no column (a garbled answer under test) leaves the real partitioning alone.
    return f !== undefined && f in BASE_COLUMNS[ds] ? f : TIMESTAMP_FIELD[ds]
  }

  /**
   * `GET /accounts/{id}/logs/explorer/datasets/available` result: every dataset the account
   * can create, with its schema and `timestamp_field` (SDK `AvailableDataset`). A field set to
   * null in `timestampFields` is left out, as an answer lacking it would be.
   */
  available(): Record<string, unknown>[] {
    return DATASETS.map((ds) => {
      const f = this.opts.timestampFields?.[ds]
      const properties = Object.fromEntries(Object.entries(BASE_COLUMNS[ds]).map(([n, t]) => [n, { type: t === 'VARCHAR' ? 'string' : t === 'BOOLEAN' ? 'boolean' : 'integer' }]))
      return {
        dataset: ds,
        object_type: 'account',
        schema: { type: 'object', properties },
        ...(f === null ? {} : { timestamp_field: f ?? TIMESTAMP_FIELD[ds] })
      }
    })
  }

  private connection(): Promise<DuckDBConnection> {
    this.conn ??= (async () => {
      // Test SQL must not read files or load extensions: the service has no such functions either.
      this.instance = await DuckDBInstance.create(':memory:', { enable_external_access: 'false' })
      const c = await this.instance.connect()
      for (const ds of DATASETS) await this.createTable(c, ds, BASE_COLUMNS[ds])
      await c.run('CREATE MACRO regexp_like(s, p) AS regexp_matches(s, p)')
      await c.run('CREATE MACRO approx_distinct(x) AS approx_count_distinct(x)')
      return c
    })()
    return this.conn
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn)
    this.chain = run.catch(() => undefined)
    return run
  }

  private async createTable(c: DuckDBConnection, ds: LogDataset, cols: Record<string, ColType>): Promise<void> {
    const defs = Object.entries(cols).map(([n, t]) => `${quoteIdent(n)} ${t}`)
    await c.run(`CREATE OR REPLACE TABLE ${ds} (${[...defs, '"date" VARCHAR'].join(', ')})`)
  }

  /** Replaces a dataset's rows. Keys are lower-cased; time fields become RFC3339; `date` is derived. */
  setRows(dataset: LogDataset, rows: Record<string, unknown>[]): Promise<void> {
    if (!DATASETS.includes(dataset)) return Promise.reject(new Error(`unknown dataset ${dataset}`))
    return this.serial(async () => {
      const c = await this.connection()
      const cols: Record<string, ColType> = { ...BASE_COLUMNS[dataset] }
      const lowered = rows.map((row) => {
        const out: Record<string, unknown> = {}
        for (const [k, v] of Object.entries(row)) {
          const key = k.toLowerCase()
          if (key === 'date') continue
          if (key in out) throw new Error(`row has both ${k} and another spelling of ${key}`)
          out[key] = TIME_FIELDS.has(key) ? toRfc3339(v) : v
          if (!(key in cols) && v !== null && v !== undefined) cols[key] = inferType(v)
          else if (cols[key] === 'BIGINT' && typeof v === 'number' && !Number.isSafeInteger(v) && !(key in BASE_COLUMNS[dataset])) cols[key] = 'DOUBLE'
        }
        return out
      })
      await this.createTable(c, dataset, cols)
      const names = Object.keys(cols)
      const app = await c.createAppender(dataset)
      try {
        for (const row of lowered) {
          for (const n of names) appendValue(app, cols[n] ?? 'VARCHAR', row[n], n)
          const ts = row[this.timeField(dataset)]
          if (typeof ts === 'string') {
            const d = new Date(ts)
            app.appendVarchar(Number.isNaN(d.getTime()) ? ts.slice(0, 10) : d.toISOString().slice(0, 10))
          } else {
            app.appendNull()
          }
          app.endRow()
        }
        app.flushSync()
      } finally {
        app.closeSync()
      }
    })
  }

  /** Records a SQL text that was refused before reaching the guard (e.g. over-long GET). */
  record(sql: string, via: 'POST' | 'GET', status: number): void {
    this.queries.push({ sql, via, status })
  }

  /** Runs one query as the service would; never throws for query problems. */
  query(sql: string, via: 'POST' | 'GET'): Promise<{ ok: true; rows: Record<string, unknown>[] } | { ok: false; status: number; code: number; message: string }> {
    const rec: SqlRecord = { sql, via, status: 0 }
    this.queries.push(rec)
    let guarded: Guarded
    try {
      guarded = guardSql(sql, this.enabled)
    } catch (e) {
      rec.status = 400
      return Promise.resolve({ ok: false, status: 400, code: 1000, message: e instanceof Error ? e.message : String(e) })
    }
    rec.executed = guarded.executed
    if (this.opts.exhausted?.(sql) === true) {
      rec.status = 507
      return Promise.resolve({ ok: false, status: 507, code: 1000, message: 'ResourcesExhausted: the query used too many resources; narrow it' })
    }
    return this.serial(async () => {
      const c = await this.connection()
      try {
        const reader = await c.runAndReadAll(guarded.executed)
        const rows = reader.getRowObjectsJS().map((r) =>
          Object.fromEntries(Object.entries(r).map(([k, v]) => [k.toLowerCase(), toJsonValue(v)])))
        if (this.opts.selectDistinctEmptyFails === true && guarded.distinct && rows.length === 0) {
          rec.status = 400
          return { ok: false as const, status: 400, code: 1000, message: 'query failed' }
        }
        rec.status = 200
        return { ok: true as const, rows }
      } catch (e) {
        rec.status = 400
        // The service's errors are generic (reference A1); DuckDB's text helps test authors.
        return { ok: false as const, status: 400, code: 1000, message: `query failed: ${e instanceof Error ? e.message.split('\n')[0] ?? '' : String(e)}` }
      }
    })
  }

  /** Waits for running work, then closes the connection and the database. */
  async close(): Promise<void> {
    const conn = this.conn
    this.conn = undefined
    if (conn === undefined) return
    await this.chain
    const c = await conn.catch(() => undefined)
    c?.closeSync()
    this.instance?.closeSync()
    this.instance = undefined
  }
}
