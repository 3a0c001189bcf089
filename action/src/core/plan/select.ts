/**
 * Stages 3–6 of the collect planner, in order: drop what is listed, apply exclusions, apply
 * thresholds, cap. Each takes the contenders the previous stage let through and returns
 * the rest, with what it stopped and why.
 */
import type { Candidate, CollectOptions, Stats, Suppressed } from '../types.js'
import { compareKindValue, compareStrength, minSeen } from './canonical.js'
import type { Gathered } from './evidence.js'
import type { ExclusionFor, Listed } from './exclusions.js'

/** One value up for proposal: this run's candidate and/or the open PR's carried proposal. */
export interface Contender {
  /** This run's candidate, or the carried proposal when the value was not observed now. */
  candidate: Candidate
  imported: boolean
  /** The open PR's proposal of this value, if any. */
  prior?: Candidate
  /** Observed (or imported) in this run. */
  current: boolean
}

/** Candidates and carried proposals, one contender per value, in key order. */
export function contenders(gathered: Map<string, Gathered>, carried: Map<string, Candidate>): Contender[] {
  const keys = [...new Set([...gathered.keys(), ...carried.keys()])].sort()
  return keys.flatMap((k): Contender[] => {
    const g = gathered.get(k)
    const prior = carried.get(k)
    if (g) return [{ candidate: g.candidate, imported: g.imported, current: true, ...(prior ? { prior } : {}) }]
    return prior ? [{ candidate: prior, imported: false, current: false, prior }] : []
  })
}

export function meetsThresholds(st: Stats, o: Pick<CollectOptions, 'minSessions' | 'minDevices'>): boolean {
  return st.sessions >= o.minSessions && st.devices >= o.minDevices
}

/** Would this contender be proposed, exclusions aside? Imports skip thresholds; a carried value may rely on its recorded evidence. */
function passes(c: Contender, o: CollectOptions): boolean {
  return c.imported || meetsThresholds(c.candidate.stats, o) || (c.prior !== undefined && meetsThresholds(c.prior.stats, o))
}

/** Already-listed values are only counted. */
export function dropListed(cs: Contender[], listed: Listed): { rest: Contender[]; alreadyListed: number; carriedListed: number } {
  const rest: Contender[] = []
  let alreadyListed = 0
  let carriedListed = 0
  for (const c of cs) {
    if (!listed.has(c.candidate.kind, c.candidate.value)) rest.push(c)
    else {
      if (c.current) alreadyListed++
      if (c.prior) carriedListed++
    }
  }
  return { rest, alreadyListed, carriedListed }
}

/**
 * Exclusions come before thresholds and are absolute. `suppressed` reports only what would
 * otherwise have been proposed (or was proposed by the open PR): excluded values below the
 * thresholds are dropped silently, or every one-session subdomain of an excluded domain
 * would be listed each run.
 */
export function applyExclusions(cs: Contender[], exclusionFor: ExclusionFor, o: CollectOptions): { rest: Contender[]; suppressed: Suppressed[]; carriedExcluded: number } {
  const rest: Contender[] = []
  const suppressed: Suppressed[] = []
  let carriedExcluded = 0
  for (const c of cs) {
    const ex = exclusionFor(c.candidate.kind, c.candidate.value)
    if (!ex) {
      rest.push(c)
      continue
    }
    if (c.prior || c.imported || meetsThresholds(c.candidate.stats, o)) suppressed.push({ candidate: c.candidate, ...ex })
    if (c.prior) carriedExcluded++
  }
  suppressed.sort((a, b) => compareKindValue(a.candidate, b.candidate))
  return { rest, suppressed, carriedExcluded }
}

/**
 * `min-sessions` AND `min-devices` on log evidence; imports skip them. A carried proposal
 * stays while its recorded evidence or this run's meets them; observed again, this run's
 * counts win (they describe the current window), with the earliest first sighting kept.
 */
export function applyThresholds(cs: Contender[], o: CollectOptions): { eligible: Candidate[]; belowThreshold: Candidate[]; carriedBelow: number } {
  const eligible: Candidate[] = []
  const belowThreshold: Candidate[] = []
  let carriedBelow = 0
  for (const c of cs) {
    if (!passes(c, o)) {
      if (c.prior) carriedBelow++
      belowThreshold.push(c.candidate)
    } else eligible.push(c.prior ? withPrior(c.candidate, c.prior) : c.candidate)
  }
  belowThreshold.sort(compareStrength)
  return { eligible, belowThreshold, carriedBelow }
}

function withPrior(now: Candidate, prior: Candidate): Candidate {
  return {
    ...now,
    stats: { ...now.stats, firstSeen: minSeen(prior.stats.firstSeen, now.stats.firstSeen), lastSeen: Math.max(prior.stats.lastSeen, now.stats.lastSeen) },
    ...(now.otherSideTotal === 0 && prior.otherSideTotal > 0 ? { otherSide: prior.otherSide, otherSideTotal: prior.otherSideTotal } : {})
  }
}

/** The strongest `max-new-entries` become additions; the rest is held back. */
export function capAdditions(eligible: Candidate[], maxNewEntries: number): { additions: Candidate[]; heldBack: Candidate[] } {
  const sorted = [...eligible].sort(compareStrength)
  const cap = Number.isNaN(maxNewEntries) ? 0 : Math.max(0, maxNewEntries)
  const additions = cap === Infinity ? sorted : sorted.slice(0, Math.floor(cap))
  return { additions, heldBack: sorted.slice(additions.length) }
}
