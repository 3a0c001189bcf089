/**
 * The sync planner: committed list files + remote Gateway state → what to change.
 *
 * Pure. Modelled on octoDNS plan/apply: both sides are normalised before diffing (the API
 * echoes `1.2.3.4/32`, upper case, trailing dots), only entries this tool wrote (ownership
 * mark in the item description) are ever removed, hand-made entries are kept and reported as
 * drift, and a "too much change" guard stops an accidental mass removal before any write.
 */
import type { EntryKind } from './types.js'
import { canonicalValue, compareValues } from './values.js'

/** Gateway list types this project manages. */
export type ListType = 'IP' | 'DOMAIN'

/** One item as read from `GET /gateway/lists/{id}/items`. */
export interface RemoteItem { value: string; description?: string }

/** A managed Gateway list (matched by name prefix) with every item. */
export interface RemoteList { id: string; name: string; type: ListType; items: RemoteItem[] }

/** The managed Gateway rule as returned by the API; unknown fields are kept for the PUT. */
export interface RemoteRule {
  id: string
  name: string
  action: string
  enabled: boolean
  filters: string[]
  traffic: string
  precedence?: number
  description?: string
  [k: string]: unknown
}

/** What the adapter read. `lists` holds only the managed lists (matched by name prefix). */
export interface RemoteState {
  lists: RemoteList[]
  policy: RemoteRule | null
  /** Oddities the reader noticed (e.g. two rules with the policy's name); shown in the plan. */
  warnings?: string[]
}

/** Inputs of {@link planSync} besides the two states. */
export interface SyncOptions {
  /** List name prefix, e.g. `TLS bypass` → `TLS bypass IP 1`, `TLS bypass hosts 1`. */
  prefix: string
  /** Name of the managed Do Not Inspect HTTP rule. */
  policyName: string
  /** Entries per list: 1000 (Standard) or 5000 (Enterprise). */
  capacity: number
  /** Apply even when the guard objects. */
  force: boolean
  /** Written into the ownership mark of every appended item. */
  provenance: { repository: string; commit: string }
}

/** A value to append, and the list it goes to. */
export interface PlannedAddition { value: string; listName: string }

/** A remote item to remove: owned and not in the files, or a second copy of a value. */
export interface PlannedRemoval {
  /** Canonical value. */
  value: string
  /** The value exactly as the API returned it; this is what PATCH `remove` is sent. */
  raw: string
  listId: string
  listName: string
  reason: 'not-in-files' | 'duplicate'
}

/** An unmarked (hand-made) remote item that is not in the files: kept, reported. */
export interface DriftItem { value: string; raw: string; listId: string; listName: string; description?: string }

/** A remote item whose value does not canonicalise: never touched, reported. */
export interface UnparsableItem { raw: string; listId: string; listName: string; reason: string }

/** Changes to one existing list. `append` are canonical values; `remove` raw remote values. */
export interface ListUpdate {
  id: string
  name: string
  type: ListType
  append: string[]
  remove: string[]
  /** Items in the list before the change; lets apply chunk a combined PATCH within capacity. */
  countBefore: number
}

/** A list to create, with its initial items (canonical values). */
export interface ListCreate { name: string; type: ListType; number: number; items: string[] }

/** Everything planned for one kind of entry. */
export interface KindPlan {
  kind: EntryKind
  type: ListType
  /** Distinct valid values in the file. */
  desired: number
  /** Desired values that are already present remotely. */
  unchanged: number
  /** Distinct values that carry the ownership mark remotely (before the change). */
  owned: number
  added: PlannedAddition[]
  removed: PlannedRemoval[]
  drift: DriftItem[]
  unparsable: UnparsableItem[]
  /** File values that do not canonicalise (the file parser should have caught them). */
  invalidDesired: { value: string; reason: string }[]
  updates: ListUpdate[]
  creates: ListCreate[]
}

/** A list the policy must reference: by id if it exists, by name if apply creates it. */
export interface PolicyListRef { type: ListType; name: string; id: string | null }

/** The policy part of the plan. */
export interface PolicyPlan {
  name: string
  action: 'none' | 'create' | 'update'
  /** Remote rule id (null when it is created). */
  id: string | null
  /** Why it changes, one human sentence each. */
  reasons: string[]
  /** True when the remote rule was changed by someone (not just new lists to reference). */
  handEdited: boolean
  /** Every managed list after apply, IP lists first, in list-number order. */
  lists: PolicyListRef[]
}

/** The "too much change" verdict. */
export interface GuardVerdict {
  /** False when a rule objects (even if `forced`). */
  safe: boolean
  /** The plan may be applied: safe, or the objection was overridden with `force`. */
  allowed: boolean
  forced: boolean
  /** One sentence per objection, with counts. */
  violations: string[]
}

/** Result of {@link planSync}. */
export interface SyncPlan {
  ips: KindPlan
  hosts: KindPlan
  policy: PolicyPlan
  guard: GuardVerdict
  counts: { added: number; removed: number; duplicates: number; drift: number; unparsable: number; listsCreated: number }
  /** Items added + items removed + lists created + 1 if the policy changes; 0 = no writes. */
  changes: number
  /** Description written on every appended item. */
  mark: string
  capacity: number
  prefix: string
  warnings: string[]
}

/** Remove more than this share of a type's owned entries and the guard objects... */
export const GUARD_MAX_REMOVAL_RATIO = 0.3
/** ...provided the type holds at least this many owned entries. */
export const GUARD_MIN_OWNED = 10
/** Items sent in one create/PATCH call (known to work; the API documents no limit). */
export const MAX_ITEMS_PER_CALL = 1000
/** Every ownership mark starts with this; {@link isOwned} looks only at it. */
export const OWNERSHIP_PREFIX = 'gateway-tls-bypass:'

const LIST_WORD: Record<ListType, string> = { IP: 'IP', DOMAIN: 'hosts' }

/** `${prefix} IP 3`, `${prefix} hosts 1`. */
export function managedListName(prefix: string, type: ListType, n: number): string {
  return `${prefix} ${LIST_WORD[type]} ${n}`
}

/** The type and number encoded in a managed list's name, or null for any other name. */
export function parseManagedListName(prefix: string, name: string): { type: ListType; number: number } | null {
  if (!name.startsWith(`${prefix} `)) return null
  const m = /^(IP|hosts) ([1-9][0-9]{0,5})$/.exec(name.slice(prefix.length + 1))
  if (m === null) return null
  return { type: m[1] === 'IP' ? 'IP' : 'DOMAIN', number: Number(m[2]) }
}

/**
 * The description written on every item sync appends, e.g.
 * `gateway-tls-bypass: from owner/repo@abc1234`. Repository and short commit only: no
 * actor, no run URL, nothing personal. Characters outside `[A-Za-z0-9._/-]` are dropped.
 */
export function ownershipMark(p: SyncOptions['provenance']): string {
  const repo = p.repository.replace(/[^A-Za-z0-9._/-]/g, '').slice(0, 100)
  const commit = /^[0-9a-f]{7,64}$/i.test(p.commit) ? p.commit.slice(0, 7).toLowerCase() : ''
  if (repo === '') return `${OWNERSHIP_PREFIX} managed`
  return `${OWNERSHIP_PREFIX} from ${repo}${commit !== '' ? `@${commit}` : ''}`
}

/** Whether an item description carries the ownership mark (whatever repository wrote it). */
export function isOwned(description: string | undefined): boolean {
  return description !== undefined && description.trimStart().startsWith(OWNERSHIP_PREFIX)
}

/** Thrown by apply when the guard objects and `force` is not set. */
export class TooMuchChangeError extends Error {
  readonly violations: string[]
  constructor(violations: string[]) {
    super(
      `Refusing to sync: ${violations.join(' ')} ` +
      'If this is intended, re-run with force: true (workflow_dispatch input `force`).'
    )
    this.name = 'TooMuchChangeError'
    this.violations = violations
  }
}

/** Throws {@link TooMuchChangeError} unless the plan may be applied. */
export function assertPlanAllowed(plan: SyncPlan): void {
  if (!plan.guard.allowed) throw new TooMuchChangeError(plan.guard.violations)
}

/**
 * Canonical form of a value as the API returns it. The shared canonicaliser already maps
 * `1.2.3.4/32` to `1.2.3.4`, upper case and trailing dots away, so an echo is never a change.
 */
export function canonicalRemote(type: ListType, raw: string): { ok: true; value: string } | { ok: false; reason: string } {
  return canonicalValue(type === 'IP' ? 'ip' : 'host', raw.trim())
}

/** The list ids a rule's `traffic` references, hyphens stripped and lower-cased. */
export function referencedListIds(traffic: string): Set<string> {
  const out = new Set<string>()
  for (const m of traffic.matchAll(/\$([0-9a-fA-F-]{32,36})\b/g)) out.add(normaliseListId(m[1] ?? ''))
  return out
}

/** A list id as the rules API writes it in `traffic`: no hyphens, lower case. */
export function normaliseListId(id: string): string {
  return id.replace(/-/g, '').toLowerCase()
}

/**
 * The policy expression: IP lists match the connection's destination IP, host lists the SNI
 * (Do Not Inspect must match on SNI). OR-ed, IP lists first.
 */
export function policyTraffic(lists: { type: ListType; id: string }[]): string {
  return lists
    .map((l) => l.type === 'IP' ? `any(http.conn.dst_ip[*] in $${l.id})` : `http.conn.hostname in $${l.id}`)
    .join(' or ')
}

/** Hand-made values not in the files, for the next collect to propose importing them. */
export function driftValues(plan: SyncPlan): { ips: string[]; hosts: string[] } {
  const distinct = (k: KindPlan): string[] =>
    [...new Set(k.drift.map((d) => d.value))].sort((a, b) => compareValues(k.kind, a, b))
  return { ips: distinct(plan.ips), hosts: distinct(plan.hosts) }
}

interface Occurrence { list: RemoteList; raw: string; owned: boolean; description?: string }

interface SortedList { list: RemoteList; number: number }

function planKind(
  kind: EntryKind,
  desiredRaw: string[],
  remoteLists: SortedList[],
  o: SyncOptions,
  warnings: string[]
): KindPlan {
  const type: ListType = kind === 'ip' ? 'IP' : 'DOMAIN'
  const cmp = (a: string, b: string): number => compareValues(kind, a, b)

  const invalidDesired: KindPlan['invalidDesired'] = []
  const desired = new Set<string>()
  for (const v of desiredRaw) {
    const c = canonicalRemote(type, v)
    if (c.ok) desired.add(c.value)
    else invalidDesired.push({ value: v, reason: c.reason })
  }

  // Every remote copy of every canonical value, in list order (lowest number first).
  const occurrences = new Map<string, Occurrence[]>()
  const unparsable: UnparsableItem[] = []
  for (const { list } of remoteLists) {
    for (const item of list.items) {
      const c = canonicalRemote(type, item.value)
      if (!c.ok) {
        unparsable.push({ raw: item.value, listId: list.id, listName: list.name, reason: c.reason })
        continue
      }
      const occ: Occurrence = { list, raw: item.value, owned: isOwned(item.description) }
      if (item.description !== undefined) occ.description = item.description
      const all = occurrences.get(c.value)
      if (all === undefined) occurrences.set(c.value, [occ])
      else all.push(occ)
    }
  }

  const removed: PlannedRemoval[] = []
  const drift: DriftItem[] = []
  let owned = 0
  let unchanged = 0
  for (const value of [...occurrences.keys()].sort(cmp)) {
    const occ = occurrences.get(value) ?? []
    const wanted = desired.has(value)
    const handMade = occ.filter((x) => !x.owned)
    const ours = occ.filter((x) => x.owned)
    if (ours.length > 0) owned++
    if (wanted) unchanged++
    const remove = (x: Occurrence, reason: PlannedRemoval['reason']): void => {
      removed.push({ value, raw: x.raw, listId: x.list.id, listName: x.list.name, reason })
    }
    if (handMade.length > 0) {
      // Hand-made copies are never removed; they already cover the value, so our copies are
      // redundant when it is wanted and removable when it is not.
      for (const x of ours) remove(x, wanted ? 'duplicate' : 'not-in-files')
      if (!wanted) {
        for (const x of handMade) {
          const d: DriftItem = { value, raw: x.raw, listId: x.list.id, listName: x.list.name }
          if (x.description !== undefined) d.description = x.description
          drift.push(d)
        }
      }
    } else if (wanted) {
      // A past partial run may have left a value in two lists: keep the first copy.
      for (const x of ours.slice(1)) remove(x, 'duplicate')
    } else {
      for (const x of ours) remove(x, 'not-in-files')
    }
  }

  // Placement: free slots of existing lists first, lowest number first; removals free slots.
  const toAdd = [...desired].filter((v) => !occurrences.has(v)).sort(cmp)
  const removedPerList = new Map<string, string[]>()
  for (const r of removed) {
    const rs = removedPerList.get(r.listId)
    if (rs === undefined) removedPerList.set(r.listId, [r.raw])
    else rs.push(r.raw)
  }
  const added: PlannedAddition[] = []
  const updates: ListUpdate[] = []
  let next = 0
  for (const { list } of remoteLists) {
    const remove = removedPerList.get(list.id) ?? []
    const free = Math.max(0, o.capacity - (list.items.length - remove.length))
    const append = toAdd.slice(next, next + free)
    next += append.length
    for (const value of append) added.push({ value, listName: list.name })
    if (append.length > 0 || remove.length > 0) {
      updates.push({ id: list.id, name: list.name, type, append, remove, countBefore: list.items.length })
    }
  }

  const used = new Set(remoteLists.map((l) => l.number))
  const freeNumber = (): number => {
    let n = 1
    while (used.has(n)) n++
    used.add(n)
    return n
  }
  const creates: ListCreate[] = []
  while (next < toAdd.length) {
    const number = freeNumber()
    const name = managedListName(o.prefix, type, number)
    const items = toAdd.slice(next, next + o.capacity)
    next += items.length
    for (const value of items) added.push({ value, listName: name })
    creates.push({ name, type, number, items })
  }
  // The policy expression needs at least one list of each type, even an empty one.
  if (remoteLists.length === 0 && creates.length === 0) {
    const number = freeNumber()
    creates.push({ name: managedListName(o.prefix, type, number), type, number, items: [] })
  }

  if (invalidDesired.length > 0) {
    warnings.push(`${invalidDesired.length} ${kind} value(s) in the file are not valid and were skipped.`)
  }
  return {
    kind, type, desired: desired.size, unchanged, owned, added, removed, drift, unparsable,
    invalidDesired, updates, creates
  }
}

function guardKind(k: KindPlan, label: string): string[] {
  const removing = new Set(k.removed.filter((r) => r.reason === 'not-in-files').map((r) => r.value)).size
  if (k.desired === 0 && k.owned >= 1 && removing > 0) {
    return [`The ${label} file is empty but Cloudflare holds ${k.owned} ${label} entr${k.owned === 1 ? 'y' : 'ies'} written by sync; emptying it would remove all of them.`]
  }
  if (k.owned >= GUARD_MIN_OWNED && removing > GUARD_MAX_REMOVAL_RATIO * k.owned) {
    const pct = Math.round((removing / k.owned) * 100)
    return [`The plan removes ${removing} of ${k.owned} ${label} entries written by sync (${pct}%, limit ${GUARD_MAX_REMOVAL_RATIO * 100}%).`]
  }
  return []
}

function sameFilters(filters: unknown): boolean {
  return Array.isArray(filters) && filters.length === 1 && filters[0] === 'http'
}

function planPolicy(remote: RemoteRule | null, ips: SortedList[], hosts: SortedList[], k: { ips: KindPlan; hosts: KindPlan }, name: string): PolicyPlan {
  const lists: PolicyListRef[] = [
    ...ips.map((l) => ({ type: 'IP' as const, name: l.list.name, id: l.list.id })),
    ...k.ips.creates.map((c) => ({ type: c.type, name: c.name, id: null })),
    ...hosts.map((l) => ({ type: 'DOMAIN' as const, name: l.list.name, id: l.list.id })),
    ...k.hosts.creates.map((c) => ({ type: c.type, name: c.name, id: null }))
  ]
  if (remote === null) {
    return { name, action: 'create', id: null, reasons: ['The Do Not Inspect policy does not exist.'], handEdited: false, lists }
  }
  const reasons: string[] = []
  let handEdited = false
  const created = lists.filter((l) => l.id === null).length
  if (created > 0) reasons.push(`It must reference ${created} new list(s).`)
  // The API rewrites `traffic` (formatting, hyphen-less UUIDs): compare the sets of ids only.
  const refs = referencedListIds(typeof remote.traffic === 'string' ? remote.traffic : '')
  const want = new Set(lists.flatMap((l) => l.id === null ? [] : [normaliseListId(l.id)]))
  const missing = lists.filter((l) => l.id !== null && !refs.has(normaliseListId(l.id))).map((l) => l.name)
  const extra = [...refs].filter((id) => !want.has(id)).sort()
  if (missing.length > 0) {
    // Not necessarily a hand edit: a run interrupted after creating lists leaves this too.
    reasons.push(`It does not reference ${missing.join(', ')}.`)
  }
  if (extra.length > 0) {
    handEdited = true
    reasons.push(`It references list(s) that are not managed lists: ${extra.join(', ')}.`)
  }
  if (remote.action !== 'off') {
    handEdited = true
    reasons.push(`Its action is "${String(remote.action)}", not "off" (Do Not Inspect).`)
  }
  if (remote.enabled !== true) {
    handEdited = true
    reasons.push('It is disabled.')
  }
  if (!sameFilters(remote.filters)) {
    handEdited = true
    reasons.push(`Its filters are ${JSON.stringify(remote.filters)}, not ["http"].`)
  }
  return { name, action: reasons.length > 0 ? 'update' : 'none', id: remote.id, reasons, handEdited, lists }
}

/**
 * Plans a sync: which items to append to / remove from which managed list, which lists to
 * create, whether the Do Not Inspect policy must be created or restored, what is kept as
 * drift, and whether the guard allows it. Deterministic for the same inputs.
 *
 * @param desired the list files' values (canonical; canonicalised again defensively)
 * @param remote the managed lists and policy as read by `readRemoteState`
 */
export function planSync(desired: { ips: string[]; hosts: string[] }, remote: RemoteState, o: SyncOptions): SyncPlan {
  if (!Number.isInteger(o.capacity) || o.capacity < 1) throw new Error(`capacity must be a positive integer, got ${o.capacity}`)
  const warnings = [...(remote.warnings ?? [])]
  const byType = (type: ListType): SortedList[] => {
    const out: SortedList[] = []
    for (const list of remote.lists) {
      const parsed = parseManagedListName(o.prefix, list.name)
      if (parsed === null || parsed.type !== type) continue
      if (list.type !== type) {
        warnings.push(`List "${list.name}" has type ${list.type}, expected ${type}; it is ignored.`)
        continue
      }
      out.push({ list, number: parsed.number })
    }
    return out.sort((a, b) => a.number - b.number || (a.list.id < b.list.id ? -1 : a.list.id > b.list.id ? 1 : 0))
  }
  const ipLists = byType('IP')
  const hostLists = byType('DOMAIN')
  for (const list of remote.lists) {
    if (parseManagedListName(o.prefix, list.name) === null) warnings.push(`List "${list.name}" does not follow the managed naming; it is ignored.`)
  }
  const ips = planKind('ip', desired.ips, ipLists, o, warnings)
  const hosts = planKind('host', desired.hosts, hostLists, o, warnings)
  const policy = planPolicy(remote.policy, ipLists, hostLists, { ips, hosts }, o.policyName)

  const violations = [...guardKind(ips, 'IP'), ...guardKind(hosts, 'hostname')]
  const safe = violations.length === 0
  const guard: GuardVerdict = { safe, allowed: safe || o.force, forced: !safe && o.force, violations }

  const counts = {
    added: ips.added.length + hosts.added.length,
    removed: ips.removed.filter((r) => r.reason === 'not-in-files').length + hosts.removed.filter((r) => r.reason === 'not-in-files').length,
    duplicates: ips.removed.filter((r) => r.reason === 'duplicate').length + hosts.removed.filter((r) => r.reason === 'duplicate').length,
    drift: ips.drift.length + hosts.drift.length,
    unparsable: ips.unparsable.length + hosts.unparsable.length,
    listsCreated: ips.creates.length + hosts.creates.length
  }
  const changes = counts.added + counts.removed + counts.duplicates + counts.listsCreated + (policy.action === 'none' ? 0 : 1)
  return {
    ips, hosts, policy, guard, counts, changes, mark: ownershipMark(o.provenance),
    capacity: o.capacity, prefix: o.prefix, warnings
  }
}
