// Issue 10 on Logpush: what the managed policy bypassed (last request per host and per
// destination IP) and the span the folder's gateway_http records cover, from the same scan,
// on one thread and on two; then the idle rule judged on it by the planner.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { buildCollectPlan } from '../action/src/core/plan.js'
import { readLogpush, type LogpushOptions } from '../action/src/sources/logpush/index.js'

const DAY = 86_400_000
const NOW = Date.UTC(2026, 10, 30, 12)
const POLICY = 'gateway-tls-bypass'
let dir: string

beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'logpush-usage-')) })
afterEach(async () => { await rm(dir, { recursive: true, force: true }) })

async function put(rel: string, records: object[]): Promise<void> {
  await mkdir(join(dir, rel, '..'), { recursive: true })
  await writeFile(join(dir, rel), gzipSync(records.map((r) => JSON.stringify(r)).join('\n') + '\n'))
}

/** A gateway_http record `daysAgo` before NOW (RFC 3339, as Logpush can write it). */
const http = (daysAgo: number, o: Record<string, unknown> = {}): object => ({
  Action: 'allow', HTTPHost: 'www.example.com', DestinationIP: '192.0.2.80', PolicyName: 'Allow all', Datetime: new Date(NOW - daysAgo * DAY).toISOString(), ...o
})
const bypass = (daysAgo: number, host: string, ip: string): object => http(daysAgo, { Action: 'bypass', PolicyName: POLICY, HTTPHost: host, DestinationIP: ip })

const read = (o: Partial<LogpushOptions> = {}) =>
  readLogpush({ dir, window: { from: null, to: NOW }, ports: [443], policy: { name: POLICY }, usageDays: 30, ...o })

/** Forty days of gateway_http in four files: bypasses of the managed policy, other actions, another policy. */
async function fortyDays(): Promise<void> {
  await put('http/a.log.gz', [http(40), bypass(35, 'old.pinned.example', '198.51.100.1'), http(33)])
  await put('http/b.log.gz', [bypass(10, 'app.pinned.example', '198.51.100.7'), bypass(3, 'APP.pinned.example', '198.51.100.7')])
  await put('http/c.log.gz', [http(1, { Action: 'bypass', PolicyName: 'someone else', HTTPHost: 'other.example', DestinationIP: '203.0.113.9' }), http(0.5)])
  await put('http/d.log.gz', [bypass(2, 'ip-only.example', '2001:db8::7'), http(60, { Action: 'bypass', PolicyName: POLICY, HTTPHost: 'ancient.example' })])
}

describe('Logpush usage for the idle rule', () => {
  it.each([1, 2])('last bypass per host and per destination IP within idle-days, only the managed policy (threads %s)', async (threads) => {
    await fortyDays()
    const o = await read({ threads })
    expect(o.usage).toBeDefined()
    expect(Object.fromEntries(o.usage!.hosts)).toEqual({ 'app.pinned.example': NOW - 3 * DAY, 'ip-only.example': NOW - 2 * DAY })
    expect(Object.fromEntries(o.usage!.ips)).toEqual({ '198.51.100.7': NOW - 3 * DAY, '2001:db8::7': NOW - 2 * DAY })
    // Records reach back past the idle window, and the newest is recent: the whole window is covered.
    expect(o.usage!.covers).toEqual({ from: NOW - 30 * DAY, to: NOW })
  })

  it('a folder with five days of gateway_http covers five days; a job that stopped three days ago covers up to then', async () => {
    await put('http/a.log.gz', [http(5), bypass(4, 'app.pinned.example', '198.51.100.7'), http(3)])
    const o = await read()
    expect(o.usage!.covers).toEqual({ from: NOW - 5 * DAY, to: NOW - 3 * DAY })
  })

  it('no usage without gateway_http records, or with idle-days 0', async () => {
    await put('sessions/a.log.gz', [{ ConnectionCloseReason: 'CLIENT_CLOSED', OriginIP: '192.0.2.1', OriginPort: 443, SNI: 'x.example', SessionStartTime: new Date(NOW - DAY).toISOString() }])
    expect((await read()).usage).toBeUndefined()
    await fortyDays()
    expect((await read({ usageDays: 0 })).usage).toBeUndefined()
  })

  it('a record after the run\'s end, or hostile values, never extend the span or reach the maps as anything but keys', async () => {
    await put('http/a.log.gz', [http(40), http(-5), bypass(1, '<script>x</script>', 'not-an-ip')])
    const o = await read()
    expect(o.usage!.covers).toEqual({ from: NOW - 30 * DAY, to: NOW })
    expect([...o.usage!.hosts.keys()]).toEqual(['<script>x</script>'])
  })

  it('the planner calls an old unused entry idle, keeps a used one and a recent one (lookback all over 40 days)', async () => {
    await fortyDays()
    const observations = await read()
    const listedSince = new Map([
      ['host:old.pinned.example', { at: NOW - 60 * DAY, from: 'git' as const }],
      ['host:app.pinned.example', { at: NOW - 60 * DAY, from: 'git' as const }],
      ['ip:198.51.100.0/24', { at: NOW - 60 * DAY, from: 'gateway' as const }],
      ['host:new.pinned.example', { at: NOW - 5 * DAY, from: 'git' as const }]
    ])
    const plan = buildCollectPlan({
      observations,
      current: { ips: ['198.51.100.0/24'], hosts: ['app.pinned.example', 'new.pinned.example', 'old.pinned.example'] },
      rules: [],
      expiredRules: [],
      options: { minSessions: 2, minDevices: 1, maxNewEntries: 25, now: NOW },
      lifecycle: { idleDays: 30, rejectDays: 90, listedSince }
    })
    // old.pinned.example was last bypassed 35 days ago; the /24 holds 198.51.100.7, bypassed 3 days ago.
    expect(plan.lifecycle!.idle.removals.map((r) => r.value)).toEqual(['old.pinned.example'])
    expect(plan.next.hosts).toEqual(['app.pinned.example', 'new.pinned.example'])
  })

  it('a bypassed request teaches "Seen with": its destination IP is paired with its hostname (bypass-log rows show it)', async () => {
    const dev = (o: object, id: string): object => ({ ...o, DeviceID: id, UserID: `user-${id}` })
    await put('http/a.log.gz', [dev(bypass(0.2, 'cdn.pinned.example', '198.51.100.9'), 'd1'), dev(bypass(0.1, 'cdn.pinned.example', '198.51.100.9'), 'd2'), http(0.1, { HTTPHost: 'cdn.pinned.example', DestinationIP: '192.0.2.66' })])
    const observations = await read({ window: { from: NOW - DAY, to: NOW } })
    expect(observations.hostIps.get('cdn.pinned.example')).toEqual(new Set(['198.51.100.9']))
    const plan = buildCollectPlan({ observations, current: { ips: [], hosts: [] }, rules: [], expiredRules: [], options: { minSessions: 2, minDevices: 1, maxNewEntries: 25, now: NOW } })
    expect(plan.additions.map((c) => [c.value, c.source, c.otherSide])).toEqual([['cdn.pinned.example', 'bypass-log', ['198.51.100.9']]])
  })
})
