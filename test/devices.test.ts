import { spawnSync } from 'node:child_process'
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { afterAll, describe, expect, it } from 'vitest'
import { DEFAULT_CERTLESS, cleanTally, compareTallies, findCertlessShell, findCertlessSql, isCertless, safeRule, type DeviceTally } from '../action/src/core/devices.js'
import { LogExplorer } from './emulators/cloudflare-logexplorer.js'

const tally = (failedDestinations: number, failedSessions: number, tlsSessions: number): DeviceTally => ({ failedDestinations, failedSessions, tlsSessions })

describe('isCertless at the defaults (10 destinations, 50% failing)', () => {
  it('has the defaults of the inputs', () => {
    expect(DEFAULT_CERTLESS).toEqual({ minDestinations: 10, minFailedPercent: 50 })
  })

  it.each<[string, DeviceTally, boolean]>([
    // The device: 120 ordinary sites, three sessions each, every one failing.
    ['no certificate: 120 of 120 destinations, every session failing', tally(120, 360, 360), true],
    ['no certificate, some traffic still succeeds (bypassed or not TLS): 40 destinations, 70%', tally(40, 140, 200), true],
    // Real pinned apps: a few destinations among many successful sessions.
    ['a pinned app: 1 destination among 300 healthy sessions', tally(1, 3, 300), false],
    ['a pinned app with 5 endpoints, retried often', tally(5, 60, 400), false],
    ['a device that only ever opens one pinned app: 100% failing but 1 destination', tally(1, 50, 50), false],
    ['9 destinations, all failing (just under the breadth)', tally(9, 27, 27), false],
    // A busy developer machine with several pinned tools: broad, but most sessions succeed.
    ['a developer with 12 pinned tools, 10% of sessions failing', tally(12, 100, 1000), false],
    ['12 destinations, 49% failing', tally(12, 49, 100), false],
    // Boundaries: both thresholds are inclusive.
    ['exactly 10 destinations and exactly 50%', tally(10, 50, 100), true],
    ['exactly 10 destinations, 50% of 3 sessions is 1.5: 2 of 3 passes', tally(10, 2, 3), true],
    ['exactly 10 destinations, 1 of 3 sessions', tally(10, 1, 3), false],
    ['exactly 10 destinations, 49.9%', tally(10, 499, 1000), false],
    // Degenerate tallies.
    ['zero sessions', tally(0, 0, 0), false],
    ['destinations but no sessions at all (inconsistent source)', tally(10, 0, 0), false],
    // A source may count failures without the matching TLS sessions: failures are then the floor.
    ['TLS sessions under-counted (0 of them, 30 failures)', tally(15, 30, 0), true],
    ['TLS sessions under-counted (10 of them, 30 failures)', tally(15, 30, 10), true],
    ['NaN counts never classify', tally(Number.NaN, Number.NaN, Number.NaN), false]
  ])('%s → %s', (_name, t, expected) => {
    expect(isCertless(t, DEFAULT_CERTLESS)).toBe(expected)
  })

  it('follows the thresholds it is given', () => {
    expect(isCertless(tally(5, 5, 5), { minDestinations: 5, minFailedPercent: 100 })).toBe(true)
    expect(isCertless(tally(5, 4, 5), { minDestinations: 5, minFailedPercent: 100 })).toBe(false)
    expect(isCertless(tally(120, 2, 100), { minDestinations: 10, minFailedPercent: 1 })).toBe(true)
    expect(isCertless(tally(120, 360, 360), { minDestinations: 121, minFailedPercent: 1 })).toBe(false)
  })
})

describe('tallies', () => {
  it('rank strongest first: destinations, then failing sessions, then sessions', () => {
    const ts = [tally(10, 30, 30), tally(120, 360, 360), tally(10, 40, 40), tally(10, 40, 80)]
    expect([...ts].sort(compareTallies)).toEqual([tally(120, 360, 360), tally(10, 40, 80), tally(10, 40, 40), tally(10, 30, 30)])
  })

  it.each<[unknown, DeviceTally]>([
    [undefined, tally(0, 0, 0)],
    [{ failedDestinations: -1, failedSessions: 2.7, tlsSessions: Infinity }, tally(0, 2, 0)],
    [{ failedDestinations: '12', failedSessions: null, tlsSessions: 3 }, tally(0, 0, 3)]
  ])('cleanTally(%j)', (raw, expected) => {
    expect(cleanTally(raw as Partial<DeviceTally>)).toEqual(expected)
  })
})

describe('safeRule: numbers pasted into an admin query', () => {
  it.each<[string, unknown, unknown, ReturnType<typeof safeRule>]>([
    ['valid values are kept, ports sorted and unique', { minDestinations: 12, minFailedPercent: 80 }, [8443, 443, 443], { thresholds: { minDestinations: 12, minFailedPercent: 80 }, ports: [443, 8443] }],
    ['absent → defaults and 443', undefined, undefined, { thresholds: DEFAULT_CERTLESS, ports: [443] }],
    ['SQL in a threshold → default', { minDestinations: '1; DROP TABLE x', minFailedPercent: 50.5 }, [443], { thresholds: DEFAULT_CERTLESS, ports: [443] }],
    ['out of range → default; bad ports dropped', { minDestinations: 0, minFailedPercent: 101 }, [0, 70000, 1.5, '443) OR (1=1', 993], { thresholds: DEFAULT_CERTLESS, ports: [993] }]
  ])('%s', (_name, th, ports, expected) => {
    expect(safeRule(th as never, ports as never)).toEqual(expected)
  })
})

// A fleet in the emulator's DuckDB (behind the same guard that refuses what Log Explorer refuses).
const HOUR = 3_600_000
const TO = Date.UTC(2026, 10, 15, 12, 0)
const WINDOW = { from: TO - 24 * HOUR, to: TO }

function session(device: string, sni: string, ip: string, reason: string, t: number, port = 443): Record<string, unknown> {
  return { DeviceID: device, DeviceName: `name-${device}`, Email: `${device}@corp.example`, SNI: sni, OriginIP: ip, OriginPort: port, ConnectionCloseReason: reason, SessionStartTime: new Date(t).toISOString() }
}

function fleet(): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = []
  const t = TO - 2 * HOUR
  // No certificate: 12 sites (one without SNI) fail, 3 sessions each; the old spelling on some.
  for (let i = 0; i < 12; i++) {
    for (let k = 0; k < 3; k++) rows.push(session('certless-1', i === 11 ? '' : `site${i}.example`, `192.0.2.${i}`, k === 0 ? 'clientTlsError' : 'CLIENT_TLS_ERROR', t))
  }
  // Healthy devices reach the same sites; one pinned app fails on them.
  for (const d of ['ok-1', 'ok-2', 'ok-3']) {
    for (let i = 0; i < 12; i++) rows.push(session(d, `site${i}.example`, `192.0.2.${i}`, 'CLIENT_CLOSED', t))
    rows.push(session(d, 'api.pinned.example', '203.0.113.1', 'CLIENT_TLS_ERROR', t))
  }
  // A developer with 11 pinned tools among many healthy sessions: broad but mostly fine.
  for (let i = 0; i < 11; i++) rows.push(session('dev-1', `tool${i}.example`, '203.0.113.9', 'CLIENT_TLS_ERROR', t))
  for (let i = 0; i < 40; i++) rows.push(session('dev-1', `site${i % 12}.example`, '192.0.2.1', 'CLIENT_CLOSED', t))
  // Outside the window, and on another port: ignored.
  for (let i = 0; i < 12; i++) rows.push(session('old-1', `site${i}.example`, '192.0.2.1', 'CLIENT_TLS_ERROR', TO - 30 * HOUR))
  for (let i = 0; i < 12; i++) rows.push(session('imap-1', `mail${i}.example`, '192.0.2.1', 'CLIENT_TLS_ERROR', t, 993))
  return rows
}

describe('findCertlessSql: the query an admin pastes into Log Explorer', () => {
  const le = new LogExplorer(['zero_trust_network_sessions'])
  afterAll(() => le.close())

  it('runs past the Log Explorer guard and finds exactly the certificate-less device', async () => {
    await le.setRows('zero_trust_network_sessions', fleet())
    const r = await le.query(findCertlessSql(WINDOW, DEFAULT_CERTLESS, [443]), 'POST')
    if (!r.ok) throw new Error(r.message)
    expect(r.rows).toEqual([
      { deviceid: 'certless-1', device_name: 'name-certless-1', email: 'certless-1@corp.example', failed_destinations: 12, failed_sessions: 36, tls_sessions: 36 }
    ])
  })

  it('follows the thresholds and ports: a looser rule also finds the developer; port 993 finds the mail device', async () => {
    const loose = await le.query(findCertlessSql(WINDOW, { minDestinations: 11, minFailedPercent: 20 }, [443]), 'POST')
    if (!loose.ok) throw new Error(loose.message)
    expect(loose.rows.map((r) => r.deviceid)).toEqual(['certless-1', 'dev-1'])
    const imap = await le.query(findCertlessSql(WINDOW, DEFAULT_CERTLESS, [993]), 'POST')
    if (!imap.ok) throw new Error(imap.message)
    expect(imap.rows.map((r) => r.deviceid)).toEqual(['imap-1'])
  })

  it('prints only numbers it validated, and no value of any log', () => {
    const sql = findCertlessSql({ from: null, to: Number.NaN }, { minDestinations: '3 OR 1=1' as never, minFailedPercent: 50 }, ['443); --' as never])
    expect(sql).toContain('originport IN (443)')
    expect(sql).toContain('>= 10')
    expect(sql).not.toMatch(/OR 1=1|--/)
  })
})

describe('findCertlessShell: the same search over Logpush files', () => {
  const hasJq = spawnSync('jq', ['--version']).status === 0
  it.skipIf(!hasJq)('streams every .log.gz (bad lines and a truncated file included) and ranks the certificate-less device', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'certless-sh-'))
    try {
      const lines = fleet().map((r) => JSON.stringify(r))
      lines.splice(5, 0, '{"not json')
      await mkdir(join(dir, 'zero_trust_network_sessions', '20261115'), { recursive: true })
      await writeFile(join(dir, 'zero_trust_network_sessions', '20261115', 'a.log.gz'), gzipSync(lines.join('\n')))
      // Truncated uploads of healthy traffic next to it (before it, in whatever order find
      // lists them): each must not stop the files after it from being read.
      const healthy = Array.from({ length: 3000 }, (_, i) => JSON.stringify(session('ok-9', `x${i}.example`, '192.0.2.9', 'CLIENT_CLOSED', TO))).join('\n')
      const cut = gzipSync(healthy)
      for (const name of ['0.log.gz', 'b.log.gz', join('zero_trust_network_sessions', '0.log.gz')]) {
        await writeFile(join(dir, name), cut.subarray(0, Math.floor(cut.length / 2)))
      }
      const script = findCertlessShell(DEFAULT_CERTLESS, [443]).replace('LOGPUSH_DIR', `'${dir}'`)
      const r = spawnSync('sh', ['-c', script], { encoding: 'utf8' })
      const found = r.stdout.trim().split('\n').map((l) => l.split(' '))
      // The same rule as the sources; no time filter, so the device outside the window shows too.
      expect(found).toEqual([['12', '36', '36', 'certless-1'], ['12', '12', '12', 'old-1']])
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
