// Gateway items keep their created_at through the real SDK (for "listed since": issue 10's
// idle rule and `why`); and drift is one warning per run, however many hand-added items.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type Cloudflare from 'cloudflare'
import { createCloudflareClient } from '../action/src/adapters/cloudflare-client.js'
import { applySyncPlan, readRemoteState } from '../action/src/adapters/gateway.js'
import { RateLimiter } from '../action/src/adapters/rate-limiter.js'
import { listedSince, planSync, type SyncOptions } from '../action/src/core/sync-plan.js'
import { startCloudflareEmulator, type CloudflareEmulator } from './emulators/cloudflare.js'
import { runCaptured, testRuntime } from './harness/runtime.js'

const ACCOUNT = 'abcdef0123456789abcdef0123456789'
const OPTS: SyncOptions = { prefix: 'gateway-tls-bypass', policyName: 'gateway-tls-bypass', capacity: 1000, force: false, provenance: { repository: 'acme/zt', commit: 'abcdef1' } }
const instant = (): Promise<void> => Promise.resolve()
const limiter = (): RateLimiter => new RateLimiter({ perMinute: 600, per5Min: 1200, sleep: instant })

let cf: CloudflareEmulator
let client: Cloudflare
let clock = Date.parse('2026-09-02T10:00:00Z')

beforeEach(async () => {
  clock = Date.parse('2026-09-02T10:00:00Z')
  cf = await startCloudflareEmulator({ accountId: ACCOUNT, now: () => clock })
  client = createCloudflareClient({ apiToken: cf.token, baseURL: cf.url, maxRetries: 0, timeoutMs: 2000 })
})
afterEach(async () => {
  await cf.close()
})

const read = () => readRemoteState(client, ACCOUNT, { prefix: OPTS.prefix, policyName: OPTS.policyName, limiter: limiter(), sleep: instant })

describe('created_at of Gateway items', () => {
  it('each item carries the created_at the API returned; listedSince keys it by canonical value', async () => {
    await applySyncPlan(client, ACCOUNT, planSync({ ips: ['203.0.113.7'], hosts: ['a.example'] }, await read(), OPTS), { limiter: limiter(), sleep: instant })
    clock = Date.parse('2026-10-01T00:00:00Z')
    await applySyncPlan(client, ACCOUNT, planSync({ ips: ['203.0.113.7', '203.0.113.8'], hosts: ['a.example'] }, await read(), OPTS), { limiter: limiter(), sleep: instant })
    const remote = await read()
    const ip = remote.lists.find((l) => l.type === 'IP')!
    expect(ip.items.map((i) => [i.value, i.createdAt])).toEqual([['203.0.113.7/32', '2026-09-02T10:00:00.000Z'], ['203.0.113.8/32', '2026-10-01T00:00:00.000Z']])
    const since = listedSince(remote)
    expect(Object.fromEntries(since.ips)).toEqual({ '203.0.113.7': '2026-09-02T10:00:00.000Z', '203.0.113.8': '2026-10-01T00:00:00.000Z' })
    expect(Object.fromEntries(since.hosts)).toEqual({ 'a.example': '2026-09-02T10:00:00.000Z' })
    // Behaviour is unchanged: the same files plan nothing.
    expect(planSync({ ips: ['203.0.113.7', '203.0.113.8'], hosts: ['a.example'] }, remote, OPTS).changes).toBe(0)
  })
})

describe('drift is one warning per run', () => {
  it('50 hand-added items: one annotation naming the count and three values; the summary lists them; no "already matches"', async () => {
    const files = { 'lists/ips.txt': '203.0.113.7\n', 'lists/hosts.txt': '', 'exclusions.yaml': 'exclusions: []\n' }
    const base = { 'command': 'sync', 'cloudflare-account-id': ACCOUNT, 'cloudflare-api-token': cf.token, 'cloudflare-api-url': cf.url }
    expect((await runCaptured(await testRuntime({ withRepoFiles: false, files }), base)).error).toBeUndefined()
    const list = [...cf.lists.values()].find((l) => l.type === 'IP')!
    for (let i = 1; i <= 50; i++) list.items.push({ value: `198.51.100.${i}`, created_at: '2026-09-03T00:00:00Z' })
    const rt = await testRuntime({ withRepoFiles: false, files })
    const o = await runCaptured(rt, base)
    expect(o.error).toBeUndefined()
    const warnings = rt.logs.filter((l) => l.level === 'warning')
    expect(warnings).toHaveLength(1)
    expect(warnings[0]!.message).toMatch(/^50 entries in the managed Gateway lists are not in the list files \(added by hand in the dashboard: 198\.51\.100\.1, 198\.51\.100\.2, 198\.51\.100\.3, and 47 more\)\. Each is a TLS-inspection bypass nobody reviewed\./)
    const md = rt.summaries.at(-1)!
    expect(md).toMatch(/^### Cloudflare Gateway sync: no changes\n\n\*\*No changes:\*\* every entry of the list files is in Cloudflare/)
    expect(md).toContain('**50 entries in the managed lists are not in the list files**')
    expect(md).not.toContain('already matches')
    expect(md.match(/^\| `198\.51\.100\.\d+` \|/gm)).toHaveLength(50)
  })
})
