// A real HTTP server on 127.0.0.1 that speaks the Cloudflare v4 envelopes for the endpoints this
// product uses (reference /work/shared/reference/cloudflare-api.md §A, §C, §D, §E). Tests drive it
// through the real `cloudflare` SDK, so anything the SDK does on the wire (headers, retries,
// pagination, content types) is exercised for real.
//
// Base URL: `url` is `http://127.0.0.1:PORT` with NO path. The SDK appends paths such as
// `/accounts/{id}/gateway/lists` directly to its baseURL, so pass `url` as `baseURL`. Requests
// under `/client/v4/...` are also served (same handlers) so a base URL copied from the docs
// works; recorded `path`s never carry that prefix.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import {
  ApiFailure,
  defaultGatewayBehaviour,
  GatewayState,
  listJson,
  type EmuItem,
  type EmuList,
  type EmuRule,
  type GatewayBehaviour
} from './cloudflare-gateway.js'
import { LogExplorer, type LogDataset, type LogExplorerOptions, type SqlRecord } from './cloudflare-logexplorer.js'

export type { EmuItem, EmuList, EmuRule, GatewayBehaviour, LogDataset, SqlRecord }

/** One request as the emulator saw it. `path` has no `/client/v4` prefix and no query string. */
export interface RecordedRequest {
  method: string
  path: string
  query: Record<string, string>
  /** Lower-cased header names. */
  headers: Record<string, string>
  body: string
  /** Status sent; 0 while in flight or when the connection was dropped. */
  status: number
}

/** A one-shot (or `times`-shot) failure, matched in injection order by method and path. */
export interface Fault {
  /** Case-insensitive; any method when omitted. */
  method?: string
  /** Tested against the recorded path (no `/client/v4`, no query); any path when omitted. */
  path?: RegExp
  /** How many matching requests it hits (default 1; `Infinity` for all). */
  times?: number
  /** Response status. Default: 200 when only `body`/`envelope` is given, else 500. */
  status?: number
  /** Extra response headers, e.g. `{ 'Retry-After': '1' }` or `{ 'retry-after-ms': '50' }`. */
  headers?: Record<string, string>
  /** Raw body (e.g. malformed JSON); sent as `application/json` unless `headers` say otherwise. */
  body?: string
  /** Envelope sent with `status` (which may be 200). */
  envelope?: { success: false; errors: { code: number; message: string }[] }
  /** Wait before answering. Longer than the client timeout = a timeout. A delay-only fault then serves the request normally if the client is still connected. */
  delayMs?: number
  /** Destroy the socket instead of answering (after `delayMs`). */
  dropConnection?: boolean
  /** Apply the real change first, then fail the response as configured. */
  afterApply?: boolean
}

/** Rate-limit configuration; defaults are the documented values (reference C2). */
export interface RateLimits {
  /** Requests to `/gateway/lists*` per `listsWindowMs` (documented 600/min). */
  listsPerMinute?: number
  listsWindowMs?: number
  /** How long lists calls are blocked once exceeded (documented 120 s). */
  listsBlockMs?: number
  /** All requests per `globalWindowMs` (documented 1,200 / 5 min). */
  globalPer5Min?: number
  globalWindowMs?: number
  /** How long all calls are blocked once exceeded (documented 5 min). */
  globalBlockMs?: number
}

/** Counters the rate limiter keeps; times are from the emulator clock. */
export interface RateLimitCounters {
  /** Requests counted in the current global window. */
  global: number
  /** Requests counted in the current lists window. */
  lists: number
  /** Requests answered 429 by the limiter (injected 429 faults are not counted). */
  throttled: number
  globalBlockedUntil: number
  listsBlockedUntil: number
}

/** Options of {@link startCloudflareEmulator}. */
export interface CloudflareEmulatorOptions extends Partial<GatewayBehaviour> {
  accountId?: string
  token?: string
  /** Log Explorer datasets that are enabled (default: all three). */
  enabledDatasets?: string[]
  /** Emulate the seed author's unconfirmed report that `SELECT DISTINCT` fails on an empty result (default false). */
  selectDistinctEmptyFails?: boolean
  /** Log Explorer `timestamp_field` per dataset (null: absent from `datasets/available`). */
  logTimestampFields?: LogExplorerOptions['timestampFields']
  /** Log Explorer answers HTTP 507 to every SQL text for which this returns true. */
  logExhausted?: (sql: string) => boolean
  rateLimits?: RateLimits
  /** Clock for timestamps and rate-limit windows (default `Date.now`); tests advance a fake one instead of waiting. */
  now?: () => number
}

/** The running emulator. */
export interface CloudflareEmulator {
  /** `http://127.0.0.1:PORT`; pass as the SDK `baseURL`. */
  url: string
  accountId: string
  token: string
  /** Live state: id → list. Tests may seed or inspect it directly. */
  lists: Map<string, EmuList>
  /** Live state: id → rule (as stored, i.e. with the rewritten `traffic`). */
  rules: Map<string, EmuRule>
  requests: RecordedRequest[]
  /** Every SQL text received by the Log Explorer endpoint, in order. */
  sqlQueries: SqlRecord[]
  inject(f: Fault): void
  /** Faults injected but not yet used up. */
  pendingFaults(): number
  /** Non-GET requests. */
  writes(): RecordedRequest[]
  setLogRows(dataset: LogDataset, rows: Record<string, unknown>[]): Promise<void>
  rateLimitCounters(): RateLimitCounters
  resetRateLimits(): void
  close(): Promise<void>
}

interface Envelope {
  result: unknown
  success: boolean
  errors: { code: number; message: string }[]
  messages: unknown[]
  result_info?: Record<string, unknown>
}

interface Reply { status: number; body: string; headers: Record<string, string> }

const ok = (result: unknown, resultInfo?: Record<string, unknown>): Reply => {
  const env: Envelope = { result, success: true, errors: [], messages: [] }
  if (resultInfo !== undefined) env.result_info = resultInfo
  return { status: 200, body: JSON.stringify(env), headers: {} }
}

const fail = (status: number, code: number, message: string, headers: Record<string, string> = {}): Reply => ({
  status,
  body: JSON.stringify({ result: null, success: false, errors: [{ code, message }], messages: [] } satisfies Envelope),
  headers
})

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body) as unknown
  } catch {
    throw new ApiFailure(400, 6007, 'Malformed JSON in request body')
  }
}

/** Sliding-window limiter with a block period, as described for the Client API (reference C2). */
class Limiter {
  private hits: number[] = []
  blockedUntil = 0
  constructor(readonly limit: number, readonly windowMs: number, private readonly blockMs: number) {}

  /** Returns ms to wait when the request must be refused (starting a block when the budget is spent), else 0. Does not count. */
  check(now: number): number {
    if (now < this.blockedUntil) return this.blockedUntil - now
    this.hits = this.hits.filter((t) => t > now - this.windowMs)
    if (this.hits.length >= this.limit) {
      this.blockedUntil = now + this.blockMs
      return this.blockMs
    }
    return 0
  }

  /** Counts an admitted request. */
  commit(now: number): void {
    this.hits.push(now)
  }

  count(now: number): number {
    return this.hits.filter((t) => t > now - this.windowMs).length
  }

  reset(): void {
    this.hits = []
    this.blockedUntil = 0
  }
}

/**
 * Starts the emulator on 127.0.0.1 (ephemeral port). Pass `url` as the SDK `baseURL`.
 * Unconfirmed API behaviours are switchable through the {@link GatewayBehaviour} fields of `opts`.
 */
export async function startCloudflareEmulator(opts: CloudflareEmulatorOptions = {}): Promise<CloudflareEmulator> {
  const accountId = opts.accountId ?? '0123456789abcdef0123456789abcdef'
  const token = opts.token ?? 'emulator-token-0123456789'
  const clock = opts.now ?? Date.now
  const behaviour: GatewayBehaviour = { ...defaultGatewayBehaviour }
  for (const key of Object.keys(defaultGatewayBehaviour) as (keyof GatewayBehaviour)[]) {
    const v = opts[key]
    if (v !== undefined) (behaviour as unknown as Record<string, unknown>)[key] = v
  }
  const state = new GatewayState(behaviour, clock)
  const logs = new LogExplorer(
    opts.enabledDatasets ?? ['zero_trust_network_sessions', 'gateway_http', 'gateway_network'],
    {
      selectDistinctEmptyFails: opts.selectDistinctEmptyFails ?? false,
      ...(opts.logTimestampFields !== undefined ? { timestampFields: opts.logTimestampFields } : {}),
      ...(opts.logExhausted !== undefined ? { exhausted: opts.logExhausted } : {})
    }
  )
  const rl = opts.rateLimits ?? {}
  const globalLimiter = new Limiter(rl.globalPer5Min ?? 1200, rl.globalWindowMs ?? 300_000, rl.globalBlockMs ?? 300_000)
  const listsLimiter = new Limiter(rl.listsPerMinute ?? 600, rl.listsWindowMs ?? 60_000, rl.listsBlockMs ?? 120_000)
  let throttled = 0
  const requests: RecordedRequest[] = []
  const faults: { f: Fault; left: number }[] = []
  const sockets = new Set<Socket>()

  function takeFault(method: string, path: string): Fault | undefined {
    const i = faults.findIndex(({ f }) => {
      // A /g or /y RegExp keeps state between test() calls; reset so matching is repeatable.
      if (f.path !== undefined) f.path.lastIndex = 0
      return (f.method === undefined || f.method.toUpperCase() === method) && (f.path === undefined || f.path.test(path))
    })
    if (i < 0) return undefined
    const entry = faults[i]
    if (entry === undefined) return undefined
    entry.left -= 1
    if (entry.left <= 0) faults.splice(i, 1)
    return entry.f
  }

  function faultReply(f: Fault): Reply | undefined {
    const hasPayload = f.body !== undefined || f.envelope !== undefined
    if (f.status === undefined && !hasPayload) {
      // A delay-only or drop-only fault does not choose a response.
      if (f.delayMs !== undefined || f.dropConnection === true) return undefined
    }
    const status = f.status ?? (hasPayload ? 200 : 500)
    const headers: Record<string, string> = { ...(f.headers ?? {}) }
    // Cloudflare sends Retry-After on every 429; keep that true for injected ones too.
    if (status === 429 && !Object.keys(headers).some((h) => /^retry-after(-ms)?$/i.test(h))) headers['Retry-After'] = '1'
    const body = f.body ?? JSON.stringify(f.envelope !== undefined
      ? { result: null, messages: [], ...f.envelope }
      : { result: null, success: false, errors: [{ code: status === 429 ? 971 : 10000 + status, message: `injected fault: HTTP ${status}` }], messages: [] })
    return { status, body, headers }
  }

  /** Auth, account scoping, rate limits and routing. Throws ApiFailure for 4xx. */
  async function route(method: string, path: string, query: Record<string, string>, req: IncomingMessage, body: string): Promise<Reply> {
    const m = /^\/accounts\/([^/]+)(\/.*)?$/.exec(path)
    if (m === null) return fail(404, 7003, `Could not route to ${path}, perhaps your object identifier is invalid?`)
    if (m[1] !== accountId) return fail(403, 10000, 'Authentication error')
    const sub = m[2] ?? ''

    const now = clock()
    const isLists = sub.startsWith('/gateway/lists')
    // Refused requests are not counted against either budget (unconfirmed; keeps counters predictable).
    const globalWait = globalLimiter.check(now)
    const listsWait = globalWait === 0 && isLists ? listsLimiter.check(now) : 0
    const wait = Math.max(globalWait, listsWait)
    if (wait === 0) {
      globalLimiter.commit(now)
      if (isLists) listsLimiter.commit(now)
    } else {
      throttled += 1
      return fail(429, 971, 'Please wait and consider throttling your request speed', { 'Retry-After': String(Math.ceil(wait / 1000)) })
    }

    const reply = await dispatch(method, path, sub, query, req, body)
    // Informational headers as documented (reference C2); values reflect the global budget.
    reply.headers['Ratelimit'] = `"default";r=${Math.max(0, globalLimiter.limit - globalLimiter.count(now))};t=${Math.ceil(globalLimiter.windowMs / 1000)}`
    reply.headers['Ratelimit-Policy'] = `"default";q=${globalLimiter.limit};w=${Math.ceil(globalLimiter.windowMs / 1000)}`
    return reply
  }

  async function dispatch(method: string, path: string, sub: string, query: Record<string, string>, req: IncomingMessage, body: string): Promise<Reply> {
    let r: RegExpExecArray | null
    if (sub === '/gateway/lists') {
      if (method === 'GET') {
        const type = query['type']
        return ok([...state.lists.values()].filter((l) => type === undefined || l.type === type).map((l) => listJson(l)))
      }
      if (method === 'POST') return ok(listJson(state.createList(parseJson(body)), true))
    } else if ((r = /^\/gateway\/lists\/([^/]+)$/.exec(sub)) !== null) {
      const id = r[1] ?? ''
      if (method === 'GET') return ok(listJson(state.getList(id)))
      if (method === 'PUT') return ok(listJson(state.updateList(id, parseJson(body))))
      if (method === 'PATCH') return ok(listJson(state.patchList(id, parseJson(body))))
      if (method === 'DELETE') {
        state.deleteList(id)
        return ok({})
      }
    } else if ((r = /^\/gateway\/lists\/([^/]+)\/items$/.exec(sub)) !== null) {
      if (method === 'GET') return listItems(state.getList(r[1] ?? ''), query)
    } else if (sub === '/gateway/rules') {
      if (method === 'GET') return ok([...state.rules.values()])
      if (method === 'POST') return ok(state.createRule(parseJson(body)))
    } else if ((r = /^\/gateway\/rules\/([^/]+)$/.exec(sub)) !== null) {
      const id = r[1] ?? ''
      if (method === 'GET') return ok(state.getRule(id))
      if (method === 'PUT') return ok(state.updateRule(id, parseJson(body)))
      if (method === 'DELETE') {
        state.deleteRule(id)
        return ok({})
      }
    } else if (sub === '/logs/explorer/datasets/available') {
      if (method === 'GET') return ok(logs.available())
    } else if (sub === '/logs/explorer/query/sql') {
      if (method === 'POST') {
        const ct = req.headers['content-type'] ?? ''
        if (!ct.toLowerCase().startsWith('text/plain')) {
          return fail(400, 1000, `expected Content-Type text/plain with the SQL as the body, got ${JSON.stringify(ct)}`)
        }
        const res = await logs.query(body, 'POST')
        return res.ok ? ok(res.rows) : fail(res.status, res.code, res.message)
      }
      if (method === 'GET') {
        const sql = query['query'] ?? ''
        // Deprecated variant: `maxLength: 4096` in the OpenAPI schema (reference A1).
        if (sql.length > 4096) {
          logs.record(sql, 'GET', 400)
          return fail(400, 1000, 'query parameter exceeds the maximum length of 4096')
        }
        const res = await logs.query(sql, 'GET')
        return res.ok ? ok(res.rows) : fail(res.status, res.code, res.message)
      }
    } else {
      return fail(404, 7003, `Could not route to ${path}, perhaps your object identifier is invalid?`)
    }
    return fail(405, 10405, `Method ${method} not allowed for ${path}`)
  }

  /** Items are paginated: default per_page 50 (reference C1), max 1,000 (unconfirmed; stricter: larger is a 400). */
  function listItems(list: EmuList, query: Record<string, string>): Reply {
    const page = query['page'] === undefined ? 1 : Number(query['page'])
    const perPage = query['per_page'] === undefined ? 50 : Number(query['per_page'])
    if (!Number.isInteger(page) || page < 1) throw new ApiFailure(400, 1003, 'page must be a positive integer')
    if (!Number.isInteger(perPage) || perPage < 1 || perPage > 1000) {
      throw new ApiFailure(400, 1003, 'per_page must be an integer between 1 and 1000')
    }
    const size = Math.min(perPage, behaviour.itemsPageCap)
    const slice = list.items.slice((page - 1) * size, page * size)
    return ok(slice.map((i) => ({ ...i })), { page, per_page: size, count: slice.length, total_count: list.items.length })
  }

  function send(res: ServerResponse, rec: RecordedRequest, reply: Reply): void {
    rec.status = reply.status
    if (res.destroyed) return
    const headers: Record<string, string> = { 'Content-Type': 'application/json', ...reply.headers }
    res.writeHead(reply.status, headers)
    res.end(reply.body)
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req)
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const method = (req.method ?? 'GET').toUpperCase()
    const path = url.pathname.replace(/^\/client\/v4(?=\/)/, '')
    const headers: Record<string, string> = {}
    for (const [k, v] of Object.entries(req.headers)) {
      if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v
    }
    const rec: RecordedRequest = { method, path, query: Object.fromEntries(url.searchParams), headers, body, status: 0 }
    requests.push(rec)

    // Credential leaks fail loudly: a token client must never send key/email auth (reference Gotcha 23).
    if (headers['x-auth-key'] !== undefined || headers['x-auth-email'] !== undefined) {
      send(res, rec, fail(400, 6003, 'Invalid request headers: X-Auth-Key/X-Auth-Email must not be sent with an API token'))
      return
    }
    if (headers['authorization'] !== `Bearer ${token}`) {
      send(res, rec, fail(401, 10000, 'Authentication error'))
      return
    }

    const fault = takeFault(method, path)
    if (fault === undefined) {
      send(res, rec, await safeRoute(method, path, rec.query, req, body))
      return
    }
    let real: Reply | undefined
    if (fault.afterApply === true) real = await safeRoute(method, path, rec.query, req, body)
    if (fault.delayMs !== undefined) await sleep(fault.delayMs)
    if (fault.dropConnection === true) {
      rec.status = 0
      req.socket.destroy()
      return
    }
    const injected = faultReply(fault)
    if (injected !== undefined) {
      send(res, rec, injected)
      return
    }
    // Delay-only fault: serve normally unless the client gave up meanwhile (then nothing is applied).
    if (real !== undefined) {
      send(res, rec, real)
    } else if (!req.socket.destroyed && !res.destroyed) {
      send(res, rec, await safeRoute(method, path, rec.query, req, body))
    }
  }

  async function safeRoute(method: string, path: string, query: Record<string, string>, req: IncomingMessage, body: string): Promise<Reply> {
    try {
      return await route(method, path, query, req, body)
    } catch (e) {
      if (e instanceof ApiFailure) return fail(e.status, e.code, e.message)
      return fail(500, 10001, `emulator error: ${e instanceof Error ? e.message : String(e)}`)
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(500, { 'Content-Type': 'application/json' })
        res.end(JSON.stringify({ result: null, success: false, errors: [{ code: 10001, message: String(e) }], messages: [] }))
      }
    })
  })
  server.on('connection', (s: Socket) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo

  return {
    url: `http://127.0.0.1:${port}`,
    accountId,
    token,
    lists: state.lists,
    rules: state.rules,
    requests,
    sqlQueries: logs.queries,
    inject(f: Fault): void {
      // `times: 0` would otherwise still fire once (the count is checked after use).
      if (f.times !== undefined && !(f.times >= 1)) throw new Error(`inject: times must be >= 1 (got ${f.times})`)
      faults.push({ f, left: f.times ?? 1 })
    },
    pendingFaults: () => faults.length,
    writes: () => requests.filter((r) => r.method !== 'GET'),
    setLogRows: (dataset, rows) => logs.setRows(dataset, rows),
    rateLimitCounters(): RateLimitCounters {
      const now = clock()
      return {
        global: globalLimiter.count(now),
        lists: listsLimiter.count(now),
        throttled,
        globalBlockedUntil: globalLimiter.blockedUntil,
        listsBlockedUntil: listsLimiter.blockedUntil
      }
    },
    resetRateLimits(): void {
      globalLimiter.reset()
      listsLimiter.reset()
      throttled = 0
    },
    async close(): Promise<void> {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await logs.close()
    }
  }
}
