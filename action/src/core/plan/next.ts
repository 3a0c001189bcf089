/** The last stage of the collect planner: the list contents after the plan is applied. */
import type { Candidate, EntryKind } from '../types.js'
import { compareHosts, compareIps } from '../values.js'
import { keyOf } from './canonical.js'
import type { Listed } from './exclusions.js'

/** Listed ∪ additions − removals; canonical and sorted. */
export function nextLists(listed: Listed, additions: Candidate[], removals: { kind: EntryKind; value: string }[]): { ips: string[]; hosts: string[] } {
  const removed = new Set(removals.map((r) => keyOf(r.kind, r.value)))
  const of = (kind: EntryKind, base: Set<string>): string[] =>
    [...new Set([...base, ...additions.filter((c) => c.kind === kind).map((c) => c.value)])].filter((v) => !removed.has(keyOf(kind, v)))
  return { ips: of('ip', listed.ips).sort(compareIps), hosts: of('host', listed.hosts).sort(compareHosts) }
}
