/**
 * One Log Explorer call at a time, through the SDK: SQL queries (with the one deliberate retry
 * of a transient failure) and the datasets' time columns. Everything here is about the wire;
 * what to ask lives in `sql.ts`, how to read a grouped result whole in `paging.ts`.
 */
import type Cloudflare from 'cloudflare'
import { APIConnectionError, APIError, APIUserAbortError } from 'cloudflare'
import type { Uploadable } from 'cloudflare'
import { describeCloudflareError } from '../../adapters/cloudflare-client.js'
import type { Dataset } from '../../core/types.js'
import { DEFAULT_TIME_COLUMNS, MAX_ROWS, type TimeColumns } from './sql.js'

/** The token permission Log Explorer SQL needs, as the dashboard names it. */
export const LOGS_READ = 'Account › Logs › Read'

const RETRY_DELAY_MS = 1_000
const MAX_RETRY_DELAY_MS = 30_000

/** What one run shares between its queries. */
export interface Ctx {
  client: Cloudflare
  accountId: string
  cap: number
  timeoutMs: number
  time: TimeColumns
  log: (msg: string) => void
  /** The wait before the one deliberate retry (a real timer unless injected). */
  sleep: (ms: number) => Promise<void>
  queries: number
  malformed: Map<string, number>
  warnings: string[]
  /** Values (device ids) that travel inside SQL but must never appear in a message. */
  redact: string[]
}

/**
 * A fresh context: the row cap checked (2 to Log Explorer's maximum), the fallback time
 * columns until `readTimeColumns` learns the real ones, nothing counted yet.
 */
export function newCtx(o: { client: Cloudflare; accountId: string; rowCap?: number; sqlTimeoutMs?: number; log?: (msg: string) => void; sleep?: (ms: number) => Promise<void> }): Ctx {
  const cap = o.rowCap ?? MAX_ROWS
  if (!Number.isInteger(cap) || cap < 2 || cap > MAX_ROWS) throw new Error(`rowCap must be an integer in 2–${MAX_ROWS}`)
  return {
    client: o.client,
    accountId: o.accountId,
    cap,
    timeoutMs: o.sqlTimeoutMs ?? 120_000,
    time: { ...DEFAULT_TIME_COLUMNS },
    log: o.log ?? (() => undefined),
    sleep: o.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
    queries: 0,
    malformed: new Map(),
    warnings: [],
    redact: []
  }
}

/** A message with every value of `ctx.redact` replaced: an error may quote the SQL it refused. */
export function scrub(ctx: Ctx, text: string): string {
  let out = text
  for (const v of ctx.redact) if (v.length > 0) out = out.split(v).join('<device>')
  return out
}

/** Thrown when a dataset is not enabled (or unknown) in Log Explorer. */
export class DatasetUnavailableError extends Error {
  constructor(readonly dataset: Dataset, detail: string) {
    super(`Log Explorer dataset ${dataset} is not available: ${detail}`)
  }
}

/** HTTP 507 ResourcesExhausted: the same SQL would fail again; the caller must narrow it. */
export class ResourcesExhaustedError extends Error {
  constructor(readonly dataset: Dataset, detail: string) {
    super(`Log Explorer query on ${dataset} ran out of resources: ${detail}`)
  }
}

/**
 * One SQL call through the SDK (POST, text/plain). SDK retries are off: a heavy query must
 * not run three times blindly. A transient failure (429, 5xx but 507, timeout, connection) is
 * retried once, deliberately and logged; anything else fails with a described error.
 */
export async function runSql(ctx: Ctx, sql: string, dataset: Dataset): Promise<unknown[]> {
  for (let attempt = 1; ; attempt++) {
    ctx.queries++
    try {
      const page = await ctx.client.logs.logExplorer.query.sql(sql as unknown as Uploadable, { account_id: ctx.accountId }, { timeout: ctx.timeoutMs, maxRetries: 0 })
      return rowsOf((page as unknown as { body?: unknown }).body, dataset)
    } catch (err) {
      if (err instanceof UnexpectedResponse) throw new Error(scrub(ctx, err.message))
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
      const described = scrub(ctx, describeCloudflareError(err, LOGS_READ))
      if (datasetUnavailable(err)) throw new DatasetUnavailableError(dataset, described)
      if (err.status === 507) throw new ResourcesExhaustedError(dataset, described)
      if (attempt === 1 && isTransient(err)) {
        const delay = retryDelay(err)
        ctx.log(`Log Explorer: query on ${dataset} failed (${described}); retrying once in ${Math.round(delay / 1000)}s`)
        await ctx.sleep(delay)
        continue
      }
      let msg = `Log Explorer query on ${dataset} failed${attempt > 1 ? ' (also after one retry)' : ''}: ${described}`
      if (err.status === 403) msg += `. The token needs "${LOGS_READ}", and Log Explorer must be enabled for ${dataset}.`
      // The cause (the SDK error) carries the raw body: it is dropped once ids travel in SQL.
      throw new Error(msg, ctx.redact.length === 0 ? { cause: err } : {})
    }
  }
}

// The SDK does not throw on `success: false` in a 2xx body, and hands text bodies to the page
// as-is. The schema makes `result` nullable: null or missing on a successful query is no rows
// (reference F). Anything else that is not an array must never pass for "no rows".
function rowsOf(body: unknown, dataset: Dataset): unknown[] {
  if (typeof body === 'object' && body !== null && (body as { success?: unknown }).success === true) {
    const result = (body as { result?: unknown }).result
    if (result === null || result === undefined) return []
    if (Array.isArray(result)) return result
  }
  throw new UnexpectedResponse(`Log Explorer query on ${dataset} returned an unexpected response: ${JSON.stringify(body)?.slice(0, 300) ?? String(body)}`)
}

class UnexpectedResponse extends Error {}

function isTransient(err: APIError): boolean {
  if (err instanceof APIUserAbortError) return false
  if (err instanceof APIConnectionError) return true // includes timeouts
  const s = err.status
  return s === 408 || s === 429 || (s !== undefined && s >= 500 && s !== 507)
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

/**
 * Each dataset's primary time column, from `GET …/logs/explorer/datasets/available`
 * (`timestamp_field`, reference F). The value goes into SQL as an identifier, so only a plain
 * name is taken; anything else, an absent field or a failed call falls back to
 * {@link DEFAULT_TIME_COLUMNS}, and the log says so.
 */
export async function readTimeColumns(ctx: Ctx): Promise<TimeColumns> {
  const fields = new Map<string, unknown>()
  try {
    const list = ctx.client.logs.logExplorer.datasets.available.list({ account_id: ctx.accountId }, { timeout: ctx.timeoutMs, maxRetries: 1 })
    for await (const d of list) {
      if (typeof d === 'object' && d !== null && typeof d.dataset === 'string') fields.set(d.dataset.toLowerCase(), d.timestamp_field)
    }
  } catch (err) {
    const why = err instanceof APIError ? describeCloudflareError(err, LOGS_READ) : 'unreadable answer'
    ctx.log(`Log Explorer: could not read the datasets' time columns (${why}); using the fallback columns ${describeColumns(DEFAULT_TIME_COLUMNS)}`)
    return { ...DEFAULT_TIME_COLUMNS }
  }
  const out: TimeColumns = { ...DEFAULT_TIME_COLUMNS }
  for (const dataset of Object.keys(out) as Dataset[]) {
    const field = fields.get(dataset)
    if (typeof field === 'string' && /^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(field)) {
      out[dataset] = field.toLowerCase()
    } else {
      ctx.log(`Log Explorer: ${dataset} has no usable timestamp_field in datasets/available; falling back to ${out[dataset]}`)
    }
  }
  ctx.log(`Log Explorer: time columns ${describeColumns(out)}`)
  return out
}

function describeColumns(c: TimeColumns): string {
  return Object.entries(c).map(([d, f]) => `${d}.${f}`).join(', ')
}
