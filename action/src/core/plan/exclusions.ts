/**
 * Stage 3 of the collect planner, exclusions: which rules are in force, what is already
 * listed, and which rule (if any) covers a value. Exclusions are absolute: an IP on which
 * an excluded hostname was seen is covered too (bypassing it would bypass that name).
 */
import { matchHost, ruleCovering } from '../exclusions.js'
import type { EntryKind, ExclusionRule } from '../types.js'
import { canonicalHost, canonicalIp, compareHosts, ipInNetwork } from '../values.js'
import { compareKindValue, DAY_MS } from './canonical.js'

/** The end of a rule's `expires` day (UTC), or NaN when absent/unreadable (never expires). */
export function expiryEnd(expires: string | undefined): number {
  const m = expires === undefined ? null : /^(\d{4})-(\d{2})-(\d{2})$/.exec(expires)
  if (!m) return Number.NaN
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) + DAY_MS
}

/**
 * Rules in force, and the expired ones (reported, never applied). Expiry is checked here
 * against `now` too, even for rules the caller passed as active.
 */
export function rulesInForce(rules: ExclusionRule[], expiredRules: ExclusionRule[], now: number): { active: ExclusionRule[]; expired: ExclusionRule[] } {
  const isExpired = (r: ExclusionRule): boolean => now >= expiryEnd(r.expires)
  const seen = new Set<string>()
  const expired = [...expiredRules, ...rules.filter(isExpired)]
    .filter((r) => {
      const k = `${r.kind} ${r.value} ${r.line}`
      if (seen.has(k)) return false
      seen.add(k)
      return true
    })
    .sort((a, b) => a.line - b.line || compareKindValue(a, b))
  return { active: rules.filter((r) => !isExpired(r)), expired }
}

/** The committed lists, canonical; `has` is true for a listed value or an IP inside a listed network. */
export interface Listed {
  hosts: Set<string>
  ips: Set<string>
  nets: string[]
  has(kind: EntryKind, value: string): boolean
}

export function listedOf(current: { ips: string[]; hosts: string[] }): Listed {
  const canon = (xs: string[], f: typeof canonicalHost): Set<string> =>
    new Set(
      xs.map((x) => {
        const c = f(x)
        return c.ok ? c.value : x
      })
    )
  const hosts = canon(current.hosts, canonicalHost)
  const ips = canon(current.ips, canonicalIp)
  const nets = [...ips].filter((v) => v.includes('/'))
  return { hosts, ips, nets, has: (kind, value) => (kind === 'host' ? hosts.has(value) : ips.has(value) || nets.some((n) => ipInNetwork(value, n))) }
}

/** The rule covering a value, with the excluded hostname seen on an IP when that is why. */
export type ExclusionFor = (kind: EntryKind, value: string) => { rule: ExclusionRule; via?: string } | undefined

export function exclusionLookup(active: ExclusionRule[], namesOnIp: Map<string, Set<string>>): ExclusionFor {
  /** Hostnames seen on an IP, or on any observed IP inside a CIDR; sorted. */
  const namesSeenOn = (ipOrCidr: string): string[] => {
    const names = new Set<string>(namesOnIp.get(ipOrCidr) ?? [])
    if (ipOrCidr.includes('/')) {
      for (const [ip, s] of namesOnIp) if (ipInNetwork(ip, ipOrCidr)) for (const n of s) names.add(n)
    }
    return [...names].sort(compareHosts)
  }
  return (kind, value) => {
    const rule = ruleCovering(active, kind, value)
    if (rule) return { rule }
    if (kind === 'host') return undefined
    for (const name of namesSeenOn(value)) {
      const byName = matchHost(active, name)
      if (byName) return { rule: byName, via: name }
    }
    return undefined
  }
}
