/**
 * What the managed Do Not Inspect policy bypassed, for issue 10's idle rule and for `why`.
 *
 * Over `[now - days, now)`, whatever the collect lookback, Cloudflare aggregates the last
 * bypassed request per HTTPHost and per DestinationIP (MAX of the time column, read whole by
 * key paging: a maximum is exact across pages and across time parts). One more statement
 * asks how far the dataset's records reach, so that a dataset enabled five days ago, or one
 * that stopped receiving records, never passes for thirty quiet days.
 */
import type Cloudflare from 'cloudflare'
import type { BypassUsage, EntryKind } from '../../core/types.js'
import { canonicalHost, canonicalIp, ipInNetwork } from '../../core/values.js'
import { readGrouped, labelOf } from './paging.js'
import { parseRow, parseTimestamp } from './rows.js'
import { buildSql, MAX_ROWS, policyPredicate, rfc3339, type PolicyRef, type QuerySpec, type TimeWindow } from './sql.js'
import { DatasetUnavailableError, LOGS_READ, newCtx, readTimeColumns, runSql, type Ctx } from './transport.js'

export const DAY_MS = 86_400_000
/** Most days a usage query may span (the `idle-days` input's bound). */
export const MAX_USAGE_DAYS = 3650
/**
 * How far before the idle window the span query looks: a record there proves the dataset
 * held data when the window opened (a quiet weekend must not read as "enabled on Monday").
 */
export const SPAN_MARGIN_MS = 7 * DAY_MS
/** A dataset whose newest record (any action) is older than this has stopped receiving records. */
export const STALE_MS = DAY_MS

type UsageSpec = Extract<QuerySpec, { kind: 'usage-hosts' | 'usage-ips' }>

/**
 * The usage data of the last `days` days before `now`, or undefined when it cannot be read
 * (dataset not enabled, or any failure): then the run goes on and no entry is called idle.
 */
export async function readUsage(ctx: Ctx, policy: PolicyRef, now: number, days: number): Promise<BypassUsage | undefined> {
  const window = usageWindow(now, days)
  try {
    const covers = await coverage(ctx, window, days)
    if (covers.to <= covers.from) return { covers, hosts: new Map(), ips: new Map() }
    const hosts = await lastPerKey(ctx, { kind: 'usage-hosts', window, policy })
    const ips = await lastPerKey(ctx, { kind: 'usage-ips', window, policy })
    ctx.log(`Log Explorer: bypassed traffic over the last ${days} day(s): ${hosts.size} hostname(s), ${ips.size} destination IP(s); records cover ${rfc3339(covers.from)}..${rfc3339(covers.to)}`)
    return { covers, hosts, ips }
  } catch (err) {
    const why = err instanceof DatasetUnavailableError ? 'gateway_http is not enabled in Log Explorer' : (err as Error).message
    ctx.log(`Log Explorer: idleness cannot be judged: the bypassed traffic of the last ${days} day(s) could not be read (${why}); no entry is called idle this run`)
    return undefined
  }
}

function usageWindow(now: number, days: number): TimeWindow {
  if (!Number.isInteger(days) || days < 1 || days > MAX_USAGE_DAYS) throw new Error(`usage days must be an integer in 1–${MAX_USAGE_DAYS}`)
  if (!Number.isFinite(now)) throw new Error('usage needs a finite "now"')
  return { from: now - days * DAY_MS, to: now }
}

/**
 * The span the records vouch for: from the window's start when the dataset held records
 * before it (else from its earliest record), to now unless the newest record is stale.
 * With no record at all the span is empty.
 */
async function coverage(ctx: Ctx, window: TimeWindow, days: number): Promise<{ from: number; to: number }> {
  const probe = { from: window.from - SPAN_MARGIN_MS, to: window.to }
  const rows = await runSql(ctx, buildSql({ kind: 'usage-span', window: probe }, MAX_ROWS, ctx.time), 'gateway_http')
  const row = (rows[0] ?? {}) as Record<string, unknown>
  if (row.first_seen === null || row.first_seen === undefined) {
    ctx.log(`Log Explorer: idleness cannot be judged yet: gateway_http holds no records since ${rfc3339(probe.from)}`)
    return { from: window.to, to: window.to }
  }
  const first = parseTimestamp(row.first_seen)
  const last = parseTimestamp(row.last_seen)
  if (first === undefined || last === undefined || last < first) throw new Error('the span of gateway_http records came back unreadable')
  const covers = { from: Math.max(first, window.from), to: window.to - last > STALE_MS ? last : window.to }
  if (covers.from > window.from) {
    const more = Math.ceil((covers.from - window.from) / DAY_MS)
    ctx.log(`Log Explorer: idleness cannot be judged yet: gateway_http holds records only since ${rfc3339(first)}, ${more} day(s) short of the ${days}-day idle window`)
  }
  if (covers.to < window.to) ctx.log(`Log Explorer: idleness cannot be judged: the newest gateway_http record is from ${rfc3339(last)}; is the dataset still enabled?`)
  return covers
}

/** Last bypassed request per key (lower-case, as logged), read whole; malformed rows are counted. */
async function lastPerKey(ctx: Ctx, spec: UsageSpec): Promise<Map<string, number>> {
  const out = new Map<string, number>()
  let bad = 0
  for (const row of await readGrouped(ctx, spec)) {
    const p = parseRow(row, [spec.kind === 'usage-hosts' ? 'host' : 'ip'], false)
    const at = p === undefined ? undefined : parseTimestamp((row as Record<string, unknown>).last_seen)
    if (p === undefined || at === undefined) {
      bad++
      continue
    }
    const k = p.keys[0]!
    out.set(k, Math.max(out.get(k) ?? at, at))
  }
  if (bad > 0) ctx.malformed.set(labelOf(spec), (ctx.malformed.get(labelOf(spec)) ?? 0) + bad)
  return out
}

/** Options of {@link lastBypassed}. */
export interface LastBypassedOptions {
  client: Cloudflare
  accountId: string
  /** The managed Do Not Inspect policy: `id` is preferred when known, else `name`. */
  policy: PolicyRef
  /** Epoch ms; default `Date.now()`. */
  now?: number
  rowCap?: number
  sqlTimeoutMs?: number
  log?: (msg: string) => void
  /** How the one deliberate retry waits (default: a real timer). */
  sleep?: (ms: number) => Promise<void>
}

/**
 * When the managed policy last bypassed traffic for one listed value within the last `days`
 * days (epoch ms), or null: a hostname by its HTTPHost, an IP or network by every
 * DestinationIP inside it (matched here with `ipInNetwork`, since SQL has no portable CIDR
 * test; an IPv4 network's whole octets narrow the rows with LIKE first). Throws with a clear
 * message when the value is not a list entry or gateway_http cannot be read.
 */
export async function lastBypassed(o: LastBypassedOptions, target: { kind: EntryKind; value: string }, days: number): Promise<number | null> {
  policyPredicate(o.policy)
  const c = target.kind === 'host' ? canonicalHost(target.value) : canonicalIp(target.value)
  if (!c.ok) throw new Error(`${target.kind === 'host' ? 'not a hostname' : 'not an IP or network'}: ${c.reason}`)
  const ctx = newCtx(o)
  const window = usageWindow(o.now ?? Date.now(), days)
  ctx.time = await readTimeColumns(ctx)
  try {
    if (target.kind === 'host') {
      // A logged name may carry the root's trailing dot; both spellings are one entry.
      const found = await lastPerKey(ctx, { kind: 'usage-hosts', window, policy: o.policy, hosts: [c.value, `${c.value}.`] })
      return latest(found.values())
    }
    const like = ipv4Like(c.value)
    const found = await lastPerKey(ctx, { kind: 'usage-ips', window, policy: o.policy, ...(like === undefined ? {} : { like }) })
    return latest([...found].filter(([ip]) => ipInNetwork(ip, c.value)).map(([, at]) => at))
  } catch (err) {
    if (err instanceof DatasetUnavailableError) throw new Error(`${err.message}. Enable gateway_http in Log Explorer, and make sure the token has "${LOGS_READ}", to see when the policy last bypassed traffic.`)
    throw err
  }
}

function latest(times: Iterable<number>): number | null {
  let out: number | null = null
  for (const t of times) if (out === null || t > out) out = t
  return out
}

/**
 * LIKE patterns that keep every spelling Log Explorer may log of an address inside an IPv4
 * network (dotted, and IPv4-mapped IPv6), from the network's whole octets; undefined when
 * no octet is fixed or for IPv6, whose compressed spellings share no safe text prefix.
 * Patterns may match more than the network: the caller filters with `ipInNetwork`.
 */
export function ipv4Like(network: string): string[] | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(network)
  if (m === null) return undefined
  const fixed = Math.floor(Number(m[5] ?? '32') / 8)
  if (fixed === 0) return undefined
  const octets = m.slice(1, 1 + fixed)
  const text = fixed === 4 ? octets.join('.') : `${octets.join('.')}.%`
  return [text, `::ffff:${text}`]
}


