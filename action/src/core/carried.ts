/**
 * What a collect run carries forward from the open proposal: only what the bot itself
 * wrote. The source is the bot's own commit on the proposal branch (the adapter decides
 * whether the tip is provably the bot's), never the PR body or any other editable text:
 *
 * - the values are those the commit's list files add over the current lists, and
 * - their evidence is parsed from the commit message's `+ kind value  evidence` lines,
 *   which `renderCommitMessage` writes (and which `git blame` readers see).
 *
 * A value needs both: named in the message AND added by the files. The planner then
 * re-checks each one (canonical form, exclusions, current thresholds).
 */
import { parseListFile } from './listfile.js'
import type { Candidate, EntryKind, EvidenceSource } from './types.js'

/** The bot's commit as the adapter read it: its message and its list files (null: absent). */
export interface BotCommitContent {
  message: string
  files: { ips: string | null; hosts: string | null }
}

// `+ ip 192.0.2.1  tls-error sessions=5 devices=2 users=2 first=2026-11-15T10:00Z last=2026-11-15T12:00Z hosts=3`
const EVIDENCE_LINE =
  /^\+ (ip|host) (\S+) {2}(tls-error|bypass-log|dashboard) sessions=(\d{1,15}) devices=(\d{1,15}) users=(\d{1,15}) first=(\S+) last=(\S+) (ips|hosts)=(\d{1,15})$/

/** `2026-11-15T10:00Z` → epoch ms; `-` (unknown) or anything else → 0. */
function minuteToMs(s: string): number {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}Z$/.test(s)) return 0
  const ms = Date.parse(s)
  return Number.isFinite(ms) && ms > 0 ? ms : 0
}

/**
 * Parses the evidence lines of a commit message written by `renderCommitMessage`. Lines
 * that do not match the format exactly are ignored; the first line for a value wins.
 * The other side comes back as a count only (the message does not list the values).
 */
export function parseCommitEvidence(message: string): Candidate[] {
  const out = new Map<string, Candidate>()
  for (const line of message.split('\n')) {
    const m = EVIDENCE_LINE.exec(line.replace(/\r$/, ''))
    if (m === null) continue
    const [, kind, value, source, sessions, devices, users, first, last, other, total] = m
    if ((kind === 'ip') !== (other === 'hosts')) continue
    const key = `${kind}\u0000${value}`
    if (out.has(key)) continue
    out.set(key, {
      kind: kind as EntryKind,
      value: value!,
      source: source as EvidenceSource,
      stats: { sessions: Number(sessions), devices: Number(devices), users: Number(users), firstSeen: minuteToMs(first!), lastSeen: minuteToMs(last!) },
      otherSide: [],
      otherSideTotal: Number(total)
    })
  }
  return [...out.values()]
}

/** Entries of a list file text; a missing file has none. Bad lines are simply not entries. */
function entriesOf(text: string | null, kind: EntryKind): Set<string> {
  if (text === null) return new Set()
  return new Set(parseListFile(text, { kind, file: kind }).entries)
}

/**
 * The proposals the bot's commit carries: message lines whose value the commit's list
 * files add over `current` (the lists this run starts from).
 */
export function carriedFromCommit(commit: BotCommitContent, current: { ips: string[]; hosts: string[] }): Candidate[] {
  const added: Record<EntryKind, Set<string>> = { ip: entriesOf(commit.files.ips, 'ip'), host: entriesOf(commit.files.hosts, 'host') }
  for (const v of current.ips) added.ip.delete(v)
  for (const v of current.hosts) added.host.delete(v)
  return parseCommitEvidence(commit.message).filter((c) => added[c.kind].has(c.value))
}
