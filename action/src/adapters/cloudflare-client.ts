// The one place that constructs the Cloudflare SDK client. The SDK silently reads several
// environment variables (reference Gotcha 23); in CI a stray CLOUDFLARE_API_KEY/EMAIL or
// CLOUDFLARE_CUSTOM_HEADERS would be sent next to our token, so every such input is pinned here.
import Cloudflare, {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError
} from 'cloudflare'

/** Options for {@link createCloudflareClient}. */
export interface CloudflareClientOptions {
  /** API token, sent only as `Authorization: Bearer …`. */
  apiToken: string
  /** Explicit base URL; falls back to env `CLOUDFLARE_BASE_URL`, then the SDK default (`https://api.cloudflare.com/client/v4`). */
  baseURL?: string
  /** SDK retries on connection errors, 408/409/429/5xx (default: SDK default, 2). */
  maxRetries?: number
  /** Per-request timeout in milliseconds (default: SDK default, 60 000). */
  timeoutMs?: number
  /** Multiplies the SDK's waits between retries (its back-off and Retry-After); default 1. Never the retry count. */
  waitScale?: number
}

// The SDK's logger may print request details at debug level; a logger that drops everything
// guarantees the token can never reach the Actions log, whatever CLOUDFLARE_LOG says.
const silentLogger = {
  error: () => undefined,
  warn: () => undefined,
  info: () => undefined,
  debug: () => undefined
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1'])

function readEnv(name: string): string | undefined {
  // Same trimming as the SDK's readEnv so "set but blank" behaves like "unset".
  const value = process.env[name]?.trim()
  return value === undefined || value === '' ? undefined : value
}

/**
 * Header names the SDK would take from env `CLOUDFLARE_CUSTOM_HEADERS` (parsed exactly as the
 * SDK does: one `Name: value` per line). We map each to `undefined` in `defaultHeaders`, which
 * wins over the env values and makes the SDK's header builder skip them entirely.
 */
function neutralisedEnvHeaders(): Record<string, undefined> {
  const raw = readEnv('CLOUDFLARE_CUSTOM_HEADERS')
  const out: Record<string, undefined> = {}
  if (raw === undefined) return out
  for (const line of raw.split('\n')) {
    const colon = line.indexOf(':')
    if (colon >= 0) out[line.substring(0, colon).trim()] = undefined
  }
  return out
}

function resolveBaseURL(explicit: string | undefined): string | undefined {
  const chosen = explicit ?? readEnv('CLOUDFLARE_BASE_URL')
  if (chosen === undefined) return undefined
  let url: URL
  try {
    url = new URL(chosen)
  } catch {
    throw new Error(`Cloudflare base URL is not a valid URL: ${JSON.stringify(chosen)}`)
  }
  // A bearer token over cleartext to a remote host is a leak; plain http is only for local emulators.
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname))) {
    throw new Error(`Cloudflare base URL must be https (plain http only for loopback test servers): ${url.origin}`)
  }
  return chosen
}

/**
 * Creates a Cloudflare SDK client authenticated with an API token only.
 *
 * Explicitly nulls the API key, email and user-service key (so env credentials are never
 * sent), ignores `CLOUDFLARE_CUSTOM_HEADERS` and `CLOUDFLARE_LOG`, and silences the logger.
 * The base URL is `o.baseURL`, else env `CLOUDFLARE_BASE_URL`, else the SDK default; it must be
 * https unless it points at loopback. Paths are appended directly to it, so a test server's
 * URL is passed without `/client/v4`.
 */
export function createCloudflareClient(o: CloudflareClientOptions): Cloudflare {
  if (o.apiToken.trim() === '') throw new Error('Cloudflare API token is empty')
  const baseURL = resolveBaseURL(o.baseURL)
  const client = new Cloudflare({
    apiToken: o.apiToken,
    apiKey: null,
    apiEmail: null,
    userServiceKey: null,
    ...(baseURL !== undefined ? { baseURL } : {}),
    ...(o.maxRetries !== undefined ? { maxRetries: o.maxRetries } : {}),
    ...(o.timeoutMs !== undefined ? { timeout: o.timeoutMs } : {}),
    defaultHeaders: neutralisedEnvHeaders(),
    logLevel: 'off',
    logger: silentLogger
  })
  if (o.waitScale !== undefined && o.waitScale !== 1) scaleSdkRetryWaits(client, o.waitScale)
  return client
}

/** The SDK's private retry step (cloudflare 7.x `retryRequest`): it sleeps, then sends again. */
type RetryStep = (this: unknown, options: { maxRetries?: number }, retriesRemaining: number, requestLogID: string, headers?: Headers) => Promise<unknown>

/**
 * The SDK offers no hook for its retry waits, so its retry step is wrapped: the wait it
 * would take (Retry-After-Ms, Retry-After, else its jittered back-off) is computed as it
 * does, scaled, and handed back as `retry-after-ms`, which the SDK obeys. The step itself
 * (and so the number of retries) stays the SDK's.
 */
function scaleSdkRetryWaits(client: Cloudflare, scale: number): void {
  const sdk = client as unknown as { retryRequest: RetryStep; maxRetries: number }
  const step = sdk.retryRequest
  if (typeof step !== 'function') throw new Error('the Cloudflare SDK no longer has the retry step whose waits waitScale shortens')
  sdk.retryRequest = function (options, retriesRemaining, requestLogID, headers) {
    const wait = sdkRetryWaitMs(headers, retriesRemaining, options.maxRetries ?? sdk.maxRetries) * scale
    return step.call(this, options, retriesRemaining, requestLogID, new Headers({ 'retry-after-ms': String(Math.max(0, wait)) }))
  }
}

/** The wait the SDK's `retryRequest` takes before a retry (cloudflare 7.x, client.ts). */
export function sdkRetryWaitMs(headers: Headers | undefined, retriesRemaining: number, maxRetries: number, random = Math.random): number {
  let wait: number | undefined
  const ms = headers?.get('retry-after-ms')
  if (ms && !Number.isNaN(parseFloat(ms))) wait = parseFloat(ms)
  const after = headers?.get('retry-after')
  if (after && !wait) {
    const secs = parseFloat(after)
    wait = Number.isNaN(secs) ? Date.parse(after) - Date.now() : secs * 1000
  }
  if (wait !== undefined) return wait
  const backoffSecs = Math.min(0.5 * 2 ** (maxRetries - retriesRemaining), 8)
  return backoffSecs * (1 - random() * 0.25) * 1000
}

interface EnvelopeError { code?: unknown; message?: unknown }

function envelopeErrors(err: APIError): string {
  const list: unknown[] = Array.isArray(err.errors) ? err.errors : []
  const parts = list.flatMap((e) => {
    if (typeof e !== 'object' || e === null) return []
    const { code, message } = e as EnvelopeError
    const text = typeof message === 'string' ? message : message === undefined ? '' : JSON.stringify(message)
    const codeText = typeof code === 'number' || typeof code === 'string' ? `[${code}] ` : ''
    return codeText + text === '' ? [] : [`${codeText}${text}`.trim()]
  })
  return parts.join('; ')
}

// Defence in depth: SDK messages come from response bodies and never contain request headers,
// but a proxy or a future SDK could echo them, so anything shaped like a credential is masked.
function redact(text: string): string {
  return text
    .replace(/(bearer\s+)[^\s"',;]+/gi, '$1[redacted]')
    .replace(/((?:authorization|x-auth-key|x-auth-email|x-auth-user-service-key)["']?\s*[:=]\s*["']?)[^\s"',;]+/gi, '$1[redacted]')
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim()
}

/**
 * Turns an error thrown by the Cloudflare SDK into one log line: HTTP status, the envelope's
 * `errors[].code/message`, and for 401/403 a hint about the token. Never includes the token
 * or request headers.
 *
 * @param neededPermission the token permission the failed call needs, e.g. `Zero Trust: Edit`;
 *   named in the 403 hint.
 */
export function describeCloudflareError(err: unknown, neededPermission?: string): string {
  let line: string
  if (err instanceof APIConnectionTimeoutError) {
    line = 'Cloudflare API request timed out (no response before the client timeout)'
  } else if (err instanceof APIUserAbortError) {
    line = 'Cloudflare API request was aborted'
  } else if (err instanceof APIConnectionError) {
    const cause = (err as { cause?: unknown }).cause
    const causeText = cause instanceof Error ? `: ${cause.message}${cause.cause instanceof Error ? ` (${cause.cause.message})` : ''}` : ''
    line = `Cloudflare API connection failed${causeText}`
  } else if (err instanceof APIError) {
    const status = err.status
    const details = envelopeErrors(err)
    let fallback = ''
    if (details === '') {
      // No envelope (e.g. HTML from a proxy): the SDK's message already carries the raw text.
      fallback = err.message.replace(/^\d{3}\s*/, '').slice(0, 300)
    }
    line = `Cloudflare API error: HTTP ${status ?? '?'}${details !== '' ? ` – ${details}` : fallback !== '' ? ` – ${fallback}` : ''}`
    if (status === 401) {
      line += ' (the API token is invalid, expired or was not sent)'
    } else if (status === 403) {
      line += neededPermission !== undefined && neededPermission !== ''
        ? ` (the API token likely lacks the "${neededPermission}" permission for this account)`
        : ' (the API token likely lacks a required permission for this account)'
    } else if (status === 429) {
      const retryAfter = err.headers?.get('retry-after')
      line += retryAfter != null && retryAfter !== '' ? ` (rate limited; retry after ${retryAfter}s)` : ' (rate limited)'
    }
  } else if (err instanceof Error) {
    line = `Cloudflare client error: ${err.message}`
  } else {
    line = `Cloudflare client error: ${String(err)}`
  }
  return redact(oneLine(line))
}
