/**
 * Stage 1 of the collect planner, canonicalise: one spelling per destination, and the
 * small value helpers every later stage shares (stats merging, keys, orderings).
 */
import type { Candidate, EntryKind, Stats } from '../types.js'
import { canonicalHost, canonicalIp, compareValues, isIpLiteral } from '../values.js'

/** How many other-side values a candidate carries (the total is kept in `otherSideTotal`). */
export const OTHER_SIDE_CAP = 20

/** Raw invalid values are cut to this many characters (they are hostile and only shown). */
export const INVALID_RAW_MAX = 300

export const DAY_MS = 86_400_000

const IP_LITERAL_SNI = 'an IP literal in SNI is not a hostname'

export type Canon = { ok: true; value: string } | { ok: false; reason: string }

/** A logged SNI: an IP literal there is a distinct, explicit reason (and never an IP candidate). */
export function canonSni(raw: string): Canon {
  if (isIpLiteral(raw.trim())) return { ok: false, reason: IP_LITERAL_SNI }
  const c = canonicalHost(raw)
  return c.ok || !/IP literal/.test(c.reason) ? c : { ok: false, reason: IP_LITERAL_SNI }
}

/** A logged origin IP: one address; a CIDR cannot be the address of a session. */
export function canonAddress(raw: string): Canon {
  const c = canonicalIp(raw)
  if (c.ok && c.value.includes('/')) return { ok: false, reason: 'a logged origin IP cannot be a network (CIDR)' }
  return c
}

/** Earliest of two "first seen" times; 0 (or less) means unknown (dashboard imports). */
export function minSeen(a: number, b: number): number {
  if (!(a > 0)) return b
  if (!(b > 0)) return a
  return Math.min(a, b)
}

export function mergeStats(a: Stats, b: Stats): Stats {
  return {
    sessions: a.sessions + b.sessions,
    // Distinct ids cannot be added across keys without double counting: the max is a
    // lower bound, which errs towards NOT passing a threshold.
    devices: Math.max(a.devices, b.devices),
    users: Math.max(a.users, b.users),
    firstSeen: minSeen(a.firstSeen, b.firstSeen),
    lastSeen: Math.max(a.lastSeen, b.lastSeen)
  }
}

/** A finite, non-negative number, or 0. */
export function num(x: unknown): number {
  return typeof x === 'number' && Number.isFinite(x) && x >= 0 ? x : 0
}

export function cleanStats(s: Partial<Stats> | undefined): Stats {
  return {
    sessions: num(s?.sessions),
    devices: num(s?.devices),
    users: num(s?.users),
    firstSeen: num(s?.firstSeen),
    lastSeen: num(s?.lastSeen)
  }
}

export const ZERO_STATS: Stats = { sessions: 0, devices: 0, users: 0, firstSeen: 0, lastSeen: 0 }

/** The planner's internal key of a canonical value. */
export function keyOf(kind: EntryKind, value: string): string {
  return `${kind} ${value}`
}

export function truncateRaw(raw: string): string {
  if (raw.length <= INVALID_RAW_MAX) return raw
  let end = INVALID_RAW_MAX - 1
  const last = raw.charCodeAt(end - 1)
  if (last >= 0xd800 && last <= 0xdbff) end--
  return `${raw.slice(0, end)}…`
}

/**
 * Strength order: devices desc, sessions desc, lastSeen desc, hostnames before IPs
 * (a hostname is the narrower bypass), then value ascending.
 */
export function compareStrength(a: Candidate, b: Candidate): number {
  return (
    b.stats.devices - a.stats.devices ||
    b.stats.sessions - a.stats.sessions ||
    b.stats.lastSeen - a.stats.lastSeen ||
    (a.kind === b.kind ? compareValues(a.kind, a.value, b.value) : a.kind === 'host' ? -1 : 1)
  )
}

/** Hostnames before IPs, then value order. */
export function compareKindValue(a: { kind: EntryKind; value: string }, b: { kind: EntryKind; value: string }): number {
  if (a.kind !== b.kind) return a.kind === 'host' ? -1 : 1
  return compareValues(a.kind, a.value, b.value)
}

export function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`
}
