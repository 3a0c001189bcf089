// Certificate-less devices in Log Explorer (issue 9): tallied per device in Cloudflare, left
// out of every candidate by id inside SQL, reported by anonymous counts only.
import { afterEach, describe, expect, it } from 'vitest'
import type Cloudflare from 'cloudflare'
import { createCloudflareClient } from '../action/src/adapters/cloudflare-client.js'
import { buildCollectPlan } from '../action/src/core/plan.js'
import type { Observations } from '../action/src/core/types.js'
import { queryLogExplorer, type LogExplorerOptions } from '../action/src/sources/log-explorer/index.js'
import { startCloudflareEmulator, type CloudflareEmulator } from './emulators/cloudflare.js'

type Row = Record<string, unknown>
const t = (iso: string): number => Date.parse(iso)
const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z')
const MIN = 60_000
const WINDOW = { from: t('2026-10-01T00:00:00Z'), to: t('2026-10-02T00:00:00Z') }
// Recognisable so that any leak is found by a plain substring search.
const NO_CERT = 'DEVICE-NOCERT-7f3a9c'
const HEALTHY = ['DEVICE-OK-1', 'DEVICE-OK-2', 'DEVICE-OK-3', 'DEVICE-OK-4', 'DEVICE-OK-5']
const SITES = Array.from({ length: 120 }, (_, i) => `site-${String(i).padStart(3, '0')}.example`)

let emu: CloudflareEmulator | undefined
afterEach(async () => {
  await emu?.close()
  emu = undefined
})

const session = (at: number, sni: string, ip: string, device: string, failing: boolean): Row => ({
  SessionStartTime: iso(at), SNI: sni, OriginIP: ip, OriginPort: 443,
  ConnectionCloseReason: failing ? 'CLIENT_TLS_ERROR' : 'CLIENT_CLOSED', DeviceID: device, UserID: `user-of-${device}`, Email: `${device}@corp.example`
})

/**
 * One device without the certificate failing on 120 ordinary sites (3 sessions each) that 5
 * other devices reach fine; a pinned app failing on 4 healthy devices (and on the device
 * without the certificate too); one no-SNI failure only on that device.
 */
function fleet(): Row[] {
  const rows: Row[] = []
  let at = WINDOW.from
  const next = (): number => (at += 7_000)
  SITES.forEach((site, i) => {
    const ip = `198.51.100.${i + 1}`
    for (let s = 0; s < 3; s++) rows.push(session(next(), site, ip, NO_CERT, true))
    for (const d of HEALTHY) rows.push(session(next(), site, ip, d, false))
  })
  for (const d of HEALTHY.slice(0, 4)) for (let s = 0; s < 2; s++) rows.push(session(next(), 'pinned.example', '203.0.113.10', d, true))
  rows.push(session(next(), 'pinned.example', '203.0.113.10', NO_CERT, true))
  rows.push(session(next(), '', '203.0.113.99', NO_CERT, true))
  return rows
}

async function query(rows: Row[], extra: Partial<LogExplorerOptions> = {}): Promise<{ obs: Observations; lines: string[]; e: CloudflareEmulator }> {
  const e = (emu = await startCloudflareEmulator())
  await e.setLogRows('zero_trust_network_sessions', rows)
  const client: Cloudflare = createCloudflareClient({ apiToken: e.token, baseURL: e.url, maxRetries: 0 })
  const lines: string[] = []
  const obs = await queryLogExplorer({ client, accountId: e.accountId, window: WINDOW, ports: [443], policy: { name: 'DNI' }, log: (m) => lines.push(m), ...extra })
  return { obs, lines, e }
}

/** Everything the source hands on, as text: map keys and values included. */
function dump(obs: Observations): string {
  return JSON.stringify(obs, (_k, v: unknown) => (v instanceof Map ? [...v.entries()] : v instanceof Set ? [...v] : v))
}

describe('Log Explorer: certificate-less devices', () => {
  it('at the default thresholds only the pinned app is a candidate; the device is reported by counts only', async () => {
    const { obs, e } = await query(fleet())
    expect([...obs.hostFailures.keys()]).toEqual(['pinned.example'])
    // The device without the certificate counts toward no candidate: 4 devices, 8 sessions.
    expect(obs.hostFailures.get('pinned.example')).toMatchObject({ sessions: 8, devices: 4, users: 4 })
    expect(obs.ipFailures.size).toBe(0)
    expect(obs.hostIps).toEqual(new Map([['pinned.example', new Set(['203.0.113.10'])]]))
    expect(obs.certless).toBeDefined()
    const c = obs.certless!
    expect(c.devices).toEqual([{ tlsSessions: 362, failedSessions: 362, failedDestinations: 122 }])
    expect(c.devicesSeen).toBe(6)
    expect(c.sessionsExcluded).toBe(362)
    expect([...c.onlyCertless.hosts.keys()]).toEqual(SITES)
    expect(c.onlyCertless.hosts.get('site-000.example')).toMatchObject({ sessions: 3, devices: 1, users: 1 })
    expect([...c.onlyCertless.ips.keys()]).toEqual(['203.0.113.99'])

    const plan = buildCollectPlan({ observations: obs, current: { ips: [], hosts: [] }, rules: [], expiredRules: [], options: { minSessions: 2, minDevices: 1, maxNewEntries: 25, now: WINDOW.to } })
    expect(plan.additions.map((a) => a.value)).toEqual(['pinned.example'])
    expect(plan.heldBack).toEqual([])

    // The ids travelled inside SQL (through the string escaping), and nowhere else.
    expect(e.sqlQueries.some((q) => q.sql.includes(`deviceid NOT IN ('${NO_CERT}')`))).toBe(true)
    expect(e.sqlQueries.some((q) => q.sql.includes(`deviceid IN ('${NO_CERT}')`))).toBe(true)
    expect(e.sqlQueries.filter((q) => /^SELECT deviceid AS device/.test(q.sql))).toHaveLength(1)
  })

  it('the same, exact past the row cap: devices and candidates read in pages of 3', async () => {
    const { obs } = await query(fleet(), { rowCap: 3 })
    expect([...obs.hostFailures.keys()]).toEqual(['pinned.example'])
    expect(obs.certless?.devicesSeen).toBe(6)
    expect(obs.certless?.onlyCertless.hosts.size).toBe(120)
  })

  it('no device id, user or email appears in any log line, warning, error or returned value', async () => {
    const ids = [NO_CERT, ...HEALTHY]
    const secretsOf = (text: string): string[] => ids.filter((id) => text.includes(id) || text.includes(`user-of-${id}`))
    const { obs, lines } = await query(fleet())
    expect(lines.length).toBeGreaterThan(5)
    expect(lines.some((l) => /6 device\(s\) tallied; 1 look\(s\) like it lacks the Gateway certificate \(362 failing session\(s\)/.test(l))).toBe(true)
    expect(secretsOf(lines.join('\n'))).toEqual([])
    expect(secretsOf(dump(obs))).toEqual([])
    expect(dump(obs)).not.toMatch(/@corp\.example/)

    // An error that quotes the refused SQL (as generic engines do) still names no device.
    await emu?.close()
    const e = (emu = await startCloudflareEmulator())
    await e.setLogRows('zero_trust_network_sessions', fleet())
    const client = createCloudflareClient({ apiToken: e.token, baseURL: e.url, maxRetries: 0 })
    const quoting: string[] = []
    const original = e.inject.bind(e)
    // The second SQL call (host failures, carrying the ids) fails with a message echoing a fragment of it.
    original({ path: /logs\/explorer\/query\/sql$/, status: 200, body: JSON.stringify({ result: [{ device: NO_CERT, tls: 10, failed: 10, destinations: 10 }], success: true, errors: [], messages: [] }) })
    original({ path: /logs\/explorer\/query\/sql$/, status: 400, body: JSON.stringify({ result: null, success: false, errors: [{ code: 1000, message: `query failed near deviceid NOT IN ('${NO_CERT}')` }], messages: [] }) })
    const err = await queryLogExplorer({ client, accountId: e.accountId, window: WINDOW, ports: [443], policy: { name: 'DNI' }, log: (m) => quoting.push(m) }).catch((x: unknown) => x)
    expect(err).toBeInstanceOf(Error)
    expect((err as Error).message).toMatch(/query failed near deviceid NOT IN \('<device>'\)/)
    expect(secretsOf(`${(err as Error).message}\n${String((err as Error).cause ?? '')}\n${quoting.join('\n')}`)).toEqual([])
  })

  it('a busy developer machine with a few pinned tools and mostly working TLS is not certificate-less', async () => {
    const rows = fleet()
    let at = WINDOW.from + 20 * MIN
    // 12 pinned destinations failing (breadth reached), but 100 working sessions (10% failing).
    for (let i = 0; i < 12; i++) rows.push(session((at += 1000), `tool-${i}.dev.example`, '192.0.2.50', 'DEVICE-DEV', true))
    for (let i = 0; i < 100; i++) rows.push(session((at += 1000), 'github.com', '192.0.2.51', 'DEVICE-DEV', false))
    const { obs } = await query(rows)
    expect(obs.hostFailures.get('tool-0.dev.example')).toMatchObject({ sessions: 1, devices: 1 })
    expect(obs.certless?.devices).toHaveLength(1)
    expect(obs.certless?.devicesSeen).toBe(7)
  })

  it('thresholds are inputs: raised above the fleet, nothing is left out', async () => {
    const { obs, e } = await query(fleet(), { certless: { minDestinations: 500, minFailedPercent: 50 } })
    expect(obs.hostFailures.size).toBe(121)
    expect(obs.hostFailures.get('pinned.example')).toMatchObject({ sessions: 9, devices: 5 })
    expect(obs.certless).toMatchObject({ devices: [], sessionsExcluded: 0, devicesSeen: 6 })
    expect(e.sqlQueries.some((q) => q.sql.includes('deviceid NOT IN'))).toBe(false)
  })
})
