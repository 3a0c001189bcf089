/**
 * `why VALUE`: the mission's "git blame shows why", in one command. For a hostname, IP or
 * network it prints the commits that added and removed it (with the evidence line of each
 * commit message), the listed network an IP falls in, the exclusion that covers it, and —
 * with a token — whether the managed Gateway lists hold it and since when.
 *
 * Read-only and local: the history comes from the checkout's git, the files from disk.
 */
import type { GitPort, TouchingCommit } from '../adapters/git.js'
import { ruleCovering } from '../core/exclusions.js'
import { visible } from '../core/render/escape.js'
import { canonicalRemote, type RemoteState } from '../core/sync-plan.js'
import type { EntryKind, ExclusionRule } from '../core/types.js'
import { canonicalHost, canonicalIp, ipInNetwork } from '../core/values.js'
import type { LoadedFiles } from './files.js'

/** One change of a list line, as the history records it. */
export interface LineEvent {
  action: 'added' | 'removed'
  sha: string
  date: string
  /** The commit message line that names the value (`+ ip 1.2.3.4  tls-error …`), else the subject. */
  evidence: string
}

/** Where the managed Gateway lists hold the value; null when they don't. */
export interface RemoteSighting {
  list: string
  /** `created_at` of the item, when the API returned it. */
  since?: string
  /** For an IP held through a listed network: that network (the item's value). */
  network?: string
}

/** When the managed policy last bypassed traffic for the value, within `days`. */
export interface BypassSighting {
  days: number
  /** Epoch ms; null: no bypassed request in the window. */
  at: number | null
}

/** Reads the last bypass of a value (Log Explorer); throws with a sentence when it cannot. */
export type BypassReader = (kind: EntryKind, value: string) => Promise<BypassSighting>

export interface WhyReport {
  value: string
  kind: EntryKind
  file: string
  listed: boolean
  history: LineEvent[]
  /** Listed networks that contain an IP value, each with its own history. */
  networks: { network: string; history: LineEvent[] }[]
  exclusion?: ExclusionRule
  expiredExclusion?: ExclusionRule
  shallow: boolean
  /** undefined: not asked (no token); null: not in the managed lists. */
  remote?: RemoteSighting | null
  remoteError?: string
  /** undefined: not asked (no token, or `idle-days` 0). */
  bypass?: BypassSighting
  bypassError?: string
}

/** The value as a list entry: an IP or network if it parses as one, else a hostname. */
export function canonicalTarget(raw: string): { kind: EntryKind; value: string } | { error: string } {
  const s = raw.trim()
  const ip = canonicalIp(s)
  if (ip.ok) return { kind: 'ip', value: ip.value }
  const host = canonicalHost(s)
  if (host.ok) return { kind: 'host', value: host.value }
  return { error: `"${visible(s.slice(0, 80))}" is neither an IP address, a network nor a hostname: ${host.reason}` }
}

/** The changes of exactly this line (git -S also finds longer lines that contain it), oldest first. */
export function lineEvents(commits: TouchingCommit[], kind: EntryKind, value: string): LineEvent[] {
  const events: LineEvent[] = []
  for (const c of commits) {
    const added = c.added.some((l) => l.trim() === value)
    const removed = c.removed.some((l) => l.trim() === value)
    // A commit that removes and re-adds the line (a re-sort) changed nothing about it.
    if (added === removed) continue
    const action = added ? 'added' : 'removed'
    events.push({ action, sha: c.sha, date: c.date, evidence: evidenceLine(c.message, action, kind, value) })
  }
  return events.reverse()
}

function evidenceLine(message: string, action: LineEvent['action'], kind: EntryKind, value: string): string {
  const sign = action === 'added' ? '+' : '-'
  const lines = message.split('\n').map((l) => l.trim())
  const named = lines.find((l) => l === `${sign} ${kind} ${value}` || l.startsWith(`${sign} ${kind} ${value} `))
  return named ?? lines[0] ?? ''
}

/** Gathers everything `why` says about one value. */
export async function explain(
  target: { kind: EntryKind; value: string }, files: LoadedFiles, git: GitPort,
  remote?: (kind: EntryKind, value: string) => Promise<RemoteSighting | null>, bypass?: BypassReader
): Promise<WhyReport> {
  const { kind, value } = target
  const file = kind === 'ip' ? files.paths.ips : files.paths.hosts
  const entries = (kind === 'ip' ? files.ips : files.hosts).entries
  const historyOf = async (v: string): Promise<LineEvent[]> => lineEvents(await git.commitsTouching(file, v), kind, v)
  const report: WhyReport = {
    value,
    kind,
    file,
    listed: entries.includes(value),
    history: await historyOf(value),
    networks: [],
    shallow: await git.isShallow()
  }
  if (kind === 'ip') {
    for (const network of entries.filter((e) => e !== value && e.includes('/') && ipInNetwork(value, e))) {
      report.networks.push({ network, history: await historyOf(network) })
    }
  }
  const rule = ruleCovering(files.rules, kind, value)
  if (rule) report.exclusion = rule
  const expired = ruleCovering(files.expired, kind, value)
  if (!rule && expired) report.expiredExclusion = expired
  if (remote) {
    try {
      report.remote = await remote(kind, value)
    } catch (e) {
      report.remoteError = (e as Error).message.split('\n')[0]
    }
  }
  if (bypass) {
    try {
      report.bypass = await bypass(kind, value)
    } catch (e) {
      report.bypassError = (e as Error).message.split('\n')[0]
    }
  }
  return report
}

/**
 * Where the managed lists hold the value: its own item, else (for an IP) the item of a
 * listed network around it; the earliest `created_at` when several do. Null: none holds it.
 */
export function gatewaySighting(state: RemoteState, kind: EntryKind, value: string): RemoteSighting | null {
  const found: RemoteSighting[] = []
  for (const list of state.lists) {
    if ((list.type === 'IP') !== (kind === 'ip')) continue
    for (const item of list.items) {
      const c = canonicalRemote(list.type, item.value)
      if (!c.ok) continue
      const exact = c.value === value
      if (!exact && !(kind === 'ip' && c.value.includes('/') && ipInNetwork(value, c.value))) continue
      const s: RemoteSighting = { list: list.name }
      if (item.createdAt !== undefined && Number.isFinite(Date.parse(item.createdAt))) s.since = item.createdAt
      if (!exact) s.network = c.value
      found.push(s)
    }
  }
  // The value's own item first, then the oldest; a sighting without a date comes last.
  const key = (s: RemoteSighting): [number, number] => [s.network ? 1 : 0, s.since ? Date.parse(s.since) : Infinity]
  found.sort((a, b) => key(a)[0] - key(b)[0] || key(a)[1] - key(b)[1])
  return found[0] ?? null
}

const short = (sha: string): string => sha.slice(0, 7)
const day = (iso: string): string => iso.slice(0, 10)

function historyLines(events: LineEvent[]): string[] {
  return events.map((e) => `    ${day(e.date)}  ${e.action.padEnd(7)}  ${short(e.sha)}  ${visible(e.evidence.slice(0, 200))}`)
}

/** The terminal answer. Commit messages are the bot's or a reviewer's; no author is shown. */
export function renderWhy(r: WhyReport): string {
  const out = [`${r.value} (${r.kind === 'ip' ? 'IP' : 'hostname'})`]
  out.push(r.listed ? `  Listed in ${r.file} now.` : `  Not listed in ${r.file} now.`)
  if (r.history.length) out.push(`  History of this line in ${r.file}:`, ...historyLines(r.history))
  else out.push(`  No commit in this history adds or removes it in ${r.file}.`)
  for (const n of r.networks) {
    out.push(`  Inside the listed network ${n.network}:`)
    out.push(...(n.history.length ? historyLines(n.history) : ['    (no commit in this history adds it)']))
  }
  if (r.exclusion) out.push(`  Exclusion: covered by ${r.exclusion.value} (line ${r.exclusion.line}): ${visible(r.exclusion.reason)}`)
  else if (r.expiredExclusion) out.push(`  Exclusion: ${r.expiredExclusion.value} covered it until it expired on ${r.expiredExclusion.expires}.`)
  else out.push('  Exclusion: none covers it.')
  if (r.remoteError) out.push(`  Gateway: could not read the managed lists (${visible(r.remoteError)}).`)
  else if (r.remote === undefined) out.push('  Gateway: not checked (give --cloudflare-account-id and CLOUDFLARE_API_TOKEN with Zero Trust Read to check).')
  else if (r.remote === null) out.push('  Gateway: not in the managed lists.')
  else out.push(`  Gateway: in "${visible(r.remote.list)}"${r.remote.network ? ` through the network ${r.remote.network}` : ''}${r.remote.since ? ` since ${day(r.remote.since)}` : ''}.`)
  out.push(...bypassLines(r))
  if (r.shallow) {
    out.push('  Note: this checkout is shallow, so older commits are missing. Run `git fetch --unshallow` (in Actions: actions/checkout with fetch-depth: 0).')
  }
  return out.join('\n')
}

function bypassLines(r: WhyReport): string[] {
  if (r.bypassError) return [`  Last bypassed: could not read Log Explorer (${visible(r.bypassError)}).`]
  if (!r.bypass) return []
  if (r.bypass.at === null) return [`  Last bypassed: no request bypassed by the managed policy in the last ${r.bypass.days} day(s).`]
  return [`  Last bypassed: ${new Date(r.bypass.at).toISOString().replace(/\.\d{3}Z$/, 'Z')} (looked back ${r.bypass.days} day(s)).`]
}
