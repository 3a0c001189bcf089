/**
 * Reading one grouped query whole, however many groups it has (issue 8).
 *
 * Log Explorer silently truncates at 10,000 rows. Every grouped query is therefore read in
 * key order over the WHOLE window: `ORDER BY <keys> LIMIT cap`, then `WHERE keys > last key`,
 * until a page comes back short. That is exact (each group is read once, with counts over the
 * whole window) and costs at most `1 + ⌈groups / cap⌉` queries. The window is never split for
 * distinct counts: merging distinct devices of two halves can only undercount.
 *
 * HTTP 507 (resources exhausted) narrows the query instead of repeating it: a smaller page
 * first; then, for additive queries only (sums, min, max), a smaller window. When neither is
 * possible the run fails with what to do. Nothing is ever returned partially.
 */
import { isSqlSafe, buildSql, queryShape, rfc3339, type GroupedSpec, type TimeWindow } from './sql.js'
import { ResourcesExhaustedError, runSql, type Ctx } from './transport.js'

/** The smallest page a 507 narrows to before the window (or the run) gives. */
const MIN_PAGE = 100
/** Window halving on 507 stops here. */
const MIN_WINDOW_MS = 60_000

/** A readable name of the query for logs and errors. */
export function labelOf(spec: GroupedSpec): string {
  return spec.kind === 'ip-hosts' || spec.kind === 'guard-ips' ? `${spec.kind} (${spec.dataset})` : spec.kind
}

/** Every row of a grouped query over its window, each group once (additive splits aside). */
export function readGrouped(ctx: Ctx, spec: GroupedSpec): Promise<unknown[]> {
  return readRange(ctx, spec, spec.window, undefined)
}

async function readRange(ctx: Ctx, spec: GroupedSpec, w: TimeWindow, start: string[] | undefined): Promise<unknown[]> {
  const shape = queryShape(spec, ctx.time)
  const aliases = shape.keys.map((k) => k.alias)
  const label = labelOf(spec)
  const out: unknown[] = []
  const seen = new Set<string>()
  let size = ctx.cap
  let after = start
  for (;;) {
    let rows: unknown[]
    try {
      rows = await runSql(ctx, buildSql({ ...spec, window: w, page: after === undefined ? {} : { after } }, size, ctx.time), shape.dataset)
    } catch (err) {
      if (!(err instanceof ResourcesExhaustedError)) throw err
      const smaller = Math.max(Math.min(MIN_PAGE, ctx.cap), Math.floor(size / 4))
      if (smaller < size) {
        ctx.log(`Log Explorer: ${label} ran out of resources (HTTP 507) with pages of ${size}; retrying with pages of ${smaller}`)
        size = smaller
        continue
      }
      const mid = midpoint(w)
      if (shape.additive && mid !== undefined) {
        ctx.log(`Log Explorer: ${label} ran out of resources (HTTP 507) for ${rfc3339(w.from)}..${rfc3339(w.to)}; reading it in two halves (its counts add up)`)
        return [...out, ...await readRange(ctx, spec, { from: w.from, to: mid }, after), ...await readRange(ctx, spec, { from: mid, to: w.to }, after)]
      }
      throw new Error(`Log Explorer ran out of resources (HTTP 507) on the ${label} query for ${rfc3339(w.from)}..${rfc3339(w.to)}, even with pages of ${size} groups; its distinct counts cannot be split by time without undercounting, so nothing was proposed. Shorten the \`lookback\` input (or run collect more often), then run again.`, { cause: err })
    }
    ctx.log(`Log Explorer: ${label} ${rfc3339(w.from)}..${rfc3339(w.to)}${after !== undefined ? ' (next key page)' : ''}: ${rows.length} row(s)`)
    for (const row of rows) {
      // Only rows with string keys can be re-read by a cursor; malformed ones pass through to be counted.
      const keys = typeof row === 'object' && row !== null ? aliases.map((a) => (row as Record<string, unknown>)[a]) : []
      if (keys.length > 0 && keys.every((k) => typeof k === 'string')) {
        const id = JSON.stringify(keys)
        if (seen.has(id)) continue
        seen.add(id)
      }
      out.push(row)
    }
    if (rows.length < size) return out
    const cursor = lastCursor(rows, aliases)
    if (cursor === undefined || (after !== undefined && JSON.stringify(cursor) === JSON.stringify(after))) {
      throw new Error(`Log Explorer: ${label} for ${rfc3339(w.from)}..${rfc3339(w.to)} has more than ${size} groups and a full page had no key that can be used to continue; refusing to return incomplete results`)
    }
    after = cursor
  }
}

// The SQL keeps unquotable keys out, so the last row is the cursor; should an engine still
// return one, the last quotable key is used and re-read groups are dropped by their raw key.
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
  if (w.to - w.from < 2 * MIN_WINDOW_MS) return undefined
  const mid = Math.round((w.from + Math.floor((w.to - w.from) / 2)) / 1000) * 1000
  return mid > w.from && mid < w.to ? mid : undefined
}
