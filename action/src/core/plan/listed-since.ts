/**
 * What the lifecycle rules need to know about listed entries: when each was listed, and
 * which entries an address falls under (itself, or a listed network holding it).
 */
import type { EntryKind, ListedSince } from '../types.js'
import { canonicalValue, parseNet } from '../values.js'

/**
 * `lifecycle.listedSince` with canonical keys (`kind:value`); unusable keys and dates are
 * dropped. Two spellings of one entry keep the later date: a later date calls fewer
 * entries idle and fewer failures "after listing", the safe direction for both rules.
 */
export function canonicalListedSince(raw: Map<string, ListedSince> | undefined): Map<string, ListedSince> {
  const out = new Map<string, ListedSince>()
  for (const [key, since] of raw ?? []) {
    const colon = typeof key === 'string' ? key.indexOf(':') : -1
    const kind = key.slice(0, colon)
    if (kind !== 'ip' && kind !== 'host') continue
    const c = canonicalValue(kind, key.slice(colon + 1))
    const at = since?.at
    if (!c.ok || typeof at !== 'number' || !Number.isFinite(at) || at <= 0) continue
    const k = sinceKey(kind, c.value)
    const prev = out.get(k)
    if (!prev || prev.at < at) out.set(k, { at, from: since.from === 'gateway' ? 'gateway' : 'git' })
  }
  return out
}

export function sinceKey(kind: EntryKind, value: string): string {
  return `${kind}:${value}`
}

/**
 * Listed IP entries indexed by (version, prefix, network): finding the entries that hold
 * an address costs one lookup per distinct prefix length, not one per listed network
 * (usage data can hold many thousands of addresses).
 */
export function entriesHolding(listedIps: Iterable<string>): (address: string) => string[] {
  const groups = new Map<string, { version: 4 | 6; prefix: number; nets: Map<bigint, string> }>()
  for (const entry of listedIps) {
    const p = parseNet(entry)
    if (!p.ok) continue
    const { version, prefix, addr } = p.value
    const g = groups.get(`${version}/${prefix}`) ?? { version, prefix, nets: new Map<bigint, string>() }
    groups.set(`${version}/${prefix}`, g)
    g.nets.set(addr, entry)
  }
  const ordered = [...groups.values()].sort((a, b) => b.prefix - a.prefix)
  return (address) => {
    const p = parseNet(address)
    if (!p.ok) return []
    const out: string[] = []
    for (const g of ordered) {
      if (g.version !== p.value.version || g.prefix > p.value.prefix) continue
      const bits = g.version === 4 ? 32 : 128
      const network = (p.value.addr >> BigInt(bits - g.prefix)) << BigInt(bits - g.prefix)
      const hit = g.nets.get(network)
      if (hit !== undefined) out.push(hit)
    }
    return out
  }
}
