// The byte-level fast path against a naive reference that JSON.parses every line: both must
// produce identical Observations on data full of hostile cases, whatever the chunking.
import { mkdtemp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { constants, gunzipSync, gzipSync } from 'node:zlib'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ExclusionRule, Observations, Stats } from '../action/src/core/types.js'
import { canonicalHost } from '../action/src/core/values.js'
import { readLogpush } from '../action/src/sources/logpush/index.js'
import { Aggregator } from '../action/src/sources/logpush/aggregate.js'
import { LineScanner, MAX_LINE } from '../action/src/sources/logpush/scan.js'
import { scanFile } from '../action/src/sources/logpush/files.js'
import { scanShared, type FileDone } from '../action/src/sources/logpush/threads.js'
import { parseTime } from '../action/src/sources/logpush/time.js'
import { prng } from '../scripts/make-sample.js'

const NOW = Date.UTC(2026, 9, 15, 12)
const WINDOW = { from: NOW - 86_400_000, to: NOW }

const EXCLUSIONS: ExclusionRule[] = [
  { kind: 'host', value: 'google.com', reason: 'tenant controls', line: 1 },
  { kind: 'host', value: 'vendor.example', reason: 'test', line: 2 },
  { kind: 'ip', value: '203.0.113.0/24', reason: 'not a hostname rule', line: 3 }
]
const RULES = { window: WINDOW, ports: [443, 8443], policy: { name: 'gateway-tls-bypass', id: 'AB-12' }, exclusions: EXCLUSIONS }

/** The reference: written from the spec, independently of aggregate.ts and scan.ts. */
function reference(lines: string[], rules = RULES): Observations {
  type Hit = { device: string; user: string | undefined; t: number }
  const hostFailures = new Map<string, Hit[]>()
  const ipFailures = new Map<string, Hit[]>()
  const bypassedHosts = new Map<string, Hit[]>()
  const hostIpHits: { host: string; ip: string; device: string }[] = []
  const excludedOn = new Map<string, Set<string>>()
  const devices = new Map<string, { tls: number; failed: number; dests: Set<string> }>()
  const records: Record<string, number> = {}
  let inWindow = 0
  let malformed = 0
  const str = (v: unknown): string => (typeof v === 'string' ? v.trim().toLowerCase() : '')
  const excluded = (s: string): boolean => {
    const c = canonicalHost(s)
    return c.ok && ['google.com', 'vendor.example'].some((d) => c.value === d || c.value.endsWith('.' + d))
  }
  const seen = (ip: string, sni: string): void => {
    if (!ip || !sni || !excluded(sni)) return
    if (!excludedOn.has(ip)) excludedOn.set(ip, new Set())
    excludedOn.get(ip)?.add(sni)
  }
  const count = (m: Map<string, Hit[]>, k: string, o: Record<string, unknown>, t: number): void => {
    const user = typeof o.UserID === 'string' && o.UserID !== '' ? o.UserID : typeof o.Email === 'string' && o.Email !== '' ? o.Email : undefined
    m.set(k, [...(m.get(k) ?? []), { device: typeof o.DeviceID === 'string' ? o.DeviceID : '', user, t }])
  }
  for (const line of lines) {
    if (Buffer.byteLength(line) > MAX_LINE) { malformed++; continue }
    if (line.trim() === '' && /^[ \t\r]*$/.test(line)) continue
    let o: unknown
    try { o = JSON.parse(line) } catch { malformed++; continue }
    if (typeof o !== 'object' || o === null || Array.isArray(o)) { malformed++; continue }
    const r = o as Record<string, unknown>
    const has = (k: string): boolean => Object.prototype.hasOwnProperty.call(r, k)
    const ds = has('ConnectionCloseReason') || has('SessionStartTime') || has('OriginIP') ? 'zero_trust_network_sessions'
      : has('HTTPHost') && has('Action') ? 'gateway_http'
        : has('SNI') && has('DestinationIP') && !has('HTTPHost') ? 'gateway_network' : undefined
    if (ds === undefined) { malformed++; continue }
    const start = r.SessionStartTime
    const t = parseTime(ds === 'zero_trust_network_sessions' ? (start !== undefined && start !== null && start !== '' ? start : r.SessionEndTime) : r.Datetime)
    if (t === null) { malformed++; continue }
    records[ds] = (records[ds] ?? 0) + 1
    if (rules.window.from !== null && t < rules.window.from) continue
    if (t > rules.window.to) continue
    inWindow++
    if (ds === 'zero_trust_network_sessions') {
      const ip = str(r.OriginIP)
      const hasSni = r.SNI !== undefined && r.SNI !== null && r.SNI !== ''
      const sni = typeof r.SNI === 'string' ? str(r.SNI) : hasSni ? (Array.isArray(r.SNI) ? `[array of ${r.SNI.length}]` : typeof r.SNI === 'object' ? '{object}' : String(r.SNI)) : ''
      if (typeof r.SNI === 'string') seen(ip, sni)
      const reason = r.ConnectionCloseReason
      const failing = typeof reason === 'string' && reason.split('_').join('').toLowerCase() === 'clienttlserror'
      const port = typeof r.OriginPort === 'number' ? r.OriginPort : typeof r.OriginPort === 'string' && /^\s*\d+\s*$/.test(r.OriginPort) ? Number(r.OriginPort) : NaN
      if (!rules.ports.includes(port)) continue
      const device = typeof r.DeviceID === 'string' ? r.DeviceID : ''
      if (device !== '') {
        const d = devices.get(device) ?? { tls: 0, failed: 0, dests: new Set<string>() }
        devices.set(device, d)
        d.tls++
        if (failing) {
          d.failed++
          if (hasSni) d.dests.add('h' + sni)
          else if (ip) d.dests.add('i' + ip)
        }
      }
      if (!failing) continue
      if (hasSni) {
        count(hostFailures, sni, r, t)
        if (ip) hostIpHits.push({ host: sni, ip, device })
      } else if (ip) {
        count(ipFailures, ip, r, t)
      }
    } else if (ds === 'gateway_network') {
      seen(str(r.DestinationIP), str(r.SNI))
    } else {
      const host = str(r.HTTPHost)
      const byName = r.PolicyName === rules.policy.name
      const byId = typeof r.PolicyID === 'string' && r.PolicyID.toLowerCase() === rules.policy.id.toLowerCase()
      if (host && typeof r.Action === 'string' && r.Action.toLowerCase() === 'bypass' && (byName || byId)) {
        count(bypassedHosts, host, r, t)
        // The bypassed request's destination IP is a "seen with" pair like a failing session's.
        const ip = str(r.DestinationIP)
        if (ip) hostIpHits.push({ host, ip, device: typeof r.DeviceID === 'string' ? r.DeviceID : '' })
      }
    }
  }
  // Certificate-less: at least 10 failing destinations and at least half the TLS sessions failing.
  const certless = new Set([...devices].filter(([, d]) => d.dests.size >= 10 && d.failed * 2 >= Math.max(d.tls, d.failed)).map(([id]) => id))
  const statsOf = (hits: Hit[]): Stats => ({
    sessions: hits.length, devices: new Set(hits.map((h) => h.device).filter((d) => d !== '')).size,
    users: new Set(hits.flatMap((h) => (h.user === undefined ? [] : [h.user]))).size,
    firstSeen: Math.min(...hits.map((h) => h.t)), lastSeen: Math.max(...hits.map((h) => h.t))
  })
  const stats = (m: Map<string, Hit[]>, only: Map<string, Stats>): Map<string, Stats> => {
    const out = new Map<string, Stats>()
    for (const [k, hits] of m) {
      const kept = hits.filter((h) => !certless.has(h.device))
      if (kept.length > 0) out.set(k, statsOf(kept))
      else only.set(k, statsOf(hits))
    }
    return out
  }
  const onlyHosts = new Map<string, Stats>()
  const onlyIps = new Map<string, Stats>()
  const hostIps = new Map<string, Set<string>>()
  for (const h of hostIpHits) {
    if (certless.has(h.device)) continue
    if (!hostIps.has(h.host)) hostIps.set(h.host, new Set())
    hostIps.get(h.host)?.add(h.ip)
  }
  const ipHosts = new Map<string, Set<string>>([...excludedOn].map(([ip, s]) => [ip, new Set(s)]))
  for (const [host, ips] of hostIps) for (const ip of ips) ipHosts.set(ip, new Set([...(ipHosts.get(ip) ?? []), host]))
  return {
    window: rules.window, hostFailures: stats(hostFailures, onlyHosts), ipFailures: stats(ipFailures, onlyIps), hostIps, ipHosts, bypassedHosts: stats(bypassedHosts, new Map()),
    certless: {
      devices: [...certless].map((id) => { const d = devices.get(id)!; return { tlsSessions: d.tls, failedSessions: d.failed, failedDestinations: d.dests.size } }),
      devicesSeen: devices.size, sessionsExcluded: [...certless].reduce((n, id) => n + devices.get(id)!.failed, 0), onlyCertless: { hosts: onlyHosts, ips: onlyIps }
    },
    stats: { source: 'logpush', records, inWindow, malformedLines: malformed, filesRead: 0, filesSkipped: 0, filesCorrupt: 0, warnings: [] }
  }
}

/** Observations as plain sorted data, for deep equality. */
function plain(o: Observations): unknown {
  const m = (x: Map<string, unknown>): unknown => [...x].map(([k, v]) => [k, v instanceof Set ? [...v].sort() : v]).sort((a, b) => String(a[0]) < String(b[0]) ? -1 : 1)
  return {
    hostFailures: m(o.hostFailures), ipFailures: m(o.ipFailures), hostIps: m(o.hostIps), ipHosts: m(o.ipHosts), bypassedHosts: m(o.bypassedHosts),
    certless: o.certless && { ...o.certless, devices: [...o.certless.devices].sort((a, b) => JSON.stringify(a) < JSON.stringify(b) ? -1 : 1), onlyCertless: { hosts: m(o.certless.onlyCertless.hosts), ips: m(o.certless.onlyCertless.ips) } },
    records: o.stats.records, inWindow: o.stats.inWindow, malformedLines: o.stats.malformedLines
  }
}

/** Feeds lines through LineScanner in the given chunk sizes. */
function scan(text: Buffer, sizes: () => number): Observations {
  const agg = new Aggregator(RULES)
  const s = new LineScanner(agg)
  for (let i = 0; i < text.length;) {
    const n = Math.max(1, sizes())
    s.push(text.subarray(i, i + n))
    i += n
  }
  s.end()
  return agg.toObservations({ filesRead: 0, filesSkipped: 0, filesCorrupt: 0, warnings: [] })
}

/** A deterministic PRNG so failures reproduce. */

/** Lines of all three datasets, mostly ordinary, with every hostile case we could think of. */
function dataset(seed: number, n: number): string[] {
  const rnd = prng(seed)
  const int = (k: number): number => Math.floor(rnd() * k)
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T
  const ms = (): number => NOW - int(2 * 86_400_000) + 3_600_000 // some outside the window, some in the future
  const times = [
    (t: number): unknown => t * 1_000_000 + int(1_000_000), (t: number): unknown => String(t * 1_000_000 + int(1_000_000)),
    (t: number): unknown => t, (t: number): unknown => Math.floor(t / 1000), (t: number): unknown => String(Math.floor(t / 1000)),
    (t: number): unknown => new Date(t).toISOString(), (t: number): unknown => new Date(t).toISOString().replace('Z', '123456Z'),
    (t: number): unknown => new Date(t).toISOString().replace(/\.\d+Z/, '+02:00'), (t: number): unknown => t * 1_000_000 + 999_999,
    (t: number): unknown => t * 1_000_000 + 1, (t: number): unknown => (Math.floor(t / 1000) * 1000) * 1_000_000
  ]
  const badTimes: unknown[] = ['', 'yesterday', null, true, -5, '2026-13-01T00:00:00Z', { t: 1 }, '0017', 0, '1.5e9', 1e21]
  const snis = ['api.pinned.example', 'API.Pinned.Example', ' api.pinned.example ', 'telemetry.vendor.example', 'evil"quote.example', 'a\\b.example',
    'x","SNI":"injected.example', '"SNI":"inner', 'uni\u00e9.example', 'uni\u2028sep.example', '\u0000ctl', '\t', '   ', '', 'www.google.com', 'k\u212a.example',
    '{"SNI":"x"}', 'evil.example<script>', '*@team', 'ümlaut.example', 'emoji😀.example']
  const ips = ['203.0.113.10', '198.51.100.7', '2001:db8::1', '2001:DB8::1', ' 192.0.2.1', '192.0.2.9', '::ffff:192.0.2.1', 'not-an-ip']
  const reasons = ['CLIENT_TLS_ERROR', 'client_tls_error', 'clientTlsError', 'ClientTLSError', 'CLIENT__TLS_ERROR_', 'CLIENT_CLOSED', 'ORIGIN_CLOSED', 'CLIENT_TLS_ERRORS',
    'CLIENT_TLS', '', 'ORIGIN_TLS_ERROR']
  const devices = ['d1', 'd2', 'd3', 'd4', '', 'D1']
  const lines: string[] = []
  for (let i = 0; i < n; i++) {
    const kind = int(100)
    const t = ms()
    if (kind < 70) {
      const r: Record<string, unknown> = {
        AccountID: 'acc', BytesSent: int(1e6), ConnectionCloseReason: rnd() < 0.3 ? pick(reasons) : 'CLIENT_CLOSED', DeviceID: pick(devices),
        Email: pick(['u1@corp.example', 'u2@corp.example', '']), OriginIP: pick(ips), OriginPort: pick([443, 443, 443, '443', ' 8443', 80, '443x']),
        SNI: rnd() < 0.7 ? pick(snis.slice(0, 4)) : pick(snis), SessionEndTime: pick(times)(t + 5000), SessionID: 'sid' + i, SessionStartTime: pick(times)(t),
        UserID: pick(['', 'user-a', 'user-b'])
      }
      const m = int(40)
      if (m === 0) delete r.SNI
      if (m === 1) r.SNI = null
      if (m === 2) r.SNI = 42
      if (m === 3) delete r.SessionStartTime
      if (m === 4) r.SessionStartTime = ''
      if (m === 5) r.SessionStartTime = pick(badTimes)
      if (m === 6) r.OriginIP = null
      if (m === 7) r.OriginIP = 7
      if (m === 8) delete r.OriginIP
      if (m === 9) r.ConnectionCloseReason = null
      if (m === 10) r.ConnectionCloseReason = 3
      if (m === 11) delete r.ConnectionCloseReason
      if (m === 12) r.Nested = { SNI: 'nested.example', OriginIP: '9.9.9.9' }
      if (m === 13) r.Note = 'text with "SNI":"fake.example" and ,"OriginIP":"6.6.6.6"'
      if (m === 14) r.Tags = ['a', 'b']
      if (m === 15) r.SessionStartTime = null
      let line = JSON.stringify(r)
      const w = int(30)
      if (w === 0) line = JSON.stringify(r, null, 1).replace(/\n/g, ' ') // spaces after colons
      if (w === 1) line = '  ' + line + ' \r'
      if (w === 2) line = line.replace('"SNI":', '"\\u0053NI":')
      if (w === 3) line = line.replace('"SNI":', '"SNI" :')
      if (w === 4) line = line.replace(/,"UserID":[^,}]*/, '') + ''
      if (w === 5) line = line.slice(0, Math.max(1, int(line.length))) // cut
      if (w === 6) line = JSON.stringify(r, null, 2) // pretty-printed over several lines
      if (w === 7) line = line.replace(/"SessionStartTime":(\d+)/, '"SessionStartTime":0$1')
      if (w === 8) line = line.replace(/"SessionStartTime":(\d+)/, '"SessionStartTime":$1.5')
      if (w === 9) line = line.replace(/"SessionStartTime":(\d+)/, '"SessionStartTime":$1e0')
      lines.push(...line.split('\n'))
    } else if (kind < 80) {
      const r: Record<string, unknown> = { Action: pick(['allow', 'block', 'bypass', 'BYPASS', 'Bypass ', 'unknown']), Datetime: pick(times)(t), DeviceID: pick(devices),
        HTTPHost: pick(['cdn.pinned.example', 'CDN.pinned.example', 'github.com', '', 'evil"x.example']), PolicyID: pick(['ab-12', 'AB-12', 'other', '']),
        PolicyName: pick(['gateway-tls-bypass', 'Gateway-TLS-Bypass', 'other', '']), UserID: pick(['', 'user-a']), Email: 'u3@corp.example' }
      if (int(10) === 0) r.Datetime = pick(badTimes)
      if (int(20) === 0) r.Action = null
      lines.push(JSON.stringify(r))
    } else if (kind < 90) {
      const r: Record<string, unknown> = { Action: 'allow', Datetime: pick(times)(t), DestinationIP: pick(ips), SNI: pick(snis), SessionID: 's' + i }
      if (int(10) === 0) r.HTTPHost = 'h.example'
      if (int(10) === 0) r.SNI = null
      lines.push(JSON.stringify(r))
    } else {
      lines.push(pick(['', '   ', 'garbage', '[1,2,3]', 'null', '42', '"str"', '{}', '{"foo":1}', '{"SNI":"x.example"}', '{"DestinationIP":"1.2.3.4"}',
        '\ufeff{"OriginIP":"1.1.1.1","SessionStartTime":1}', '{"OriginIP":"1.1.1.1","SessionStartTime":' + t + '}', '{"OriginIP":"1.1.1.1",}',
        '{"OriginIP":"1.1.1.1","SessionStartTime":' + t + ',"SNI":"dup.example","SNI":"dup2.example"}'.replace(/,"SNI":"dup2.example"/, ''),
        '{"HTTPHost":"x","Action":"bypass","PolicyName":"gateway-tls-bypass","Datetime":' + t + '}']))
    }
  }
  // Nanosecond times a hair from the window edges: JSON.parse rounds them to a double first,
  // so the fast path must round exactly the same way (here, across the edge).
  for (const edge of [WINDOW.from, WINDOW.to + 1]) {
    for (const ns of [BigInt(edge) * 1_000_000n - 1n, BigInt(edge) * 1_000_000n - 100n, BigInt(edge) * 1_000_000n + 1n, BigInt(edge - 1) * 1_000_000n + 999_000n]) {
      lines.push(`{"ConnectionCloseReason":"CLIENT_CLOSED","OriginIP":"192.0.2.${lines.length % 250}","SNI":"edge${ns % 7n}.example","SessionStartTime":${ns}}`)
      lines.push(`{"ConnectionCloseReason":"CLIENT_CLOSED","OriginIP":"192.0.2.${lines.length % 250}","SNI":"edge-s${ns % 7n}.example","SessionStartTime":"${ns}"}`)
    }
  }
  // Long lines: one just under the limit, one over it (must be skipped, never buffered whole).
  const pad = (len: number): string => JSON.stringify({ ConnectionCloseReason: 'CLIENT_CLOSED', OriginIP: '192.0.2.77', SNI: 'long.example', SessionStartTime: NOW - 1000, Pad: '' }).replace('"Pad":""', `"Pad":"${'x'.repeat(len)}"`)
  lines.splice(int(lines.length), 0, pad(MAX_LINE - 200))
  lines.splice(int(lines.length), 0, pad(MAX_LINE + 10))
  return lines
}

describe('logpush fast path vs JSON.parse reference', () => {
  let dir: string
  beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'logpush-diff-')) })
  afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

  it('agrees line by line, whatever the chunk boundaries', () => {
    for (const seed of [1, 2, 3]) {
      const lines = dataset(seed, 1500)
      const text = Buffer.from(lines.join('\n'))
      const want = plain(reference(lines))
      const rnd = prng(seed * 7)
      expect(plain(scan(text, () => 1 + Math.floor(rnd() * 3000)))).toEqual(want)
      expect(plain(scan(text, () => 1 << 20))).toEqual(want)
      expect(plain(scan(text, () => 1 + Math.floor(rnd() * 7)))).toEqual(want)
    }
  })

  it('agrees when key positions jump from line to line, keys come and go, and the order changes', () => {
    // The scanner looks for each key near where it was in the previous line, then backwards:
    // padding of random width before, between and after the keys moves them far both ways.
    const rnd = prng(99)
    const int = (k: number): number => Math.floor(rnd() * k)
    const pad = (): string => 'x'.repeat(int(3) === 0 ? 0 : int(400))
    const keys = ['ConnectionCloseReason', 'DeviceID', 'Email', 'OriginIP', 'OriginPort', 'SNI', 'SessionEndTime', 'SessionStartTime', 'UserID']
    const lines: string[] = []
    for (let i = 0; i < 3000; i++) {
      const t = (NOW - int(2 * 86_400_000) + 3_600_000) * 1_000_000
      const v: Record<string, unknown> = {
        ConnectionCloseReason: ['CLIENT_TLS_ERROR', 'CLIENT_CLOSED', 'ORIGIN_CLOSED'][int(3)], DeviceID: `dev${int(6)}`, Email: `u${int(3)}@corp.example`,
        OriginIP: ['192.0.2.1', '198.51.100.77', '203.0.113.200'][int(3)], OriginPort: [443, 8443, 80][int(3)],
        SNI: ['www.google.com', 'api.pinned.example', '', 'telemetry.vendor.example'][int(4)], SessionEndTime: t + 5, SessionStartTime: t, UserID: int(2) === 0 ? '' : `user${int(3)}`
      }
      const order = int(4) === 0 ? [...keys].sort(() => rnd() - 0.5) : keys
      const o: Record<string, unknown> = { A: pad() }
      for (const k of order) {
        if (int(12) === 0) continue
        o[k] = v[k]
        o[`${k}Pad`] = pad()
      }
      o.Z = pad()
      lines.push(JSON.stringify(o))
    }
    const text = Buffer.from(lines.join('\n'))
    const want = plain(reference(lines))
    expect(plain(scan(text, () => 1 << 20))).toEqual(want)
    expect(plain(scan(text, () => 1 + int(5000)))).toEqual(want)
  })

  it('mostly takes the fast path on ordinary lines', () => {
    const line = JSON.stringify({ ConnectionCloseReason: 'CLIENT_CLOSED', OriginIP: '192.0.2.1', OriginPort: 443, SNI: 'a.example', SessionStartTime: (NOW - 1000) * 1e6 })
    const agg = new Aggregator(RULES)
    const s = new LineScanner(agg)
    s.push(Buffer.from(Array.from({ length: 1000 }, () => line).join('\n') + '\n'))
    s.end()
    expect(s.slowLines).toBe(0)
    expect(agg.records.zero_trust_network_sessions).toBe(1000)
  })

  it('agrees through readLogpush: several gzip files, concurrency, a truncated file', async () => {
    const all: string[] = []
    for (let f = 0; f < 4; f++) {
      const lines = dataset(100 + f, 800)
      const sub = join(dir, 'zero_trust_network_sessions', `2026101${f}`)
      await mkdir(sub, { recursive: true })
      let gz = gzipSync(lines.join('\n') + '\n')
      if (f === 3) gz = gz.subarray(0, Math.floor(gz.length / 2))
      await writeFile(join(sub, `f${f}.log.gz`), gz)
    }
    await writeFile(join(dir, 'ownership-challenge.txt'), 'jwt')
    // The reference reads every file with a plain synchronous gunzip that tolerates truncation.
    for (const d of await readdir(join(dir, 'zero_trust_network_sessions'))) {
      for (const f of await readdir(join(dir, 'zero_trust_network_sessions', d))) {
        const raw = gunzipSync(await readFile(join(dir, 'zero_trust_network_sessions', d, f)), { finishFlush: constants.Z_SYNC_FLUSH }).toString('utf8')
        const lines = raw.split('\n')
        if (lines[lines.length - 1] === '') lines.pop()
        all.push(...lines)
      }
    }
    const want = plain(reference(all))
    for (const [concurrency, threads] of [[1, 1], [2, 1], [4, 1], [1, 2], [1, 3]] as const) {
      const got = await readLogpush({ dir, ...RULES, concurrency, threads })
      expect(plain(got)).toEqual(want)
      expect(got.stats).toMatchObject({ filesRead: 4, filesSkipped: 1, filesCorrupt: 1 })
    }
  })

  it('really scans on worker threads from source, and merges their partials exactly', async () => {
    const files = (await readdir(join(dir, 'zero_trust_network_sessions'), { recursive: true })).filter((f) => f.endsWith('.log.gz')).map((f) => join(dir, 'zero_trust_network_sessions', f))
    expect(files.length).toBeGreaterThanOrEqual(2)
    const threaded = new Aggregator(RULES)
    const done: FileDone[] = []
    // lanes 0: this thread reads nothing unless a worker fails, so the workers must have read every file.
    expect(await scanShared(files, threaded, { workers: 2, lanes: 0, workerLanes: 2, onFile: (d) => done.push(d) })).toEqual({ onWorkers: files.length })
    expect(done.map((d) => d.file).sort()).toEqual(files.slice().sort())
    const here = new Aggregator(RULES)
    for (const f of files) await scanFile(f, here, () => {})
    const obs = (a: Aggregator): unknown => plain(a.toObservations({ filesRead: 0, filesSkipped: 0, filesCorrupt: 0, warnings: [] }))
    expect(obs(threaded)).toEqual(obs(here))
  })

  it('reads the files of a worker that fails here, each exactly once, even those it had reported done', async () => {
    const files = (await readdir(join(dir, 'zero_trust_network_sessions'), { recursive: true })).filter((f) => f.endsWith('.log.gz')).map((f) => join(dir, 'zero_trust_network_sessions', f))
    const here = new Aggregator(RULES)
    for (const f of files) await scanFile(f, here, () => {})
    const obs = (a: Aggregator): unknown => plain(a.toObservations({ filesRead: 0, filesSkipped: 0, filesCorrupt: 0, warnings: [] }))
    // Reports its first file done (without ever posting a partial), then dies on the next.
    const flaky = `const { parentPort } = require('node:worker_threads'); let n = 0
      parentPort.on('message', (m) => { if (n++ > 0) throw new Error('boom'); parentPort.postMessage({ kind: 'file', file: m.file, outcome: 'ok', bytes: 1, records: 1 }) })`
    const scripts = [{ entry: 'throw new Error("no start")', eval: true }, { entry: flaky, eval: true }, null]
    for (const script of scripts) {
      const agg = new Aggregator(RULES)
      const done: FileDone[] = []
      expect(await scanShared(files, agg, { workers: 2, lanes: 0, workerLanes: 1, onFile: (d) => done.push(d), script })).toEqual({ onWorkers: 0 })
      expect(done.map((d) => d.file).sort()).toEqual(files.slice().sort())
      expect(obs(agg)).toEqual(obs(here))
    }
  })

  it('agrees on arbitrary records (property)', () => {
    const value = fc.oneof(fc.string(), fc.constantFrom('CLIENT_TLS_ERROR', 'clientTlsError', 'bypass', '443', '192.0.2.1', ''), fc.integer(), fc.constant(null), fc.boolean(),
      fc.constant(NOW * 1e6), fc.constant(new Date(NOW - 5000).toISOString()))
    const key = fc.constantFrom('ConnectionCloseReason', 'SessionStartTime', 'SessionEndTime', 'OriginIP', 'OriginPort', 'SNI', 'HTTPHost', 'Action', 'DestinationIP', 'Datetime',
      'PolicyName', 'PolicyID', 'DeviceID', 'UserID', 'Email', 'Other')
    const record = fc.dictionary(key, value, { maxKeys: 12 })
    fc.assert(fc.property(fc.array(record, { maxLength: 30 }), fc.integer({ min: 1, max: 400 }), (recs, chunk) => {
      const lines = recs.map((r) => JSON.stringify(r))
      expect(plain(scan(Buffer.from(lines.join('\n')), () => chunk))).toEqual(plain(reference(lines)))
    }), { numRuns: 300, seed: 42 })
  })
})
