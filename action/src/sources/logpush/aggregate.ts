/**
 * The aggregation state of one `readLogpush` run (or of one worker's share of it), and the
 * record semantics for a parsed JSON object (the slow path, which is also the definition the
 * fast byte-level path in `scan.ts` must agree with).
 *
 * Memory grows with the failing evidence, with the IPs on which an excluded hostname was seen,
 * and with the number of devices; never with ordinary traffic. Device and user ids live only
 * here and in the partials that workers post; they never reach `Observations`.
 */
import { isCertless, DEFAULT_CERTLESS, type CertlessThresholds, type DeviceTally } from '../../core/devices.js'
import { matchHost } from '../../core/rule-match.js'
import type { BypassUsage, CertlessReport, Dataset, ExclusionRule, Observations, SourceStats, Stats } from '../../core/types.js'
import { canonicalHost, isIpLiteral } from '../../core/values.js'
import { parseTime } from './time.js'

/** At most this many IPs kept per failing hostname (a reviewer's view, not the guard). */
export const OTHER_SIDE_CAP = 1000
/** Exclusion decisions remembered per distinct SNI; a flood of distinct SNIs only clears it. */
export const DECISION_CACHE = 50_000
/** At most this many characters of a non-string SNI are kept as its key. */
const ODD_SNI_MAX = 300

/** Options that change what a record means; a subset of `LogpushOptions`. */
export interface RecordRules {
  window: { from: number | null; to: number }
  ports: number[]
  policy: { name?: string; id?: string }
  exclusions?: ExclusionRule[]
  certless?: CertlessThresholds
  /** Issue 10's idle rule: read what the managed policy bypassed over this many days before `window.to` (0/absent: no usage). */
  usageDays?: number
}

/** The failing sessions of one device on one key: kept apart so a device can be taken out exactly. */
export interface DevAcc {
  sessions: number
  first: number
  last: number
  /** Its users: most devices have one, kept as a plain string; a Set only from the second. */
  users: Users
}

/** Distinct users: none, one, or several. */
export type Users = undefined | string | Set<string>

/** `users` with `u` added; a new Set only when a second distinct user appears. */
export function addUser(users: Users, u: string): Users {
  if (users === undefined || users === u) return users ?? u
  if (typeof users === 'string') return new Set([users, u])
  users.add(u)
  return users
}

function eachUser(users: Users, f: (u: string) => void): void {
  if (users === undefined) return
  if (typeof users === 'string') f(users)
  else for (const u of users) f(u)
}

/** Per key: device id ('' = none logged) to its sessions. */
export type Acc = Map<string, DevAcc>

/** What the scan knows of one device; `dests` are failing destinations ('h ' + SNI, 'i ' + IP). */
export interface DeviceAcc {
  tls: number
  failed: number
  dests: Set<string>
}

/** Everything a worker posts back: structured-clonable, merged exactly by `Aggregator.merge`. */
export interface PartialAggregate {
  hostFailures: Map<string, Acc>
  ipFailures: Map<string, Acc>
  hostIps: Map<string, Map<string, Set<string>>>
  excludedOn: Map<string, Set<string>>
  bypassedHosts: Map<string, Acc>
  devices: Map<string, DeviceAcc>
  records: Record<Dataset, number>
  inWindow: number
  malformedLines: number
  otherSideCapped: number
  usage: UsageAcc
}

/**
 * What the managed policy bypassed, for the idle rule: last request per HTTPHost and per
 * DestinationIP (keys as logged), and the span of every `gateway_http` record read (any
 * action), which tells how much of the idle window the folder covers.
 */
export interface UsageAcc {
  hosts: Map<string, number>
  ips: Map<string, number>
  first: number
  last: number
}

/** `ConnectionCloseReason` is a client TLS error, in any spelling seen over the years. */
export function isClientTlsError(v: unknown): boolean {
  return typeof v === 'string' && v.replace(/_/g, '').toLowerCase() === 'clienttlserror'
}

/** A string value as an Observations key: trimmed and lower-cased; anything else is ''. */
export function keyOf(v: unknown): string {
  return typeof v === 'string' ? v.trim().toLowerCase() : ''
}

/**
 * A copy that owns its characters. The fast path slices keys out of a whole chunk viewed as
 * one string, and V8 may keep such a slice as a view that pins the chunk: a map key that
 * lives for the whole run must not keep 64 KiB alive. Only new keys pay for this.
 */
export function owned(s: string): string {
  // Concatenation then slice makes V8 flatten into a new string of length + 1.
  return s.length < 13 ? s : (s + ' ').slice(0, -1)
}

/**
 * The key of an SNI that is not a string (a client can send anything): a bounded, never
 * throwing description. JSON.stringify would recurse into a 100k-deep array and throw.
 */
export function oddSniKey(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'boolean') return String(v).toLowerCase()
  if (Array.isArray(v)) return `[array of ${v.length}]`
  return `{object}`.slice(0, ODD_SNI_MAX)
}

function usable(v: unknown): boolean {
  return v !== undefined && v !== null && v !== ''
}

function nonEmpty(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined
}

/** Which dataset a parsed record belongs to, judged by its fields alone. */
export function datasetOf(o: Record<string, unknown>): Dataset | undefined {
  if (Object.hasOwn(o, 'ConnectionCloseReason') || Object.hasOwn(o, 'SessionStartTime') || Object.hasOwn(o, 'OriginIP')) {
    return 'zero_trust_network_sessions'
  }
  const host = Object.hasOwn(o, 'HTTPHost')
  if (host && Object.hasOwn(o, 'Action')) return 'gateway_http'
  if (!host && Object.hasOwn(o, 'SNI') && Object.hasOwn(o, 'DestinationIP')) return 'gateway_network'
  return undefined
}

/** A port value as logged (number or digit string) is one of `ports`. */
export function portIn(ports: Set<number>, v: unknown): boolean {
  if (typeof v === 'number') return ports.has(v)
  if (typeof v === 'string' && /^\s*\d+\s*$/.test(v)) return ports.has(Number(v))
  return false
}

function addTo<K, V>(m: Map<K, Set<V>>, k: K, v: V): Set<V> {
  let s = m.get(k)
  if (s === undefined) m.set(k, (s = new Set()))
  s.add(v)
  return s
}

function mergeAccs(into: Map<string, Acc>, from: Map<string, Acc>): void {
  for (const [key, acc] of from) {
    const cur = into.get(key)
    if (cur === undefined) {
      into.set(key, acc)
      continue
    }
    for (const [dev, d] of acc) {
      const c = cur.get(dev)
      if (c === undefined) cur.set(dev, d)
      else {
        c.sessions += d.sessions
        if (d.first < c.first) c.first = d.first
        if (d.last > c.last) c.last = d.last
        eachUser(d.users, (u) => { c.users = addUser(c.users, u) })
      }
    }
  }
}

/** Stats of one key without the devices in `drop`; undefined when nothing is left. */
function statsOf(acc: Acc, drop: Set<string>): Stats | undefined {
  let sessions = 0
  let devices = 0
  let first = Infinity
  let last = -Infinity
  const users = new Set<string>()
  for (const [dev, d] of acc) {
    if (drop.has(dev)) continue
    sessions += d.sessions
    if (dev !== '') devices++
    if (d.first < first) first = d.first
    if (d.last > last) last = d.last
    eachUser(d.users, (u) => users.add(u))
  }
  return sessions === 0 ? undefined : { sessions, devices, users: users.size, firstSeen: first, lastSeen: last }
}

/** Stats of one key counting only the devices in `only`. */
function statsOnly(acc: Acc, only: Set<string>): Stats | undefined {
  const kept: Acc = new Map([...acc].filter(([dev]) => only.has(dev)))
  return statsOf(kept, new Set())
}

/** Keeps the latest time per key; empty keys are not kept. */
function latest(m: Map<string, number>, key: string, t: number): void {
  if (key === '') return
  const cur = m.get(key)
  if (cur === undefined) m.set(owned(key), t)
  else if (t > cur) m.set(key, t)
}

/** Collects records; see `readLogpush` for the semantics. */
export class Aggregator {
  readonly hostFailures = new Map<string, Acc>()
  readonly ipFailures = new Map<string, Acc>()
  /** Failing hostname to the IPs it failed on, each with the devices ('' = none) that failed there. */
  readonly hostIps = new Map<string, Map<string, Set<string>>>()
  /** For the shared-IP guard: IP key to the excluded hostnames (keys) seen on it. Exact, uncapped. */
  readonly excludedOn = new Map<string, Set<string>>()
  readonly bypassedHosts = new Map<string, Acc>()
  readonly devices = new Map<string, DeviceAcc>()
  readonly records: Record<Dataset, number> = { zero_trust_network_sessions: 0, gateway_http: 0, gateway_network: 0 }
  readonly usage: UsageAcc = { hosts: new Map(), ips: new Map(), first: Infinity, last: -Infinity }
  inWindow = 0
  malformedLines = 0
  readonly ports: Set<number>
  private readonly from: number
  private readonly to: number
  private readonly policyName: string | undefined
  private readonly policyId: string | undefined
  /** Start of the usage window (epoch ms); undefined when the idle rule is off. */
  private readonly usageFrom: number | undefined
  private readonly hostRules: ExclusionRule[]
  private readonly decisions = new Map<string, boolean>()
  private otherSideCapped = 0

  constructor(readonly rules: RecordRules) {
    this.from = rules.window.from ?? -Infinity
    this.to = rules.window.to
    this.ports = new Set(rules.ports)
    this.policyName = rules.policy.name || undefined
    this.policyId = rules.policy.id?.toLowerCase() || undefined
    this.hostRules = (rules.exclusions ?? []).filter((r) => r.kind === 'host')
    this.usageFrom = rules.usageDays ? rules.window.to - rules.usageDays * 86_400_000 : undefined
  }

  /** A `gateway_http` record at `t`, any action: widens the span the usage data covers. */
  httpSeen(t: number): void {
    if (this.usageFrom === undefined || t > this.to) return
    if (t < this.usage.first) this.usage.first = t
    if (t > this.usage.last) this.usage.last = t
  }

  /** Whether an epoch-ms time is inside the window (inclusive at both ends). */
  inside(t: number): boolean {
    return t >= this.from && t <= this.to
  }

  /** One line that is not a usable record. */
  malformed(): void {
    this.malformedLines++
  }

  /**
   * Whether an exclusion rule covers this SNI key, judged as the planner judges it (canonical
   * hostname, then the most specific domain rule). Decisions are cached per distinct key in a
   * bounded map: a client flooding distinct SNIs only makes the cache start over.
   */
  excluded(sniKey: string): boolean {
    if (this.hostRules.length === 0) return false
    let d = this.decisions.get(sniKey)
    if (d === undefined) {
      const c = isIpLiteral(sniKey) ? undefined : canonicalHost(sniKey)
      d = c !== undefined && c.ok && matchHost(this.hostRules, c.value) !== undefined
      if (this.decisions.size >= DECISION_CACHE) this.decisions.clear()
      this.decisions.set(owned(sniKey), d)
    }
    return d
  }

  /** An SNI (key) seen on an IP (key) in any session of the window: kept only when excluded. */
  seen(ip: string, sni: string): void {
    if (ip !== '' && sni !== '' && this.excluded(sni)) addTo(this.excludedOn, owned(ip), owned(sni))
  }

  /** The tally of one device, created on first sight. */
  deviceAcc(id: string): DeviceAcc {
    let d = this.devices.get(id)
    if (d === undefined) this.devices.set(owned(id), (d = { tls: 0, failed: 0, dests: new Set() }))
    return d
  }

  /** The device of a network session in the window on one of `ports`; `failed` when it ended in a TLS error. */
  device(id: string, failed: boolean, dest?: string): void {
    const d = this.deviceAcc(id)
    d.tls++
    if (failed) {
      d.failed++
      if (dest !== undefined) d.dests.add(dest)
    }
  }

  private count(map: Map<string, Acc>, key: string, o: Record<string, unknown>, t: number): void {
    let acc = map.get(key)
    if (acc === undefined) map.set(key, (acc = new Map()))
    const dev = nonEmpty(o.DeviceID) ?? ''
    let d = acc.get(dev)
    if (d === undefined) acc.set(dev, (d = { sessions: 0, first: t, last: t, users: undefined }))
    d.sessions++
    if (t < d.first) d.first = t
    if (t > d.last) d.last = t
    const user = nonEmpty(o.UserID) ?? nonEmpty(o.Email)
    if (user !== undefined) d.users = addUser(d.users, user)
  }

  /** The slow path and the definition: one parsed JSON value from one line. */
  ingest(v: unknown): void {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return this.malformed()
    const o = v as Record<string, unknown>
    const ds = datasetOf(o)
    if (ds === undefined) return this.malformed()
    const t = parseTime(ds === 'zero_trust_network_sessions'
      ? (usable(o.SessionStartTime) ? o.SessionStartTime : o.SessionEndTime)
      : o.Datetime)
    if (t === null) return this.malformed()
    this.records[ds]++
    // Usage looks back idle-days whatever the lookback: judged before the window check.
    if (ds === 'gateway_http') this.httpUsage(o, t)
    if (!this.inside(t)) return
    this.inWindow++
    if (ds === 'zero_trust_network_sessions') this.session(o, t)
    else if (ds === 'gateway_network') this.seen(keyOf(o.DestinationIP), keyOf(o.SNI))
    else this.http(o, t)
  }

  private session(o: Record<string, unknown>, t: number): void {
    const ip = keyOf(o.OriginIP)
    const raw = o.SNI
    // Only a session that carried no SNI at all may point at an IP: a client that controls
    // its SNI (whitespace, a number, garbage) must never get an IP bypassed, so such values
    // stay host keys and the planner rejects them.
    const hasSni = raw !== undefined && raw !== null && raw !== ''
    const sni = typeof raw === 'string' ? raw.trim().toLowerCase() : hasSni ? oddSniKey(raw) : ''
    if (typeof raw === 'string') this.seen(ip, sni)
    if (!portIn(this.ports, o.OriginPort)) return
    const failed = isClientTlsError(o.ConnectionCloseReason)
    const dest = hasSni ? 'h ' + sni : ip !== '' ? 'i ' + ip : undefined
    const dev = nonEmpty(o.DeviceID)
    if (dev !== undefined) this.device(dev, failed, dest)
    if (!failed) return
    if (hasSni) {
      this.count(this.hostFailures, sni, o, t)
      if (ip !== '') this.hostIp(this.hostIps, sni, ip, [dev ?? ''])
    } else if (ip !== '') {
      this.count(this.ipFailures, ip, o, t)
    }
  }

  /** Records that `devs` failed on `host` at `ip`, at most OTHER_SIDE_CAP IPs per host. */
  private hostIp(m: Map<string, Map<string, Set<string>>>, host: string, ip: string, devs: Iterable<string>): void {
    let ips = m.get(host)
    if (ips === undefined) m.set(host, (ips = new Map()))
    let d = ips.get(ip)
    if (d === undefined) {
      if (ips.size >= OTHER_SIDE_CAP) {
        this.otherSideCapped++
        return
      }
      ips.set(ip, (d = new Set()))
    }
    for (const x of devs) d.add(x)
  }

  /**
   * A request the managed policy bypassed teaches its hostname (a bypass-log candidate) and
   * the IP it went to: kept with the failing pairs, so "Seen with" shows the bypassed
   * host's IPs and an IP candidate shows the hostnames bypassed on it.
   */
  private http(o: Record<string, unknown>, t: number): void {
    const host = keyOf(o.HTTPHost)
    if (host === '' || !this.bypassedByPolicy(o)) return
    this.count(this.bypassedHosts, host, o, t)
    const ip = keyOf(o.DestinationIP)
    if (ip !== '') this.hostIp(this.hostIps, host, ip, [nonEmpty(o.DeviceID) ?? ''])
  }

  /** A request the managed Do Not Inspect policy (by name or id) let through. */
  private bypassedByPolicy(o: Record<string, unknown>): boolean {
    if (typeof o.Action !== 'string' || o.Action.toLowerCase() !== 'bypass') return false
    const byName = this.policyName !== undefined && o.PolicyName === this.policyName
    const byId = this.policyId !== undefined && typeof o.PolicyID === 'string' && o.PolicyID.toLowerCase() === this.policyId
    return byName || byId
  }

  /** The idle rule's data: the span of gateway_http read, and the last bypass per host and destination IP. */
  private httpUsage(o: Record<string, unknown>, t: number): void {
    if (this.usageFrom === undefined || t > this.to) return
    this.httpSeen(t)
    if (t < this.usageFrom || !this.bypassedByPolicy(o)) return
    latest(this.usage.hosts, keyOf(o.HTTPHost), t)
    latest(this.usage.ips, keyOf(o.DestinationIP), t)
  }

  /** This aggregator's state, for `merge` in another thread. */
  partial(): PartialAggregate {
    const { hostFailures, ipFailures, hostIps, excludedOn, bypassedHosts, devices, records, inWindow, malformedLines, otherSideCapped, usage } = this
    return { hostFailures, ipFailures, hostIps, excludedOn, bypassedHosts, devices, records, inWindow, malformedLines, otherSideCapped, usage }
  }

  /** Adds another aggregator's state: counters add, sets unite (distinct counts stay exact). */
  merge(p: PartialAggregate): void {
    mergeAccs(this.hostFailures, p.hostFailures)
    mergeAccs(this.ipFailures, p.ipFailures)
    mergeAccs(this.bypassedHosts, p.bypassedHosts)
    for (const [k, t] of p.usage.hosts) latest(this.usage.hosts, k, t)
    for (const [k, t] of p.usage.ips) latest(this.usage.ips, k, t)
    this.usage.first = Math.min(this.usage.first, p.usage.first)
    this.usage.last = Math.max(this.usage.last, p.usage.last)
    for (const [host, ips] of p.hostIps) for (const [ip, devs] of ips) this.hostIp(this.hostIps, host, ip, devs)
    for (const [ip, s] of p.excludedOn) for (const h of s) addTo(this.excludedOn, ip, h)
    for (const [id, d] of p.devices) {
      const cur = this.devices.get(id)
      if (cur === undefined) { this.devices.set(id, d); continue }
      cur.tls += d.tls
      cur.failed += d.failed
      for (const x of d.dests) cur.dests.add(x)
    }
    for (const k of Object.keys(this.records) as Dataset[]) this.records[k] += p.records[k]
    this.inWindow += p.inWindow
    this.malformedLines += p.malformedLines
    this.otherSideCapped += p.otherSideCapped
  }

  /** The devices that look certificate-less, and the anonymous report about them. */
  private certless(): { ids: Set<string>; tallies: DeviceTally[] } {
    const th = this.rules.certless ?? DEFAULT_CERTLESS
    const ids = new Set<string>()
    const tallies: DeviceTally[] = []
    for (const [id, d] of this.devices) {
      const t = { tlsSessions: d.tls, failedSessions: d.failed, failedDestinations: d.dests.size }
      if (!isCertless(t, th)) continue
      ids.add(id)
      tallies.push(t)
    }
    tallies.sort((a, b) => b.failedDestinations - a.failedDestinations || b.failedSessions - a.failedSessions)
    return { ids, tallies }
  }

  /** Candidate stats without certificate-less devices; the keys they alone failed on go to `only`. */
  private split(m: Map<string, Acc>, drop: Set<string>, only: Map<string, Stats>): Map<string, Stats> {
    const out = new Map<string, Stats>()
    for (const [k, acc] of m) {
      const s = statsOf(acc, drop)
      if (s !== undefined) out.set(k, s)
      else if (drop.size > 0) {
        const c = statsOnly(acc, drop)
        if (c !== undefined) only.set(k, c)
      }
    }
    return out
  }

  /** The collected state as the shared contract; `extra` fills the file counters. */
  toObservations(extra: Pick<SourceStats, 'filesRead' | 'filesSkipped' | 'filesCorrupt' | 'filesOutsideWindow' | 'warnings'>): Observations {
    const { ids, tallies } = this.certless()
    const onlyHosts = new Map<string, Stats>()
    const onlyIps = new Map<string, Stats>()
    const hostFailures = this.split(this.hostFailures, ids, onlyHosts)
    const ipFailures = this.split(this.ipFailures, ids, onlyIps)
    const hostIps = this.failingHostIps(ids)
    const warnings = [...extra.warnings]
    if (this.otherSideCapped > 0) {
      warnings.push(`${this.otherSideCapped} IP/hostname pairings were not kept: at most ${OTHER_SIDE_CAP} IPs per hostname`)
    }
    const records: Partial<Record<Dataset, number>> = {}
    for (const [k, n] of Object.entries(this.records) as [Dataset, number][]) if (n > 0) records[k] = n
    if (this.records.zero_trust_network_sessions === 0) warnings.push('no network-session records found')
    const certless: CertlessReport = {
      devices: tallies,
      devicesSeen: this.devices.size,
      sessionsExcluded: tallies.reduce((n, t) => n + t.failedSessions, 0),
      onlyCertless: { hosts: onlyHosts, ips: onlyIps }
    }
    const stats: SourceStats = {
      source: 'logpush', records, inWindow: this.inWindow, malformedLines: this.malformedLines,
      filesRead: extra.filesRead, filesSkipped: extra.filesSkipped, filesCorrupt: extra.filesCorrupt, warnings
    }
    if (extra.filesOutsideWindow !== undefined) stats.filesOutsideWindow = extra.filesOutsideWindow
    return {
      window: { from: this.rules.window.from, to: this.rules.window.to },
      hostFailures,
      ipFailures,
      hostIps,
      ipHosts: this.ipHosts(hostIps),
      bypassedHosts: this.split(this.bypassedHosts, new Set(), new Map()),
      certless,
      ...this.usageObservation(),
      stats
    }
  }

  /**
   * The usage the folder shows, over the span its gateway_http records cover: from the idle
   * window's start if records reach back that far, else from the first one; to the run's end,
   * unless the newest record is over a day old (a job that stopped must not look like 30
   * quiet days). No gateway_http record read: no usage, so nothing is called idle.
   */
  private usageObservation(): { usage?: BypassUsage } {
    const u = this.usage
    if (this.usageFrom === undefined || u.first > u.last) return {}
    const covers = { from: Math.max(u.first, this.usageFrom), to: this.to - u.last > 86_400_000 ? u.last : this.to }
    return { usage: { covers, hosts: new Map(u.hosts), ips: new Map(u.ips) } }
  }

  /** IPs of the failing hostnames, on which a device that is not certificate-less failed. */
  private failingHostIps(drop: Set<string>): Map<string, Set<string>> {
    const out = new Map<string, Set<string>>()
    for (const [host, ips] of this.hostIps) {
      const kept = [...ips].filter(([, devs]) => [...devs].some((d) => !drop.has(d))).map(([ip]) => ip)
      if (kept.length > 0) out.set(host, new Set(kept))
    }
    return out
  }

  /**
   * "Seen with" of each IP, and the shared-IP guard: the excluded hostnames seen on it in any
   * session of the window (exact), plus the hostnames of the failing sessions on it.
   */
  private ipHosts(hostIps: Map<string, Set<string>>): Map<string, Set<string>> {
    const out = new Map<string, Set<string>>()
    for (const [ip, s] of this.excludedOn) out.set(ip, new Set(s))
    for (const [host, ips] of hostIps) for (const ip of ips) addTo(out, ip, host)
    return out
  }
}
