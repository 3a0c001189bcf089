// The GitHub client's waits are injectable (issue 11, test speed) without turning its
// protections off: with NO_WAITS the throttling plugin still handles rate limits, only the
// waits are zero. The pacing queue itself is checked with an injected sleep.
import { describe, expect, it } from 'vitest'
import { createGitHubClient, pacedGroup } from '../action/src/adapters/github.js'
import { NO_WAITS, startGitHubEmulator } from './emulators/github.js'

describe('pacedGroup', () => {
  it.each([
    ['gap 0 never sleeps', 0, 0],
    ['gap 1000 sleeps before each job after the first', 1000, 2]
  ])('%s, and runs jobs in order', async (_name, gap, sleeps) => {
    const waits: number[] = []
    const group = pacedGroup(gap, async (ms) => {
      waits.push(ms)
    })
    const order: number[] = []
    const limiter = group.key('x')
    await Promise.all([1, 2, 3].map((n) => limiter.schedule({}, async () => order.push(n))))
    expect(order).toEqual([1, 2, 3])
    expect(waits).toHaveLength(sleeps)
    for (const w of waits) expect(w).toBeGreaterThan(gap / 2) // close to the whole gap: jobs start back to back
    for (const w of waits) expect(w).toBeLessThanOrEqual(gap)
  })

  it('a failing job does not stop the queue', async () => {
    const limiter = pacedGroup(0).key()
    const failed = limiter.schedule({}, async () => {
      throw new Error('boom')
    })
    await expect(failed).rejects.toThrow('boom')
    await expect(limiter.schedule({}, async () => 'next')).resolves.toBe('next')
  })
})

describe('createGitHubClient with NO_WAITS', () => {
  it('still retries a primary rate limit (throttling on), at once', async () => {
    const gh = await startGitHubEmulator({ files: { 'README.md': '# r\n' } })
    try {
      const logs: string[] = []
      const octokit = createGitHubClient({ token: gh.token, baseUrl: gh.url, ...NO_WAITS, log: (m) => logs.push(m) })
      gh.inject({ method: 'GET', path: /^\/repos\/[^/]+\/[^/]+$/, status: 403, body: { message: 'API rate limit exceeded' }, headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(Math.floor(Date.now() / 1000)) } })
      const r = await octokit.rest.repos.get({ owner: gh.owner, repo: gh.repo })
      expect(r.data.default_branch).toBe('main')
      expect(gh.requests.map((q) => q.status)).toEqual([403, 200])
      expect(logs.some((l) => /GitHub primary rate limit on GET \/repos\/\{owner\}\/\{repo\}; retrying/.test(l))).toBe(true)
    } finally {
      await gh.close()
    }
  })
})
