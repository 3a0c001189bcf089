/**
 * The aggregation state shared by every file of one `readLogpush` run, and the record
 * semantics for a parsed JSON object (the slow path, which is also the definition the fast
 * byte-level path in `scan.ts` must agree with).
 *
 * Memory grows with distinct destinations only: counters per key, and sets capped so that
 * one noisy key cannot grow without bound. Device and user ids live only in these sets.
 */
import type { Dataset, Observations, SourceStats, Stats } from '../../core/types.js'
import { parseTime } from './time.js'

/** At most this many other-side values (IPs of a host, hosts of an IP) per key. */
export const OTHER_SIDE_CAP = 1000
/** At most this many distinct devices or users counted per key; counts saturate there. */
export const ID_CAP = 10_000

/** Options that change what a record means; a subset of `LogpushOptions`. */
export interface RecordRules {
  window: { from: number | null; to: number }
  ports: number[]
  policy: { name?: string; id?: string }
}

interface Acc {
  sessions: number
  devices: Set<string>
  users: Set<string>
  firstSeen: number
  lastSeen: number
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
 * lives for the whole run must not keep 256 KiB alive. Only new keys pay for this.
 */
export function owned(s: string): string {
  // Concatenation then slice makes V8 flatten into a new string of length + 1.
  return s.length < 13 ? s : (s + ' ').slice(0, -1)
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

/** Collects records into the `Observations` maps; see `readLogpush` for the semantics. */
export class Aggregator {
  readonly hostFailures = new Map<string, Acc>()
  readonly ipFailures = new Map<string, Acc>()
  readonly hostIps = new Map<string, Set<string>>()
  // Most IPs carry one hostname, so a bare string until a second one shows up saves a Set each.
  readonly ipHosts = new Map<string, string | Set<string>>()
  readonly bypassedHosts = new Map<string, Acc>()
  readonly records: Record<Dataset, number> = { zero_trust_network_sessions: 0, gateway_http: 0, gateway_network: 0 }
  inWindow = 0
  malformedLines = 0
  private readonly from: number
  private readonly to: number
  private readonly ports: Set<number>
  private readonly policyName: string | undefined
  private readonly policyId: string | undefined
  private otherSideCapped = 0
  private idCapped = 0

  constructor(readonly rules: RecordRules) {
    this.from = rules.window.from ?? -Infinity
    this.to = rules.window.to
    this.ports = new Set(rules.ports)
    this.policyName = rules.policy.name || undefined
    this.policyId = rules.policy.id?.toLowerCase() || undefined
  }

  /** Whether an epoch-ms time is inside the window (inclusive at both ends). */
  inside(t: number): boolean {
    return t >= this.from && t <= this.to
  }

  /** One line that is not a usable record. */
  malformed(): void {
    this.malformedLines++
  }

  /** Records `sni` on `ip` (both already keys); the shared-IP guard. False if a cap refused it. */
  addIpHost(ip: string, sni: string): boolean {
    const cur = this.ipHosts.get(ip)
    if (cur === undefined) {
      this.ipHosts.set(owned(ip), owned(sni))
    } else if (typeof cur === 'string') {
      if (cur !== sni) this.ipHosts.set(ip, new Set([cur, owned(sni)]))
    } else if (!cur.has(sni)) {
      if (cur.size >= OTHER_SIDE_CAP) {
        this.otherSideCapped++
        return false
      }
      cur.add(owned(sni))
    }
    return true
  }

  private portOk(v: unknown): boolean {
    if (typeof v === 'number') return this.ports.has(v)
    if (typeof v === 'string' && /^\s*\d+\s*$/.test(v)) return this.ports.has(Number(v))
    return false
  }

  private count(map: Map<string, Acc>, key: string, o: Record<string, unknown>, t: number): void {
    let acc = map.get(key)
    if (acc === undefined) {
      acc = { sessions: 0, devices: new Set(), users: new Set(), firstSeen: t, lastSeen: t }
      map.set(key, acc)
    }
    acc.sessions++
    if (t < acc.firstSeen) acc.firstSeen = t
    if (t > acc.lastSeen) acc.lastSeen = t
    const device = nonEmpty(o.DeviceID)
    if (device !== undefined) this.addId(acc.devices, device)
    const user = nonEmpty(o.UserID) ?? nonEmpty(o.Email)
    if (user !== undefined) this.addId(acc.users, user)
  }

  private addId(set: Set<string>, id: string): void {
    if (set.size < ID_CAP) set.add(id)
    else if (!set.has(id)) this.idCapped++
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
    if (!this.inside(t)) return
    this.inWindow++
    if (ds === 'zero_trust_network_sessions') {
      const ip = keyOf(o.OriginIP)
      const raw = o.SNI
      // Only a session that carried no SNI at all may point at an IP: a client that controls
      // its SNI (whitespace, a number, garbage) must never get an IP bypassed, so such values
      // stay host keys and the planner rejects them.
      const hasSni = raw !== undefined && raw !== null && raw !== ''
      const sni = typeof raw === 'string' ? raw.trim().toLowerCase() : hasSni ? JSON.stringify(raw).slice(0, 300).toLowerCase() : ''
      if (ip !== '' && sni !== '' && typeof raw === 'string') this.addIpHost(ip, sni)
      if (!isClientTlsError(o.ConnectionCloseReason) || !this.portOk(o.OriginPort)) return
      if (hasSni) {
        this.count(this.hostFailures, sni, o, t)
        if (ip !== '') {
          let ips = this.hostIps.get(sni)
          if (ips === undefined) this.hostIps.set(sni, (ips = new Set()))
          if (ips.size < OTHER_SIDE_CAP) ips.add(ip)
          else if (!ips.has(ip)) this.otherSideCapped++
        }
      } else if (ip !== '') {
        this.count(this.ipFailures, ip, o, t)
      }
    } else if (ds === 'gateway_network') {
      const ip = keyOf(o.DestinationIP)
      const sni = keyOf(o.SNI)
      if (ip !== '' && sni !== '') this.addIpHost(ip, sni)
    } else {
      const host = keyOf(o.HTTPHost)
      if (host === '' || typeof o.Action !== 'string' || o.Action.toLowerCase() !== 'bypass') return
      const byName = this.policyName !== undefined && o.PolicyName === this.policyName
      const byId = this.policyId !== undefined && typeof o.PolicyID === 'string' && o.PolicyID.toLowerCase() === this.policyId
      if (byName || byId) this.count(this.bypassedHosts, host, o, t)
    }
  }

  /** The collected state as the shared contract; `extra` fills the file counters. */
  toObservations(extra: Pick<SourceStats, 'filesRead' | 'filesSkipped' | 'filesCorrupt' | 'warnings'>): Observations {
    const stats = (m: Map<string, Acc>): Map<string, Stats> => new Map([...m].map(([k, a]) => [k, {
      sessions: a.sessions, devices: a.devices.size, users: a.users.size, firstSeen: a.firstSeen, lastSeen: a.lastSeen
    }]))
    const warnings = [...extra.warnings]
    if (this.otherSideCapped > 0) {
      warnings.push(`${this.otherSideCapped} IP/hostname pairings were not kept: at most ${OTHER_SIDE_CAP} per key`)
    }
    if (this.idCapped > 0) warnings.push(`device/user counts stop at ${ID_CAP} per destination`)
    const records: Partial<Record<Dataset, number>> = {}
    for (const [k, n] of Object.entries(this.records) as [Dataset, number][]) if (n > 0) records[k] = n
    if (this.records.zero_trust_network_sessions === 0) warnings.push('no network-session records found')
    return {
      window: { from: this.rules.window.from, to: this.rules.window.to },
      hostFailures: stats(this.hostFailures),
      ipFailures: stats(this.ipFailures),
      hostIps: this.hostIps,
      ipHosts: new Map([...this.ipHosts].map(([k, v]) => [k, typeof v === 'string' ? new Set([v]) : v])),
      bypassedHosts: stats(this.bypassedHosts),
      stats: {
        source: 'logpush',
        records,
        inWindow: this.inWindow,
        malformedLines: this.malformedLines,
        filesRead: extra.filesRead,
        filesSkipped: extra.filesSkipped,
        filesCorrupt: extra.filesCorrupt,
        warnings
      }
    }
  }
}
