/**
 * The collect planner: observations + committed lists + exclusions → a `CollectPlan`.
 *
 * Pure: no I/O, no clock (time comes in `options.now`). Every decision it makes is visible
 * in the plan, so the renderers can explain it to a reviewer:
 *
 * 1. Every logged key is canonicalised; keys that canonicalise alike are merged (sessions
 *    add, devices/users take the max: a lower bound, the safe direction for thresholds).
 *    Keys that cannot be list entries go to `invalid`, never to candidates.
 * 2. Already-listed values are only counted.
 * 3. Exclusions are absolute and checked before thresholds; `suppressed` reports only the
 *    candidates that would otherwise have been proposed (passed the thresholds, or are
 *    dashboard imports or carried proposals). Excluded values below the thresholds are
 *    dropped silently: they would not have been proposed anyway, and listing every
 *    one-session subdomain of an excluded domain each run is noise.
 * 4. Thresholds (`min-sessions` AND `min-devices`) apply to log evidence; dashboard
 *    imports skip them (a reviewer already decides on those). A carried proposal stays
 *    while its recorded evidence (from the bot's own commit) or this run's meets the
 *    current thresholds.
 * 5. The strongest candidates, up to `max-new-entries`, become additions; the rest is held back.
 * 6. Listed entries that now match an exclusion become removals.
 * 7. Certificate-less devices (`core/devices.ts`) are reported by counts only. The sources
 *    already left their failing sessions out of every candidate; what failed only on them
 *    (`onlyCertless`) is canonicalised like the rest but can never become a candidate.
 */
import { cleanTally, compareTallies, safeRule, type CertlessThresholds } from './devices.js'
import { matchHost, ruleCovering } from './exclusions.js'
import type {
  Candidate,
  CertlessPlan,
  CollectOptions,
  CollectPlan,
  EntryKind,
  EvidenceSource,
  ExclusionRule,
  InvalidValue,
  ListedSince,
  Observations,
  Rejection,
  Removal,
  Stats,
  Suppressed
} from './types.js'
import { listEntryProblem } from './listfile.js'
import { canonicalHost, canonicalIp, canonicalValue, compareHosts, compareIps, compareValues, ipInNetwork, isIpLiteral } from './values.js'

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

/** How many other-side values a candidate carries (the total is kept in `otherSideTotal`). */
export const OTHER_SIDE_CAP = 20

/** Raw invalid values are cut to this many characters (they are hostile and only shown). */
export const INVALID_RAW_MAX = 300

const DAY_MS = 86_400_000

const IP_LITERAL_SNI = 'an IP literal in SNI is not a hostname'

type Canon = { ok: true; value: string } | { ok: false; reason: string }

/** A logged SNI: an IP literal there is a distinct, explicit reason (and never an IP candidate). */
function canonSni(raw: string): Canon {
  if (isIpLiteral(raw.trim())) return { ok: false, reason: IP_LITERAL_SNI }
  const c = canonicalHost(raw)
  return c.ok || !/IP literal/.test(c.reason) ? c : { ok: false, reason: IP_LITERAL_SNI }
}

/** A logged origin IP: one address; a CIDR cannot be the address of a session. */
function canonAddress(raw: string): Canon {
  const c = canonicalIp(raw)
  if (c.ok && c.value.includes('/')) return { ok: false, reason: 'a logged origin IP cannot be a network (CIDR)' }
  return c
}

/** Earliest of two "first seen" times; 0 (or less) means unknown (dashboard imports). */
function minSeen(a: number, b: number): number {
  if (!(a > 0)) return b
  if (!(b > 0)) return a
  return Math.min(a, b)
}

function mergeStats(a: Stats, b: Stats): Stats {
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

function num(x: unknown): number {
  return typeof x === 'number' && Number.isFinite(x) && x >= 0 ? x : 0
}

function cleanStats(s: Partial<Stats> | undefined): Stats {
  return {
    sessions: num(s?.sessions),
    devices: num(s?.devices),
    users: num(s?.users),
    firstSeen: num(s?.firstSeen),
    lastSeen: num(s?.lastSeen)
  }
}

const ZERO_STATS: Stats = { sessions: 0, devices: 0, users: 0, firstSeen: 0, lastSeen: 0 }

function keyOf(kind: EntryKind, value: string): string {
  return `${kind} ${value}`
}

function truncateRaw(raw: string): string {
  if (raw.length <= INVALID_RAW_MAX) return raw
  let end = INVALID_RAW_MAX - 1
  const last = raw.charCodeAt(end - 1)
  if (last >= 0xd800 && last <= 0xdbff) end--
  return `${raw.slice(0, end)}…`
}

/** Canonical values seen on the other side of a key, and how many raw values were unusable. */
interface OtherSide {
  valid: Set<string>
  invalid: Set<string>
}

function addOther(map: Map<string, OtherSide>, key: string): OtherSide {
  let o = map.get(key)
  if (!o) {
    o = { valid: new Set(), invalid: new Set() }
    map.set(key, o)
  }
  return o
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

function compareKindValue(a: { kind: EntryKind; value: string }, b: { kind: EntryKind; value: string }): number {
  if (a.kind !== b.kind) return a.kind === 'host' ? -1 : 1
  return compareValues(a.kind, a.value, b.value)
}

/** The end of a rule's `expires` day (UTC), or NaN when absent/unreadable (never expires). */
function expiryEnd(expires: string | undefined): number {
  const m = expires === undefined ? null : /^(\d{4})-(\d{2})-(\d{2})$/.exec(expires)
  if (!m) return Number.NaN
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) + DAY_MS
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`
}

interface CertlessContext {
  rule: CollectInput['certlessRule']
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
function planCertless(report: Observations['certless'], ctx: CertlessContext): CertlessPlan | undefined {
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

/** Builds the collect plan. Deterministic: the same input always gives the same plan. */
export function buildCollectPlan(input: CollectInput): CollectPlan {
  const { observations: obs, options } = input

  // --- Exclusions: expired rules are reported and never applied (even if the caller
  // passed them as active: expiry is checked here against options.now too).
  const isExpired = (r: ExclusionRule): boolean => options.now >= expiryEnd(r.expires)
  const active = input.rules.filter((r) => !isExpired(r))
  const expiredSeen = new Set<string>()
  const expiredRules = [...input.expiredRules, ...input.rules.filter(isExpired)]
    .filter((r) => {
      const k = `${r.kind} ${r.value} ${r.line}`
      if (expiredSeen.has(k)) return false
      expiredSeen.add(k)
      return true
    })
    .sort((a, b) => a.line - b.line || compareKindValue(a, b))

  // --- Invalid values, merged by kind and raw text.
  const invalid = new Map<string, InvalidValue>()
  const addInvalid = (kind: EntryKind, raw: string, reason: string, sessions: number): void => {
    const k = `${kind}\u0000${raw}`
    const prev = invalid.get(k)
    if (prev) prev.sessions += sessions
    else invalid.set(k, { kind, raw: truncateRaw(raw), reason, sessions })
  }

  // --- Other sides. Keys and values are canonicalised; unusable ones are counted in the
  // total (a reviewer judging "is this IP shared?" should know there were more names).
  const hostIps = new Map<string, OtherSide>()
  for (const [rawHost, ips] of obs.hostIps) {
    const h = canonSni(rawHost)
    if (!h.ok) continue // the host itself is reported invalid via hostFailures, if it failed
    const o = addOther(hostIps, h.value)
    for (const rawIp of ips) {
      const ip = canonAddress(rawIp)
      if (ip.ok) o.valid.add(ip.value)
      else o.invalid.add(rawIp)
    }
  }
  const ipHosts = new Map<string, OtherSide>()
  for (const [rawIp, hosts] of obs.ipHosts) {
    const ip = canonAddress(rawIp)
    if (!ip.ok) continue
    const o = addOther(ipHosts, ip.value)
    for (const rawHost of hosts) {
      const h = canonSni(rawHost)
      if (h.ok) o.valid.add(h.value)
      else o.invalid.add(rawHost)
    }
  }
  // Every hostname seen on an IP, from both directions: used for "excluded via hostname".
  const namesOnIp = new Map<string, Set<string>>()
  for (const [ip, o] of ipHosts) namesOnIp.set(ip, new Set(o.valid))
  for (const [host, o] of hostIps) {
    for (const ip of o.valid) {
      let s = namesOnIp.get(ip)
      if (!s) namesOnIp.set(ip, (s = new Set()))
      s.add(host)
    }
  }

  const otherSideOf = (map: Map<string, OtherSide>, key: string, kind: EntryKind): Pick<Candidate, 'otherSide' | 'otherSideTotal'> => {
    const o = map.get(key)
    if (!o) return { otherSide: [], otherSideTotal: 0 }
    // The other side of a hostname is IPs, and of an IP hostnames.
    const cmp = kind === 'host' ? compareIps : compareHosts
    const sorted = [...o.valid].sort(cmp)
    return { otherSide: sorted.slice(0, OTHER_SIDE_CAP), otherSideTotal: o.valid.size + o.invalid.size }
  }

  // --- Observed candidates.
  const observed = new Map<string, { kind: EntryKind; value: string; source: EvidenceSource; stats: Stats }>()
  const observe = (kind: EntryKind, value: string, source: EvidenceSource, stats: Stats): void => {
    const k = keyOf(kind, value)
    const prev = observed.get(k)
    if (!prev) observed.set(k, { kind, value, source, stats: cleanStats(stats) })
    else {
      prev.stats = mergeStats(prev.stats, cleanStats(stats))
      // Failing TLS is the stronger evidence: a host in both keeps 'tls-error'.
      if (source === 'tls-error') prev.source = 'tls-error'
    }
  }
  for (const [raw, stats] of obs.hostFailures) {
    const h = canonSni(raw)
    if (h.ok) observe('host', h.value, 'tls-error', stats)
    else addInvalid('host', raw, h.reason, num(stats.sessions))
  }
  for (const [raw, stats] of obs.bypassedHosts) {
    const h = canonSni(raw)
    if (h.ok) observe('host', h.value, 'bypass-log', stats)
    else addInvalid('host', raw, h.reason, num(stats.sessions))
  }
  // IP candidates come only from failures without SNI, never from host keys.
  for (const [raw, stats] of obs.ipFailures) {
    const ip = canonAddress(raw)
    if (ip.ok) observe('ip', ip.value, 'tls-error', stats)
    else addInvalid('ip', raw, ip.reason, num(stats.sessions))
  }

  const toCandidate = (kind: EntryKind, value: string, source: EvidenceSource, stats: Stats): Candidate => ({
    kind,
    value,
    source,
    stats,
    ...(kind === 'host' ? otherSideOf(hostIps, value, 'host') : otherSideOf(ipHosts, value, 'ip'))
  })

  const candidates = new Map<string, { candidate: Candidate; imported: boolean }>()
  for (const [k, o] of observed) candidates.set(k, { candidate: toCandidate(o.kind, o.value, o.source, o.stats), imported: false })

  // --- Dashboard imports: no log evidence needed; logged evidence is shown if there is any.
  for (const item of input.imports ?? []) {
    const kind: EntryKind = item.kind === 'ip' ? 'ip' : 'host'
    const c = canonicalValue(kind, String(item.value))
    if (!c.ok) {
      addInvalid(kind, String(item.value), `dashboard item: ${c.reason}`, 0)
      continue
    }
    const tooBroad = listEntryProblem(kind, c.value, input.options.widest)
    if (tooBroad) {
      addInvalid(kind, c.value, `dashboard item: ${tooBroad}`, 0)
      continue
    }
    const k = keyOf(kind, c.value)
    const prev = candidates.get(k)
    if (prev) candidates.set(k, { candidate: { ...prev.candidate, source: 'dashboard' }, imported: true })
    else candidates.set(k, { candidate: toCandidate(kind, c.value, 'dashboard', { ...ZERO_STATS }), imported: true })
  }

  // --- Listed and excluded.
  const listedHosts = new Set<string>()
  for (const h of input.current.hosts) {
    const c = canonicalHost(h)
    listedHosts.add(c.ok ? c.value : h)
  }
  const listedIps = new Set<string>()
  for (const ip of input.current.ips) {
    const c = canonicalIp(ip)
    listedIps.add(c.ok ? c.value : ip)
  }
  const listedNets = [...listedIps].filter((v) => v.includes('/'))
  const isListed = (kind: EntryKind, value: string): boolean =>
    kind === 'host' ? listedHosts.has(value) : listedIps.has(value) || listedNets.some((n) => ipInNetwork(value, n))

  /** Hostnames seen on an IP, or on any observed IP inside a CIDR; sorted. */
  const namesSeenOn = (ipOrCidr: string): string[] => {
    const names = new Set<string>(namesOnIp.get(ipOrCidr) ?? [])
    if (ipOrCidr.includes('/')) {
      for (const [ip, s] of namesOnIp) if (ipInNetwork(ip, ipOrCidr)) for (const n of s) names.add(n)
    }
    return [...names].sort(compareHosts)
  }
  const exclusionFor = (kind: EntryKind, value: string): { rule: ExclusionRule; via?: string } | undefined => {
    const rule = ruleCovering(active, kind, value)
    if (rule) return { rule }
    if (kind === 'host') return undefined
    // Bypassing an IP bypasses every hostname served from it, the excluded ones too.
    for (const name of namesSeenOn(value)) {
      const byName = matchHost(active, name)
      if (byName) return { rule: byName, via: name }
    }
    return undefined
  }

  // --- Carried proposals of the open PR, re-validated: canonical form, list-file limits,
  // exclusions and the current thresholds all apply again.
  const carried = new Map<string, Candidate>()
  let carriedMalformed = 0
  for (const raw of input.carried?.additions ?? []) {
    const kind: EntryKind | undefined = raw?.kind === 'ip' || raw?.kind === 'host' ? raw.kind : undefined
    const c = kind && typeof raw.value === 'string' ? canonicalValue(kind, raw.value) : undefined
    // A list file refuses networks broader than `widest-*-prefix`; writing one would break sync.
    if (!kind || !c?.ok || listEntryProblem(kind, c.value, input.options.widest) !== undefined) {
      carriedMalformed++
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

  const eligible: Candidate[] = []
  const suppressed: Suppressed[] = []
  const belowThreshold: Candidate[] = []
  let alreadyListed = 0
  let carriedListed = 0
  let carriedExcluded = 0
  let carriedBelow = 0
  const meets = (st: Stats): boolean => st.sessions >= options.minSessions && st.devices >= options.minDevices

  const sortedKeys = [...candidates.keys()].sort()
  for (const k of sortedKeys) {
    const entry = candidates.get(k)
    if (!entry) continue
    const { candidate, imported } = entry
    const prior = carried.get(k)
    carried.delete(k)
    if (isListed(candidate.kind, candidate.value)) {
      alreadyListed++
      if (prior) carriedListed++
      continue
    }
    const passes = imported || (candidate.stats.sessions >= options.minSessions && candidate.stats.devices >= options.minDevices)
    const ex = exclusionFor(candidate.kind, candidate.value)
    if (ex) {
      if (passes || prior) suppressed.push({ candidate, ...ex })
      if (prior) carriedExcluded++
      continue
    }
    if (prior && !passes && !meets(prior.stats)) {
      carriedBelow++
      belowThreshold.push(candidate)
    } else if (prior) {
      // Observed again: this run's counts win (they describe the current window), the
      // earliest first sighting is kept, and the proposal stays while either this run's or
      // the recorded evidence meets the thresholds.
      eligible.push({
        ...candidate,
        stats: { ...candidate.stats, firstSeen: minSeen(prior.stats.firstSeen, candidate.stats.firstSeen), lastSeen: Math.max(prior.stats.lastSeen, candidate.stats.lastSeen) },
        ...(candidate.otherSideTotal === 0 && prior.otherSideTotal > 0 ? { otherSide: prior.otherSide, otherSideTotal: prior.otherSideTotal } : {})
      })
    } else if (passes) eligible.push(candidate)
    else belowThreshold.push(candidate)
  }
  // Carried proposals not observed in this window keep their recorded evidence.
  for (const k of [...carried.keys()].sort()) {
    const prior = carried.get(k)
    if (!prior) continue
    if (isListed(prior.kind, prior.value)) {
      carriedListed++
      continue
    }
    const ex = exclusionFor(prior.kind, prior.value)
    if (ex) {
      suppressed.push({ candidate: prior, ...ex })
      carriedExcluded++
      continue
    }
    if (!meets(prior.stats)) {
      carriedBelow++
      belowThreshold.push(prior)
      continue
    }
    eligible.push(prior)
  }

  const certless = planCertless(obs.certless, {
    rule: input.certlessRule,
    observed: new Set(observed.keys()),
    isListed,
    isExcluded: (kind, value) => exclusionFor(kind, value) !== undefined
  })

  // --- Cap.
  eligible.sort(compareStrength)
  const cap = Number.isNaN(options.maxNewEntries) ? 0 : Math.max(0, options.maxNewEntries)
  const additions = cap === Infinity ? eligible : eligible.slice(0, Math.floor(cap))
  const heldBack = eligible.slice(additions.length)
  belowThreshold.sort(compareStrength)
  suppressed.sort((a, b) => compareKindValue(a.candidate, b.candidate))

  // --- Removals: listed entries that an active exclusion now covers.
  const removals: Removal[] = []
  for (const value of [...listedHosts].sort(compareHosts)) {
    const ex = exclusionFor('host', value)
    if (ex) removals.push({ kind: 'host', value, ...ex })
  }
  for (const value of [...listedIps].sort(compareIps)) {
    const ex = exclusionFor('ip', value)
    if (ex) removals.push({ kind: 'ip', value, ...ex })
  }

  // --- Next list contents.
  const removed = new Set(removals.map((r) => keyOf(r.kind, r.value)))
  const nextHosts = new Set([...listedHosts, ...additions.filter((c) => c.kind === 'host').map((c) => c.value)])
  const nextIps = new Set([...listedIps, ...additions.filter((c) => c.kind === 'ip').map((c) => c.value)])
  const next = {
    ips: [...nextIps].filter((v) => !removed.has(keyOf('ip', v))).sort(compareIps),
    hosts: [...nextHosts].filter((v) => !removed.has(keyOf('host', v))).sort(compareHosts)
  }

  // --- Warnings.
  const warnings = [...obs.stats.warnings]
  const records = Object.values(obs.stats.records).reduce((n: number, x) => n + num(x), 0)
  if (records === 0) {
    warnings.push(
      obs.stats.source === 'logpush'
        ? 'no records in the window — is the dataset enabled / is Logpush writing to the bucket?'
        : 'no records in the window — is the dataset enabled / is Log Explorer ingesting it?'
    )
  } else if (obs.stats.inWindow === 0) {
    warnings.push(`${plural(records, 'record was', 'records were')} read but none is inside the lookback window`)
  }
  for (const r of expiredRules) {
    warnings.push(`exclusion ${r.value} (line ${r.line}) expired on ${r.expires ?? '?'}; it no longer applies`)
  }
  if (carriedExcluded) warnings.push(`${plural(carriedExcluded, 'earlier proposal is', 'earlier proposals are')} now excluded and no longer proposed`)
  if (carriedListed) warnings.push(`${plural(carriedListed, 'earlier proposal is', 'earlier proposals are')} now listed and no longer proposed`)
  if (carriedBelow) warnings.push(`${plural(carriedBelow, 'earlier proposal is', 'earlier proposals are')} below the current thresholds and no longer proposed`)
  if (carriedMalformed) warnings.push(`${plural(carriedMalformed, 'earlier proposal was', 'earlier proposals were')} not a valid value and dropped`)

  // Ties are broken on the full raw text (the map key): truncated values can collide.
  const invalidList = [...invalid.entries()].sort(
    ([ka, a], [kb, b]) => b.sessions - a.sessions || (a.kind === b.kind ? 0 : a.kind === 'host' ? -1 : 1) || (a.raw < b.raw ? -1 : a.raw > b.raw ? 1 : 0) || (ka < kb ? -1 : ka > kb ? 1 : 0)
  ).map(([, v]) => v)

  return {
    additions,
    removals,
    suppressed,
    heldBack,
    belowThreshold,
    invalid: invalidList,
    alreadyListed,
    expiredRules,
    next,
    options,
    observed: { ...obs.stats, warnings: [...obs.stats.warnings], window: { ...obs.window } },
    warnings,
    ...(certless ? { certless } : {})
  }
}
