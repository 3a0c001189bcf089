/**
 * The words and tables of issue 10's lifecycle (idle removals, remembered rejections,
 * listed values still failing), shared by the PR body, the job summary, the commit message
 * and the terminal. `collect.ts` places these pieces in its layout and size budget.
 *
 * Values are canonical list values from the planner and still go through `code`/`visible`;
 * notes may quote the caller's free text and are escaped; PR numbers and dates are numbers
 * this module formats.
 */
import type { CollectPlan, IdleRemoval, ListedSince, StillFailing } from '../types.js'
import { clip, code, escapeMarkdown, visible } from './escape.js'

/** A Markdown table as the collect renderers build it (`tableMd` in collect.ts draws it). */
export interface MdTable {
  title: string
  /** Total number of items (rows may be fewer: informational tables are shortened). */
  total: number
  header: string[]
  rows: string[]
  /** Rows shown when there is room. */
  limit: number
  /** Collapsed by default: everything a reviewer does not have to act on. */
  collapsed: boolean
  intro?: string
  /** Where the rows that are not shown can be found. */
  elsewhere: string
}

const MAX_DATE_MS = 8.64e15
const NOTE_MAX = 500
const VALUE_MAX = 300
/** Informational tables show this many rows when there is room. */
const REPORT_SHOWN = 100
const TEXT_SHOWN = 20

/** The hint for a value the bypass does not fix. */
export const SPLIT_TUNNEL_HINT =
  'The bypass does not fix these: some apps refuse any path through Gateway, and those need a Split Tunnel exclude (in the device profile) instead of a Do Not Inspect entry.'

/** `YYYY-MM-DD` (UTC), or `—` for an impossible time. */
export function day(ms: number): string {
  if (!(ms > 0) || !(ms <= MAX_DATE_MS)) return '—'
  return new Date(ms).toISOString().slice(0, 10)
}

function positiveInt(n: unknown): number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n > 0 ? n : 0
}

const sourceOf = (s: ListedSince): string => (s.from === 'gateway' ? 'Gateway list item' : 'git history')

/** All removals of the plan: by exclusion and by idleness. */
export function removalCount(plan: CollectPlan): number {
  return plan.removals.length + (plan.lifecycle?.idle.removals.length ?? 0)
}

/** "idle: no bypassed traffic in 30 days; listed since 2026-09-02", with the last use when known. */
export function idleReason(r: IdleRemoval, idleDays: number): string {
  const last = r.lastUsed !== undefined ? `; last bypassed ${day(r.lastUsed)}` : ''
  return `idle: no bypassed traffic in ${positiveInt(idleDays)} days; listed since ${day(r.listedSince.at)}${last}`
}

const row = (cells: string[]): string => `| ${cells.join(' | ')} |`
const val = (v: string): string => code(clip(v, VALUE_MAX))

function idleRow(r: IdleRemoval): string {
  return row([r.kind, val(r.value), day(r.listedSince.at), sourceOf(r.listedSince), r.lastUsed !== undefined ? day(r.lastUsed) : 'none seen'])
}

const IDLE_HEADER = ['Kind', 'Value', 'Listed since (UTC)', 'Dated by', 'Last bypassed (UTC)']

/** Idle removals (to review, open) and the idle entries the removal guard holds back (collapsed). */
export function idleTables(plan: CollectPlan, elsewhere: { lists: string; other: string }): MdTable[] {
  const l = plan.lifecycle
  if (!l) return []
  const days = positiveInt(l.idleDays)
  return [
    {
      title: 'Remove: idle',
      total: l.idle.removals.length,
      header: IDLE_HEADER,
      rows: l.idle.removals.map(idleRow),
      limit: l.idle.removals.length,
      collapsed: false,
      intro: `Listed at least ${days} days ago (idle-days), and the managed policy bypassed no traffic for them in the last ${days} days. Merging makes Gateway inspect them again.`,
      elsewhere: elsewhere.lists
    },
    {
      title: 'Idle, held back by the removal guard',
      total: l.idle.heldBack.length,
      header: IDLE_HEADER,
      rows: l.idle.heldBack.map(idleRow),
      limit: l.idle.heldBack.length,
      collapsed: true,
      intro: 'Also idle, but removing them in the same pull request would trip sync\'s removal guard; later runs propose them.',
      elsewhere: elsewhere.other
    }
  ].filter((t) => t.total > 0)
}

function stillFailingRow(s: StillFailing): string {
  return row([s.kind, val(s.value), s.entry === s.value ? '—' : val(s.entry), day(s.listedSince.at), String(s.stats.sessions), String(s.stats.devices), day(s.stats.lastSeen)])
}

/** Listed values still failing (open: someone should act) and the rejected values (collapsed). */
export function lifecycleReportTables(plan: CollectPlan, elsewhere: string): MdTable[] {
  const l = plan.lifecycle
  if (!l) return []
  return [
    {
      title: 'Listed, and still failing',
      total: l.stillFailing.length,
      header: ['Kind', 'Value', 'Listed as', 'Listed since (UTC)', 'Failing sessions', 'Devices', 'Last failure (UTC)'],
      rows: l.stillFailing.map(stillFailingRow),
      limit: Math.min(l.stillFailing.length, REPORT_SHOWN),
      collapsed: false,
      intro: `Already bypassed, yet their TLS sessions still ended in \`CLIENT_TLS_ERROR\` after they were listed (counts are of this run's window). ${SPLIT_TUNNEL_HINT} Nothing is removed for this.`,
      elsewhere
    },
    {
      title: 'Not proposed again: rejected by a reviewer',
      total: l.rejected.length,
      header: ['Kind', 'Value', 'Rejected in', 'On (UTC)', 'Sessions', 'Devices'],
      rows: l.rejected.map((r) => row([r.candidate.kind, val(r.candidate.value), `#${positiveInt(r.pr)}`, day(r.at), String(r.candidate.stats.sessions), String(r.candidate.stats.devices)])),
      limit: Math.min(l.rejected.length, REPORT_SHOWN),
      collapsed: true,
      intro: `A reviewer closed the pull request without merging, or deleted the line before merging, within the last ${positiveInt(l.rejectDays)} days (reject-days). They are proposed again after that; adding one by hand in a pull request still works.`,
      elsewhere
    }
  ].filter((t) => t.total > 0)
}

/** Lines for "What was read": the rule's settings and its notes, escaped. */
export function lifecycleReadMd(plan: CollectPlan): string[] {
  const l = plan.lifecycle
  if (!l) return []
  const idle = l.idleDays > 0 ? `idle-days ${l.idleDays}${l.idle.judged ? '' : ' (not judged this run)'}` : 'idle-days 0 (off)'
  return [`- Lifecycle: ${idle} · reject-days ${l.rejectDays}`, ...l.notes.map((n) => `  - ${escapeMarkdown(clip(n, NOTE_MAX))}`)]
}

/** The commit message's removal lines for idle entries, and its closing counts. */
export function lifecycleCommitLines(plan: CollectPlan, verbatim: (v: string) => string): { removals: string[]; notes: string[] } {
  const l = plan.lifecycle
  if (!l) return { removals: [], notes: [] }
  const notes: string[] = []
  if (l.idle.heldBack.length) notes.push(`Idle, held back by the removal guard: ${l.idle.heldBack.length}.`)
  if (l.rejected.length) notes.push(`Not proposed again (rejected): ${l.rejected.length}.`)
  if (l.stillFailing.length) notes.push(`Listed, and still failing: ${l.stillFailing.length}.`)
  return { removals: l.idle.removals.map((r) => `- ${r.kind} ${verbatim(r.value)}  ${idleReason(r, l.idleDays)}`), notes }
}

/** Terminal text: idle removals right after the other removals. */
export function idleRemovalText(plan: CollectPlan): string[] {
  const l = plan.lifecycle
  if (!l?.idle.removals.length) return []
  return ['', `Remove, idle (${l.idle.removals.length}):`, ...l.idle.removals.map((r) => `  ${r.kind}  ${visible(r.value)}  ${idleReason(r, l.idleDays)}`)]
}

function cut<T>(xs: T[], line: (x: T) => string): string[] {
  return [...xs.slice(0, TEXT_SHOWN).map(line), ...(xs.length > TEXT_SHOWN ? [`  … ${xs.length - TEXT_SHOWN} more`] : [])]
}

/** Terminal text: what the lifecycle held back or reports, and its notes. */
export function lifecycleText(plan: CollectPlan): string[] {
  const l = plan.lifecycle
  if (!l) return []
  const out: string[] = []
  if (l.idle.heldBack.length) out.push('', `Idle, held back by the removal guard (${l.idle.heldBack.length}):`, ...cut(l.idle.heldBack, (r) => `  ${r.kind}  ${visible(r.value)}  ${idleReason(r, l.idleDays)}`))
  if (l.stillFailing.length) {
    out.push('', `Listed, and still failing (${l.stillFailing.length}; nothing removed):`, `  ${SPLIT_TUNNEL_HINT}`)
    out.push(...cut(l.stillFailing, (s) => `  ${s.kind}  ${visible(s.value)}${s.entry === s.value ? '' : ` (in ${visible(s.entry)})`}  sessions=${s.stats.sessions} devices=${s.stats.devices} listed since ${day(s.listedSince.at)}, last failure ${day(s.stats.lastSeen)}`))
  }
  if (l.rejected.length) out.push('', `Not proposed again, rejected by a reviewer (${l.rejected.length}):`, ...cut(l.rejected, (r) => `  ${r.candidate.kind}  ${visible(r.candidate.value)}  #${positiveInt(r.pr)} on ${day(r.at)}`))
  if (l.notes.length) out.push('', 'Lifecycle:', ...l.notes.map((n) => `  ${visible(clip(n, NOTE_MAX))}`))
  return out
}
