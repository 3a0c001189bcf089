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
 * 5. cap: the strongest `max-new-entries` become additions; the rest is held back.
 * 6. removals (`plan/removals.ts`): listed entries that an exclusion now covers.
 * 7. the next lists (`plan/next.ts`) and the warnings (`plan/warnings.ts`).
 *
 * Certificate-less devices (`plan/certless.ts`) are reported by counts only.
 */
import type { CertlessThresholds } from './devices.js'
import type { Candidate, CollectOptions, CollectPlan, EntryKind, ExclusionRule, ListedSince, Observations, Rejection } from './types.js'
import { compareStrength, INVALID_RAW_MAX, OTHER_SIDE_CAP } from './plan/canonical.js'
import { planCertless } from './plan/certless.js'
import { carriedProposals, gather, InvalidValues, observe, otherSides } from './plan/evidence.js'
import { exclusionLookup, listedOf, rulesInForce } from './plan/exclusions.js'
import { nextLists } from './plan/next.js'
import { removalsByExclusion } from './plan/removals.js'
import { applyExclusions, applyThresholds, capAdditions, contenders, dropListed } from './plan/select.js'
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
  const { observed } = observe(obs, invalid)
  const gathered = gather(observed, input.imports ?? [], sides, invalid, options.widest)
  const carried = carriedProposals(input.carried?.additions ?? [], options.widest)
  // exclusions, thresholds, cap
  const rules = rulesInForce(input.rules, input.expiredRules, options.now)
  const listed = listedOf(input.current)
  const exclusionFor = exclusionLookup(rules.active, sides.namesOnIp)
  const unlisted = dropListed(contenders(gathered, carried.carried), listed)
  const allowed = applyExclusions(unlisted.rest, exclusionFor, options)
  const strong = applyThresholds(allowed.rest, options)
  const { additions, heldBack } = capAdditions(strong.eligible, options.maxNewEntries)
  // removals, the next lists
  const removals = removalsByExclusion(listed, exclusionFor)
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
    next: nextLists(listed, additions, removals),
    options,
    observed: { ...obs.stats, warnings: [...obs.stats.warnings], window: { ...obs.window } },
    warnings: planWarnings(obs.stats, rules.expired, { excluded: allowed.carriedExcluded, listed: unlisted.carriedListed, below: strong.carriedBelow, malformed: carried.malformed }),
    ...(certless ? { certless } : {})
  }
}
