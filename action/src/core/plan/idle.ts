/**
 * Removals, second kind: idle entries. An entry listed at least `idle-days` ago that the
 * managed policy bypassed no traffic for within them is proposed for removal. Nothing is
 * called idle unless the evidence can say so: no listed-since date, too short a span of
 * usage data, or no usage data at all each keep every entry concerned, with a note.
 */
import { GUARD_MAX_REMOVAL_RATIO, GUARD_MIN_OWNED } from '../sync-plan.js'
import type { BypassUsage, EntryKind, IdleRemoval, ListedSince } from '../types.js'
import { compareHosts, compareIps } from '../values.js'
import { canonAddress, canonSni, compareKindValue, DAY_MS, keyOf, plural } from './canonical.js'
import type { Listed } from './exclusions.js'
import { entriesHolding, sinceKey } from './listed-since.js'

/** Usage data that ends longer ago than this cannot speak for the days since. */
export const USAGE_TAIL_SLACK_MS = DAY_MS

const day = (ms: number): string => new Date(ms).toISOString().slice(0, 10)

/** Whether `usage` spans the whole idle window (the last `idleDays` before `now`); if not, why, in a note. */
export function usageCoverage(usage: BypassUsage | undefined, now: number, idleDays: number): { ok: true } | { ok: false; note: string } {
  const no = (why: string): { ok: false; note: string } => ({ ok: false, note: `Idle entries not judged: ${why}; no entry is proposed as idle.` })
  if (!usage) return no('this run could not read the traffic the managed policy bypassed (gateway_http)')
  const { from, to } = usage.covers ?? {}
  if (typeof from !== 'number' || typeof to !== 'number' || !Number.isFinite(from) || !Number.isFinite(to) || from > to || to > now + USAGE_TAIL_SLACK_MS) {
    return no('the span of the bypass log is unknown')
  }
  const start = now - idleDays * DAY_MS
  if (from > start) {
    const have = Math.max(0, Math.floor((now - from) / DAY_MS))
    const more = Math.ceil((from - start) / DAY_MS)
    return no(`the bypass log (gateway_http) read covers ${plural(have, 'day', 'days')} (since ${day(from)}) and idle-days is ${idleDays}, so idleness can be judged in ${plural(more, 'more day', 'more days')}`)
  }
  if (to < now - USAGE_TAIL_SLACK_MS) return no(`the bypass log (gateway_http) read ends on ${day(to)}, more than a day before this run`)
  return { ok: true }
}

/** The last bypassed request per listed entry (`kind:value`): by exact hostname, or by an address inside a listed IP or network. */
export function lastUse(usage: BypassUsage, listed: Listed): Map<string, number> {
  const out = new Map<string, number>()
  const bump = (k: string, at: number): void => {
    if (typeof at === 'number' && Number.isFinite(at) && at > (out.get(k) ?? -Infinity)) out.set(k, at)
  }
  for (const [raw, at] of usage.hosts) {
    const h = canonSni(String(raw))
    if (h.ok && listed.hosts.has(h.value)) bump(sinceKey('host', h.value), at)
  }
  const holding = entriesHolding(listed.ips)
  for (const [raw, at] of usage.ips) {
    const ip = canonAddress(String(raw))
    if (ip.ok) for (const entry of holding(ip.value)) bump(sinceKey('ip', entry), at)
  }
  return out
}

/**
 * The most entries of one type a PR may remove and still pass sync's removal guard without
 * `force` (`core/sync-plan.ts`): at most the guard's share of a type holding at least its
 * minimum, and never every entry (the guard refuses emptying a file). The files stand in
 * for what sync owns in Cloudflare: they are what sync wrote.
 */
export function guardedRemovalBudget(listedOfType: number): number {
  if (listedOfType <= 0) return 0
  if (listedOfType < GUARD_MIN_OWNED) return listedOfType - 1
  return Math.floor(GUARD_MAX_REMOVAL_RATIO * listedOfType)
}

export interface IdleContext {
  idleDays: number
  now: number
  usage: BypassUsage | undefined
  listed: Listed
  /** Canonical listed-since dates (`canonicalListedSince`). */
  since: Map<string, ListedSince>
  listedSinceNote: string | undefined
  /** Removed already (by exclusion): not idle candidates, and counted against the guard first. */
  removed: { kind: EntryKind; value: string }[]
  /**
   * Rejections in force (`rejectionsInForce`, planner keys `kind value`). A listed entry
   * with one is a removal a reviewer refused (the line was put back): not proposed again.
   */
  refused: Map<string, { pr: number; at: number }>
}

export interface IdleResult {
  removals: IdleRemoval[]
  heldBack: IdleRemoval[]
  judged: boolean
  notes: string[]
}

/** Every idle entry: dated, listed before the idle window, and not used within it. */
function findIdle(ctx: IdleContext, used: Map<string, number>): { idle: IdleRemoval[]; refused: number } {
  const start = ctx.now - ctx.idleDays * DAY_MS
  const removed = new Set(ctx.removed.map((r) => sinceKey(r.kind, r.value)))
  const idle: IdleRemoval[] = []
  let refused = 0
  const consider = (kind: EntryKind, value: string): void => {
    const k = sinceKey(kind, value)
    if (removed.has(k)) return
    const since = ctx.since.get(k)
    const last = used.get(k)
    if (!since || since.at > start || (last !== undefined && last >= start)) return
    if (ctx.refused.has(keyOf(kind, value))) return void refused++
    idle.push({ kind, value, listedSince: since, ...(last !== undefined ? { lastUsed: last } : {}) })
  }
  for (const v of [...ctx.listed.hosts].sort(compareHosts)) consider('host', v)
  for (const v of [...ctx.listed.ips].sort(compareIps)) consider('ip', v)
  return { idle, refused }
}

/** Longest listed first, within the guard's budget per type; the rest wait for a later PR. */
function capIdle(idle: IdleRemoval[], ctx: IdleContext): { removals: IdleRemoval[]; heldBack: IdleRemoval[] } {
  const sorted = [...idle].sort((a, b) => a.listedSince.at - b.listedSince.at || compareKindValue(a, b))
  const budget = (kind: EntryKind): number =>
    guardedRemovalBudget(kind === 'host' ? ctx.listed.hosts.size : ctx.listed.ips.size) - ctx.removed.filter((r) => r.kind === kind).length
  const left = { host: budget('host'), ip: budget('ip') }
  const removals: IdleRemoval[] = []
  const heldBack: IdleRemoval[] = []
  for (const r of sorted) {
    if (left[r.kind] > 0) {
      left[r.kind]--
      removals.push(r)
    } else heldBack.push(r)
  }
  const order = (xs: IdleRemoval[]): IdleRemoval[] => xs.sort(compareKindValue)
  return { removals: order(removals), heldBack: order(heldBack) }
}

/** The note on entries without a listed-since date (never idle), once; empty when all are dated. */
function undatedNote(ctx: IdleContext): string[] {
  const removed = new Set(ctx.removed.map((r) => sinceKey(r.kind, r.value)))
  const keys = [...[...ctx.listed.hosts].map((v) => sinceKey('host', v)), ...[...ctx.listed.ips].map((v) => sinceKey('ip', v))]
  const undated = keys.filter((k) => !removed.has(k) && !ctx.since.has(k)).length
  if (!undated) return []
  return [`${plural(undated, 'listed entry has', 'listed entries have')} no listed-since date and ${undated === 1 ? 'is' : 'are'} never called idle: ${ctx.listedSinceNote ?? 'neither the Gateway lists nor the git history dated them'}.`]
}

export function idleStage(ctx: IdleContext): IdleResult {
  if (!(ctx.idleDays > 0)) return { removals: [], heldBack: [], judged: false, notes: [] }
  const coverage = usageCoverage(ctx.usage, ctx.now, ctx.idleDays)
  if (!coverage.ok || !ctx.usage) return { removals: [], heldBack: [], judged: false, notes: [...(coverage.ok ? [] : [coverage.note]), ...undatedNote(ctx)] }
  const { idle, refused } = findIdle(ctx, lastUse(ctx.usage, ctx.listed))
  const kept = refused ? [`${plural(refused, 'idle entry is', 'idle entries are')} kept: a reviewer refused ${refused === 1 ? 'its' : 'their'} removal within reject-days.`] : []
  return { ...capIdle(idle, ctx), judged: true, notes: [...undatedNote(ctx), ...kept] }
}
