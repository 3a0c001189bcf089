// The Logpush source's semantics, one rule at a time, on tiny gzip files made in a temp dir.
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { defaultThreads, progressReporter, readLogpush, type LogpushOptions } from '../action/src/sources/logpush/index.js'
import { addUser, type Users } from '../action/src/sources/logpush/aggregate.js'
import { MAX_LINE } from '../action/src/sources/logpush/scan.js'
import type { ExclusionRule } from '../action/src/core/types.js'
import { epochToMs, parseTime } from '../action/src/sources/logpush/time.js'
import { writeSample } from '../scripts/make-sample.js'

const NOW = Date.UTC(2026, 9, 15, 12)
const NS = (ms: number): number => ms * 1_000_000
let dir: string

beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'logpush-')) })
afterEach(async () => { await rm(dir, { recursive: true, force: true }) })

async function put(rel: string, lines: (string | object)[], opts: { cut?: number } = {}): Promise<void> {
  const path = join(dir, rel)
  await mkdir(join(path, '..'), { recursive: true })
  let gz = gzipSync(lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n')
  if (opts.cut !== undefined) gz = gz.subarray(0, Math.floor(gz.length * opts.cut))
  await writeFile(path, gz)
}

const GOOGLE: ExclusionRule[] = [{ kind: 'host', value: 'google.com', reason: 'tenant controls', line: 1 }]

const read = (o: Partial<LogpushOptions> = {}): ReturnType<typeof readLogpush> =>
  readLogpush({ dir, window: { from: NOW - 86_400_000, to: NOW }, ports: [443], policy: { name: 'gateway-tls-bypass' }, exclusions: GOOGLE, ...o })

const sess = (o: Record<string, unknown> = {}): Record<string, unknown> => ({
  ConnectionCloseReason: 'CLIENT_TLS_ERROR', DeviceID: 'dev-1', UserID: 'user-1', Email: 'user1@corp.example',
  OriginIP: '203.0.113.10', OriginPort: 443, SNI: 'api.pinnedbank.example', SessionStartTime: NS(NOW - 60_000), ...o
})

describe('files', () => {
  it('reads *.log.gz recursively, counts the others as skipped', async () => {
    await put('zero_trust_network_sessions/20261015/a.log.gz', [sess()])
    await put('deep/er/b.log.gz', [sess({ DeviceID: 'dev-2' })])
    await writeFile(join(dir, 'ownership-challenge.txt'), 'jwt')
    await writeFile(join(dir, 'notes.log'), 'x')
    const o = await read()
    expect(o.stats).toMatchObject({ source: 'logpush', filesRead: 2, filesSkipped: 2, filesCorrupt: 0, records: { zero_trust_network_sessions: 2 } })
    expect(o.hostFailures.get('api.pinnedbank.example')?.devices).toBe(2)
  })

  it('keeps the records before a truncation or corruption and counts the file', async () => {
    const many = Array.from({ length: 3000 }, (_, i) => sess({ DeviceID: `dev-${i}`, SessionID: `s${i}-${'x'.repeat(50)}` }))
    await put('a.log.gz', many, { cut: 0.5 })
    await writeFile(join(dir, 'b.log.gz'), Buffer.from('not gzip at all'))
    const o = await read()
    expect(o.stats.filesCorrupt).toBe(2)
    expect(o.stats.filesRead).toBe(2)
    const kept = o.hostFailures.get('api.pinnedbank.example')?.sessions ?? 0
    expect(kept).toBeGreaterThan(100)
    expect(kept).toBeLessThan(3000)
    expect(o.stats.warnings.join('\n')).toMatch(/2 files were truncated or corrupt/)
  })

  it('throws a clear error naming a missing or unreadable directory', async () => {
    await expect(read({ dir: join(dir, 'nope') })).rejects.toThrow(join(dir, 'nope'))
    await writeFile(join(dir, 'file'), '')
    await expect(read({ dir: join(dir, 'file') })).rejects.toThrow(/not a directory/)
    if (process.getuid?.() !== 0) {
      await mkdir(join(dir, 'locked'))
      await chmod(join(dir, 'locked'), 0)
      await expect(read({ dir: join(dir, 'locked') })).rejects.toThrow(join(dir, 'locked'))
      await chmod(join(dir, 'locked'), 0o700)
    }
  })

  it('warns when there are no files or no network-session records', async () => {
    const o = await read()
    expect(o.stats.warnings.join('\n')).toMatch(/no \.log\.gz files/)
    expect(o.stats.warnings.join('\n')).toMatch(/no network-session records found/)
  })
})

describe('records', () => {
  it('recognises datasets by their fields and counts malformed lines', async () => {
    const t = new Date(NOW - 1000).toISOString()
    await put('a.log.gz', [
      sess({ ConnectionCloseReason: 'CLIENT_CLOSED' }),
      { HTTPHost: 'github.com', Action: 'allow', Datetime: t },
      { SNI: 'github.com', DestinationIP: '192.0.2.20', Datetime: t },
      'not json', '[1,2]', 'null', '{"foo":1}', '{"SNI":"x.example"}', '', '   ',
      { SNI: 'x', DestinationIP: '1.2.3.4', HTTPHost: 'x', Datetime: t } // HTTPHost without Action: neither
    ])
    const o = await read()
    expect(o.stats.records).toEqual({ zero_trust_network_sessions: 1, gateway_http: 1, gateway_network: 1 })
    expect(o.stats.malformedLines).toBe(6)
    expect(o.stats.inWindow).toBe(3)
  })

  it('skips lines over 1 MiB without losing the next line', async () => {
    const huge = JSON.stringify(sess({ SNI: 'huge.example', Pad: 'x'.repeat(MAX_LINE + 5) }))
    const fits = JSON.stringify(sess({ SNI: 'fits.example', Pad: 'x'.repeat(MAX_LINE - 300) }))
    await put('a.log.gz', [huge, sess({ SNI: 'after.example' }), fits])
    const o = await read()
    expect(o.stats.malformedLines).toBe(1)
    expect([...o.hostFailures.keys()].sort()).toEqual(['after.example', 'fits.example'])
  })

  it('parses every timestamp form and filters by the window', async () => {
    const base = NOW - 3_600_000
    await put('a.log.gz', [
      sess({ SNI: 'ns.example', SessionStartTime: NS(base) }),
      sess({ SNI: 'ns-string.example', SessionStartTime: String(NS(base)) }),
      sess({ SNI: 'ms.example', SessionStartTime: base }),
      sess({ SNI: 's.example', SessionStartTime: base / 1000 }),
      sess({ SNI: 's-string.example', SessionStartTime: String(base / 1000) }),
      sess({ SNI: 'rfc.example', SessionStartTime: new Date(base).toISOString().replace('.000', '') }),
      sess({ SNI: 'rfcns.example', SessionStartTime: new Date(base).toISOString().replace('.000Z', '.000123456Z') }),
      sess({ SNI: 'offset.example', SessionStartTime: '2026-10-15T12:00:00+01:00' }),
      sess({ SNI: 'end.example', SessionStartTime: undefined, SessionEndTime: NS(base) }),
      sess({ SNI: 'old.example', SessionStartTime: NS(NOW - 2 * 86_400_000) }),
      sess({ SNI: 'future.example', SessionStartTime: NS(NOW + 60_000) }),
      sess({ SNI: 'bad.example', SessionStartTime: 'yesterday' }),
      sess({ SNI: 'none.example', SessionStartTime: null })
    ])
    // One device failing everywhere would look certificate-less; this test is about time.
    const certless = { minDestinations: 1000, minFailedPercent: 100 }
    const o = await read({ certless })
    expect(o.stats.malformedLines).toBe(2)
    expect(o.stats.records.zero_trust_network_sessions).toBe(11)
    expect(o.stats.inWindow).toBe(9)
    expect(o.hostFailures.get('offset.example')?.firstSeen).toBe(NOW - 3_600_000)
    for (const k of ['ns', 'ns-string', 'ms', 's', 's-string', 'rfc', 'rfcns', 'end']) expect(o.hostFailures.get(`${k}.example`)?.firstSeen).toBe(base)
    const all = await read({ window: { from: null, to: NOW + 86_400_000 }, certless })
    expect(all.hostFailures.has('old.example')).toBe(true)
    expect(all.hostFailures.has('future.example')).toBe(true)
  })

  it('parseTime: units by magnitude, fractions of any precision, offsets, garbage', () => {
    expect(parseTime(1_700_000_000)).toBe(1_700_000_000_000)
    expect(parseTime(1_700_000_000_123)).toBe(1_700_000_000_123)
    expect(parseTime(1_700_000_000_123_456)).toBe(1_700_000_000_123)
    expect(parseTime('1700000000123456789')).toBe(1_700_000_000_123)
    expect(parseTime(' 1700000000 ')).toBe(1_700_000_000_000)
    expect(parseTime('2023-05-03T20:55:05Z')).toBe(Date.UTC(2023, 4, 3, 20, 55, 5))
    expect(parseTime('2023-05-03T20:55:05.1Z')).toBe(Date.UTC(2023, 4, 3, 20, 55, 5, 100))
    expect(parseTime('2023-05-03T20:55:05.123456789Z')).toBe(Date.UTC(2023, 4, 3, 20, 55, 5, 123))
    expect(parseTime('2023-05-03T22:55:05.5+02:00')).toBe(Date.UTC(2023, 4, 3, 20, 55, 5, 500))
    expect(parseTime('2023-05-03t20:55:05-00:30')).toBe(Date.UTC(2023, 4, 3, 21, 25, 5))
    for (const bad of ['', 'now', '2023-02-30T00:00:00Z', '2023-05-03T24:00:00Z', '2023-05-03T20:55:05', '1e9', '-5', 0, -1, NaN, Infinity, null, true, {}, 1e21]) {
      expect(parseTime(bad)).toBeNull()
    }
    expect(epochToMs(1e19)).toBe(1e13)
  })
})

describe('failing sessions', () => {
  it('matches the close reason in any case and underscore spelling, on the given ports', async () => {
    await put('a.log.gz', [
      sess({ SNI: 'a.example', ConnectionCloseReason: 'clientTlsError' }),
      sess({ SNI: 'b.example', ConnectionCloseReason: 'client_tls_error' }),
      sess({ SNI: 'c.example', ConnectionCloseReason: 'ORIGIN_TLS_ERROR' }),
      sess({ SNI: 'd.example', OriginPort: '443' }),
      sess({ SNI: 'e.example', OriginPort: 8443 }),
      sess({ SNI: 'f.example', OriginPort: '8443' }),
      sess({ SNI: 'g.example', OriginPort: 'https' })
    ])
    expect([...(await read()).hostFailures.keys()].sort()).toEqual(['a.example', 'b.example', 'd.example'])
    expect([...(await read({ ports: [443, 8443] })).hostFailures.keys()].sort()).toEqual(['a.example', 'b.example', 'd.example', 'e.example', 'f.example'])
  })

  it('keys by SNI (lower-cased, trimmed) with its IPs; no SNI means the IP; garbage SNI never means the IP', async () => {
    await put('a.log.gz', [
      sess({ SNI: ' API.PinnedBank.Example ', OriginIP: '203.0.113.10' }),
      sess({ SNI: 'api.pinnedbank.example', OriginIP: '2001:DB8::10', DeviceID: 'dev-2', UserID: '', Email: 'u2@corp.example' }),
      sess({ SNI: '', OriginIP: '192.0.2.45' }),
      sess({ SNI: undefined, OriginIP: '192.0.2.45', DeviceID: 'dev-3' }),
      sess({ SNI: null, OriginIP: '192.0.2.45', DeviceID: 'dev-3' }),
      sess({ SNI: '   ', OriginIP: '192.0.2.99' }),
      sess({ SNI: 123, OriginIP: '192.0.2.98' }),
      sess({ SNI: 'evil.example<script>', OriginIP: '192.0.2.97' })
    ])
    const o = await read()
    expect([...o.ipFailures.keys()]).toEqual(['192.0.2.45'])
    expect(o.ipFailures.get('192.0.2.45')).toMatchObject({ sessions: 3, devices: 2, users: 1 })
    expect(o.hostFailures.get('api.pinnedbank.example')).toMatchObject({ sessions: 2, devices: 2, users: 2 })
    expect([...(o.hostIps.get('api.pinnedbank.example') ?? [])].sort()).toEqual(['2001:db8::10', '203.0.113.10'])
    expect(o.hostFailures.has('evil.example<script>')).toBe(true)
    expect(o.hostFailures.has('')).toBe(true) // the whitespace SNI: the planner rejects it
    expect(o.hostFailures.has('123')).toBe(true)
  })

  it('counts distinct devices and users (UserID, else Email) and first/last seen', async () => {
    await put('a.log.gz', [
      sess({ DeviceID: 'a', UserID: 'u1', SessionStartTime: NS(NOW - 5000) }),
      sess({ DeviceID: 'a', UserID: '', Email: 'x@corp.example', SessionStartTime: NS(NOW - 9000) }),
      sess({ DeviceID: 'b', UserID: 'u1', SessionStartTime: NS(NOW - 1000) }),
      sess({ DeviceID: '', UserID: '', Email: '', SessionStartTime: NS(NOW - 3000) })
    ])
    const s = (await read()).hostFailures.get('api.pinnedbank.example')
    expect(s).toEqual({ sessions: 4, devices: 2, users: 2, firstSeen: NOW - 9000, lastSeen: NOW - 1000 })
    expect(JSON.stringify([...(await read()).hostFailures])).not.toMatch(/u1|dev-|corp\.example/)
  })
})

describe('shared-IP guard and bypass records', () => {
  it('records the excluded names seen on an IP, from every session and from gateway_network, and the failing SNIs', async () => {
    const t = new Date(NOW - 1000).toISOString()
    await put('s.log.gz', [
      sess({ SNI: '', OriginIP: '198.51.100.77' }),
      sess({ SNI: 'accounts.google.com', OriginIP: '198.51.100.77', ConnectionCloseReason: 'CLIENT_CLOSED' }),
      sess({ SNI: 'Accounts.Google.com', OriginIP: '198.51.100.77', ConnectionCloseReason: 'CLIENT_CLOSED' }),
      sess({ SNI: 'ordinary.example', OriginIP: '198.51.100.77', ConnectionCloseReason: 'CLIENT_CLOSED' }),
      sess({ SNI: 'pinned.example', OriginIP: '198.51.100.77' })
    ])
    await put('n.log.gz', [{ SNI: 'mail.google.com', DestinationIP: '198.51.100.77', Datetime: t }, { SNI: '', DestinationIP: '198.51.100.78', Datetime: t }])
    const o = await read()
    expect([...(o.ipHosts.get('198.51.100.77') ?? [])].sort()).toEqual(['accounts.google.com', 'mail.google.com', 'pinned.example'])
    expect(o.ipHosts.has('198.51.100.78')).toBe(false)
    expect(o.ipFailures.has('198.51.100.77')).toBe(true)
    // Without exclusion rules, ordinary traffic leaves nothing behind.
    expect([...((await read({ exclusions: [] })).ipHosts.get('198.51.100.77') ?? [])]).toEqual(['pinned.example'])
  })

  it('keeps an excluded name on an IP whatever else was seen there (1,500 decoy SNIs first)', async () => {
    const decoys = Array.from({ length: 1500 }, (_, i) => sess({ SNI: `decoy${i}.example`, OriginIP: '142.250.1.1', ConnectionCloseReason: 'CLIENT_CLOSED' }))
    await put('a.log.gz', [...decoys, sess({ SNI: 'accounts.google.com', OriginIP: '142.250.1.1', ConnectionCloseReason: 'CLIENT_CLOSED' }), sess({ SNI: '', OriginIP: '142.250.1.1' })])
    for (const threads of [1, 2]) {
      const o = await read({ threads })
      expect(o.ipHosts.get('142.250.1.1')).toEqual(new Set(['accounts.google.com']))
      expect(o.ipFailures.has('142.250.1.1')).toBe(true)
    }
  })

  it('counts gateway_http bypass records of the managed policy only', async () => {
    const t = new Date(NOW - 1000).toISOString()
    const http = (o: Record<string, unknown>): Record<string, unknown> => ({ Action: 'bypass', Datetime: t, HTTPHost: 'cdn.pinnedbank.example', PolicyName: 'gateway-tls-bypass', PolicyID: 'P-1', DeviceID: 'd', ...o })
    await put('h.log.gz', [
      http({}), http({ Action: 'BYPASS', DeviceID: 'e' }), http({ Action: 'allow', HTTPHost: 'allowed.example' }),
      http({ PolicyName: 'other', PolicyID: 'X', HTTPHost: 'other.example' }), http({ PolicyName: 'other', HTTPHost: 'byid.example' })
    ])
    expect([...(await read()).bypassedHosts.keys()].sort()).toEqual(['cdn.pinnedbank.example'])
    expect((await read()).bypassedHosts.get('cdn.pinnedbank.example')).toMatchObject({ sessions: 2, devices: 2 })
    expect([...(await read({ policy: { id: 'p-1' } })).bypassedHosts.keys()].sort()).toEqual(['byid.example', 'cdn.pinnedbank.example'])
    expect((await read({ policy: {} })).bypassedHosts.size).toBe(0)
  })
})

describe('progress', () => {
  it('reports progress and is silent on a non-TTY stream', async () => {
    await put('a.log.gz', [sess()])
    await put('b.log.gz', [sess()])
    const seen: number[] = []
    await read({ onProgress: (p) => { seen.push(p.filesDone); expect(p.filesTotal).toBe(2) } })
    expect(seen.at(-1)).toBe(2)
    let out = ''
    const fake = { isTTY: false, write: (s: string) => { out += s; return true } } as unknown as NodeJS.WriteStream
    progressReporter(fake)({ filesDone: 1, filesTotal: 2, bytesRead: 10, records: 1 })
    expect(out).toBe('')
  })

  it('updates one line on a TTY, at most 5 times a second, and ends it', () => {
    let out = ''
    const fake = { isTTY: true, write: (s: string) => { out += s; return true } } as unknown as NodeJS.WriteStream
    const r = progressReporter(fake)
    for (let i = 0; i < 100; i++) r({ filesDone: 0, filesTotal: 2, bytesRead: i, records: i })
    r({ filesDone: 2, filesTotal: 2, bytesRead: 200, records: 200 })
    expect(out.split('\r').length - 1).toBe(2)
    expect(out.endsWith('\n')).toBe(true)
    expect(out).not.toMatch(/\n[^]*\r/)
  })
})

describe('make-sample', () => {
  it('writes a deterministic sample that exercises every case', async () => {
    const a = await writeSample(join(dir, 'a'), { now: NOW, seed: 7 })
    await writeSample(join(dir, 'b'), { now: NOW, seed: 7 })
    expect(a.files).toBeGreaterThanOrEqual(5)
    const o = await read({ dir: join(dir, 'a'), window: { from: NOW - 86_400_000, to: NOW } })
    const o2 = await read({ dir: join(dir, 'b'), window: { from: NOW - 86_400_000, to: NOW } })
    expect(o.stats).toEqual(o2.stats)
    expect(o.stats).toMatchObject({ filesCorrupt: 1, filesSkipped: 1, malformedLines: 2 })
    expect(o.hostFailures.get('api.pinnedbank.example')?.devices).toBeGreaterThanOrEqual(3)
    expect(o.hostFailures.get('oneoff.rare-game.example')).toMatchObject({ sessions: 1, devices: 1 })
    expect(o.hostFailures.has('www.google.com')).toBe(true)
    expect(o.hostFailures.get('evil.example<script>alert(1)</script>')?.devices).toBe(3)
    expect([...o.ipFailures.keys()].sort()).toEqual(['192.0.2.45', '198.51.100.77'])
    expect(o.ipHosts.get('198.51.100.77')?.has('accounts.google.com')).toBe(true)
    expect(o.ipHosts.get('192.0.2.45')).toBeUndefined()
    expect([...o.bypassedHosts.keys()]).toEqual(['cdn.pinnedbank.example'])
    expect(o.stats.inWindow).toBe(o.stats.records.zero_trust_network_sessions! + o.stats.records.gateway_http! + o.stats.records.gateway_network!)
  })
})

describe('compact evidence and thread defaults', () => {
  it('keeps one user as a plain string and makes a Set only for a second distinct one', () => {
    const cases: [Users, string, Users][] = [
      [undefined, 'u1', 'u1'],
      ['u1', 'u1', 'u1'],
      ['u1', 'U1', new Set(['u1', 'U1'])],
      ['u1', 'u2', new Set(['u1', 'u2'])],
      [new Set(['u1', 'u2']), 'u2', new Set(['u1', 'u2'])],
      [new Set(['u1', 'u2']), 'u3', new Set(['u1', 'u2', 'u3'])]
    ]
    for (const [before, u, after] of cases) expect(addUser(before, u)).toEqual(after)
  })

  it('scans on this thread alone (inflate on the threadpool) up to 3 cores, then on one thread per two cores, this one included', () => {
    const cases: [number, number][] = [[1, 1], [2, 1], [3, 1], [4, 2], [5, 2], [8, 4], [64, 32]]
    for (const [cores, threads] of cases) expect(defaultThreads(cores)).toBe(threads)
  })
})
