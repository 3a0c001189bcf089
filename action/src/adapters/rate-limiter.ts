/**
 * Client-side rate limiting for the Cloudflare API. Breaching a limit is expensive: the Gateway
 * Lists endpoint blocks for 120 s after 600 requests/minute, and the global 1,200 requests /
 * 5 minutes blocks EVERY call with this token for 5 minutes. So we never send the request
 * that would breach, instead of relying on 429 + Retry-After.
 */

/** Which budget a request draws from: `lists` counts against both windows, `other` only the global one. */
export type RequestKind = 'lists' | 'other'

/** Options of {@link RateLimiter}. */
export interface RateLimiterOptions {
  /** Requests per sliding 60 s to the Gateway Lists endpoints. */
  perMinute: number
  /** Requests per sliding 5 minutes, all endpoints. */
  per5Min: number
  /** Clock in ms (injectable so tests are instant). */
  now?: () => number
  /** Sleep (injectable so tests are instant). */
  sleep?: (ms: number) => Promise<void>
}

const MINUTE = 60_000
const FIVE_MINUTES = 300_000

/**
 * Sliding-window limiter. `acquire` resolves when sending one more request keeps both windows
 * within their limits, and records it. Calls are served one at a time, in order, so
 * concurrent callers cannot both slip through the last slot.
 */
export class RateLimiter {
  private readonly perMinute: number
  private readonly per5Min: number
  private readonly now: () => number
  private readonly sleep: (ms: number) => Promise<void>
  private readonly listTimes: number[] = []
  private readonly allTimes: number[] = []
  private queue: Promise<void> = Promise.resolve()

  constructor(o: RateLimiterOptions) {
    if (!(o.perMinute >= 1) || !(o.per5Min >= 1)) throw new Error('rate limits must be at least 1 request')
    this.perMinute = Math.floor(o.perMinute)
    this.per5Min = Math.floor(o.per5Min)
    this.now = o.now ?? Date.now
    this.sleep = o.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)))
  }

  /**
   * Cloudflare's documented limits with 10% headroom: the SDK's own retries and any other
   * client sharing the token (dashboard, Terraform) are invisible to this limiter.
   */
  static forCloudflare(o: Pick<RateLimiterOptions, 'now' | 'sleep'> = {}): RateLimiter {
    return new RateLimiter({ perMinute: 540, per5Min: 1080, ...o })
  }

  /** Waits until one more request of `kind` fits in both windows, then records it. */
  acquire(kind: RequestKind): Promise<void> {
    const turn = this.queue.then(() => this.take(kind))
    // A failed sleep must not wedge later callers.
    this.queue = turn.catch(() => undefined)
    return turn
  }

  /** Requests recorded in the current windows (for tests and logs). */
  usage(): { lists: number; all: number } {
    this.prune(this.now())
    return { lists: this.listTimes.length, all: this.allTimes.length }
  }

  private prune(t: number): void {
    while (this.listTimes.length > 0 && (this.listTimes[0] ?? 0) <= t - MINUTE) this.listTimes.shift()
    while (this.allTimes.length > 0 && (this.allTimes[0] ?? 0) <= t - FIVE_MINUTES) this.allTimes.shift()
  }

  private async take(kind: RequestKind): Promise<void> {
    for (;;) {
      const t = this.now()
      this.prune(t)
      let wait = 0
      if (kind === 'lists' && this.listTimes.length >= this.perMinute) {
        wait = Math.max(wait, (this.listTimes[this.listTimes.length - this.perMinute] ?? t) + MINUTE - t)
      }
      if (this.allTimes.length >= this.per5Min) {
        wait = Math.max(wait, (this.allTimes[this.allTimes.length - this.per5Min] ?? t) + FIVE_MINUTES - t)
      }
      if (wait <= 0) {
        if (kind === 'lists') this.listTimes.push(t)
        this.allTimes.push(t)
        return
      }
      await this.sleep(wait)
    }
  }
}
