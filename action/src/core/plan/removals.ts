/**
 * Removals, first kind: listed entries that an active exclusion now covers. (Idle entries
 * are the second kind: see `idle.ts`.)
 */
import type { Removal } from '../types.js'
import { compareHosts, compareIps } from '../values.js'
import type { ExclusionFor, Listed } from './exclusions.js'

export function removalsByExclusion(listed: Listed, exclusionFor: ExclusionFor): Removal[] {
  const out: Removal[] = []
  for (const value of [...listed.hosts].sort(compareHosts)) {
    const ex = exclusionFor('host', value)
    if (ex) out.push({ kind: 'host', value, ...ex })
  }
  for (const value of [...listed.ips].sort(compareIps)) {
    const ex = exclusionFor('ip', value)
    if (ex) out.push({ kind: 'ip', value, ...ex })
  }
  return out
}
