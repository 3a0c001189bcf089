/**
 * Log Explorer source: asks Cloudflare Log Explorer, in SQL, for the aggregates the planner
 * needs (all GROUP BY in Cloudflare, never raw rows) and returns the shared `Observations`.
 *
 * Queries, in order (SQL in `sql.ts`):
 *  1. failing sessions with an SNI, by `lower(sni)`                     → hostFailures
 *  2. failing sessions without an SNI, by `originip`                    → ipFailures
 *  3. failing (SNI, OriginIP) pairs                                      → hostIps
 *  4. every SNI seen on the IPs of (2), any session, chunked IN lists,
 *     from zero_trust_network_sessions and (optional) gateway_network   → ipHosts
 *  5. gateway_http requests the managed Do Not Inspect policy bypassed  → bypassedHosts
 *
 * Row cap: Log Explorer silently truncates at 10,000 rows, so a full result is treated as
 * truncated. The window is halved (recursively) while that converges; when a window would
 * drop under `minWindowMs`, or when both halves are still full (the groups recur through the
 * window, so halving cannot get under the cap), the window is read in key order instead:
 * `ORDER BY <group keys> LIMIT cap`, then `WHERE keys > last key`, which is exact. Nothing
 * is ever returned partially: if paging cannot continue, the run fails.
 */
import type Cloudflare from 'cloudflare'
import { APIConnectionError, APIError, APIUserAbortError } from 'cloudflare'
import type { Uploadable } from 'cloudflare'
import { isIP } from 'node:net'
import { describeCloudflareError } from '../../adapters/cloudflare-client.js'
import type { CertlessThresholds } from '../../core/devices.js'
import type { Dataset, ExclusionRule, Observations, SourceStats, Stats } from '../../core/types.js'
import { mergeStats, parseCount, parseRow, type ParsedRow } from './rows.js'
import {
  buildSql,
  chunk,
  IN_CHUNK,
  isSqlSafe,
  MAX_ROWS,
  policyPredicate,
  portsPredicate,
  queryShape,
  rfc3339,
  type Page,
  type QuerySpec,
  type TimeWindow
} from './sql.js'

export { buildSql, sqlString, type QuerySpec, type QueryKind } from './sql.js'

/** Options of {@link queryLogExplorer}. */
export interface LogExplorerOptions {
  client: Cloudflare
  accountId: string
  /** Epoch ms, half-open `[from, to)`. */
  window: { from: number; to: number }
  /** Validated integers 1–65535 (OriginPort). */
  ports: number[]
  /** The managed Do Not Inspect policy: `id` is preferred when known, else `name`. */
  policy: { name?: string; id?: string }
  /** Active exclusion rules (the shared-IP guard compares canonical values against them). */
  exclusions?: ExclusionRule[]
  /** Thresholds of the certificate-less device rule; default `DEFAULT_CERTLESS`. */
  certless?: CertlessThresholds
  /** Client timeout of one SQL call (default 120 000). */
  sqlTimeoutMs?: number
  /** Rows at which a result counts as possibly truncated (default 10 000, Log Explorer's maximum). */
  rowCap?: number
  /** Smallest window produced by halving; below it, paging by key is used (default 60 000). */
  minWindowMs?: number
  log?: (msg: string) => void
}

/** The token permission Log Explorer SQL needs, as the dashboard names it. */
export const LOGS_READ = 'Account › Logs › Read'

const RETRY_DELAY_MS = 1_000
const MAX_RETRY_DELAY_MS = 30_000

/** Thrown when a dataset is not enabled (or unknown) in Log Explorer. */
class DatasetUnavailableError extends Error {
  constructor(readonly dataset: Dataset, detail: string) {
    super(`Log Explorer dataset ${dataset} is not available: ${detail}`)
  }
}

type GroupedSpec = Exclude<QuerySpec, { kind: 'count' }>

interface Ctx {
  o: LogExplorerOptions
  cap: number
  minWindowMs: number
  timeoutMs: number
  log: (msg: string) => void
  queries: number
  splits: number
  /** Rows of one key were merged across time parts: distinct counts are lower bounds. */
  mergedAcrossTime: boolean
  malformed: Map<string, number>
  warnings: string[]
}

/**
 * Queries Log Explorer for TLS-inspection failures, the shared-IP guard data and the
 * hostnames the managed Do Not Inspect policy bypassed, all aggregated in Cloudflare.
 *
 * Fails (throws) when zero_trust_network_sessions cannot be read, when the token lacks
 * "Account › Logs › Read", after one deliberate retry of a transient error, or when a result
 * could not be read completely. gateway_http / gateway_network are optional: when they are
 * not enabled, a warning is added instead.
 */
export async function queryLogExplorer(o: LogExplorerOptions): Promise<Observations> {
  const cap = o.rowCap ?? MAX_ROWS
  if (!Number.isInteger(cap) || cap < 2 || cap > MAX_ROWS) throw new Error(`rowCap must be an integer in 2–${MAX_ROWS}`)
  const window: TimeWindow = { from: o.window.from, to: o.window.to }
  if (!Number.isFinite(window.from) || !Number.isFinite(window.to) || window.to <= window.from) {
    throw new Error('Log Explorer needs a bounded window (from < to)')
  }
  portsPredicate(o.ports) // validates the ports up front
  const ctx: Ctx = {
    o,
    cap,
    minWindowMs: Math.max(1_000, o.minWindowMs ?? 60_000),
    timeoutMs: o.sqlTimeoutMs ?? 120_000,
    log: o.log ?? (() => undefined),
    queries: 0,
    splits: 0,
    mergedAcrossTime: false,
    malformed: new Map(),
    warnings: []
  }

  // Validate the policy before the first query: a name we cannot quote is an input error.
  let bypassPolicy: { name?: string; id?: string } | undefined = o.policy
  try {
    policyPredicate(o.policy)
  } catch (err) {
    if (o.policy.name === undefined && o.policy.id === undefined) {
      bypassPolicy = undefined
      ctx.warnings.push('Log Explorer: no Do Not Inspect policy name or id given; bypassed hostnames (gateway_http) were not read')
    } else {
      throw new Error(`The Do Not Inspect policy name/id cannot be used in a Log Explorer query: ${(err as Error).message}`)
    }
  }

  const records: Partial<Record<Dataset, number>> = {}
  const addRecords = (dataset: Dataset, rows: readonly ParsedRow[]): void => {
    records[dataset] = (records[dataset] ?? 0) + rows.reduce((n, r) => n + r.sessions, 0)
  }

  const base = { window, ports: o.ports }
  const hostRows = await required(grouped(ctx, { kind: 'host-failures', ...base }))
  const ipRows = await required(grouped(ctx, { kind: 'ip-failures', ...base }))
  const pairRows = await required(grouped(ctx, { kind: 'host-ips', ...base }))
  addRecords('zero_trust_network_sessions', hostRows)
  addRecords('zero_trust_network_sessions', ipRows)

  const hostFailures = statsMap(hostRows)
  const ipFailures = statsMap(ipRows)
  const hostIps = pairMap(pairRows)

  // Shared-IP guard: every name seen on each no-SNI candidate IP. Only syntactically valid
  // IPs are sent (as logged, so the IN list matches the stored text exactly).
  const candidateIps = [...new Set(ipRows.map((r) => r.raw[0]!))].filter((ip) => isIP(ip) !== 0).sort()
  const skippedIps = new Set(ipRows.map((r) => r.raw[0]!)).size - candidateIps.length
  if (skippedIps > 0) ctx.warnings.push(`Log Explorer: ${skippedIps} OriginIP value(s) without SNI are not valid IPs; the hostnames seen on them were not looked up`)
  const ipHosts = new Map<string, Set<string>>()
  const chunks = chunk(candidateIps, IN_CHUNK)
  for (const ips of chunks) {
    const rows = await required(grouped(ctx, { kind: 'ip-hosts', dataset: 'zero_trust_network_sessions', window, ips }))
    addPairs(ipHosts, rows)
  }
  for (const ips of chunks) {
    const rows = await optional(ctx, 'gateway_network', grouped(ctx, { kind: 'ip-hosts', dataset: 'gateway_network', window, ips }))
    if (rows === undefined) break
    addRecords('gateway_network', rows)
    addPairs(ipHosts, rows)
  }

  let bypassedHosts = new Map<string, Stats>()
  if (bypassPolicy !== undefined) {
    const rows = await optional(ctx, 'gateway_http', grouped(ctx, { kind: 'bypassed-hosts', window, policy: bypassPolicy }))
    if (rows !== undefined) {
      addRecords('gateway_http', rows)
      bypassedHosts = statsMap(rows)
    }
  }

  // "No rows" is not "no failures": make sure the dataset has data at all for the window.
  if (hostRows.length === 0 && ipRows.length === 0 && pairRows.length === 0) {
    const raw = await required(runSql(ctx, buildSql({ kind: 'count', window }), 'zero_trust_network_sessions'))
    const n = parseCount(raw)
    if (n === undefined) {
      ctx.malformed.set('count', (ctx.malformed.get('count') ?? 0) + 1)
    } else if (n === 0) {
      ctx.warnings.push(`Log Explorer: zero_trust_network_sessions has no sessions at all between ${rfc3339(window.from)} and ${rfc3339(window.to)}: the dataset may not be enabled in Log Explorer (or was enabled later), or there was no traffic. This is not evidence that nothing failed.`)
    } else {
      ctx.log(`Log Explorer: ${n} sessions in the window, none failing TLS inspection on the selected ports`)
    }
  }

  if (ctx.mergedAcrossTime) {
    ctx.warnings.push(`Log Explorer: some results reached the ${cap}-row cap, so the window was split by time; device and user counts of a name seen in several parts are lower bounds`)
  }
  let malformed = 0
  for (const [kind, n] of ctx.malformed) {
    malformed += n
    ctx.warnings.push(`Log Explorer: ${n} malformed row(s) in the ${kind} results were skipped`)
  }

  const stats: SourceStats = {
    source: 'log-explorer',
    records,
    inWindow: Object.values(records).reduce((a, b) => a + b, 0),
    malformedLines: malformed,
    filesRead: 0,
    filesSkipped: 0,
    filesCorrupt: 0,
    queries: ctx.queries,
    splits: ctx.splits,
    warnings: ctx.warnings
  }
  return { window: { from: window.from, to: window.to }, hostFailures, ipFailures, hostIps, ipHosts, bypassedHosts, stats }
}

// zero_trust_network_sessions is the source of truth: an unavailable dataset is an error.
async function required<T>(p: Promise<T>): Promise<T> {
  try {
    return await p
  } catch (err) {
    if (err instanceof DatasetUnavailableError) {
      throw new Error(`${err.message}. Enable it for this account in Log Explorer (dashboard: Log Explorer › Manage datasets, or POST /accounts/{account_id}/logs/explorer/datasets) and make sure the token has "${LOGS_READ}".`)
    }
    throw err
  }
}

// gateway_http / gateway_network only add evidence: when they are not enabled, say so and go on.
async function optional<T>(ctx: Ctx, dataset: Dataset, p: Promise<T>): Promise<T | undefined> {
  try {
    return await p
  } catch (err) {
    if (err instanceof DatasetUnavailableError) {
      ctx.warnings.push(`Log Explorer: dataset ${dataset} is not available (${err.message.replace(/^.*?: /, '')}); enable it in Log Explorer to use it. Continuing without it.`)
      return undefined
    }
    throw err
  }
}

function statsMap(rows: readonly ParsedRow[]): Map<string, Stats> {
  const out = new Map<string, Stats>()
  for (const r of rows) {
    if (r.stats === undefined) continue
    const k = r.keys[0]!
    const prev = out.get(k)
    out.set(k, prev === undefined ? r.stats : mergeStats(prev, r.stats))
  }
  return out
}

function pairMap(rows: readonly ParsedRow[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>()
  addPairs(out, rows)
  return out
}

function addPairs(out: Map<string, Set<string>>, rows: readonly ParsedRow[]): void {
  for (const r of rows) {
    const [a, b] = r.keys as [string, string]
    let set = out.get(a)
    if (set === undefined) out.set(a, (set = new Set()))
    set.add(b)
  }
}

/**
 * Runs one grouped query over its window and returns every group, however many there are
 * (see the module comment for the partitioning). Rows of the same key from different time
 * parts are returned separately; the caller merges them.
 */
async function grouped(ctx: Ctx, spec: GroupedSpec): Promise<ParsedRow[]> {
  const shape = queryShape(spec)
  const aliases = shape.keys.map((k) => k.alias)
  const withStats = shape.columns.length > 1
  const label = spec.kind === 'ip-hosts' ? `${spec.kind} (${spec.dataset})` : spec.kind

  const exec = async (w: TimeWindow, page?: Page): Promise<unknown[]> => {
    const sql = buildSql({ ...spec, window: w, ...(page !== undefined ? { page } : {}) }, ctx.cap)
    const rows = await runSql(ctx, sql, shape.dataset)
    ctx.log(`Log Explorer: ${label} ${rfc3339(w.from)}..${rfc3339(w.to)}${page?.after !== undefined ? ' (next key page)' : ''}: ${rows.length} row(s)`)
    return rows
  }

  const parse = (rows: readonly unknown[]): ParsedRow[] => {
    const out: ParsedRow[] = []
    let bad = 0
    for (const row of rows) {
      const p = parseRow(row, aliases, withStats)
      if (p === undefined) bad++
      else out.push(p)
    }
    if (bad > 0) ctx.malformed.set(label, (ctx.malformed.get(label) ?? 0) + bad)
    return out
  }

  const settle = async (w: TimeWindow, rows: unknown[]): Promise<ParsedRow[]> => {
    return rows.length < ctx.cap ? parse(rows) : splitOrPage(w)
  }

  const splitOrPage = async (w: TimeWindow): Promise<ParsedRow[]> => {
    const mid = midpoint(w)
    if (mid === undefined || mid - w.from < ctx.minWindowMs || w.to - mid < ctx.minWindowMs) return byKey(w)
    ctx.splits++
    ctx.log(`Log Explorer: ${label} reached the ${ctx.cap}-row cap for ${rfc3339(w.from)}..${rfc3339(w.to)}; splitting the window at ${rfc3339(mid)}`)
    const left: TimeWindow = { from: w.from, to: mid }
    const right: TimeWindow = { from: mid, to: w.to }
    const l = await exec(left)
    const r = await exec(right)
    if (l.length >= ctx.cap && r.length >= ctx.cap) {
      // The groups recur through the window: halving again would multiply queries without
      // getting under the cap. Key paging over the whole window is exact and linear.
      ctx.log(`Log Explorer: ${label}: both halves are still full; reading ${rfc3339(w.from)}..${rfc3339(w.to)} in key order instead`)
      return byKey(w)
    }
    if (withStats) ctx.mergedAcrossTime = true
    return [...await settle(left, l), ...await settle(right, r)]
  }

  // Keyset paging: exact, each page strictly after the last key of the previous page in the
  // engine's own ordering. A key that cannot be quoted safely (an attacker can send any SNI)
  // is not used as a cursor: the last quotable key of the page is, and re-read groups are
  // dropped by their raw key.
  const byKey = async (w: TimeWindow): Promise<ParsedRow[]> => {
    ctx.splits++
    ctx.log(`Log Explorer: ${label}: reading ${rfc3339(w.from)}..${rfc3339(w.to)} in pages of ${ctx.cap} groups ordered by ${aliases.join(', ')}`)
    const seen = new Set<string>()
    const out: unknown[] = []
    let after: string[] | undefined
    for (;;) {
      const rows = await exec(w, after === undefined ? {} : { after })
      for (const row of rows) {
        const id = JSON.stringify(aliases.map((a) => (row as Record<string, unknown> | null)?.[a] ?? null))
        if (seen.has(id)) continue
        seen.add(id)
        out.push(row)
      }
      if (rows.length < ctx.cap) return parse(out)
      const cursor = lastCursor(rows, aliases)
      if (cursor === undefined || (after !== undefined && JSON.stringify(cursor) === JSON.stringify(after))) {
        throw new Error(`Log Explorer: ${label} for ${rfc3339(w.from)}..${rfc3339(w.to)} has more than ${ctx.cap} groups and a full page had no key that can be used to continue; refusing to return incomplete results`)
      }
      after = cursor
    }
  }

  return settle(spec.window, await exec(spec.window))
}

function lastCursor(rows: readonly unknown[], aliases: readonly string[]): string[] | undefined {
  for (let i = rows.length - 1; i >= 0; i--) {
    const row = rows[i]
    if (typeof row !== 'object' || row === null) continue
    const values = aliases.map((a) => (row as Record<string, unknown>)[a])
    if (values.every((v): v is string => typeof v === 'string' && isSqlSafe(v))) return values as string[]
  }
  return undefined
}

// Halfway, on a whole second when the window allows it (bounds stay in the documented form).
function midpoint(w: TimeWindow): number | undefined {
  let mid = w.from + Math.floor((w.to - w.from) / 2)
  if (w.to - w.from >= 4_000) mid = Math.round(mid / 1000) * 1000
  return mid > w.from && mid < w.to ? mid : undefined
}

/**
 * One SQL call through the SDK (POST, text/plain). SDK retries are off: a heavy query must
 * not run three times blindly. A transient failure (429, 5xx, timeout, connection) is retried
 * once, deliberately and logged; anything else fails with a described error.
 */
async function runSql(ctx: Ctx, sql: string, dataset: Dataset): Promise<unknown[]> {
  for (let attempt = 1; ; attempt++) {
    ctx.queries++
    try {
      const page = await ctx.o.client.logs.logExplorer.query.sql(sql as unknown as Uploadable, { account_id: ctx.o.accountId }, { timeout: ctx.timeoutMs, maxRetries: 0 })
      // The SDK does not throw on `success: false` in a 2xx body, and hands text bodies to the
      // page as-is (then `result` is silently []). The envelope is a protected field of the page,
      // so it is read through a cast: an empty-looking answer must never pass for "no rows".
      const body = (page as unknown as { body?: unknown }).body
      if (typeof body !== 'object' || body === null || (body as { success?: unknown }).success === false || !Array.isArray((body as { result?: unknown }).result)) {
        throw new Error(`Log Explorer query on ${dataset} returned an unexpected response: ${JSON.stringify(body)?.slice(0, 300) ?? String(body)}`)
      }
      return page.getPaginatedItems()
    } catch (err) {
      // The SDK throws JSON.parse's SyntaxError for a malformed body; its message quotes the
      // start of the body (which an upstream could fill with anything, a credential too), so
      // it is never shown. A garbled answer looks transient: it gets the one deliberate retry.
      if (err instanceof SyntaxError) {
        if (attempt === 1) {
          ctx.log(`Log Explorer: query on ${dataset} returned malformed JSON; retrying once`)
          continue
        }
        throw new Error(`Log Explorer query on ${dataset} failed (also after one retry): Cloudflare returned malformed JSON`)
      }
      if (!(err instanceof APIError)) throw err
      const unavailable = datasetUnavailable(err)
      if (unavailable) throw new DatasetUnavailableError(dataset, describeCloudflareError(err, LOGS_READ))
      if (attempt === 1 && isTransient(err)) {
        const delay = retryDelay(err)
        ctx.log(`Log Explorer: query on ${dataset} failed (${describeCloudflareError(err, LOGS_READ)}); retrying once in ${Math.round(delay / 1000)}s`)
        await new Promise((resolve) => setTimeout(resolve, delay))
        continue
      }
      let msg = `Log Explorer query on ${dataset} failed${attempt > 1 ? ' (also after one retry)' : ''}: ${describeCloudflareError(err, LOGS_READ)}`
      if (err.status === 403) msg += `. The token needs "${LOGS_READ}", and Log Explorer must be enabled for ${dataset}.`
      throw new Error(msg, { cause: err })
    }
  }
}

function isTransient(err: APIError): boolean {
  if (err instanceof APIUserAbortError) return false
  if (err instanceof APIConnectionError) return true // includes timeouts
  const s = err.status
  return s === 408 || s === 429 || (s !== undefined && s >= 500)
}

function retryDelay(err: APIError): number {
  const header = err.headers?.get('retry-after')
  const seconds = header != null ? Number(header) : NaN
  return Number.isFinite(seconds) && seconds >= 0 ? Math.min(seconds * 1000, MAX_RETRY_DELAY_MS) : RETRY_DELAY_MS
}

// Log Explorer's error codes are still generic (reference A1, Gotcha 25): recognise "not
// enabled / unknown table" by status 404 or by the message of a 400/422.
function datasetUnavailable(err: APIError): boolean {
  if (err.status === 404) return true
  if (err.status !== 400 && err.status !== 422) return false
  const text = [err.message, ...(Array.isArray(err.errors) ? err.errors.map((e) => JSON.stringify(e)) : [])].join(' ')
  // A missing *column* (fields can be deselected at ingestion) must not read as a missing dataset.
  return /not (been )?enabled|(unknown|no such) (table|dataset)|(table|dataset)\b[^.]{0,120}\b(not found|does not exist)/i.test(text)
}
