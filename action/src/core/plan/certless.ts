/**
 * Certificate-less devices (`core/devices.ts`) in the plan: counts only. The sources
 * already left their failing sessions out of every candidate; what failed only on them
 * (`onlyCertless`) is canonicalised like the rest but can never become a candidate.
 */
import { cleanTally, compareTallies, safeRule, type CertlessThresholds } from '../devices.js'
import type { CertlessPlan, EntryKind, Observations, Stats } from '../types.js'
import { type Canon, canonAddress, canonSni, cleanStats, compareStrength, keyOf, mergeStats, num } from './canonical.js'

export interface CertlessContext {
  rule: { thresholds: CertlessThresholds; ports: readonly number[] } | undefined
  /** Canonical keys (`keyOf`) of everything observed as a candidate this run. */
  observed: ReadonlySet<string>
  isListed: (kind: EntryKind, value: string) => boolean
  isExcluded: (kind: EntryKind, value: string) => boolean
}

/**
 * `Observations.certless` → `CollectPlan.certless`. Spellings of one destination merge as
 * candidates do. A destination that is also a candidate this run failed on other devices
 * too, so it is not "only" theirs and is left to the candidate rules; listed and excluded
 * values would not be proposed anyway. Those and invalid values are counted, not shown:
 * the section lists exactly what this rule kept out of the proposal.
 */
export function planCertless(report: Observations['certless'], ctx: CertlessContext): CertlessPlan | undefined {
  if (!report) return undefined
  const merged = new Map<string, { kind: EntryKind; value: string; stats: Stats }>()
  const notShown = { listed: 0, excluded: 0, elsewhere: 0, invalid: 0 }
  const add = (kind: EntryKind, c: Canon, stats: Stats): void => {
    if (!c.ok) return void notShown.invalid++
    const k = keyOf(kind, c.value)
    const prev = merged.get(k)
    if (prev) prev.stats = mergeStats(prev.stats, cleanStats(stats))
    else merged.set(k, { kind, value: c.value, stats: cleanStats(stats) })
  }
  for (const [raw, stats] of report.onlyCertless?.hosts ?? []) add('host', canonSni(raw), stats)
  for (const [raw, stats] of report.onlyCertless?.ips ?? []) add('ip', canonAddress(raw), stats)
  const onlyCertless: CertlessPlan['onlyCertless'] = []
  for (const [k, d] of merged) {
    if (ctx.observed.has(k)) notShown.elsewhere++
    else if (ctx.isListed(d.kind, d.value)) notShown.listed++
    else if (ctx.isExcluded(d.kind, d.value)) notShown.excluded++
    else onlyCertless.push(d)
  }
  onlyCertless.sort((a, b) => compareStrength({ ...a, source: 'tls-error', otherSide: [], otherSideTotal: 0 }, { ...b, source: 'tls-error', otherSide: [], otherSideTotal: 0 }))
  const devices = (Array.isArray(report.devices) ? report.devices : []).map(cleanTally).sort(compareTallies)
  return {
    devices,
    // A source cannot have seen fewer devices than it classified.
    devicesSeen: Math.max(Math.floor(num(report.devicesSeen)), devices.length),
    sessionsExcluded: Math.floor(num(report.sessionsExcluded)),
    onlyCertless,
    notShown,
    ...safeRule(ctx.rule?.thresholds, ctx.rule?.ports)
  }
}
