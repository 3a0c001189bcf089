/**
 * The evidence tables of a collect plan, shaped to fit a pull request at 780–900 px
 * (issue 11): at most five columns, one table per kind (no Kind column), "Seen with"
 * right after the value, one compact "Seen" range, the source as a small marker, and
 * every value clipped in the middle so that no column can push the others off screen.
 * The commit message keeps every value whole.
 */
import type { Candidate, EntryKind } from '../types.js'
import { code } from './escape.js'

/** Longest value a table cell shows: a 40-character code span fits beside the other columns at 780 px. */
export const CELL_VALUE_MAX = 40
// How many other-side values a cell shows before "+N more".
const OTHER_SIDE_SHOWN = 3
/** Largest time a Date can hold; stats from any source are checked against it before printing. */
const MAX_DATE_MS = 8.64e15
const NBSP = '\u00a0'
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']

/** What an IP with no hostname says under "Seen with": the riskiest kind of entry, so it stands out. */
export const NO_HOSTNAME = '⚠️ **no hostname seen on this IP**'

/**
 * Shortens `s` to at most `max` characters by cutting its middle (`abc…xyz`): the end of
 * a hostname (its registrable domain) matters as much as its start. Never splits a
 * surrogate pair.
 */
export function clipMiddle(s: string, max: number): string {
  if (s.length <= max) return s
  if (max <= 1) return max === 1 ? '…' : ''
  let head = Math.ceil((max - 1) / 2)
  let tail = max - 1 - head
  if (isHigh(s.charCodeAt(head - 1))) head--
  if (tail > 0 && isLow(s.charCodeAt(s.length - tail))) tail--
  return `${s.slice(0, head)}…${tail > 0 ? s.slice(s.length - tail) : ''}`
}

const isHigh = (c: number): boolean => c >= 0xd800 && c <= 0xdbff
const isLow = (c: number): boolean => c >= 0xdc00 && c <= 0xdfff

/** A value in a table cell: a code span of at most {@link CELL_VALUE_MAX} characters. */
export function cellValue(v: string): string {
  return code(clipMiddle(v, CELL_VALUE_MAX))
}

function validTime(ms: number): boolean {
  return ms > 0 && ms <= MAX_DATE_MS
}

/** `28 Nov 10:00`, with the year when it differs from `year`; spaces are non-breaking. */
function day(ms: number, year: number): string {
  const d = new Date(ms)
  const y = d.getUTCFullYear() === year ? '' : ` ${d.getUTCFullYear()}`
  return `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]}${y} ${hm(d)}`.replace(/ /g, NBSP)
}

const hm = (d: Date): string => d.toISOString().slice(11, 16)

/**
 * First to last seen as one short range (UTC): `28 Nov 10:00` (one moment),
 * `28 Nov 10:00 → 12:30` (one day), `28 Nov 10:00 → 30 Nov 09:12`. Each date is kept on
 * one line (non-breaking spaces); the range may wrap at the arrow only. `year` is the
 * window's year: only other years are written. `—` when nothing is known.
 */
export function seenRange(first: number, last: number, year: number): string {
  const f = validTime(first) ? first : validTime(last) ? last : 0
  const l = validTime(last) ? last : f
  if (f === 0) return '—'
  const [a, b] = f <= l ? [f, l] : [l, f]
  if (Math.floor(a / 60_000) === Math.floor(b / 60_000)) return day(a, year)
  const da = new Date(a)
  const db = new Date(b)
  if (da.toISOString().slice(0, 10) === db.toISOString().slice(0, 10)) return `${day(a, year)}${NBSP}→ ${hm(db)}`
  return `${day(a, year)}${NBSP}→ ${day(b, year)}`
}

function row(cells: string[]): string {
  return `| ${cells.join(' | ')} |`
}

/** The other side: IPs a hostname failed on, or hostnames seen on an IP; "no hostname" is loud. */
function seenWith(c: Candidate): string {
  const shown = c.otherSide.slice(0, OTHER_SIDE_SHOWN).map(cellValue)
  const more = Math.max(c.otherSideTotal - shown.length, 0)
  if (more) shown.push(`+${more} more`)
  if (shown.length) return shown.join(', ')
  // A hand-added item has no log evidence at all: nothing was "not seen".
  return c.kind === 'ip' && c.source === 'tls-error' ? NO_HOSTNAME : '—'
}

/** The count column: failing sessions, or bypassed requests for rows from the bypass log. */
function countCell(c: Candidate): string {
  const n = Number.isFinite(c.stats.sessions) ? c.stats.sessions : 0
  if (c.source === 'bypass-log') return `${n} ${n === 1 ? 'request' : 'requests'}`
  if (c.source === 'dashboard' && n === 0) return '—'
  return String(n)
}

const MARKER: Record<string, string> = { 'bypass-log': ' <sub>bypass log</sub>', dashboard: ' <sub>hand-added</sub>' }

/** One evidence row: value (+ source marker), seen with, count, devices / users, seen. */
export function evidenceRow(c: Candidate, year: number): string {
  return row([
    `${cellValue(c.value)}${MARKER[c.source] ?? ''}`,
    seenWith(c),
    countCell(c),
    `${c.stats.devices} / ${c.stats.users}`,
    seenRange(c.stats.firstSeen, c.stats.lastSeen, year)
  ])
}

/** The header of an evidence table: by kind, or `Value` for a table that mixes both. */
export function evidenceHeader(kind: EntryKind | 'mixed'): string[] {
  const first = kind === 'host' ? 'Hostname' : kind === 'ip' ? 'IP' : 'Value'
  return [first, 'Seen with', 'Sessions', 'Devices / users', 'Seen (UTC)']
}

/** The intro of an IP table: how many IPs have no hostname, the riskiest entries. */
export function ipIntro(cs: Candidate[]): string | undefined {
  const bare = cs.filter((c) => c.kind === 'ip' && c.source === 'tls-error' && c.otherSideTotal === 0 && c.otherSide.length === 0).length
  if (!bare) return undefined
  const which = cs.length === 1 ? 'This IP has' : `${bare} of these ${cs.length} IPs ${bare === 1 ? 'has' : 'have'}`
  return `⚠️ **${which} no hostname seen on ${bare === 1 ? 'it' : 'them'}**: nothing shows what else ${bare === 1 ? 'it serves' : 'they serve'}, so a bypass may exempt other sites too. Prefer the app's hostname if you know it.`
}

/** The legend under the first evidence table: what the columns and markers mean. */
export const EVIDENCE_LEGEND =
  'Strongest evidence first. "Seen with": the IPs a hostname failed on (or, on a *bypass log* row, was bypassed to), or the hostnames seen on an IP. ' +
  'Sessions: failing TLS sessions (rows marked *bypass log* count requests the Do Not Inspect policy let through; ' +
  'rows marked *hand-added* were added by hand in the Gateway dashboard, without review or log evidence). ' +
  `Values longer than ${CELL_VALUE_MAX} characters are shortened in the middle (…); the diff and the commit message have them whole.`
