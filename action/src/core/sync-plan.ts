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
import { addedCoverage, coverage, type Coverage } from './sync-breadth.js'
import { normaliseListId, normaliseTraffic, referencedListIds } from './sync-traffic.js'

export { normaliseListId, referencedListIds } from './sync-traffic.js'

/** Gateway list types this project manages. */
export type ListType = 'IP' | 'DOMAIN'

/** One item as read from `GET /gateway/lists/{id}/items`. */
export interface RemoteItem {
  value: string
  description?: string
  /** `created_at` as the API returned it (when it did): when the item was listed in Gateway. */
  createdAt?: string
}

/** A managed Gateway list (matched by name prefix) with every item. */
export interface RemoteList {
  id: string
  name: string
  type: ListType
  items: RemoteItem[]
  /** `created_at` as the API returned it; picks which of two same-named lists is adopted. */
  createdAt?: string
}

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
  /** Other rules with the policy's name (two concurrent first runs each create one): see {@link adoptOldest}. */
  duplicatePolicies?: RemoteRule[]
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
  /** Refuse (unless `force`) a plan that adds more entries than this (`max-sync-additions`). */
  maxAdditions?: number
  /** Never manage more Gateway lists than this, IP and hostname together (`max-lists`); `force` does not override it. */
  maxLists?: number
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
  /** Each field sync sets back, old → new (the expression as the API stored it → as sync writes it). */
  changes: PolicyFieldChange[]
  /** Other rules with the policy's name: sync disables the enabled ones and never deletes them. */
  duplicates: DuplicatePolicy[]
}

/** One field of the policy that sync restores, like terraform's `~ traffic = old -> new`. */
export interface PolicyFieldChange { field: 'traffic' | 'action' | 'enabled' | 'filters'; old: string; new: string }

/** A second rule named like the policy (a concurrent run created it). */
export interface DuplicatePolicy { id: string; enabled: boolean; createdAt?: string }

/** A second managed list with an adopted list's name (a concurrent run created it): unused, never deleted. */
export interface DuplicateList { id: string; name: string; type: ListType; items: number; createdAt?: string; adoptedId: string }

/** The "too much change" verdict. */
export interface GuardVerdict {
  /** False when a rule objects (even if `forced`). */
  safe: boolean
  /** The plan may be applied: safe, or the objection was overridden with `force`. */
  allowed: boolean
  forced: boolean
  /** One sentence per objection, with counts; `force` overrides these. */
  violations: string[]
  /** Hard limits (`max-lists`): `force` does not override them. */
  limits: string[]
}

/** Result of {@link planSync}. */
export interface SyncPlan {
  ips: KindPlan
  hosts: KindPlan
  policy: PolicyPlan
  guard: GuardVerdict
  counts: {
    added: number; removed: number; duplicates: number; drift: number; unparsable: number; listsCreated: number
    /** Enabled duplicate policies that sync disables. */
    policiesDisabled: number
  }
  /** Same-named managed lists that were not adopted: no longer referenced, to delete by hand. */
  duplicateLists: DuplicateList[]
  /** Addresses the IP lists cover after apply, and how many of those this run adds. */
  breadth: { total: Coverage; added: Coverage }
  /** Items added + items removed + lists created + 1 if the policy changes + policies disabled; 0 = no writes. */
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
/** Default of `max-sync-additions`. */
export const DEFAULT_MAX_ADDITIONS = 5000
/** Default of `max-lists`. */
export const DEFAULT_MAX_LISTS = 10
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

/** Thrown by apply when the plan breaks a hard limit (`max-lists`); `force` does not override it. */
export class PlanLimitError extends Error {
  readonly limits: string[]
  constructor(limits: string[]) {
    super(`Refusing to sync, nothing was written: ${limits.join(' ')}`)
    this.name = 'PlanLimitError'
    this.limits = limits
  }
}

/** Throws {@link PlanLimitError} or {@link TooMuchChangeError} unless the plan may be applied. */
export function assertPlanAllowed(plan: SyncPlan): void {
  if (plan.guard.limits.length > 0) throw new PlanLimitError(plan.guard.limits)
  if (!plan.guard.allowed) throw new TooMuchChangeError(plan.guard.violations)
}

/**
 * Of several objects with one name (two concurrent runs each created one), the one to adopt:
 * the oldest `created_at`, then the smallest id, so every run picks the same one. Objects
 * without a readable date come after those with one.
 */
export function adoptOldest<T>(xs: T[], key: (x: T) => { id: string; createdAt?: string | undefined }): { adopted: T | undefined; rest: T[] } {
  const time = (x: T): number => {
    const t = Date.parse(key(x).createdAt ?? '')
    return Number.isFinite(t) ? t : Number.POSITIVE_INFINITY
  }
  const sorted = [...xs].sort((a, b) => {
    const ta = time(a)
    const tb = time(b)
    if (ta !== tb) return ta < tb ? -1 : 1
    const ia = key(a).id
    const ib = key(b).id
    return ia < ib ? -1 : ia > ib ? 1 : 0
  })
  return { adopted: sorted[0], rest: sorted.slice(1) }
}

/**
 * Canonical form of a value as the API returns it. The shared canonicaliser already maps
 * `1.2.3.4/32` to `1.2.3.4`, upper case and trailing dots away, so an echo is never a change.
 */
export function canonicalRemote(type: ListType, raw: string): { ok: true; value: string } | { ok: false; reason: string } {
  return canonicalValue(type === 'IP' ? 'ip' : 'host', raw.trim())
}

/**
 * When each value was first listed in the managed Gateway lists: the earliest `created_at`
 * of its items (a value can sit in two lists after a partial run), by canonical value.
 * Values whose items carry no parsable `created_at` are absent, never guessed.
 */
export function listedSince(remote: RemoteState): { ips: Map<string, string>; hosts: Map<string, string> } {
  const out = { ips: new Map<string, string>(), hosts: new Map<string, string>() }
  for (const list of remote.lists) {
    const into = list.type === 'IP' ? out.ips : out.hosts
    for (const item of list.items) {
      const at = item.createdAt === undefined ? NaN : Date.parse(item.createdAt)
      const c = canonicalRemote(list.type, item.value)
      if (!c.ok || !Number.isFinite(at)) continue
      const known = into.get(c.value)
      if (known === undefined || at < Date.parse(known)) into.set(c.value, new Date(at).toISOString())
    }
  }
  return out
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

/** A mass import (a pasted feed, a runaway collect) is stopped until someone confirms it. */
function guardAdditions(added: number, max: number): string[] {
  if (added <= max) return []
  return [`The plan adds ${added} entries to Cloudflare in one run (limit ${max}, input max-sync-additions). ` +
    'To apply anyway, run sync with force: true, or raise max-sync-additions.']
}

/**
 * Lists are never deleted, so every list sync creates is kept for good: a plan that needs
 * more than `max-lists` is refused outright (force does not help), before any write.
 */
function listLimits(ips: SortedList[], hosts: SortedList[], k: { ips: KindPlan; hosts: KindPlan }, o: SyncOptions, warnings: string[]): string[] {
  const max = o.maxLists ?? DEFAULT_MAX_LISTS
  const ipCount = ips.length + k.ips.creates.length
  const hostCount = hosts.length + k.hosts.creates.length
  const total = ipCount + hostCount
  if (total <= max) return []
  const created = k.ips.creates.length + k.hosts.creates.length
  if (created === 0) {
    warnings.push(`sync manages ${total} Gateway lists, more than max-lists (${max}); it creates no more.`)
    return []
  }
  return [`The plan needs ${total} Gateway lists (${ipCount} IP, ${hostCount} hostname; ${o.capacity} entries each at most), ` +
    `more than max-lists (${max}). Shorten the list files, raise list-capacity to 5000 on Enterprise, or raise max-lists ` +
    '(an account holds 100 lists in all, and lists are never deleted).']
}

function sameFilters(filters: unknown): boolean {
  return Array.isArray(filters) && filters.length === 1 && filters[0] === 'http'
}

function policyLists(ips: SortedList[], hosts: SortedList[], k: { ips: KindPlan; hosts: KindPlan }): PolicyListRef[] {
  return [
    ...ips.map((l) => ({ type: 'IP' as const, name: l.list.name, id: l.list.id })),
    ...k.ips.creates.map((c) => ({ type: c.type, name: c.name, id: null })),
    ...hosts.map((l) => ({ type: 'DOMAIN' as const, name: l.list.name, id: l.list.id })),
    ...k.hosts.creates.map((c) => ({ type: c.type, name: c.name, id: null }))
  ]
}

/** The expression sync will write; lists it creates are shown by name. */
function plannedTraffic(lists: PolicyListRef[]): string {
  return policyTraffic(lists.map((l) => ({ type: l.type, id: l.id ?? `(new list "${l.name}")` })))
}

interface Findings { reasons: string[]; handEdited: boolean }

/** Extra clauses: a duplicate list a concurrent run referenced, a foreign list, or anything else. */
function extraClauseReasons(extra: string[], duplicateIds: Map<string, string>, f: Findings): void {
  const dupNames = new Set<string>()
  const foreign = new Set<string>()
  const other: string[] = []
  for (const clause of extra) {
    const ids = [...referencedListIds(clause)]
    if (ids.length > 0 && ids.every((id) => duplicateIds.has(id))) ids.forEach((id) => dupNames.add(duplicateIds.get(id) ?? id))
    else if (ids.some((id) => !duplicateIds.has(id))) ids.filter((id) => !duplicateIds.has(id)).forEach((id) => foreign.add(id))
    else other.push(clause)
  }
  if (dupNames.size > 0) f.reasons.push(`It references a duplicate of ${[...dupNames].sort().join(', ')} (made by a concurrent run); sync no longer uses that copy.`)
  if (foreign.size > 0) {
    f.handEdited = true
    f.reasons.push(`It references list(s) that are not managed lists: ${[...foreign].sort().join(', ')}.`)
  }
  if (other.length > 0) {
    f.handEdited = true
    f.reasons.push(`Its expression matches more than the managed lists: ${other.map((c) => c.length > 200 ? `${c.slice(0, 199)}…` : c).join(' or ')}.`)
  }
}

/** Compares the whole normalised expression with the one sync writes. */
function trafficFindings(remoteTraffic: string, lists: PolicyListRef[], duplicateIds: Map<string, string>): Findings {
  const f: Findings = { reasons: [], handEdited: false }
  const created = lists.filter((l) => l.id === null).length
  if (created > 0) f.reasons.push(`It must reference ${created} new list(s).`)
  const have = new Set(normaliseTraffic(remoteTraffic))
  const refs = referencedListIds(remoteTraffic)
  const existing = lists.flatMap((l) => l.id === null ? [] : [{ ...l, id: l.id, clause: normaliseTraffic(policyTraffic([{ type: l.type, id: l.id }]))[0] ?? '' }])
  const missing = existing.filter((l) => !refs.has(normaliseListId(l.id))).map((l) => l.name)
  // Not necessarily a hand edit: a run interrupted after creating lists leaves this too.
  if (missing.length > 0) f.reasons.push(`It does not reference ${missing.join(', ')}.`)
  const altered = existing.filter((l) => refs.has(normaliseListId(l.id)) && !have.has(l.clause)).map((l) => l.name)
  if (altered.length > 0) {
    f.handEdited = true
    f.reasons.push(`It does not match ${altered.join(', ')} the way sync writes it.`)
  }
  const expected = new Set(existing.map((l) => l.clause))
  extraClauseReasons([...have].filter((c) => !expected.has(c)), duplicateIds, f)
  return f
}

/** Action, enabled and filters: each restored field is one old → new change. */
function fieldFindings(remote: RemoteRule, changes: PolicyFieldChange[]): Findings {
  const f: Findings = { reasons: [], handEdited: false }
  if (remote.action !== 'off') {
    f.reasons.push(`Its action is "${String(remote.action)}", not "off" (Do Not Inspect).`)
    changes.push({ field: 'action', old: String(remote.action), new: 'off' })
  }
  if (remote.enabled !== true) {
    f.reasons.push('It is disabled.')
    changes.push({ field: 'enabled', old: String(remote.enabled), new: 'true' })
  }
  if (!sameFilters(remote.filters)) {
    f.reasons.push(`Its filters are ${JSON.stringify(remote.filters)}, not ["http"].`)
    changes.push({ field: 'filters', old: JSON.stringify(remote.filters), new: '["http"]' })
  }
  f.handEdited = f.reasons.length > 0
  return f
}

function duplicatePolicies(rules: RemoteRule[]): DuplicatePolicy[] {
  return rules.map((r) => {
    const d: DuplicatePolicy = { id: r.id, enabled: r.enabled }
    if (typeof r['created_at'] === 'string') d.createdAt = r['created_at']
    return d
  })
}

function planPolicy(remote: RemoteState, lists: PolicyListRef[], duplicateIds: Map<string, string>, name: string): PolicyPlan {
  const rule = remote.policy
  const duplicates = duplicatePolicies(remote.duplicatePolicies ?? [])
  if (rule === null) {
    return { name, action: 'create', id: null, reasons: ['The Do Not Inspect policy does not exist.'], handEdited: false, lists, changes: [], duplicates }
  }
  const remoteTraffic = typeof rule.traffic === 'string' ? rule.traffic : ''
  const changes: PolicyFieldChange[] = []
  const t = trafficFindings(remoteTraffic, lists, duplicateIds)
  if (t.reasons.length > 0) changes.push({ field: 'traffic', old: remoteTraffic, new: plannedTraffic(lists) })
  const fields = fieldFindings(rule, changes)
  const reasons = [...t.reasons, ...fields.reasons]
  return {
    name, action: reasons.length > 0 ? 'update' : 'none', id: rule.id, reasons,
    handEdited: t.handEdited || fields.handEdited, lists, changes, duplicates
  }
}

/**
 * Managed lists of one type, in number order. Two lists with one name (two concurrent runs
 * each created it) are never both managed: the oldest is adopted, the others reported.
 */
function sortedLists(remote: RemoteState, o: SyncOptions, type: ListType, warnings: string[], duplicates: DuplicateList[]): SortedList[] {
  const byNumber = new Map<number, RemoteList[]>()
  for (const list of remote.lists) {
    const parsed = parseManagedListName(o.prefix, list.name)
    if (parsed === null || parsed.type !== type) continue
    if (list.type !== type) {
      warnings.push(`List "${list.name}" has type ${list.type}, expected ${type}; it is ignored.`)
      continue
    }
    byNumber.set(parsed.number, [...(byNumber.get(parsed.number) ?? []), list])
  }
  const out: SortedList[] = []
  for (const [number, same] of byNumber) {
    const { adopted, rest } = adoptOldest(same, (l) => ({ id: l.id, createdAt: l.createdAt }))
    if (adopted === undefined) continue
    out.push({ list: adopted, number })
    for (const d of rest) {
      const dup: DuplicateList = { id: d.id, name: d.name, type, items: d.items.length, adoptedId: adopted.id }
      if (d.createdAt !== undefined) dup.createdAt = d.createdAt
      duplicates.push(dup)
    }
  }
  return out.sort((a, b) => a.number - b.number)
}

/** Addresses in the IP lists before and after apply. */
function planBreadth(ipLists: SortedList[], ips: KindPlan): SyncPlan['breadth'] {
  const before: string[] = []
  for (const { list } of ipLists) {
    for (const item of list.items) {
      const c = canonicalRemote('IP', item.value)
      if (c.ok) before.push(c.value)
    }
  }
  const gone = new Set(ips.removed.filter((r) => r.reason === 'not-in-files').map((r) => r.value))
  const after = [...before.filter((v) => !gone.has(v)), ...ips.added.map((a) => a.value)]
  return { total: coverage(after), added: addedCoverage(before, after) }
}

function countsOf(ips: KindPlan, hosts: KindPlan, policy: PolicyPlan): SyncPlan['counts'] {
  const removed = (k: KindPlan, reason: PlannedRemoval['reason']): number => k.removed.filter((r) => r.reason === reason).length
  return {
    added: ips.added.length + hosts.added.length,
    removed: removed(ips, 'not-in-files') + removed(hosts, 'not-in-files'),
    duplicates: removed(ips, 'duplicate') + removed(hosts, 'duplicate'),
    drift: ips.drift.length + hosts.drift.length,
    unparsable: ips.unparsable.length + hosts.unparsable.length,
    listsCreated: ips.creates.length + hosts.creates.length,
    policiesDisabled: policy.duplicates.filter((d) => d.enabled).length
  }
}

/**
 * Plans a sync: which items to append to / remove from which managed list, which lists to
 * create, whether the Do Not Inspect policy must be created or restored, what is kept as
 * drift, and whether the guards allow it. Deterministic for the same inputs.
 *
 * @param desired the list files' values (canonical; canonicalised again defensively)
 * @param remote the managed lists and policy as read by `readRemoteState`
 */
export function planSync(desired: { ips: string[]; hosts: string[] }, remote: RemoteState, o: SyncOptions): SyncPlan {
  if (!Number.isInteger(o.capacity) || o.capacity < 1) throw new Error(`capacity must be a positive integer, got ${o.capacity}`)
  const warnings = [...(remote.warnings ?? [])]
  const duplicateLists: DuplicateList[] = []
  const ipLists = sortedLists(remote, o, 'IP', warnings, duplicateLists)
  const hostLists = sortedLists(remote, o, 'DOMAIN', warnings, duplicateLists)
  for (const list of remote.lists) {
    if (parseManagedListName(o.prefix, list.name) === null) warnings.push(`List "${list.name}" does not follow the managed naming; it is ignored.`)
  }
  const ips = planKind('ip', desired.ips, ipLists, o, warnings)
  const hosts = planKind('host', desired.hosts, hostLists, o, warnings)
  const kinds = { ips, hosts }
  const duplicateIds = new Map(duplicateLists.map((d) => [normaliseListId(d.id), d.name]))
  const policy = planPolicy(remote, policyLists(ipLists, hostLists, kinds), duplicateIds, o.policyName)

  const counts = countsOf(ips, hosts, policy)
  const violations = [...guardKind(ips, 'IP'), ...guardKind(hosts, 'hostname'), ...guardAdditions(counts.added, o.maxAdditions ?? DEFAULT_MAX_ADDITIONS)]
  const limits = listLimits(ipLists, hostLists, kinds, o, warnings)
  const safe = violations.length === 0 && limits.length === 0
  const guard: GuardVerdict = { safe, allowed: limits.length === 0 && (violations.length === 0 || o.force), forced: violations.length > 0 && limits.length === 0 && o.force, violations, limits }

  const changes = counts.added + counts.removed + counts.duplicates + counts.listsCreated + (policy.action === 'none' ? 0 : 1) + counts.policiesDisabled
  return {
    ips, hosts, policy, guard, counts, changes, mark: ownershipMark(o.provenance),
    capacity: o.capacity, prefix: o.prefix, warnings, duplicateLists, breadth: planBreadth(ipLists, ips)
  }
}
