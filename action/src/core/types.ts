/**
 * The shared vocabulary of gateway-tls-bypass.
 *
 * Everything in `core/` is pure: it takes these values and returns these values. The
 * log sources (Logpush files, Log Explorer SQL) produce `Observations`; the collect
 * planner turns observations plus the committed files into a `CollectPlan`; the sync
 * planner turns the committed files plus the remote Cloudflare state into a `SyncPlan`.
 * Renderers turn plans into Markdown and text. Adapters (Cloudflare, GitHub, files,
 * clock) live outside `core/` and are passed in.
 */

import type { CertlessThresholds, DeviceTally } from './devices.js'

/** The two kinds of list this project maintains. */
export type EntryKind = 'ip' | 'host'

/** A `file:line: why` problem in an input file. `line` is 1-based; `column` too, if known. */
export interface FileProblem {
  file: string
  line: number
  column?: number
  message: string
}

/** Counters of a candidate, identical in meaning for both log sources. */
export interface Stats {
  /** Failing sessions (or bypassed requests, for `bypass-log` evidence). */
  sessions: number
  /** Distinct device ids. Counted, never stored in any output. */
  devices: number
  /** Distinct user ids (or emails, where the user id is empty). Counted, never output. */
  users: number
  /** Epoch milliseconds. */
  firstSeen: number
  lastSeen: number
}

/**
 * What the logs say, already aggregated. Both sources produce exactly this shape:
 * Logpush by streaming every record, Log Explorer by GROUP BY queries in Cloudflare.
 *
 * Keys are the values as logged, lower-cased and trimmed, but NOT yet validated: the
 * planner canonicalises them and reports the invalid ones. Sources that can canonicalise
 * while aggregating (Logpush) may do so; the planner merges keys that canonicalise alike.
 */
export interface Observations {
  /** The time window the records were selected from (epoch ms); `from` null = no filter. */
  window: { from: number | null; to: number }
  /** Failing sessions that carried an SNI, by SNI. */
  hostFailures: Map<string, Stats>
  /** Failing sessions without an SNI, by OriginIP. */
  ipFailures: Map<string, Stats>
  /** For each failing SNI: the origin IPs it was seen on (failing sessions). */
  hostIps: Map<string, Set<string>>
  /** For each origin IP: every SNI seen on it, from every session (failing or not). */
  ipHosts: Map<string, Set<string>>
  /** Hostnames that the managed Do Not Inspect policy bypassed (`gateway_http`). */
  bypassedHosts: Map<string, Stats>
  /**
   * Devices that look like they lack the Gateway certificate (`core/devices.ts`). Their
   * failing sessions are already left out of `hostFailures`, `ipFailures` and `hostIps`.
   * Absent when the source did not tally devices.
   */
  certless?: CertlessReport
  /**
   * Traffic the managed Do Not Inspect policy bypassed, for the idle rule (issue 10): last
   * bypassed request per logged HTTPHost and per logged DestinationIP (keys as logged), over
   * `covers`. Absent when the source could not read `gateway_http`.
   */
  usage?: BypassUsage
  stats: SourceStats
}

/** What the managed policy bypassed, per destination (issue 10's idle rule). */
export interface BypassUsage {
  /** The span the usage data covers (epoch ms). The idle rule needs it to cover `idle-days`. */
  covers: { from: number; to: number }
  /** Last bypassed request (epoch ms) per HTTPHost. */
  hosts: Map<string, number>
  /** Last bypassed request (epoch ms) per DestinationIP. */
  ips: Map<string, number>
}

/** A value a reviewer rejected: its proposal PR was closed unmerged, or its line deleted before merging. */
export interface Rejection {
  kind: EntryKind
  value: string
  /** The proposal PR's number. */
  pr: number
  /** When the PR was closed or merged (epoch ms). */
  at: number
}

/** When a listed entry was listed: the Gateway item's `created_at`, else the commit that added the line. */
export interface ListedSince {
  at: number
  from: 'gateway' | 'git'
}

/** What the sources found about certificate-less devices; anonymous counts only. */
export interface CertlessReport {
  /** One tally per certificate-less device, strongest first; never an id. */
  devices: DeviceTally[]
  /** Devices tallied in the window (all of them), for "1 of 412 devices". */
  devicesSeen: number
  /** Failing sessions of those devices, counted toward no candidate. */
  sessionsExcluded: number
  /**
   * Destinations whose TLS failed only on certificate-less devices (keys as logged, like
   * `hostFailures`), with the stats of those failures. Not proposed; reported collapsed.
   */
  onlyCertless: { hosts: Map<string, Stats>; ips: Map<string, Stats> }
}

/** How much was read and what could not be used; shown in every rendering. */
export interface SourceStats {
  source: 'logpush' | 'log-explorer'
  /** Records read, per recognised dataset. */
  records: Partial<Record<Dataset, number>>
  /** Records inside the lookback window that were considered. */
  inWindow: number
  /** Lines that were not JSON objects, or lacked the fields of any dataset. */
  malformedLines: number
  /** Files read; files skipped (not `.log.gz`); files that were corrupt or truncated. */
  filesRead: number
  filesSkipped: number
  /** Logpush: files not read because their name puts them wholly outside the window. */
  filesOutsideWindow?: number
  filesCorrupt: number
  /** Log Explorer: queries run, and how many times a window had to be split. */
  queries?: number
  splits?: number
  /** Human-readable warnings from the source (e.g. "dataset returned no rows"). */
  warnings: string[]
}

export type Dataset = 'zero_trust_network_sessions' | 'gateway_http' | 'gateway_network'

/** An exclusion rule from `exclusions.yaml`. */
export interface ExclusionRule {
  /** Canonical hostname, IP or CIDR. */
  value: string
  kind: EntryKind
  reason: string
  /** `YYYY-MM-DD`, inclusive: the rule applies through the end of that day (UTC). */
  expires?: string
  /** Where the rule is written, for messages. */
  line: number
}

/**
 * Why a value is proposed: failing TLS sessions, requests the managed policy bypassed
 * (which teaches the hostname behind a bypassed IP), or an entry someone added by hand
 * in the dashboard that sync reported as drift (imported into the files for review).
 */
export type EvidenceSource = 'tls-error' | 'bypass-log' | 'dashboard'

/** A value the logs point at, with everything a reviewer needs to judge it. */
export interface Candidate {
  kind: EntryKind
  /** Canonical value (see `core/values.ts`). */
  value: string
  source: EvidenceSource
  stats: Stats
  /** IPs seen for a hostname, or hostnames seen on an IP; canonical, sorted, capped. */
  otherSide: string[]
  /** How many other-side values there were before capping. */
  otherSideTotal: number
}

/** A candidate that an exclusion rule stopped. */
export interface Suppressed {
  candidate: Candidate
  rule: ExclusionRule
  /** For an IP stopped because an excluded hostname was seen on it: that hostname. */
  via?: string
}

/** An entry already in the list files that now matches an exclusion. */
export interface Removal {
  kind: EntryKind
  value: string
  rule: ExclusionRule
  via?: string
}

/** A logged value that cannot be a list entry (hostile, malformed, IP literal as SNI...). */
export interface InvalidValue {
  kind: EntryKind
  /** The raw value; renderers must escape it. Truncated to 300 characters by the planner. */
  raw: string
  reason: string
  sessions: number
}

export interface CollectOptions {
  minSessions: number
  minDevices: number
  /** Cap on additions per run; 0 means no additions at all, Infinity means no cap. */
  maxNewEntries: number
  /** Epoch ms; used for exclusion expiry. */
  now: number
  /** Broadest networks a list line may be (`widest-ipv4-prefix`/`-ipv6-`); default /24 and /48. */
  widest?: { v4: number; v6: number }
}

/** The result of collect: what to change in `lists/`, and why, and what was not done. */
export interface CollectPlan {
  additions: Candidate[]
  removals: Removal[]
  suppressed: Suppressed[]
  heldBack: Candidate[]
  /** Candidates seen but under `min-sessions` / `min-devices`. */
  belowThreshold: Candidate[]
  invalid: InvalidValue[]
  /** Candidates already present in the list files (no change). */
  alreadyListed: number
  /** Exclusion rules that have expired (they no longer apply). */
  expiredRules: ExclusionRule[]
  /** The list contents after the plan is applied; canonical and sorted. */
  next: { ips: string[]; hosts: string[] }
  options: CollectOptions
  observed: SourceStats & { window: Observations['window'] }
  warnings: string[]
  /** Certificate-less devices and what failed only on them; absent when the source did not tally devices. */
  certless?: CertlessPlan
  /** Issue 10's lifecycle: idle removals, remembered rejections, listed values still failing. Absent when the caller passed no lifecycle. */
  lifecycle?: LifecyclePlan
}

/** A listed entry the idle rule proposes to remove: listed at least `idle-days` ago, no bypassed traffic within them. */
export interface IdleRemoval {
  kind: EntryKind
  value: string
  listedSince: ListedSince
  /** The last bypassed request for it, when the usage data holds one (older than the idle window). */
  lastUsed?: number
}

/** A candidate not proposed again because a reviewer rejected it within `reject-days`. */
export interface RejectedCandidate {
  candidate: Candidate
  /** The proposal PR that was rejected, and when (epoch ms); the latest rejection if several. */
  pr: number
  at: number
}

/** A listed value whose TLS still fails after it was listed: the bypass does not fix it. Report only. */
export interface StillFailing {
  kind: EntryKind
  value: string
  /** The list entry it falls under: itself, or the listed network holding an IP. */
  entry: string
  listedSince: ListedSince
  /** This run's TLS failures of the value (the window may start before it was listed). */
  stats: Stats
}

export interface LifecyclePlan {
  /** 0 = the idle rule is off. */
  idleDays: number
  rejectDays: number
  idle: {
    /** Proposed for removal (also reflected in `next`). */
    removals: IdleRemoval[]
    /** Idle, but over what sync's removal guard allows in one PR: they wait for a later PR. */
    heldBack: IdleRemoval[]
    /** False when the idle rule could not judge (off, no usage data, too short a span): then nothing is idle. */
    judged: boolean
  }
  rejected: RejectedCandidate[]
  stillFailing: StillFailing[]
  /** Why something could not be judged (no listed-since dates, usage too short...), once each. */
  notes: string[]
}

/** `Observations.certless` after the planner: canonical, merged, counts only (issue 9). */
export interface CertlessPlan {
  /** One tally per certificate-less device, strongest first; never an id. */
  devices: DeviceTally[]
  devicesSeen: number
  sessionsExcluded: number
  /**
   * Destinations whose TLS failed only on those devices: canonical, spellings merged,
   * strongest first. Never proposed. Values already listed, excluded, or failing on other
   * devices too (`elsewhere`: also a candidate this run) are left out and counted in
   * `notShown`, like the values that are not valid destinations.
   */
  onlyCertless: { kind: EntryKind; value: string; stats: Stats }[]
  notShown: { listed: number; excluded: number; elsewhere: number; invalid: number }
  /** The rule the source applied, and the ports its TLS sessions were on (for the admin's query). */
  thresholds: CertlessThresholds
  ports: number[]
}
