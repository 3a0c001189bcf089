/**
 * Stage 2 of the collect planner, evidence: the logged keys, the dashboard imports and the
 * open PR's carried proposals, each canonicalised and merged into one candidate per value.
 * Keys that can never be list entries are collected as `InvalidValue`s, never candidates.
 */
import { listEntryProblem } from '../listfile.js'
import type { Candidate, CollectOptions, EntryKind, EvidenceSource, InvalidValue, Observations, Stats } from '../types.js'
import { canonicalValue, compareHosts, compareIps } from '../values.js'
import { canonAddress, canonSni, cleanStats, keyOf, mergeStats, num, OTHER_SIDE_CAP, truncateRaw, ZERO_STATS } from './canonical.js'

/** Invalid values, merged by kind and raw text. */
export class InvalidValues {
  private readonly byRaw = new Map<string, InvalidValue>()

  add(kind: EntryKind, raw: string, reason: string, sessions: number): void {
    const k = `${kind}\u0000${raw}`
    const prev = this.byRaw.get(k)
    if (prev) prev.sessions += sessions
    else this.byRaw.set(k, { kind, raw: truncateRaw(raw), reason, sessions })
  }

  /** Most sessions first. Ties are broken on the full raw text (the map key): truncated values can collide. */
  sorted(): InvalidValue[] {
    return [...this.byRaw.entries()]
      .sort(([ka, a], [kb, b]) => b.sessions - a.sessions || (a.kind === b.kind ? 0 : a.kind === 'host' ? -1 : 1) || (a.raw < b.raw ? -1 : a.raw > b.raw ? 1 : 0) || (ka < kb ? -1 : ka > kb ? 1 : 0))
      .map(([, v]) => v)
  }
}

/** Canonical values seen on the other side of a key, and the raw values that were unusable. */
interface OtherSide {
  valid: Set<string>
  invalid: Set<string>
}

export interface OtherSides {
  hostIps: Map<string, OtherSide>
  ipHosts: Map<string, OtherSide>
  /** Every hostname seen on an IP, from both directions: used for "excluded via hostname". */
  namesOnIp: Map<string, Set<string>>
}

function sideOf(map: Map<string, OtherSide>, key: string): OtherSide {
  let o = map.get(key)
  if (!o) map.set(key, (o = { valid: new Set(), invalid: new Set() }))
  return o
}

function collectSide(raw: Map<string, Set<string>>, key: (s: string) => ReturnType<typeof canonSni>, member: (s: string) => ReturnType<typeof canonSni>): Map<string, OtherSide> {
  const out = new Map<string, OtherSide>()
  for (const [rawKey, values] of raw) {
    const k = key(rawKey)
    // An unusable key is reported invalid through its failures, if it failed.
    if (!k.ok) continue
    const o = sideOf(out, k.value)
    for (const v of values) {
      const c = member(v)
      if (c.ok) o.valid.add(c.value)
      else o.invalid.add(v)
    }
  }
  return out
}

/**
 * Both directions of "seen with", canonicalised. Unusable values are counted in the total:
 * a reviewer judging "is this IP shared?" should know there were more names.
 */
export function otherSides(obs: Pick<Observations, 'hostIps' | 'ipHosts'>): OtherSides {
  const hostIps = collectSide(obs.hostIps, canonSni, canonAddress)
  const ipHosts = collectSide(obs.ipHosts, canonAddress, canonSni)
  const namesOnIp = new Map<string, Set<string>>()
  for (const [ip, o] of ipHosts) namesOnIp.set(ip, new Set(o.valid))
  for (const [host, o] of hostIps) {
    for (const ip of o.valid) {
      let s = namesOnIp.get(ip)
      if (!s) namesOnIp.set(ip, (s = new Set()))
      s.add(host)
    }
  }
  return { hostIps, ipHosts, namesOnIp }
}

function otherSideOf(sides: OtherSides, kind: EntryKind, value: string): Pick<Candidate, 'otherSide' | 'otherSideTotal'> {
  const o = (kind === 'host' ? sides.hostIps : sides.ipHosts).get(value)
  if (!o) return { otherSide: [], otherSideTotal: 0 }
  // The other side of a hostname is IPs, and of an IP hostnames.
  const sorted = [...o.valid].sort(kind === 'host' ? compareIps : compareHosts)
  return { otherSide: sorted.slice(0, OTHER_SIDE_CAP), otherSideTotal: o.valid.size + o.invalid.size }
}

export function toCandidate(sides: OtherSides, kind: EntryKind, value: string, source: EvidenceSource, stats: Stats): Candidate {
  return { kind, value, source, stats, ...otherSideOf(sides, kind, value) }
}

type Observed = { kind: EntryKind; value: string; source: EvidenceSource; stats: Stats }

/**
 * One entry per canonical value of the logs: TLS failures with an SNI and hostnames the
 * managed policy bypassed make hostname candidates; failures without an SNI make IP
 * candidates (never an SNI: a client controls it). Also returns the TLS-failure stats
 * alone per value (`failures`): bypassed requests are not failures.
 */
export function observe(obs: Observations, invalid: InvalidValues): { observed: Map<string, Observed>; failures: Map<string, Observed> } {
  const observed = new Map<string, Observed>()
  const failures = new Map<string, Observed>()
  const put = (map: Map<string, Observed>, kind: EntryKind, value: string, source: EvidenceSource, stats: Stats): void => {
    const k = keyOf(kind, value)
    const prev = map.get(k)
    if (!prev) map.set(k, { kind, value, source, stats: cleanStats(stats) })
    else {
      prev.stats = mergeStats(prev.stats, cleanStats(stats))
      // Failing TLS is the stronger evidence: a host in both keeps 'tls-error'.
      if (source === 'tls-error') prev.source = 'tls-error'
    }
  }
  const read = (kind: EntryKind, source: EvidenceSource, raw: Map<string, Stats>, canon: typeof canonSni): void => {
    for (const [key, stats] of raw) {
      const c = canon(key)
      if (!c.ok) invalid.add(kind, key, c.reason, num(stats.sessions))
      else {
        put(observed, kind, c.value, source, stats)
        if (source === 'tls-error') put(failures, kind, c.value, source, stats)
      }
    }
  }
  read('host', 'tls-error', obs.hostFailures, canonSni)
  read('host', 'bypass-log', obs.bypassedHosts, canonSni)
  read('ip', 'tls-error', obs.ipFailures, canonAddress)
  return { observed, failures }
}

/** A candidate, and whether it is a dashboard import (those skip the thresholds). */
export interface Gathered {
  candidate: Candidate
  imported: boolean
}

/**
 * Observed candidates plus the dashboard imports. An import needs no log evidence; logged
 * evidence is shown if there is any. An import that cannot be a list line is invalid.
 */
export function gather(observed: Map<string, Observed>, imports: { kind: EntryKind; value: string }[], sides: OtherSides, invalid: InvalidValues, widest: CollectOptions['widest']): Map<string, Gathered> {
  const out = new Map<string, Gathered>()
  for (const [k, o] of observed) out.set(k, { candidate: toCandidate(sides, o.kind, o.value, o.source, o.stats), imported: false })
  for (const item of imports) {
    const kind: EntryKind = item.kind === 'ip' ? 'ip' : 'host'
    const c = canonicalValue(kind, String(item.value))
    if (!c.ok) {
      invalid.add(kind, String(item.value), `dashboard item: ${c.reason}`, 0)
      continue
    }
    const tooBroad = listEntryProblem(kind, c.value, widest)
    if (tooBroad) {
      invalid.add(kind, c.value, `dashboard item: ${tooBroad}`, 0)
      continue
    }
    const k = keyOf(kind, c.value)
    const prev = out.get(k)
    if (prev) out.set(k, { candidate: { ...prev.candidate, source: 'dashboard' }, imported: true })
    else out.set(k, { candidate: toCandidate(sides, kind, c.value, 'dashboard', { ...ZERO_STATS }), imported: true })
  }
  return out
}

/**
 * The open PR's proposals, re-validated: canonical form and list-file limits (a list file
 * refuses networks broader than `widest-*-prefix`; writing one would break sync). What
 * fails is counted as malformed and dropped.
 */
export function carriedProposals(raws: Candidate[], widest: CollectOptions['widest']): { carried: Map<string, Candidate>; malformed: number } {
  const carried = new Map<string, Candidate>()
  let malformed = 0
  for (const raw of raws) {
    const kind: EntryKind | undefined = raw?.kind === 'ip' || raw?.kind === 'host' ? raw.kind : undefined
    const c = kind && typeof raw.value === 'string' ? canonicalValue(kind, raw.value) : undefined
    if (!kind || !c?.ok || listEntryProblem(kind, c.value, widest) !== undefined) {
      malformed++
      continue
    }
    const source: EvidenceSource = raw.source === 'bypass-log' || raw.source === 'dashboard' ? raw.source : 'tls-error'
    const otherSide = Array.isArray(raw.otherSide)
      ? raw.otherSide
          .map((v) => (typeof v === 'string' ? (kind === 'host' ? canonAddress(v) : canonSni(v)) : undefined))
          .flatMap((r) => (r?.ok ? [r.value] : []))
          .sort(kind === 'host' ? compareIps : compareHosts)
          .slice(0, OTHER_SIDE_CAP)
      : []
    const total = Math.max(num(raw.otherSideTotal), otherSide.length)
    carried.set(keyOf(kind, c.value), { kind, value: c.value, source, stats: cleanStats(raw.stats), otherSide, otherSideTotal: total })
  }
  return { carried, malformed }
}
