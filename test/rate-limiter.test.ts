import { describe, expect, it } from 'vitest'
import { RateLimiter } from '../action/src/adapters/rate-limiter.js'

function fakeClock(): { now: () => number; sleep: (ms: number) => Promise<void>; sleeps: number[] } {
  let t = 1_000_000
  const sleeps: number[] = []
  return {
    now: () => t,
    sleep: (ms) => {
      sleeps.push(ms)
      t += ms
      return Promise.resolve()
    },
    sleeps
  }
}

describe('RateLimiter', () => {
  it('lets requests through while under both limits', async () => {
    const c = fakeClock()
    const rl = new RateLimiter({ perMinute: 3, per5Min: 10, ...c })
    for (let i = 0; i < 3; i++) await rl.acquire('lists')
    expect(c.sleeps).toEqual([])
    expect(rl.usage()).toEqual({ lists: 3, all: 3 })
  })

  it('waits for the oldest lists request to leave the 60 s window', async () => {
    const c = fakeClock()
    const rl = new RateLimiter({ perMinute: 2, per5Min: 100, ...c })
    await rl.acquire('lists')
    await c.sleep(10_000)
    await rl.acquire('lists')
    await rl.acquire('lists')
    expect(c.sleeps).toEqual([10_000, 50_000])
    // "other" requests do not count against the lists window.
    await rl.acquire('other')
    expect(c.sleeps).toHaveLength(2)
  })

  it('enforces the global 5-minute window for every kind', async () => {
    const c = fakeClock()
    const rl = new RateLimiter({ perMinute: 100, per5Min: 3, ...c })
    await rl.acquire('other')
    await rl.acquire('lists')
    await rl.acquire('other')
    await rl.acquire('lists')
    expect(c.sleeps).toEqual([300_000])
  })

  it('never exceeds either limit in any window over a long burst', async () => {
    const c = fakeClock()
    const rl = new RateLimiter({ perMinute: 600, per5Min: 1200, ...c })
    const lists: number[] = []
    const all: number[] = []
    for (let i = 0; i < 3000; i++) {
      const kind = i % 4 === 0 ? 'other' : 'lists'
      await rl.acquire(kind)
      if (kind === 'lists') lists.push(c.now())
      all.push(c.now())
    }
    const maxIn = (ts: number[], w: number): number => {
      let max = 0
      let j = 0
      for (let i = 0; i < ts.length; i++) {
        while ((ts[j] ?? 0) <= (ts[i] ?? 0) - w) j++
        max = Math.max(max, i - j + 1)
      }
      return max
    }
    expect(maxIn(lists, 60_000)).toBeLessThanOrEqual(600)
    expect(maxIn(all, 300_000)).toBeLessThanOrEqual(1200)
  })

  it('serialises concurrent callers so the last slot is taken once', async () => {
    const c = fakeClock()
    const rl = new RateLimiter({ perMinute: 1, per5Min: 100, ...c })
    await Promise.all([rl.acquire('lists'), rl.acquire('lists'), rl.acquire('lists')])
    expect(c.sleeps).toEqual([60_000, 60_000])
  })

  it('forCloudflare keeps headroom under the documented limits', () => {
    expect(() => RateLimiter.forCloudflare()).not.toThrow()
    expect(() => new RateLimiter({ perMinute: 0, per5Min: 1 })).toThrow()
  })
})
