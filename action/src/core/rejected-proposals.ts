/**
 * What a closed or merged proposal PR tells about a reviewer's "no" (issue 10), from the
 * bot's own commit on it and the list files a reviewer left, never from editable text:
 *
 * - closed without merging: the values the bot's commit proposed (its `+ kind value`
 *   lines) that are not on the default branch are rejected;
 * - merged: the values it proposed that the merged result does not hold (a reviewer
 *   deleted their lines before merging) are rejected.
 *
 * Both come down to "proposed, and not in the list files that were kept"; the adapter
 * decides which files those are (the default branch now, or the merge commit).
 */
import { parseCommitEvidence } from './carried.js'
import { parseListFile } from './listfile.js'
import type { EntryKind, Rejection } from './types.js'
import { canonicalValue } from './values.js'

/** The list files a reviewer kept (null: absent there). */
export interface KeptLists {
  ips: string | null
  hosts: string | null
}

/** A proposal PR as far as rejections care: its number and when it was closed (epoch ms). */
export interface ClosedProposal {
  number: number
  closedAt: number
}

/** Entries of a list file; lines that are not entries (comments, bad lines) are not. */
function entriesOf(text: string | null, kind: EntryKind): Set<string> {
  if (text === null) return new Set()
  return new Set(parseListFile(text, { kind, file: kind }).entries)
}

/**
 * The values `botMessage` proposed (its `+` evidence lines, in canonical form) that `kept`
 * does not hold, each as a rejection by `pull`. One per value; values that are not valid
 * entries are dropped (the planner would never propose them).
 */
export function rejectedByPull(pull: ClosedProposal, botMessage: string, kept: KeptLists): Rejection[] {
  const have: Record<EntryKind, Set<string>> = { ip: entriesOf(kept.ips, 'ip'), host: entriesOf(kept.hosts, 'host') }
  const out = new Map<string, Rejection>()
  for (const c of parseCommitEvidence(botMessage)) {
    const canon = canonicalValue(c.kind, c.value)
    if (!canon.ok || have[c.kind].has(canon.value)) continue
    out.set(`${c.kind}:${canon.value}`, { kind: c.kind, value: canon.value, pr: pull.number, at: pull.closedAt })
  }
  return [...out.values()]
}
