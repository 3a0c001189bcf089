// Issue 11: waits are injectable so that no test sleeps, and the knob that shortens them in a
// spawned bundle can only shorten them: never lengthen them, never turn retries off.
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createCloudflareClient, sdkRetryWaitMs } from '../action/src/adapters/cloudflare-client.js'
import { scaledGitHubTiming } from '../action/src/adapters/github.js'
import { WAIT_SCALE_ENV, waitScaleFromEnv } from '../action/src/runtime.js'
import { startCloudflareEmulator, type CloudflareEmulator } from './emulators/cloudflare.js'
import { runActionBundle } from './harness/run-action.js'

const ACCOUNT = 'abcdef0123456789abcdef0123456789'

describe('GATEWAY_TLS_BYPASS_WAIT_SCALE', () => {
  it.each([
    [undefined, 1],
    ['', 1],
    ['  ', 1],
    ['1', 1],
    ['0', 0],
    ['0.25', 0.25],
    [' 0.5 ', 0.5],
    ['1.0', 1]
  ])('%j → %d', (raw, scale) => {
    expect(waitScaleFromEnv(raw === undefined ? {} : { [WAIT_SCALE_ENV]: raw })).toBe(scale)
  })

  // Longer waits, negative ones, or anything that is not a plain number are refused outright.
  it.each(['2', '1.5', '-0', '-1', 'abc', 'Infinity', 'NaN', '1e-3', '0x1', '.5', '0,5'])('%j is refused with a clear message', (raw) => {
    expect(() => waitScaleFromEnv({ [WAIT_SCALE_ENV]: raw })).toThrow(/GATEWAY_TLS_BYPASS_WAIT_SCALE must be a number from 0 to 1/)
  })
})

describe('the SDK retry wait that waitScale multiplies (cloudflare 7.x rules)', () => {
  const h = (o: Record<string, string>): Headers => new Headers(o)
  it.each([
    ['retry-after-ms wins', h({ 'retry-after-ms': '250', 'retry-after': '9' }), 250],
    ['retry-after in seconds', h({ 'retry-after': '3' }), 3000],
    ['retry-after 0 is no wait', h({ 'retry-after': '0' }), 0],
    ['retry-after-ms 0 yields to retry-after', h({ 'retry-after-ms': '0', 'retry-after': '2' }), 2000],
    ['retry-after-ms 0 alone is no wait', h({ 'retry-after-ms': '0' }), 0]
  ])('%s', (_name, headers, ms) => {
    expect(sdkRetryWaitMs(headers, 2, 2)).toBe(ms)
  })

  it.each([
    // [retriesRemaining, maxRetries, random, ms]: 0.5 s doubling, capped at 8 s, up to 25 % jitter off.
    [2, 2, 0, 500],
    [1, 2, 0, 1000],
    [0, 5, 0, 8000],
    [2, 2, 1, 375]
  ])('back-off with %d of %d retries left, random %d → %d ms', (left, max, random, ms) => {
    expect(sdkRetryWaitMs(undefined, left, max, () => random)).toBe(ms)
  })
})

describe('github timing at a scale', () => {
  it('is the plugin default at 1 and scales the unit and both pacing gaps otherwise', () => {
    expect(scaledGitHubTiming(1)).toBeUndefined()
    expect(scaledGitHubTiming()).toBeUndefined()
    expect(scaledGitHubTiming(0)).toEqual({ retryUnitMs: 0, pacingMs: { write: 0, notifications: 0 } })
    expect(scaledGitHubTiming(0.5)).toEqual({ retryUnitMs: 500, pacingMs: { write: 500, notifications: 1500 } })
  })
})

describe('waitScale 0 on the Cloudflare client', () => {
  let cf: CloudflareEmulator
  afterEach(async () => {
    await cf?.close()
  })

  // An hour-long Retry-After would outlast the test timeout if it were waited out.
  it('still retries (same count), without waiting out an hour-long Retry-After', async () => {
    cf = await startCloudflareEmulator({ accountId: ACCOUNT })
    cf.inject({ method: 'GET', path: /\/gateway\/lists$/, status: 429, headers: { 'Retry-After': '3600' } })
    const client = createCloudflareClient({ apiToken: cf.token, baseURL: cf.url, waitScale: 0 })
    await expect(client.get(`/accounts/${ACCOUNT}/gateway/lists`)).resolves.toMatchObject({ success: true })
    expect(cf.requests.filter((r) => r.path.endsWith('/gateway/lists'))).toHaveLength(2)
  })

  it('keeps the SDK retry count: a 500 on every attempt is tried 1 + maxRetries times, then fails', async () => {
    cf = await startCloudflareEmulator({ accountId: ACCOUNT })
    cf.inject({ method: 'GET', path: /\/gateway\/lists$/, status: 500, times: Infinity })
    const client = createCloudflareClient({ apiToken: cf.token, baseURL: cf.url, waitScale: 0, maxRetries: 4 })
    await expect(client.get(`/accounts/${ACCOUNT}/gateway/lists`)).rejects.toMatchObject({ status: 500 })
    expect(cf.requests.filter((r) => r.path.endsWith('/gateway/lists'))).toHaveLength(5)
  })
})

describe('the bundle as the runner starts it', () => {
  it('fails the step on a knob that would lengthen waits, before reading anything', async () => {
    const r = await runActionBundle({
      workspace: await mkdtemp(join(tmpdir(), 'gtb-waits-')),
      inputs: { command: 'check' },
      github: { repository: 'acme/bypass', apiUrl: 'http://127.0.0.1:9', token: 'ghs_unused_token_0000' },
      env: { GATEWAY_TLS_BYPASS_WAIT_SCALE: '10' }
    })
    expect(r.code).not.toBe(0)
    expect(r.stdout).toContain('::error::GATEWAY_TLS_BYPASS_WAIT_SCALE must be a number from 0 to 1')
    expect(r.stdout).not.toContain('Files valid')
  })
})
