/** The plan's warnings: what the source said, an empty window, expired rules, dropped earlier proposals. */
import type { ExclusionRule, Observations } from '../types.js'
import { num, plural } from './canonical.js'

/** How many earlier proposals (of the open PR) each stage dropped. */
export interface CarriedDrops {
  excluded: number
  listed: number
  below: number
  malformed: number
}

function emptyWindow(stats: Observations['stats']): string[] {
  // Log Explorer judges an empty window itself: when nothing failed it counts every session
  // of the window and warns, with the window, only when there were none.
  if (stats.source === 'log-explorer') return []
  const records = Object.values(stats.records).reduce((n: number, x) => n + num(x), 0)
  if (records === 0) return ['no records in the window — is the dataset enabled / is Logpush writing to the bucket?']
  if (stats.inWindow === 0) return [`${plural(records, 'record was', 'records were')} read but none is inside the lookback window`]
  return []
}

export function planWarnings(stats: Observations['stats'], expired: ExclusionRule[], drops: CarriedDrops): string[] {
  const earlier = (n: number, what: string): string[] => (n ? [`${plural(n, 'earlier proposal is', 'earlier proposals are')} ${what}`] : [])
  return [
    ...stats.warnings,
    ...emptyWindow(stats),
    ...expired.map((r) => `exclusion ${r.value} (line ${r.line}) expired on ${r.expires ?? '?'}; it no longer applies`),
    ...earlier(drops.excluded, 'now excluded and no longer proposed'),
    ...earlier(drops.listed, 'now listed and no longer proposed'),
    ...earlier(drops.below, 'below the current thresholds and no longer proposed'),
    ...(drops.malformed ? [`${plural(drops.malformed, 'earlier proposal was', 'earlier proposals were')} not a valid value and dropped`] : [])
  ]
}
