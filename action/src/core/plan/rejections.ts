/**
 * Rejections: a value a reviewer rejected (proposal PR closed unmerged, or its line deleted
 * before merging) within `reject-days` is not proposed again, whether this run observed it
 * or the open PR carried it. Only proposals are held back: a person may still add the
 * value by hand in a PR.
 */
import type { Candidate, Rejection, RejectedCandidate } from '../types.js'
import { canonicalValue } from '../values.js'
import { compareKindValue, DAY_MS, keyOf } from './canonical.js'

/**
 * Rejections still in force, by canonical value: the latest one (then the highest PR
 * number) per value. A date in the future counts as now (a clock skew must not make a
 * rejection lapse early); one that is not a time, or a PR that is not a number, is ignored.
 */
export function rejectionsInForce(rejected: Rejection[] | undefined, now: number, rejectDays: number): Map<string, { pr: number; at: number }> {
  const out = new Map<string, { pr: number; at: number }>()
  if (!(rejectDays > 0)) return out
  for (const r of rejected ?? []) {
    if (r?.kind !== 'ip' && r?.kind !== 'host') continue
    if (!Number.isSafeInteger(r.pr) || r.pr <= 0 || typeof r.at !== 'number' || !Number.isFinite(r.at)) continue
    if (now - Math.min(r.at, now) >= rejectDays * DAY_MS) continue
    const c = canonicalValue(r.kind, String(r.value))
    if (!c.ok) continue
    const k = keyOf(r.kind, c.value)
    const prev = out.get(k)
    if (!prev || r.at > prev.at || (r.at === prev.at && r.pr > prev.pr)) out.set(k, { pr: r.pr, at: r.at })
  }
  return out
}

/** Eligible candidates minus the rejected ones, which are reported with their PR and date. */
export function applyRejections(eligible: Candidate[], inForce: Map<string, { pr: number; at: number }>): { kept: Candidate[]; rejected: RejectedCandidate[] } {
  const kept: Candidate[] = []
  const rejected: RejectedCandidate[] = []
  for (const c of eligible) {
    const r = inForce.get(keyOf(c.kind, c.value))
    if (r) rejected.push({ candidate: c, ...r })
    else kept.push(c)
  }
  rejected.sort((a, b) => b.at - a.at || compareKindValue(a.candidate, b.candidate))
  return { kept, rejected }
}
