/**
 * The Gateway adapter: reads the managed lists and policy, and applies a {@link SyncPlan}.
 *
 * Every call goes through the raw SDK methods (`client.get/post/patch/put`) because they
 * return the whole envelope: the SDK does not throw on `success:false` with a 2xx status
 * (reference Gotcha 24), and the items endpoint's `result_info.total_count` lets paging stop
 * without the extra empty-page request the SDK iterator makes.
 *
 * Reads and the (idempotent) rule PUT use the SDK's own retries for 429/5xx/network errors.
 * Creating a list, creating the rule and PATCHing items are not idempotent (a retried create
 * makes a second list; a retried append is refused as a duplicate), so they are sent with
 * `maxRetries: 0` and, after an ambiguous failure, the affected state is re-read and only
 * what is still missing is sent again.
 */
import type Cloudflare from 'cloudflare'
import { APIConnectionError, APIError } from 'cloudflare'
import { describeCloudflareError } from './cloudflare-client.js'
import { RateLimiter, type RequestKind } from './rate-limiter.js'
import {
  adoptOldest,
  assertPlanAllowed,
  canonicalRemote,
  MAX_ITEMS_PER_CALL,
  OWNERSHIP_PREFIX,
  parseManagedListName,
  policyTraffic,
  type ListCreate,
  type ListType,
  type RemoteItem,
  type RemoteList,
  type RemoteRule,
  type RemoteState,
  type SyncPlan
} from '../core/sync-plan.js'

/** Token permission the writes need (named in 403 hints). */
const WRITE_PERMISSION = 'Account › Zero Trust › Edit'
/** Token permission the reads need. */
const READ_PERMISSION = 'Account › Zero Trust › Read'
/** Attempts for a non-idempotent write (first try included). */
const WRITE_ATTEMPTS = 5
/** Attempts for a read whose response was not a usable envelope (the SDK retries the rest). */
const READ_ATTEMPTS = 3
/**
 * Items read from one list at most: ten times the Enterprise capacity (5,000). Bounds the
 * work on a list that is not ours to fill, or an API that keeps answering full pages.
 */
const MAX_ITEMS_READ = 50_000
/** What each items request asks for; the API may answer with smaller pages. */
const REQUESTED_PER_PAGE = 1000
/** Fields of a GET rule that the PUT body must not carry (read-only server fields). */
const READ_ONLY_RULE_FIELDS = new Set(['id', 'created_at', 'updated_at', 'deleted_at', 'version', 'warning_status', 'read_only', 'sharable', 'source_account', 'not_sharable'])

/** A Cloudflare answer this adapter could not use, or a write that kept failing. */
export class GatewayApiError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'GatewayApiError'
  }
}

/** The response was not a usable `{success:true, result}` envelope (malformed JSON, `success:false`, HTML…). */
class BadEnvelopeError extends GatewayApiError {}

const defaultLimiters = new WeakMap<Cloudflare, RateLimiter>()

/** One limiter per client by default, so a read and the apply that follows share the budget. */
function limiterFor(client: Cloudflare, given: RateLimiter | undefined): RateLimiter {
  if (given !== undefined) return given
  let l = defaultLimiters.get(client)
  if (l === undefined) {
    l = RateLimiter.forCloudflare()
    defaultLimiters.set(client, l)
  }
  return l
}

const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

interface Envelope { result: unknown; resultInfo: Record<string, unknown> }

type Method = 'get' | 'post' | 'patch' | 'put'

interface CallOptions {
  query?: Record<string, string | number>
  body?: unknown
  /** `0` for non-idempotent writes; undefined = the client's own retry setting. */
  maxRetries?: number
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function envelopeMessage(env: Record<string, unknown>): string {
  const errors = Array.isArray(env['errors']) ? env['errors'] : []
  const parts = errors.flatMap((e) => isRecord(e) && typeof e['message'] === 'string'
    ? [`${typeof e['code'] === 'number' ? `[${e['code']}] ` : ''}${e['message']}`]
    : [])
  return parts.length > 0 ? parts.join('; ').slice(0, 500) : 'no error details'
}

type Failure = 'definitive' | 'rate-limited' | 'ambiguous'

/** 4xx (other than 408/409/429) means the request was refused and nothing happened. */
function classify(err: unknown): Failure {
  if (err instanceof APIConnectionError) return 'ambiguous'
  if (err instanceof APIError) {
    const s = err.status
    if (s === 429) return 'rate-limited'
    if (s !== undefined && s >= 400 && s < 500 && s !== 408 && s !== 409) return 'definitive'
    return 'ambiguous'
  }
  // Malformed JSON (SyntaxError from the SDK's parser), bad envelopes, anything unexpected.
  return 'ambiguous'
}

function retryAfterMs(err: unknown): number {
  const headers = err instanceof APIError ? err.headers : undefined
  const ms = Number(headers?.get('retry-after-ms'))
  if (Number.isFinite(ms) && ms > 0) return ms
  const raw = headers?.get('retry-after') ?? ''
  const secs = Number(raw)
  if (raw !== '' && Number.isFinite(secs) && secs >= 0) return Math.max(secs * 1000, 1000)
  const date = Date.parse(raw)
  if (Number.isFinite(date)) return Math.max(date - Date.now(), 1000)
  // Cloudflare's global limit blocks for up to five minutes; a minute is a sane first wait.
  return 60_000
}

function describe(err: unknown, permission: string): string {
  if (err instanceof GatewayApiError) return err.message
  // Never quote the SyntaxError: its message repeats the start of the body.
  if (err instanceof SyntaxError) return 'Cloudflare returned malformed JSON (the response body was not valid JSON)'
  return describeCloudflareError(err, permission)
}

/** What a reconcile step decided after an ambiguous write failure. */
type Next<T> = { done: T } | { retry: CallOptions }

class Api {
  writes = 0
  constructor(
    private readonly client: Cloudflare,
    private readonly accountId: string,
    private readonly limiter: RateLimiter,
    private readonly sleep: (ms: number) => Promise<void>,
    private readonly log: (m: string) => void = () => undefined
  ) {}

  private async send(method: Method, path: string, o: CallOptions): Promise<Envelope> {
    const kind: RequestKind = path.startsWith('/gateway/lists') ? 'lists' : 'other'
    await this.limiter.acquire(kind)
    if (method !== 'get') this.writes++
    const opts: Record<string, unknown> = {}
    if (o.query !== undefined) opts['query'] = o.query
    if (o.body !== undefined) opts['body'] = o.body
    if (o.maxRetries !== undefined) opts['maxRetries'] = o.maxRetries
    const url = `/accounts/${this.accountId}${path}`
    const raw: unknown = await this.client[method]<unknown>(url, opts)
    if (!isRecord(raw)) {
      const what = typeof raw === 'string' ? `a non-JSON body (${JSON.stringify(raw.slice(0, 80))})` : `no JSON object`
      throw new BadEnvelopeError(`Cloudflare answered ${method.toUpperCase()} ${path} with ${what}`)
    }
    if (raw['success'] !== true) {
      throw new BadEnvelopeError(`Cloudflare answered ${method.toUpperCase()} ${path} with success:false: ${envelopeMessage(raw)}`)
    }
    return { result: raw['result'], resultInfo: isRecord(raw['result_info']) ? raw['result_info'] : {} }
  }

  /** A read; the SDK retries 429/5xx/network errors, this retries unusable envelopes. */
  async read(path: string, query?: Record<string, string | number>): Promise<Envelope> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.send('get', path, query === undefined ? {} : { query })
      } catch (err) {
        const retryable = err instanceof BadEnvelopeError || err instanceof SyntaxError
        if (!retryable || attempt >= READ_ATTEMPTS) {
          throw new GatewayApiError(`Reading ${path} failed: ${describe(err, READ_PERMISSION)}`, { cause: err })
        }
        await this.sleep(500 * attempt)
      }
    }
  }

  /**
   * A write with recovery. 429 → wait for Retry-After and send the same request (it was not
   * applied). Ambiguous failures (5xx, timeout, dropped connection, malformed JSON,
   * success:false) → `reconcile` re-reads the state and says whether it is done or what to send now.
   */
  async write<T>(
    method: Method, path: string, first: CallOptions, what: string,
    reconcile: (err: unknown) => Promise<Next<T>>, ok: (env: Envelope) => T
  ): Promise<T> {
    let o = first
    for (let attempt = 1; ; attempt++) {
      try {
        return ok(await this.send(method, path, { ...o, maxRetries: 0 }))
      } catch (err) {
        const kind = classify(err)
        if (kind === 'definitive' || attempt >= WRITE_ATTEMPTS) {
          // A 404 on a write means the list or rule vanished after it was read.
          const gone = err instanceof APIError && err.status === 404
            ? ' (it no longer exists in Cloudflare: deleted outside sync during this run? The next sync run recreates it)'
            : ''
          throw new GatewayApiError(`${what} failed${attempt > 1 ? ` after ${attempt} attempts` : ''}: ${describe(err, WRITE_PERMISSION)}${gone}`, { cause: err })
        }
        if (kind === 'rate-limited') {
          const wait = retryAfterMs(err)
          this.log(`${what}: rate limited; waiting ${Math.ceil(wait / 1000)}s as Retry-After asks`)
          await this.sleep(wait)
          continue
        }
        // Say so: a retry that then succeeds should still be visible in the log.
        this.log(`${what}: ${describe(err, WRITE_PERMISSION)}; re-reading the state before retrying (attempt ${attempt + 1} of ${WRITE_ATTEMPTS})`)
        await this.sleep(Math.min(500 * 2 ** (attempt - 1), 8000))
        const next = await reconcile(err)
        if ('done' in next) return next.done
        o = next.retry
      }
    }
  }

  async lists(): Promise<{ id: string; name: string; type: string; createdAt?: string }[]> {
    const { result } = await this.read('/gateway/lists')
    if (!Array.isArray(result)) throw new GatewayApiError('Cloudflare returned no array of lists')
    return result.flatMap((l) => {
      if (!isRecord(l) || typeof l['id'] !== 'string' || typeof l['name'] !== 'string') return []
      const out: { id: string; name: string; type: string; createdAt?: string } = { id: l['id'], name: l['name'], type: typeof l['type'] === 'string' ? l['type'] : '' }
      if (typeof l['created_at'] === 'string') out.createdAt = l['created_at']
      return [out]
    })
  }

  /**
   * Every item of a list. Paging stops on `result_info.total_count` when the API gives it,
   * otherwise on a page shorter than the page size it actually used (`per_page` in
   * `result_info`, else the first page's length): the API may serve 50 a page whatever
   * `per_page` asks. A list that ends before its `total_count` was changed during the read:
   * planning on part of it would be wrong, so that is an error (the next run reads it again).
   */
  async items(listId: string): Promise<RemoteItem[]> {
    const out: RemoteItem[] = []
    let pageSize: number | undefined
    for (let page = 1; ; page++) {
      const { result, resultInfo } = await this.read(`/gateway/lists/${listId}/items`, { page, per_page: REQUESTED_PER_PAGE })
      const flat = pageItems(result, listId)
      const total = typeof resultInfo['total_count'] === 'number' ? resultInfo['total_count'] : undefined
      if (total !== undefined && total > MAX_ITEMS_READ) {
        throw new GatewayApiError(`List ${listId} has ${total} items, more than ${MAX_ITEMS_READ}; it cannot be a list sync manages (at most 5,000 items)`)
      }
      out.push(...flat)
      if (total !== undefined && out.length >= total) break
      if (flat.length === 0) {
        if (total !== undefined) throw new GatewayApiError(`List ${listId}: read ${out.length} of its ${total} items (it changed during the read?); refusing to plan on a partial read, re-run sync`)
        break
      }
      const perPage = resultInfo['per_page']
      pageSize ??= typeof perPage === 'number' && perPage > 0 ? perPage : flat.length
      if (total === undefined && flat.length < pageSize) break
      if (out.length >= MAX_ITEMS_READ) throw new GatewayApiError(`List ${listId} has more than ${MAX_ITEMS_READ} items; refusing to plan on a partial read`)
    }
    return out
  }

  async rules(): Promise<Record<string, unknown>[]> {
    const { result } = await this.read('/gateway/rules')
    if (!Array.isArray(result)) throw new GatewayApiError('Cloudflare returned no array of rules')
    return result.filter(isRecord)
  }
}

/** The items of one page; older API/SDK shapes nest each page in an array (reference C1). */
function pageItems(result: unknown, listId: string): RemoteItem[] {
  if (result === null || result === undefined) return []
  if (!Array.isArray(result)) throw new GatewayApiError(`Cloudflare returned no array of items for list ${listId}`)
  const flat: unknown[] = result.length > 0 && Array.isArray(result[0]) ? result.flat() : result
  return flat.flatMap((it) => {
    if (!isRecord(it) || typeof it['value'] !== 'string') return []
    const item: RemoteItem = { value: it['value'] }
    if (typeof it['description'] === 'string') item.description = it['description']
    if (typeof it['created_at'] === 'string') item.createdAt = it['created_at']
    return [item]
  })
}

function toRemoteRule(r: Record<string, unknown>): RemoteRule {
  return {
    ...r,
    id: String(r['id']),
    name: String(r['name']),
    action: typeof r['action'] === 'string' ? r['action'] : '',
    enabled: r['enabled'] === true,
    filters: Array.isArray(r['filters']) ? r['filters'].map(String) : [],
    traffic: typeof r['traffic'] === 'string' ? r['traffic'] : ''
  }
}

/**
 * Reads the managed lists (named `${prefix} IP n` / `${prefix} hosts n`) with every item, and
 * the rule named `policyName`. Lists with other names are not read at all.
 */
export async function readRemoteState(
  client: Cloudflare, accountId: string,
  o: { prefix: string; policyName: string; limiter?: RateLimiter; sleep?: (ms: number) => Promise<void> }
): Promise<RemoteState> {
  const api = new Api(client, accountId, limiterFor(client, o.limiter), o.sleep ?? realSleep)
  const warnings: string[] = []
  const lists: RemoteList[] = []
  for (const l of await api.lists()) {
    if (parseManagedListName(o.prefix, l.name) === null) continue
    if (l.type !== 'IP' && l.type !== 'DOMAIN') {
      warnings.push(`List "${l.name}" has type ${l.type}; only IP and DOMAIN lists are managed, it is ignored.`)
      continue
    }
    const list: RemoteList = { id: l.id, name: l.name, type: l.type, items: await api.items(l.id) }
    if (l.createdAt !== undefined) list.createdAt = l.createdAt
    lists.push(list)
  }
  const rules = (await api.rules()).filter((r) => r['name'] === o.policyName && typeof r['id'] === 'string').map(toRemoteRule)
  // Two concurrent first runs each create the policy: every run adopts the same one.
  const { adopted, rest } = adoptOldest(rules, (r) => ({ id: r.id, createdAt: typeof r['created_at'] === 'string' ? r['created_at'] : undefined }))
  return { lists, policy: adopted ?? null, duplicatePolicies: rest, warnings }
}

interface ApplyContext {
  api: Api
  plan: SyncPlan
  log: (m: string) => void
}

function describeItems(values: string[], mark: string): { value: string; description: string }[] {
  return values.map((value) => ({ value, description: mark }))
}

/** Canonical values present in a list right now, and the raw forms by canonical value. */
async function presentValues(ctx: ApplyContext, listId: string, type: ListType): Promise<{ canon: Set<string>; raw: Set<string>; count: number }> {
  const items = await ctx.api.items(listId)
  const canon = new Set<string>()
  for (const it of items) {
    const c = canonicalRemote(type, it.value)
    canon.add(c.ok ? c.value : it.value)
  }
  return { canon, raw: new Set(items.map((i) => i.value)), count: items.length }
}

/**
 * PATCHes one list: removals first within each call (the API applies them before appends,
 * and freed slots make room), then appends up to the capacity; ≤ 1,000 items a call.
 */
async function patchList(
  ctx: ApplyContext,
  list: { id: string; name: string; type: ListType },
  appendAll: string[], removeAll: string[], countBefore: number
): Promise<void> {
  const append = [...appendAll]
  const remove = [...removeAll]
  let count = countBefore
  while (append.length > 0 || remove.length > 0) {
    const r = remove.splice(0, MAX_ITEMS_PER_CALL)
    const room = Math.max(0, ctx.plan.capacity - (count - r.length))
    const a = append.splice(0, Math.min(MAX_ITEMS_PER_CALL - r.length, room))
    if (a.length === 0 && r.length === 0) {
      throw new GatewayApiError(`List "${list.name}" has no room for ${append.length} more item(s) (capacity ${ctx.plan.capacity}); re-run sync to re-plan`)
    }
    const body = (aa: string[], rr: string[]): CallOptions => {
      const b: Record<string, unknown> = {}
      if (aa.length > 0) b['append'] = describeItems(aa, ctx.plan.mark)
      if (rr.length > 0) b['remove'] = rr
      return { body: b }
    }
    count = await ctx.api.write<number>(
      'patch', `/gateway/lists/${list.id}`, body(a, r), `Updating list "${list.name}"`,
      async () => {
        // The change may have been applied: send only what is still missing.
        const now = await presentValues(ctx, list.id, list.type)
        const aa = a.filter((v) => !now.canon.has(v))
        const rr = r.filter((v) => now.raw.has(v))
        if (aa.length === 0 && rr.length === 0) return { done: now.count }
        return { retry: body(aa, rr) }
      },
      (env) => isRecord(env.result) && typeof env.result['count'] === 'number' ? env.result['count'] : count - r.length + a.length
    )
    ctx.log(`List "${list.name}": ${a.length > 0 ? `+${a.length}` : ''}${a.length > 0 && r.length > 0 ? ' ' : ''}${r.length > 0 ? `-${r.length}` : ''}`)
  }
}

/** Creates a list (initial ≤ 1,000 items), never twice: a failed create is checked by name first. */
async function createList(ctx: ApplyContext, c: ListCreate): Promise<string> {
  const first = c.items.slice(0, MAX_ITEMS_PER_CALL)
  const body = {
    name: c.name,
    type: c.type,
    description: `Managed by gateway-tls-bypass: items described "${OWNERSHIP_PREFIX} …" are synced from the repository; other items are kept.`,
    items: describeItems(first, ctx.plan.mark)
  }
  const state = { recovered: false }
  const id = await ctx.api.write<string>(
    'post', '/gateway/lists', { body }, `Creating list "${c.name}"`,
    async () => {
      const found = (await ctx.api.lists()).find((l) => l.name === c.name && l.type === c.type)
      if (found === undefined) return { retry: { body } }
      state.recovered = true
      return { done: found.id }
    },
    (env) => {
      if (!isRecord(env.result) || typeof env.result['id'] !== 'string') throw new BadEnvelopeError('Cloudflare did not return the new list id')
      return env.result['id']
    }
  )
  ctx.log(`Created list "${c.name}" (${c.type}, ${first.length} item(s))`)
  const list = { id, name: c.name, type: c.type }
  if (state.recovered) {
    // The create may or may not have carried its items: top up whatever is missing.
    const now = await presentValues(ctx, id, c.type)
    await patchList(ctx, list, c.items.filter((v) => !now.canon.has(v)), [], now.count)
  } else if (c.items.length > first.length) {
    await patchList(ctx, list, c.items.slice(first.length), [], first.length)
  }
  return id
}

function ruleBodyFrom(existing: Record<string, unknown>, traffic: string): Record<string, unknown> {
  const body: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(existing)) if (!READ_ONLY_RULE_FIELDS.has(k)) body[k] = v
  // PUT is a full replace: everything else goes back unchanged.
  return { ...body, action: 'off', enabled: true, filters: ['http'], traffic }
}

async function updateRule(ctx: ApplyContext, id: string, traffic: string): Promise<void> {
  const { result } = await ctx.api.read(`/gateway/rules/${id}`)
  if (!isRecord(result)) throw new GatewayApiError(`Cloudflare returned no rule for ${id}`)
  const body = ruleBodyFrom(result, traffic)
  // PUT with the same body is idempotent: retrying it as-is is safe.
  await ctx.api.write<undefined>('put', `/gateway/rules/${id}`, { body }, `Updating policy "${ctx.plan.policy.name}"`,
    () => Promise.resolve({ retry: { body } }), () => undefined)
}

/**
 * A second policy with the managed name is a Do Not Inspect rule nothing restores: turn it
 * off (PUT of the rule as read, `enabled: false`; idempotent). It is never deleted: a person
 * checks and deletes it.
 */
async function disableDuplicatePolicies(ctx: ApplyContext): Promise<void> {
  for (const d of ctx.plan.policy.duplicates.filter((x) => x.enabled)) {
    const { result } = await ctx.api.read(`/gateway/rules/${d.id}`)
    if (!isRecord(result)) throw new GatewayApiError(`Cloudflare returned no rule for ${d.id}`)
    const body: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(result)) if (!READ_ONLY_RULE_FIELDS.has(k)) body[k] = v
    body['enabled'] = false
    await ctx.api.write<undefined>('put', `/gateway/rules/${d.id}`, { body }, `Disabling duplicate policy ${d.id}`,
      () => Promise.resolve({ retry: { body } }), () => undefined)
    ctx.log(`Disabled duplicate policy ${d.id} named "${ctx.plan.policy.name}"; delete it by hand`)
  }
}

async function applyPolicy(ctx: ApplyContext, created: Map<string, string>): Promise<void> {
  const p = ctx.plan.policy
  if (p.action === 'none') return
  const refs = p.lists.map((l) => {
    const id = l.id ?? created.get(l.name)
    if (id === undefined) throw new GatewayApiError(`List "${l.name}" was not created; cannot reference it`)
    return { type: l.type, id }
  })
  const traffic = policyTraffic(refs)
  if (p.action === 'update' && p.id !== null) {
    await updateRule(ctx, p.id, traffic)
    ctx.log(`Updated policy "${p.name}": ${p.reasons.join(' ')}`)
    return
  }
  const body = {
    name: p.name,
    description: `Do Not Inspect for certificate-pinned apps. Managed by gateway-tls-bypass (${ctx.plan.mark.replace(/^[^:]*:\s*/, '')}); edits here are reverted by the next sync.`,
    action: 'off',
    enabled: true,
    filters: ['http'],
    traffic
  }
  const found: { id: string | null } = { id: null }
  await ctx.api.write<undefined>('post', '/gateway/rules', { body }, `Creating policy "${p.name}"`,
    async () => {
      const rule = (await ctx.api.rules()).find((r) => r['name'] === p.name && typeof r['id'] === 'string')
      if (rule === undefined) return { retry: { body } }
      found.id = String(rule['id'])
      return { done: undefined }
    },
    () => undefined)
  // A create that failed ambiguously but was applied: make sure the stored rule is ours.
  if (found.id !== null) await updateRule(ctx, found.id, traffic)
  ctx.log(`Created policy "${p.name}"`)
}

/**
 * Applies a plan in an order that is safe if interrupted at any point:
 * 1. create missing lists (with their items), 2. append to existing lists that lose nothing,
 * 3. create/update the policy so it references every managed list (and disable any second
 * policy with its name), 4. PATCH the lists that lose items (removals and appends in one call; removals free the slots the appends use).
 * Lists are never deleted (an emptied list stays, referenced and reused) and never recreated.
 * A run that fails half way leaves no removal done before the policy is right, and the next
 * run (re-read, re-plan) completes it.
 *
 * @throws TooMuchChangeError when the guard objects and `force` was not set, PlanLimitError
 *   when the plan needs more than `max-lists` lists (both before any call)
 * @returns the number of write requests sent (0 when the plan has no changes)
 */
export async function applySyncPlan(
  client: Cloudflare, accountId: string, plan: SyncPlan,
  o: { limiter?: RateLimiter; log?: (m: string) => void; sleep?: (ms: number) => Promise<void> } = {}
): Promise<{ writes: number }> {
  assertPlanAllowed(plan)
  if (plan.changes === 0) return { writes: 0 }
  const api = new Api(client, accountId, limiterFor(client, o.limiter), o.sleep ?? realSleep, o.log)
  const ctx: ApplyContext = { api, plan, log: o.log ?? (() => undefined) }

  const created = new Map<string, string>()
  for (const c of [...plan.ips.creates, ...plan.hosts.creates]) created.set(c.name, await createList(ctx, c))

  const updates = [...plan.ips.updates, ...plan.hosts.updates]
  for (const u of updates.filter((x) => x.remove.length === 0)) await patchList(ctx, u, u.append, [], u.countBefore)

  await applyPolicy(ctx, created)
  await disableDuplicatePolicies(ctx)

  for (const u of updates.filter((x) => x.remove.length > 0)) await patchList(ctx, u, u.append, u.remove, u.countBefore)
  return { writes: api.writes }
}
