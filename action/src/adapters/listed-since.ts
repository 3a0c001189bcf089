/**
 * When each listed entry was listed (issue 10's idle rule): the `created_at` of its item in
 * the managed Gateway lists when the token can read them, else the date of the commit that
 * last added its line (git blame of the checkout). With neither, an entry is never called
 * idle, and the note says why.
 */
import type { ListedSinceSource } from '../commands/collect.js'
import { listedSince as gatewayDates, type RemoteState } from '../core/sync-plan.js'
import type { EntryKind, ListedSince } from '../core/types.js'
import type { GitPort } from './git.js'

export function listedSinceSource(o: { remote?: () => Promise<RemoteState>; git?: GitPort; paths: { ips: string; hosts: string } }): ListedSinceSource {
  return async (listed) => {
    const since = new Map<string, ListedSince>()
    const notes: string[] = []
    const all: [EntryKind, string][] = [...listed.ips.map((v): [EntryKind, string] => ['ip', v]), ...listed.hosts.map((v): [EntryKind, string] => ['host', v])]
    if (all.length === 0) return { listedSince: since }

    if (o.remote) {
      try {
        const dates = gatewayDates(await o.remote())
        for (const [kind, value] of all) {
          const iso = (kind === 'ip' ? dates.ips : dates.hosts).get(value)
          if (iso !== undefined) since.set(`${kind}:${value}`, { at: Date.parse(iso), from: 'gateway' })
        }
      } catch (e) {
        notes.push(`the Gateway lists could not be read (${(e as Error).message.split('\n')[0]}); grant Account › Zero Trust › Read to the collect token`)
      }
    }
    const missing = all.filter(([kind, value]) => !since.has(`${kind}:${value}`))
    if (missing.length && o.git) {
      if (await o.git.isShallow().catch(() => false)) {
        notes.push('the checkout is shallow, so the commits that added the lines are unknown; check out with fetch-depth: 0')
      } else {
        const byFile = { ip: await o.git.lineDates(o.paths.ips), host: await o.git.lineDates(o.paths.hosts) }
        for (const [kind, value] of missing) {
          const at = byFile[kind].get(value)
          if (at !== undefined) since.set(`${kind}:${value}`, { at, from: 'git' })
        }
      }
    }
    const unknown = all.length - since.size
    if (unknown > 0) notes.push(`${unknown} of ${all.length} listed entr${all.length === 1 ? 'y has' : 'ies have'} no listed-since date and cannot be called idle`)
    return notes.length ? { listedSince: since, note: notes.join('; ') } : { listedSince: since }
  }
}
