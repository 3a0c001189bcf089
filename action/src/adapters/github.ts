/**
 * The GitHub client: `@actions/github`'s Octokit with retry and throttling (conventions
 * §2.4). `baseUrl` is always explicit, so nothing depends on `GITHUB_API_URL` having been
 * set before import, and tests point it at the local emulator.
 */
import { getOctokit } from '@actions/github'
import { retry } from '@octokit/plugin-retry'
import { throttling } from '@octokit/plugin-throttling'

/** The Octokit instance every GitHub adapter function takes. */
export type Octokit = ReturnType<typeof getOctokit>

/** Options for `createGitHubClient`. */
export interface GitHubClientOptions {
  token: string
  /** REST API root, e.g. `https://api.github.com` or `${{ github.api_url }}` on GHES. */
  baseUrl: string
  /** Retries for 5xx and network errors, and for rate limits; 0 turns both off. Default 3. */
  retries?: number
  /**
   * Milliseconds one "second" of back-off lasts; default 1000. Tests set it to 1 so that
   * retries and `Retry-After` waits happen at once instead of sleeping.
   */
  retryUnitMs?: number
  /**
   * Client-side pacing of writes (1 s apart, 3 s for PR/issue creation) by the throttling
   * plugin; default true. Tests turn it off so that a dozen writes do not take a minute.
   * Off means the whole throttling plugin is off (its pacing groups are module-global and
   * not configurable without importing Bottleneck), so rate-limit answers then fail at once.
   */
  pacing?: boolean
  /**
   * Gaps the pacing keeps between writes and between PR/issue creations, in ms. Absent: the
   * throttling plugin's own process-wide groups (1000 and 3000). Given: this client's own
   * queues with these gaps; tests pass zeros so that the rate-limit handling stays on while
   * nothing waits for real.
   */
  pacingMs?: { write: number; notifications: number }
  /** Where retry/rate-limit notices go (e.g. `core.warning`). Never receives the token. */
  log?: (msg: string) => void
}

// Status codes that retrying cannot fix. 429 is listed because the throttling plugin owns
// it (it reads Retry-After / X-RateLimit-Reset); retrying it here too would double-wait.
const DO_NOT_RETRY = [400, 401, 403, 404, 410, 422, 429, 451]

/**
 * Builds the Octokit used by collect and sync. Primary and secondary rate limits are
 * retried up to `retries` times after the wait GitHub asks for; 5xx answers are retried
 * with the retry plugin's quadratic back-off (1 s, 4 s, 9 s by default).
 */
export function createGitHubClient(o: GitHubClientOptions): Octokit {
  const retries = Math.max(0, Math.floor(o.retries ?? 3))
  const unit = o.retryUnitMs ?? 1000
  const log = o.log ?? (() => undefined)
  const limited =
    (kind: string) =>
    (retryAfter: number, options: { method?: string; url?: string }, _octokit: unknown, retryCount: number): boolean => {
      // Method and URL template only: no query, body or headers, so no secret can leak here.
      const what = `${options.method ?? '?'} ${options.url ?? '?'}`
      if (retryCount < retries) {
        log(`GitHub ${kind} rate limit on ${what}; retrying after ${retryAfter}s (attempt ${retryCount + 1} of ${retries})`)
        return true
      }
      log(`GitHub ${kind} rate limit on ${what}; giving up after ${retryCount} retries`)
      return false
    }
  return getOctokit(
    o.token,
    {
      baseUrl: o.baseUrl.replace(/\/+$/, ''),
      retry: { enabled: retries > 0, retries, doNotRetry: DO_NOT_RETRY, retryAfterBaseValue: unit },
      throttle: {
        enabled: o.pacing ?? true,
        onRateLimit: limited('primary'),
        onSecondaryRateLimit: limited('secondary'),
        retryAfterBaseValue: unit,
        // Bottleneck.Group in the plugin's types; only `key().schedule()` is used (wrap-request.js).
        ...(o.pacingMs === undefined ? {} : { write: pacedGroup(o.pacingMs.write) as never, notifications: pacedGroup(o.pacingMs.notifications) as never })
      },
      // Octokit's default logger prints request warnings with console.warn; route them to
      // `log` so that action output stays in one place.
      log: { debug: () => undefined, info: () => undefined, warn: (m: string) => log(m), error: (m: string) => log(m) }
    },
    retry,
    throttling
  )
}

/**
 * The client's waits at `scale` times their defaults (1 s back-off unit, writes 1 s apart,
 * PR/issue creations 3 s apart); undefined at 1, so production keeps the plugin's own groups.
 */
export function scaledGitHubTiming(scale = 1): { retryUnitMs: number; pacingMs: { write: number; notifications: number } } | undefined {
  if (scale === 1) return undefined
  return { retryUnitMs: 1000 * scale, pacingMs: { write: 1000 * scale, notifications: 3000 * scale } }
}

/** The part of a Bottleneck group the throttling plugin uses: `key(id).schedule(options, fn, ...args)`. */
type ScheduleGroup = { key(id?: string): { schedule<T>(options: unknown, fn: (...a: unknown[]) => Promise<T>, ...args: unknown[]): Promise<T> } }

/**
 * A queue that starts one job at a time, at least `gapMs` after the previous one started
 * (Bottleneck's `maxConcurrent: 1, minTime`), without importing Bottleneck. With 0 it only
 * keeps the order.
 */
export function pacedGroup(gapMs: number, sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms))): ScheduleGroup {
  const gap = Math.max(0, Number(gapMs) || 0)
  let tail: Promise<unknown> = Promise.resolve()
  let lastStart = -Infinity
  const limiter = {
    schedule<T>(_options: unknown, fn: (...a: unknown[]) => Promise<T>, ...args: unknown[]): Promise<T> {
      const run = async (): Promise<T> => {
        const wait = lastStart + gap - Date.now()
        if (gap > 0 && wait > 0) await sleep(wait)
        lastStart = Date.now()
        return fn(...args)
      }
      const job = tail.then(run, run)
      tail = job.catch(() => undefined)
      return job
    }
  }
  return { key: () => limiter }
}
