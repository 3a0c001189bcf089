// Gateway lists and rules state plus the validation the real API applies (reference §C, §D).
// Kept apart from the HTTP plumbing in cloudflare.ts so each rule is readable on its own.
// Error codes are invented (the real ones are undocumented, reference C3); messages are plausible.
import { randomUUID } from 'node:crypto'
import { isIP } from 'node:net'
import { domainToASCII } from 'node:url'

/** One item of an emulated Gateway list. */
export interface EmuItem { value: string; description?: string; created_at: string }

/** An emulated Gateway (Zero Trust) list; `items` is kept in insertion order. */
export interface EmuList {
  id: string
  name: string
  type: string
  description: string
  items: EmuItem[]
  created_at: string
  updated_at: string
}

/** An emulated Gateway rule as stored (after the API's `traffic` rewrite). */
export interface EmuRule {
  id: string
  name: string
  description: string
  action: string
  enabled: boolean
  filters: string[]
  precedence: number
  traffic: string
  identity: string
  device_posture: string
  rule_settings: Record<string, unknown>
  version: number
  created_at: string
  updated_at: string
  deleted_at: null
  /** Other writable fields sent by the client (e.g. `schedule`, `expiration`), kept so GET→PUT round-trips are lossless. */
  [extra: string]: unknown
}

/** Behaviour switches for points the reference marks "unconfirmed". Defaults are the stricter choice. */
export interface GatewayBehaviour {
  /** Max items per list (Standard plan: 1,000; Enterprise: 5,000). */
  listCapacity: number
  /** Max lists per account (documented: 100). */
  maxLists: number
  /** Max items in one POST/PUT `items`, PATCH `append` or PATCH `remove` (undocumented; 1,000 known to work). */
  maxItemsPerRequest: number
  /** Echo single IPs as `/32` (IPv4) and `/128` (IPv6). Unconfirmed; default true so products must canonicalise both sides. */
  echoSlash32: boolean
  /** Accept IPv6 in IP lists. Unconfirmed; default true. */
  ipv6: boolean
  /** Reject CIDRs with host bits set (`10.0.0.1/24`). Unconfirmed; default true (stricter). */
  strictCidr: boolean
  /** PATCH `remove` of a value not in the list: 'error' (default, stricter) or 'ignore'. Unconfirmed. */
  removeMissing: 'error' | 'ignore'
  /** PUT with `items: []`: 'noop' (default; the doc text reads "skips … if not included") or 'clear'. Unconfirmed. */
  putEmptyItems: 'noop' | 'clear'
  /** Refuse a second list with the same name. Unconfirmed; default true (stricter). */
  uniqueListNames: boolean
  /** Refuse rules whose `traffic` references a list id that does not exist. Unconfirmed; default true. */
  validateListRefs: boolean
  /** Refuse deleting a list still referenced by a rule. Unconfirmed; default true (forces rule-first ordering). */
  refuseDeleteReferencedList: boolean
  /** Lower-case list UUIDs when rewriting `traffic`. Unconfirmed; default true. */
  lowercaseUuidsInTraffic: boolean
  /**
   * Most items one GET items page returns, whatever `per_page` asks (`result_info.per_page`
   * then says what was used). The documented maximum is 1,000; older API versions served 50
   * a page regardless. Default 1000.
   */
  itemsPageCap: number
}

/** Default behaviour; see {@link GatewayBehaviour} for which choices are unconfirmed. */
export const defaultGatewayBehaviour: GatewayBehaviour = {
  listCapacity: 1000,
  maxLists: 100,
  maxItemsPerRequest: 1000,
  echoSlash32: true,
  ipv6: true,
  strictCidr: true,
  removeMissing: 'error',
  putEmptyItems: 'noop',
  uniqueListNames: true,
  validateListRefs: true,
  refuseDeleteReferencedList: true,
  lowercaseUuidsInTraffic: true,
  itemsPageCap: 1000
}

/** A validation failure that becomes a 4xx envelope. */
export class ApiFailure extends Error {
  constructor(readonly status: number, readonly code: number, message: string) {
    super(message)
  }
}

const LIST_TYPES = new Set(['SERIAL', 'URL', 'DOMAIN', 'EMAIL', 'IP', 'CATEGORY', 'LOCATION', 'DEVICE', 'AAGUID'])
const RULE_ACTIONS = new Set(['on', 'off', 'allow', 'block', 'scan', 'noscan', 'safesearch', 'ytrestricted', 'isolate',
  'noisolate', 'override', 'l4_override', 'egress', 'resolve', 'quarantine', 'redirect'])
const RULE_FILTERS = new Set(['http', 'dns', 'l4', 'egress', 'dns_resolver'])
/** Fields the server owns: ignored when a client echoes a GET result back on PUT. */
const RULE_SERVER_FIELDS = new Set(['id', 'version', 'created_at', 'updated_at', 'deleted_at', 'read_only', 'sharable',
  'source_account', 'warning_status', 'account_id'])
const RULE_MODELLED_FIELDS = new Set(['name', 'description', 'action', 'enabled', 'filters', 'precedence', 'traffic',
  'identity', 'device_posture', 'rule_settings'])
/** Documented "Gateway API policy expression" limit. */
const MAX_TRAFFIC_CHARS = 140_000

const bad = (message: string, code = 1003): ApiFailure => new ApiFailure(400, code, message)

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function optionalString(body: Record<string, unknown>, key: string): string | undefined {
  const v = body[key]
  if(v === undefined || v === null) return undefined
  if(typeof v !== 'string') throw bad(`${key} must be a string`)
  return v
}

/** Canonical IP/CIDR as the emulated API stores it, or an ApiFailure. */
function normaliseIp(raw: string, b: GatewayBehaviour): string {
  const value = raw.trim()
  if(value !== raw || value === '') throw bad(`invalid IP address or CIDR: ${JSON.stringify(raw)}`, 2010)
  const slash = value.indexOf('/')
  const addr = slash < 0 ? value : value.slice(0, slash)
  const family = isIP(addr)
  if(family === 0) throw bad(`invalid IP address or CIDR: ${JSON.stringify(raw)}`, 2010)
  if(family === 6 && !b.ipv6) throw bad(`IPv6 is not supported in IP lists: ${JSON.stringify(raw)}`, 2010)
  const max = family === 4 ? 32 : 128
  if(slash < 0) return b.echoSlash32 ? `${value}/${max}` : value
  const prefixText = value.slice(slash + 1)
  if(!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) {
    throw bad(`invalid IP address or CIDR: ${JSON.stringify(raw)}`, 2010)
  }
  if(b.strictCidr && family === 4 && hasHostBits4(addr, Number(prefixText))) {
    throw bad(`invalid CIDR (host bits set): ${JSON.stringify(raw)}`, 2010)
  }
  return value
}

function hasHostBits4 (addr: string, prefix: number): boolean {
  const n = addr.split('.').reduce((acc, o) => acc * 256 + Number(o), 0)
  const hostSpan = 2 ** (32 - prefix)
  return n % hostSpan !== 0
}

/** The stored form of a DOMAIN value: Punycode for IDNs (documented), otherwise as given. */
function normaliseDomain(raw: string): string {
  if(raw.includes('*')) throw bad(`wildcard entries are not supported in hostname lists: ${JSON.stringify(raw)}`, 2011)
  if(raw.trim() !== raw || raw === '' || /[\s/:@?#]/.test(raw) || raw.endsWith('.') || raw.startsWith('.')) {
    throw bad(`invalid hostname: ${JSON.stringify(raw)}`, 2011)
  }
  const ascii = domainToASCII(raw)
  if(ascii === '' || ascii.length > 253 || ascii.split('.').some((l) => l === '' || l.length > 63)) {
    throw bad(`invalid hostname: ${JSON.stringify(raw)}`, 2011)
  }
  // eslint-disable-next-line no-control-regex
  return /[^\x00-\x7f]/.test(raw) ? ascii : raw
}

function normaliseValue(type: string, raw: string, b: GatewayBehaviour): string {
  if(type === 'IP') return normaliseIp(raw, b)
  if(type === 'DOMAIN') return normaliseDomain(raw)
  if(raw.trim() === '') throw bad('list item value must not be empty', 2012)
  return raw
}

/** Key under which two values count as duplicates ("entries that convert to the same string"). */
function dupKey(type: string, stored: string): string {
  return type === 'DOMAIN' ? domainToASCII(stored) : stored.toLowerCase()
}

function parseItems(type: string, v: unknown, field: string, b: GatewayBehaviour, now: string): EmuItem[] {
  if(!Array.isArray(v)) throw bad(`${field} must be an array`)
  if(v.length > b.maxItemsPerRequest) {
    throw bad(`too many items in one request: ${v.length} (maximum ${b.maxItemsPerRequest})`, 2013)
  }
  return v.map((it: unknown) => {
    if(!isRecord(it) || typeof it['value'] !== 'string') throw bad(`${field}[].value must be a string`)
    const description = optionalString(it, 'description')
    const item: EmuItem = { value: normaliseValue(type, it['value'], b), created_at: now }
    if(description !== undefined) item.description = description
    return item
  })
}

function assertNoDuplicates(type: string, items: EmuItem[]): void {
  const seen = new Set<string>()
  for(const it of items) {
    const k = dupKey(type, it.value)
    if(seen.has(k)) throw bad(`duplicate list item: ${JSON.stringify(it.value)}`, 2014)
    seen.add(k)
  }
}

function assertCapacity(count: number, b: GatewayBehaviour): void {
  if(count > b.listCapacity) {
    throw bad(`list would have ${count} items; the maximum number of items per list is ${b.listCapacity}`, 2015)
  }
}

/** Public JSON of a list (metadata only: GET never returns items, reference Gotcha 14). */
export function listJson(l: EmuList, withItems = false): Record<string, unknown> {
  const out: Record<string, unknown> = {
    id: l.id, name: l.name, description: l.description, type: l.type, count: l.items.length,
    created_at: l.created_at, updated_at: l.updated_at
  }
  if(withItems) out['items'] = l.items.map((i) => ({ ...i }))
  return out
}

/** List UUID references in a traffic expression, hyphens stripped and lower-cased. */
export function referencedListIds(traffic: string): string[] {
  return [...traffic.matchAll(/\$([0-9a-fA-F-]{32,36})/g)].map((m) => (m[1] ?? '').replace(/-/g, '').toLowerCase())
}

/**
 * Rewrites `traffic` like the real API: list UUIDs lose their hyphens (reference Gotcha 20) and
 * whitespace outside string literals is collapsed. A `$name` that is not a UUID is refused with
 * "invalid UUID length", as reported for the real API.
 */
export function rewriteTraffic(traffic: string, b: GatewayBehaviour): string {
  const parts = traffic.split(/("(?:[^"\\]|\\.)*")/)
  return parts.map((part, i) => {
    if(i % 2 === 1) return part
    let out = part.replace(/\s+/g, ' ').replace(/\(\s+/g, '(').replace(/\s+\)/g, ')')
    out = out.replace(/\$([A-Za-z0-9_-]+)/g, (_m, ref: string) => {
      const hex = ref.replace(/-/g, '')
      const hyphenated = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(ref)
      if(!(hyphenated || /^[0-9a-fA-F]{32}$/.test(ref))) {
        throw bad(`invalid rule: invalid UUID length for list reference $${ref}`, 2020)
      }
      return `$${b.lowercaseUuidsInTraffic ? hex.toLowerCase() : hex}`
    })
    return out
  }).join('').trim()
}

/** In-memory Gateway state with the real API's validation. */
export class GatewayState {
  readonly lists = new Map<string, EmuList>()
  readonly rules = new Map<string, EmuRule>()

  constructor(readonly b: GatewayBehaviour, private readonly clock: () => number) {}

  private nowIso(): string {
    return new Date(this.clock()).toISOString()
  }

  getList(id: string): EmuList {
    const l = this.lists.get(id)
    if(l === undefined) throw new ApiFailure(404, 7003, `Could not route to /gateway/lists/${id}, perhaps your object identifier is invalid?`)
    return l
  }

  getRule(id: string): EmuRule {
    const r = this.rules.get(id)
    if(r === undefined) throw new ApiFailure(404, 7003, `Could not route to /gateway/rules/${id}, perhaps your object identifier is invalid?`)
    return r
  }

  createList(body: unknown): EmuList {
    if(!isRecord(body)) throw bad('request body must be a JSON object', 6007)
    const name = optionalString(body, 'name')
    if(name === undefined || name.trim() === '') throw bad('name is required')
    const type = optionalString(body, 'type')
    if(type === undefined || !LIST_TYPES.has(type)) throw bad(`type must be one of ${[...LIST_TYPES].join(', ')}`)
    if(this.lists.size >= this.b.maxLists) {
      throw bad(`the account already has the maximum of ${this.b.maxLists} lists`, 2016)
    }
    this.assertUniqueName(name, undefined)
    const now = this.nowIso()
    const items = body['items'] === undefined || body['items'] === null ? [] : parseItems(type, body['items'], 'items', this.b, now)
    assertNoDuplicates(type, items)
    assertCapacity(items.length, this.b)
    const list: EmuList = {
      id: randomUUID(), name, type, description: optionalString(body, 'description') ?? '', items, created_at: now, updated_at: now
    }
    this.lists.set(list.id, list)
    return list
  }

  /** PUT: name required, type immutable, non-empty `items` replaces (reference C1). */
  updateList(id: string, body: unknown): EmuList {
    const list = this.getList(id)
    if(!isRecord(body)) throw bad('request body must be a JSON object', 6007)
    const name = optionalString(body, 'name')
    if(name === undefined || name.trim() === '') throw bad('name is required')
    const type = optionalString(body, 'type')
    if(type !== undefined && type !== list.type) throw bad('the type of a list cannot be changed')
    this.assertUniqueName(name, id)
    const now = this.nowIso()
    let items: EmuItem[] | undefined
    if(body['items'] !== undefined && body['items'] !== null) {
      const parsed = parseItems(list.type, body['items'], 'items', this.b, now)
      if(parsed.length > 0 || this.b.putEmptyItems === 'clear') items = parsed
    }
    if(items !== undefined) {
      assertNoDuplicates(list.type, items)
      assertCapacity(items.length, this.b)
    }
    list.name = name
    // Full replace of the metadata: an omitted description is cleared (unconfirmed; stricter).
    list.description = optionalString(body, 'description') ?? ''
    if(items !== undefined) list.items = items
    list.updated_at = now
    return list
  }

  /** PATCH `{append, remove}`: removals apply first, then appends (unconfirmed order). Atomic on failure. */
  patchList(id: string, body: unknown): EmuList {
    const list = this.getList(id)
    if(!isRecord(body)) throw bad('request body must be a JSON object', 6007)
    const now = this.nowIso()
    const append = body['append'] === undefined || body['append'] === null ? [] : parseItems(list.type, body['append'], 'append', this.b, now)
    const removeRaw = body['remove'] ?? []
    if(!Array.isArray(removeRaw) || removeRaw.some((v) => typeof v !== 'string')) throw bad('remove must be an array of strings')
    const remove = removeRaw as string[]
    if(remove.length > this.b.maxItemsPerRequest) {
      throw bad(`too many items in one request: ${remove.length} (maximum ${this.b.maxItemsPerRequest})`, 2013)
    }
    // Removal matches the stored value exactly: callers must remove what the API echoed.
    const removeSet = new Set(remove)
    if(this.b.removeMissing === 'error') {
      const present = new Set(list.items.map((i) => i.value))
      const missing = remove.filter((v) => !present.has(v))
      if(missing.length > 0) throw bad(`cannot remove items that are not in the list: ${missing.slice(0, 5).map((v) => JSON.stringify(v)).join(', ')}`, 2017)
    }
    const kept = list.items.filter((i) => !removeSet.has(i.value))
    assertNoDuplicates(list.type, [...kept, ...append])
    assertCapacity(kept.length + append.length, this.b)
    list.items = [...kept, ...append]
    list.updated_at = now
    return list
  }

  deleteList(id: string): void {
    this.getList(id)
    if(this.b.refuseDeleteReferencedList) {
      const hex = id.replace(/-/g, '').toLowerCase()
      const user = [...this.rules.values()].find((r) => referencedListIds(r.traffic).includes(hex))
      if(user !== undefined) throw bad(`list is in use by rule ${user.id} (${JSON.stringify(user.name)})`, 2018)
    }
    this.lists.delete(id)
  }

  private assertUniqueName(name: string, selfId: string | undefined): void {
    if(!this.b.uniqueListNames) return
    for(const l of this.lists.values()) {
      if(l.name === name && l.id !== selfId) throw bad(`a list named ${JSON.stringify(name)} already exists`, 2019)
    }
  }

  /** Validates and normalises a rule body for create (existing undefined) or full-replace PUT. */
  private buildRule(body: unknown, existing: EmuRule | undefined): EmuRule {
    if(!isRecord(body)) throw bad('request body must be a JSON object', 6007)
    const name = optionalString(body, 'name')
    if(name === undefined || name.trim() === '') throw bad('name is required')
    const action = optionalString(body, 'action')
    if(action === undefined) throw bad('action is required')
    if(!RULE_ACTIONS.has(action)) throw bad(`invalid action ${JSON.stringify(action)}`)
    const filtersRaw = body['filters'] ?? []
    if(!Array.isArray(filtersRaw) || filtersRaw.some((f) => typeof f !== 'string' || !RULE_FILTERS.has(f))) {
      throw bad(`filters must be an array of ${[...RULE_FILTERS].join(', ')}`)
    }
    if(filtersRaw.length > 1) throw bad('filters can only contain a single value')
    const trafficRaw = optionalString(body, 'traffic') ?? ''
    if(trafficRaw.length > MAX_TRAFFIC_CHARS) throw bad(`traffic expression exceeds ${MAX_TRAFFIC_CHARS} characters`, 2021)
    const traffic = rewriteTraffic(trafficRaw, this.b)
    if(this.b.validateListRefs) {
      const known = new Set([...this.lists.keys()].map((k) => k.replace(/-/g, '').toLowerCase()))
      const unknown = referencedListIds(traffic).filter((r) => !known.has(r))
      if(unknown.length > 0) throw bad(`invalid rule: list $${unknown[0] ?? ''} not found`, 2022)
    }
    const enabled = body['enabled']
    if(enabled !== undefined && typeof enabled !== 'boolean') throw bad('enabled must be a boolean')
    const precedence = body['precedence']
    if(precedence !== undefined && (typeof precedence !== 'number' || !Number.isInteger(precedence) || precedence < 0)) {
      throw bad('precedence must be a non-negative integer')
    }
    const settings = body['rule_settings']
    if(settings !== undefined && settings !== null && !isRecord(settings)) throw bad('rule_settings must be an object')
    const now = this.nowIso()
    const autoPrecedence = Math.max(0, ...[...this.rules.values()].map((r) => r.precedence)) + 1000
    const extra = Object.fromEntries(Object.entries(body).filter(([k]) => !RULE_SERVER_FIELDS.has(k) && !RULE_MODELLED_FIELDS.has(k)))
    return {
      ...extra,
      id: existing?.id ?? randomUUID(),
      name,
      // PUT is a full replace: omitted optional fields are reset (unconfirmed; the stricter choice).
      description: optionalString(body, 'description') ?? '',
      action,
      enabled: enabled ?? false,
      filters: filtersRaw as string[],
      precedence: typeof precedence === 'number' ? precedence : existing?.precedence ?? autoPrecedence,
      traffic,
      identity: optionalString(body, 'identity') ?? '',
      device_posture: optionalString(body, 'device_posture') ?? '',
      rule_settings: isRecord(settings) ? settings : {},
      version: existing === undefined ? 1 : existing.version + 1,
      created_at: existing?.created_at ?? now,
      updated_at: now,
      deleted_at: null
    }
  }

  createRule(body: unknown): EmuRule {
    const rule = this.buildRule(body, undefined)
    this.rules.set(rule.id, rule)
    return rule
  }

  updateRule(id: string, body: unknown): EmuRule {
    const rule = this.buildRule(body, this.getRule(id))
    this.rules.set(id, rule)
    return rule
  }

  deleteRule(id: string): void {
    this.getRule(id)
    this.rules.delete(id)
  }
}
