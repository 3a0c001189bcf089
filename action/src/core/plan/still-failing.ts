/**
 * Listed, and still failing: a listed value whose TLS sessions still end in
 * CLIENT_TLS_ERROR after it was listed is not fixed by the bypass (some apps refuse any
 * path through Gateway and need a Split Tunnel exclude). Report only: nothing is removed.
 * Without a listed-since date nothing is claimed: the failures may predate the listing.
 */
import type { EntryKind, ListedSince, Stats, StillFailing } from '../types.js'
import { compareKindValue } from './canonical.js'
import type { Listed } from './exclusions.js'
import { entriesHolding, sinceKey } from './listed-since.js'

export function stillFailing(failures: Iterable<{ kind: EntryKind; value: string; stats: Stats }>, listed: Listed, since: Map<string, ListedSince>): StillFailing[] {
  const holding = entriesHolding(listed.ips)
  const out: StillFailing[] = []
  for (const f of failures) {
    // The bypass of an address began with the earliest entry holding it (itself, or a network).
    const entries = f.kind === 'host' ? (listed.hosts.has(f.value) ? [f.value] : []) : holding(f.value)
    const dated = entries.flatMap((entry) => {
      const s = since.get(sinceKey(f.kind, entry))
      return s ? [{ entry, listedSince: s }] : []
    }).sort((a, b) => a.listedSince.at - b.listedSince.at)[0]
    if (dated && f.stats.lastSeen > dated.listedSince.at) out.push({ kind: f.kind, value: f.value, ...dated, stats: f.stats })
  }
  return out.sort((a, b) => b.stats.devices - a.stats.devices || b.stats.sessions - a.stats.sessions || compareKindValue(a, b))
}
