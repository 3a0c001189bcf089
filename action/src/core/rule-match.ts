/**
 * Matching values against exclusion rules: which rule keeps a hostname, IP or network
 * inspected. Kept apart from the exclusions.yaml parser (yaml, zod) so that the Logpush
 * scan's worker threads load only this and `values.ts`.
 */
import type { EntryKind, ExclusionRule } from './types.js'
import { hostUnderDomain, ipInNetwork, ipv6EmbeddingOf } from './values.js'

function prefixOf(value: string): number {
  const slash = value.indexOf('/')
  if (slash >= 0) return Number(value.slice(slash + 1))
  return value.includes(':') ? 128 : 32
}

/**
 * The host rule that covers `host` (itself or a parent domain), most specific (longest
 * domain) first; undefined when none does. `host` must be canonical.
 */
export function matchHost(rules: ExclusionRule[], host: string): ExclusionRule | undefined {
  let best: ExclusionRule | undefined
  for (const rule of rules) {
    if (rule.kind !== 'host' || !hostUnderDomain(host, rule.value)) continue
    if (best === undefined || rule.value.length > best.value.length) best = rule
  }
  return best
}

/**
 * The IP rule whose network contains `value` (an IP or CIDR, entirely inside), most
 * specific (longest prefix) first; undefined when none does.
 */
export function matchIp(rules: ExclusionRule[], value: string): ExclusionRule | undefined {
  let best: ExclusionRule | undefined
  // Rules of the other IP version compare by their IPv6 spelling's length (`embedded`).
  const specificity = (r: ExclusionRule): number => prefixOf(r.value) + (r.value.includes(':') === value.includes(':') ? 0 : r.value.includes(':') ? -96 : 96)
  for (const rule of rules) {
    if (rule.kind !== 'ip' || !(ipInNetwork(value, rule.value) || embedded(value, rule.value) === 'inside')) continue
    if (best === undefined || specificity(rule) > specificity(best)) best = rule
  }
  return best
}

/**
 * How `value` relates to `rule` across the IPv4/IPv6 divide (`values.ipv6EmbeddingOf`):
 * `'inside'` when value lies in an IPv6 spelling of the rule's IPv4 range (or the IPv4
 * value is spelled inside an IPv6 rule), `'around'` when value contains one. A NAT64 or
 * 6to4 spelling of an excluded IPv4 range is that range.
 */
const REVERSED = { inside: 'around', around: 'inside', equal: 'equal', none: undefined } as const

function embedded(value: string, rule: string): 'inside' | 'around' | undefined {
  const valueIs6 = value.includes(':')
  if (valueIs6 === rule.includes(':')) return undefined
  // An IPv4 value against an IPv6 rule: the relation seen from the rule, reversed.
  const r = valueIs6 ? ipv6EmbeddingOf(value, rule)?.relation : REVERSED[ipv6EmbeddingOf(rule, value)?.relation ?? 'none']
  return r === 'equal' ? 'inside' : r
}

/**
 * The rule that keeps a list value inspected, if any: for a hostname the most specific
 * domain rule over it; for an IP or network the most specific rule that contains it, or
 * else a rule inside it — a listed network that merely contains an excluded network would
 * bypass that one too. collect (proposing removals) and sync (refusing to apply) share it,
 * so what one proposes to remove the other refuses to push.
 */
export function ruleCovering(rules: ExclusionRule[], kind: EntryKind, value: string): ExclusionRule | undefined {
  if (kind === 'host') return matchHost(rules, value)
  return (
    matchIp(rules, value) ??
    rules.find((r) => r.kind === 'ip' && ((value.includes('/') && ipInNetwork(r.value, value)) || embedded(value, r.value) === 'around'))
  )
}
