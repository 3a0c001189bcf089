/**
 * The collect planner: observations + committed lists + exclusions → a `CollectPlan`.
 *
 * Pure: no I/O, no clock (time comes in `options.now`). A pipeline of named stages, each a
 * small pure function in `plan/` with its own tests, read top to bottom in
 * `buildCollectPlan`:
 *
 * 1. canonicalise (`plan/canonical.ts`): every logged key gets one spelling; keys that
 *    canonicalise alike merge (sessions add, devices/users take the max: a lower bound, the
 *    safe direction for thresholds). Keys that cannot be list entries go to `invalid`.
 * 2. evidence (`plan/evidence.ts`): logged candidates, dashboard imports, the open PR's
 *    carried proposals (re-validated), the other side of each value.
 * 3. exclusions (`plan/exclusions.ts`, `plan/select.ts`): already-listed values are only
 *    counted; exclusions are absolute and checked before thresholds, and `suppressed`
 *    reports only what would otherwise have been proposed.
 * 4. thresholds (`plan/select.ts`): `min-sessions` AND `min-devices` on log evidence;
 *    imports skip them; a carried proposal stays while its recorded evidence or this run's
 *    meets them.
 * 5. rejections (`plan/rejections.ts`): what a reviewer rejected within `reject-days` is
 *    not proposed again.
 * 6. cap: the strongest `max-new-entries` become additions; the rest is held back.
 * 7. removals: listed entries that an exclusion now covers (`plan/removals.ts`), then idle
 *    ones, within what sync's removal guard allows (`plan/idle.ts`).
 * 8. the next lists (`plan/next.ts`) and the warnings (`plan/warnings.ts`).
 *
 * Reported only: certificate-less devices (`plan/certless.ts`), by counts; listed values
 * whose TLS still fails after they were listed (`plan/still-failing.ts`).
 */
import type { CertlessThresholds } from './devices.js'
import type { Candidate, CollectOptions, CollectPlan, EntryKind, ExclusionRule, LifecyclePlan, ListedSince, Observations, Rejection, Removal } from './types.js'
import { compareStrength, INVALID_RAW_MAX, OTHER_SIDE_CAP } from './plan/canonical.js'
import { planCertless } from './plan/certless.js'
import { carriedProposals, gather, InvalidValues, observe, otherSides } from './plan/evidence.js'
import { exclusionLookup, listedOf, rulesInForce, type Listed } from './plan/exclusions.js'
import { idleStage } from './plan/idle.js'
import { canonicalListedSince } from './plan/listed-since.js'
import { nextLists } from './plan/next.js'
import { applyRejections, rejectionsInForce } from './plan/rejections.js'
import { removalsByExclusion } from './plan/removals.js'
import { applyExclusions, applyThresholds, capAdditions, contenders, dropListed } from './plan/select.js'
import { stillFailing } from './plan/still-failing.js'
import { planWarnings } from './plan/warnings.js'

export { compareStrength, INVALID_RAW_MAX, OTHER_SIDE_CAP }

/** Everything the planner needs; all of it already read and parsed by the caller. */
export interface CollectInput {
  observations: Observations
  /** Canonical entries from `lists/` on the base branch. */
  current: { ips: string[]; hosts: string[] }
  /** Exclusion rules in force, and those the loader found expired (reported, never applied). */
  rules: ExclusionRule[]
  expiredRules: ExclusionRule[]
  options: CollectOptions
  /** Proposals of the still-open PR (from the bot's own commit), kept on re-runs if still valid. */
  carried?: { additions: Candidate[] }
  /** Hand-added Gateway items that sync reported as drift: proposed for import (source 'dashboard'). */
  imports?: { kind: EntryKind; value: string }[]
  /** The certificate-less rule the source applied and its ports (defaults: 10 / 50%, port 443). */
  certlessRule?: { thresholds: CertlessThresholds; ports: readonly number[] }
  /**
   * Issue 10's lifecycle. `idleDays` 0 turns the idle rule off. `listedSince` is keyed
   * `kind:value` (canonical); an entry without one is never idle, and `listedSinceNote`
   * says why there is none (no token, shallow history...).
   */
  lifecycle?: { idleDays: number; rejectDays: number; listedSince: Map<string, ListedSince>; listedSinceNote?: string }
  /** Values reviewers rejected (from the closed and merged proposal PRs, never from editable text). */
  rejected?: Rejection[]
}

/** Builds the collect plan. Deterministic: the same input always gives the same plan. */
export function buildCollectPlan(input: CollectInput): CollectPlan {
  const { observations: obs, options } = input
  // canonicalise, evidence
  const invalid = new InvalidValues()
  const sides = otherSides(obs)
  const { observed, failures } = observe(obs, invalid)
  const gathered = gather(observed, input.imports ?? [], sides, invalid, options.widest)
  const carried = carriedProposals(input.carried?.additions ?? [], options.widest)
  // exclusions, thresholds, rejections, cap
  const rules = rulesInForce(input.rules, input.expiredRules, options.now)
  const listed = listedOf(input.current)
  const exclusionFor = exclusionLookup(rules.active, sides.namesOnIp)
  const unlisted = dropListed(contenders(gathered, carried.carried), listed)
  const allowed = applyExclusions(unlisted.rest, exclusionFor, options)
  const strong = applyThresholds(allowed.rest, options)
  const life = input.lifecycle
  const refusals = rejectionsInForce(input.rejected, options.now, life?.rejectDays ?? 0)
  const unrejected = applyRejections(strong.eligible, refusals)
  const { additions, heldBack } = capAdditions(unrejected.kept, options.maxNewEntries)
  // removals, the next lists
  const removals = removalsByExclusion(listed, exclusionFor)
  const lifecycle = life ? planLifecycle(input, life, listed, removals, { rejected: unrejected.rejected, refusals }, failures.values()) : undefined
  const certless = planCertless(obs.certless, {
    rule: input.certlessRule,
    observed: new Set(observed.keys()),
    isListed: listed.has,
    isExcluded: (kind, value) => exclusionFor(kind, value) !== undefined
  })
  return {
    additions,
    removals,
    suppressed: allowed.suppressed,
    heldBack,
    belowThreshold: strong.belowThreshold,
    invalid: invalid.sorted(),
    alreadyListed: unlisted.alreadyListed,
    expiredRules: rules.expired,
    next: nextLists(listed, additions, [...removals, ...(lifecycle?.idle.removals ?? [])]),
    options,
    observed: { ...obs.stats, warnings: [...obs.stats.warnings], window: { ...obs.window } },
    warnings: planWarnings(obs.stats, rules.expired, { excluded: allowed.carriedExcluded, listed: unlisted.carriedListed, below: strong.carriedBelow, malformed: carried.malformed }),
    ...(certless ? { certless } : {}),
    ...(lifecycle ? { lifecycle } : {})
  }
}

/** Issue 10's rules on listed entries: idle removals and values still failing; with the rejections found above. */
function planLifecycle(input: CollectInput, life: NonNullable<CollectInput['lifecycle']>, listed: Listed, removed: Removal[], rejections: { rejected: LifecyclePlan['rejected']; refusals: Map<string, { pr: number; at: number }> }, failures: Parameters<typeof stillFailing>[0]): LifecyclePlan {
  const since = canonicalListedSince(life.listedSince)
  const idleDays = Math.max(0, Math.floor(Number(life.idleDays) || 0))
  const idle = idleStage({ idleDays, now: input.options.now, usage: input.observations.usage, listed, since, listedSinceNote: life.listedSinceNote, removed, refused: rejections.refusals })
  return {
    idleDays,
    rejectDays: Math.max(0, Math.floor(Number(life.rejectDays) || 0)),
    idle: { removals: idle.removals, heldBack: idle.heldBack, judged: idle.judged },
    rejected: rejections.rejected,
    stillFailing: stillFailing(failures, listed, since),
    notes: idle.notes
  }
}
