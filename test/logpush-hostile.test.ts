// Attacks on the Logpush reader (issues 8, 12 items 3, 7, 10) and the certificate-less device
// rule (issue 9), each through readLogpush on real gzip files in a temp dir.
import { execFileSync } from 'node:child_process'
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { ExclusionRule } from '../action/src/core/types.js'
import { beforeWindow, nameRange } from '../action/src/sources/logpush/files.js'
import { readLogpush, type LogpushOptions } from '../action/src/sources/logpush/index.js'

const NOW = Date.UTC(2026, 9, 15, 12)
const NS = (ms: number): number => ms * 1_000_000
const GOOGLE: ExclusionRule[] = [{ kind: 'host', value: 'google.com', reason: 'tenant controls', line: 1 }]
let root: string
let dir: string

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'logpush-hostile-'))
  dir = join(root, 'logs')
  await mkdir(dir)
})
afterEach(async () => { await rm(root, { recursive: true, force: true }) })

const gz = (lines: (string | object)[]): Buffer => gzipSync(lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n')
async function put(rel: string, lines: (string | object)[]): Promise<string> {
  const path = join(dir, rel)
  await mkdir(join(path, '..'), { recursive: true })
  await writeFile(path, gz(lines))
  return path
}
const read = (o: Partial<LogpushOptions> = {}): ReturnType<typeof readLogpush> =>
  readLogpush({ dir, window: { from: NOW - 86_400_000, to: NOW }, ports: [443], policy: { name: 'gateway-tls-bypass' }, exclusions: GOOGLE, ...o })
const sess = (o: Record<string, unknown> = {}): Record<string, unknown> => ({
  ConnectionCloseReason: 'CLIENT_CLOSED', DeviceID: 'dev-1', UserID: 'user-1', OriginIP: '203.0.113.10', OriginPort: 443,
  SNI: 'www.example.com', SessionStartTime: NS(NOW - 60_000), ...o
})

describe('the shared-IP guard on long-tail traffic (issue 8, issue 12 item 3)', () => {
  it('suppresses an IP on which an excluded name was seen, among fresh IPs per session and 1,500 decoy SNIs on that IP', async () => {
    const X = '142.250.1.1'
    let n = 0
    const fresh = (): string => `${11 + (n % 200)}.${(n >> 8) & 255}.${n++ & 255}.7`
    const files: Record<string, unknown>[][] = [[], [], []]
    for (let i = 0; i < 6000; i++) files[i % 3]?.push(sess({ OriginIP: fresh(), SNI: `h${i % 500}.cdn.example`, DeviceID: `dev-${i % 40}` }))
    for (let i = 0; i < 1500; i++) files[1]?.push(sess({ OriginIP: X, SNI: `decoy${i}.example` }))
    files[2]?.push(sess({ OriginIP: X, SNI: 'Accounts.Google.com' }))
    files[0]?.push(sess({ OriginIP: X, SNI: '', ConnectionCloseReason: 'CLIENT_TLS_ERROR', DeviceID: 'dev-2' }))
    for (const [i, lines] of files.entries()) await put(`f${i}.log.gz`, lines)
    for (const threads of [1, 2]) {
      const o = await read({ threads })
      expect(o.ipFailures.has(X)).toBe(true)
      expect(o.ipHosts.get(X)).toEqual(new Set(['accounts.google.com']))
      // Ordinary traffic leaves nothing behind: no per (IP, SNI) state.
      expect(o.ipHosts.size).toBe(1)
    }
  })
})

describe('a hostile record costs that record only (issue 12 item 7)', () => {
  it('a 100k-deep SNI array, then a Google sighting and a failing no-SNI session on the same IP', async () => {
    const X = '142.250.9.9'
    const deep = `{"ConnectionCloseReason":"CLIENT_TLS_ERROR","OriginIP":"${X}","OriginPort":443,"SessionStartTime":${NS(NOW - 5000)},"SNI":${'['.repeat(100_000)}${']'.repeat(100_000)}}`
    await put('a.log.gz', [deep, sess({ OriginIP: X, SNI: 'accounts.google.com' }), sess({ OriginIP: X, SNI: '', ConnectionCloseReason: 'CLIENT_TLS_ERROR' })])
    const o = await read({ threads: 1 })
    expect(o.stats.filesCorrupt).toBe(0)
    expect(o.ipHosts.get(X)?.has('accounts.google.com')).toBe(true)
    expect(o.ipFailures.get(X)?.sessions).toBe(1)
    // The hostile record itself is kept as an (invalid) host key, never as an IP.
    expect([...o.hostFailures.keys()]).toEqual(['[array of 1]'])
  })
})

describe('files: regular only, never outside the folder (issue 12 item 10)', () => {
  it('skips a *.log.gz link to a FIFO (no hang), links out of the folder, dangling links; follows links inside', async () => {
    await put('ok.log.gz', [sess({ ConnectionCloseReason: 'CLIENT_TLS_ERROR', SNI: 'pinned.example' })])
    const fifo = join(dir, 'pipe')
    execFileSync('mkfifo', [fifo])
    await symlink(fifo, join(dir, 'fifo.log.gz'))
    execFileSync('mkfifo', [join(dir, 'direct-fifo.log.gz')])
    const outside = join(root, 'secret.log.gz')
    await writeFile(outside, gz([sess({ ConnectionCloseReason: 'CLIENT_TLS_ERROR', SNI: 'outside.example' })]))
    await symlink(outside, join(dir, 'outside.log.gz'))
    await symlink(root, join(dir, 'up'))
    await symlink(join(dir, 'nowhere'), join(dir, 'dangling.log.gz'))
    await mkdir(join(dir, 'sub'))
    await symlink(join(dir, 'ok.log.gz'), join(dir, 'sub', 'again.log.gz'))
    await symlink(dir, join(dir, 'sub', 'loop'))
    const o = await read()
    expect([...o.hostFailures.keys()]).toEqual(['pinned.example'])
    // The link inside the folder reads ok.log.gz a second time, under its real name.
    expect(o.hostFailures.get('pinned.example')?.sessions).toBe(2)
    const w = o.stats.warnings.join('\n')
    expect(w).toMatch(/2 \.log\.gz entries were not read: not a regular file/)
    expect(w).toMatch(/1 \.log\.gz entry was not read: a link that leads outside the folder/)
    expect(w).toMatch(/1 \.log\.gz entry was not read: a link that leads nowhere/)
    expect(o.stats.filesRead).toBe(2)
  }, 20_000)
})

describe('lookback skips files by their Logpush name (issue 8)', () => {
  it('parses <start>_<end>_<hash>.log.gz and refuses anything else', () => {
    const cases: [string, { start: number; end: number } | null][] = [
      ['20261015T004901Z_20261015T005901Z_1747b6ef.log.gz', { start: Date.UTC(2026, 9, 15, 0, 49, 1), end: Date.UTC(2026, 9, 15, 0, 59, 1) }],
      ['20261015T005901Z_20261015T004901Z_1747b6ef.log.gz', null], // end before start
      ['20261332T000000Z_20261332T000000Z_ab.log.gz', null], // no such day
      ['20261015T250000Z_20261015T250000Z_ab.log.gz', null],
      ['20261015T004901_20261015T005901_ab.log.gz', null],
      ['a.log.gz', null],
      ['20261015T004901Z_20261015T005901Z_1747b6ef.log', null]
    ]
    for (const [name, want] of cases) expect(nameRange(name), name).toEqual(want)
    const from = Date.UTC(2026, 9, 15, 12)
    expect(beforeWindow('20261015T090000Z_20261015T105800Z_ab.log.gz', from)).toBe(true)
    expect(beforeWindow('20261015T090000Z_20261015T110100Z_ab.log.gz', from)).toBe(false) // within the slack
    expect(beforeWindow('20261015T090000Z_20261015T105800Z_ab.log.gz', null)).toBe(false)
    expect(beforeWindow('x.log.gz', from)).toBe(false)
  })

  it('never opens a file wholly before the window, counts it, and reads unparsable names as before', async () => {
    const old = new Date(NOW - 3 * 86_400_000).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')
    // Not even valid gzip: opening it would count it corrupt.
    await mkdir(join(dir, '20261012'))
    await writeFile(join(dir, '20261012', `${old}_${old}_deadbeef.log.gz`), 'not gzip')
    await put('odd-name.log.gz', [sess({ ConnectionCloseReason: 'CLIENT_TLS_ERROR', SNI: 'pinned.example' })])
    const o = await read()
    expect(o.stats).toMatchObject({ filesOutsideWindow: 1, filesCorrupt: 0, filesRead: 1 })
    expect(o.hostFailures.has('pinned.example')).toBe(true)
    const all = await read({ window: { from: null, to: NOW } })
    expect(all.stats).toMatchObject({ filesOutsideWindow: 0, filesCorrupt: 1 })
  })
})

describe('a device without the Gateway certificate is reported, not bypassed (issue 9)', () => {
  it('one certificate-less device on 120 sites, 5 healthy devices, a pinned app on 4 healthy devices', async () => {
    const lines: Record<string, unknown>[] = []
    for (let s = 0; s < 120; s++) {
      const SNI = `site${s}.example`
      const OriginIP = `198.51.100.${s + 1}`
      for (let k = 0; k < 3; k++) lines.push(sess({ SNI, OriginIP, DeviceID: 'no-cert', UserID: 'u-nocert', ConnectionCloseReason: 'CLIENT_TLS_ERROR', SessionStartTime: NS(NOW - 1000 * (s * 3 + k + 1)) }))
      for (let d = 0; d < 5; d++) lines.push(sess({ SNI, OriginIP, DeviceID: `healthy-${d}`, UserID: `u${d}` }))
    }
    for (let d = 0; d < 4; d++) {
      for (let k = 0; k < 2; k++) lines.push(sess({ SNI: 'telemetry.pinnedbank.example', OriginIP: '203.0.113.50', DeviceID: `healthy-${d}`, UserID: `u${d}`, ConnectionCloseReason: 'CLIENT_TLS_ERROR' }))
    }
    // The certificate-less device also fails on an IP without SNI, which only it failed on.
    lines.push(sess({ SNI: '', OriginIP: '192.0.2.200', DeviceID: 'no-cert', ConnectionCloseReason: 'CLIENT_TLS_ERROR' }))
    await put('a.log.gz', lines.filter((_, i) => i % 2 === 0))
    await put('b.log.gz', lines.filter((_, i) => i % 2 === 1))
    for (const threads of [1, 2]) {
      const o = await read({ threads })
      expect([...o.hostFailures.keys()]).toEqual(['telemetry.pinnedbank.example'])
      expect(o.hostFailures.get('telemetry.pinnedbank.example')).toMatchObject({ sessions: 8, devices: 4, users: 4 })
      expect(o.ipFailures.size).toBe(0)
      expect(o.certless?.devices).toEqual([{ tlsSessions: 361, failedSessions: 361, failedDestinations: 121 }])
      expect(o.certless?.devicesSeen).toBe(6)
      expect(o.certless?.sessionsExcluded).toBe(361)
      expect(o.certless?.onlyCertless.hosts.size).toBe(120)
      expect(o.certless?.onlyCertless.hosts.get('site7.example')).toMatchObject({ sessions: 3, devices: 1, users: 1 })
      expect([...(o.certless?.onlyCertless.ips.keys() ?? [])]).toEqual(['192.0.2.200'])
      expect([...o.hostIps.keys()]).toEqual(['telemetry.pinnedbank.example'])
      // No device id, user id or name leaves the source.
      expect(JSON.stringify(o, (_k, v: unknown) => (v instanceof Map || v instanceof Set ? [...v] : v))).not.toMatch(/no-cert|healthy-|u-nocert/)
    }
  })

  it('a shared destination keeps only the healthy devices\' evidence, exactly', async () => {
    const lines: Record<string, unknown>[] = []
    for (let s = 0; s < 12; s++) lines.push(sess({ SNI: `only${s}.example`, DeviceID: 'no-cert', ConnectionCloseReason: 'CLIENT_TLS_ERROR', SessionStartTime: NS(NOW - 9000) }))
    lines.push(sess({ SNI: 'shared.example', OriginIP: '203.0.113.7', DeviceID: 'no-cert', UserID: 'u-x', ConnectionCloseReason: 'CLIENT_TLS_ERROR', SessionStartTime: NS(NOW - 9000) }))
    lines.push(sess({ SNI: 'shared.example', OriginIP: '203.0.113.8', DeviceID: 'ok', UserID: 'u-y', ConnectionCloseReason: 'CLIENT_TLS_ERROR', SessionStartTime: NS(NOW - 5000) }))
    await put('a.log.gz', lines)
    const o = await read()
    expect(o.hostFailures.get('shared.example')).toEqual({ sessions: 1, devices: 1, users: 1, firstSeen: NOW - 5000, lastSeen: NOW - 5000 })
    expect(o.hostIps.get('shared.example')).toEqual(new Set(['203.0.113.8']))
    // With thresholds no device meets, everything counts as before.
    const off = await read({ certless: { minDestinations: 1000, minFailedPercent: 100 } })
    expect(off.hostFailures.get('shared.example')?.sessions).toBe(2)
    expect(off.certless?.devices).toEqual([])
  })
})
