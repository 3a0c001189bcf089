/**
 * Writes a small, deterministic, realistic Logpush sample: `tsx scripts/make-sample.ts <dir>`.
 *
 * What is in it (all within the 24 h before `now`, in the Logpush layout
 * `<dataset>/<YYYYMMDD>/<start>_<end>_<8hex>.log.gz`, with mixed timestamp formats):
 * - pinned apps failing TLS inspection on several devices, IPv4 and IPv6 origins;
 * - a one-off failure (1 session, 1 device) that the thresholds drop;
 * - lots of normal sessions with other close reasons;
 * - CLIENT_TLS_ERROR on www.google.com (the default exclusions suppress google.com);
 * - failures without SNI on a clean IP (an IP candidate) and on an IP where
 *   accounts.google.com was also seen (stopped by the shared-IP guard);
 * - a hostile SNI failing on 3 devices (the planner must reject and escape it);
 * - a device without the Gateway certificate: its TLS fails on 30 ordinary sites, 3 sessions
 *   each, that 5 other devices reach fine (reported by count; none of those sites is proposed);
 * - gateway_http bypass records of the `gateway-tls-bypass` policy, teaching a hostname;
 * - gateway_network records (DestinationIP -> SNI);
 * - one truncated .log.gz, one line of garbage and an ownership-challenge.txt.
 * Device and user ids are random-looking UUIDs; emails are userN@corp.example.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'

type Rec = Record<string, unknown>

/** mulberry32: a tiny seeded PRNG, so the sample is the same on every machine. */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * Writes the sample under `dir` (created if needed) and returns how many `.log.gz` files and
 * records (lines, including the garbage line) it wrote.
 */
export async function writeSample(dir: string, opts: { now: number; seed?: number }): Promise<{ files: number; records: number }> {
  const rnd = prng(opts.seed ?? 20261015)
  const int = (n: number): number => Math.floor(rnd() * n)
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T
  const hex = (n: number): string => Array.from({ length: n }, () => '0123456789abcdef'[int(16)]).join('')
  const uuid = (): string => `${hex(8)}-${hex(4)}-4${hex(3)}-${'89ab'[int(4)]}${hex(3)}-${hex(12)}`
  // Whole seconds: every timestamp format below can then express the same instant.
  const now = Math.floor(opts.now / 1000) * 1000
  const devices = Array.from({ length: 24 }, (_, i) => ({ id: uuid(), user: uuid(), email: `user${i + 1}@corp.example`, name: `LAPTOP-${hex(5).toUpperCase()}` }))
  const at = (): number => now - 60_000 - int(23 * 3600) * 1000 // inside the last 24 h

  // Four formats seen in real Logpush jobs (timestamp_format), chosen per record.
  const formats = [
    (ms: number): unknown => ms * 1_000_000, // unixnano, the API default
    (ms: number): unknown => new Date(ms).toISOString().replace('.000', ''), // rfc3339
    (ms: number): unknown => new Date(ms).toISOString(), // rfc3339ms
    (ms: number): unknown => String(ms / 1000) // unix seconds as a string
  ]
  const time = (ms: number): unknown => pick(formats)(ms)

  const sessions: Rec[] = []
  const session = (o: { sni: string; ip: string; reason: string; device?: (typeof devices)[number]; port?: number; ms?: number }): void => {
    const d = o.device ?? pick(devices)
    const start = o.ms ?? at()
    sessions.push({
      AccountID: '0f1e2d3c4b5a69788796a5b4c3d2e1f0',
      BytesReceived: o.reason === 'CLIENT_TLS_ERROR' ? 0 : int(2_000_000),
      BytesSent: o.reason === 'CLIENT_TLS_ERROR' ? 517 : int(90_000),
      ConnectionCloseReason: o.reason,
      DeviceID: d.id,
      DeviceName: d.name,
      Email: d.email,
      EgressColoName: 'FRA',
      OriginIP: o.ip,
      OriginPort: o.port ?? 443,
      Protocol: 'TCP',
      SNI: o.sni,
      SessionEndTime: time(start + 2000),
      SessionID: hex(32),
      SessionStartTime: time(start),
      SourceInternalIP: `100.96.${int(256)}.${int(256)}`,
      UserID: d.user
    })
  }
  const fail = (sni: string, ip: string, n: number, nDevices: number): void => {
    for (let i = 0; i < n; i++) session({ sni, ip, reason: 'CLIENT_TLS_ERROR', device: devices[i % nDevices] })
  }

  // Pinned apps: several sessions on several devices, IPv4 and IPv6.
  fail('api.pinnedbank.example', '203.0.113.10', 14, 6)
  fail('api.pinnedbank.example', '2001:db8:10::10', 6, 4)
  fail('telemetry.vendor-app.example', '198.51.100.23', 22, 9)
  fail('push.securechat.example', '2001:db8:77::5', 9, 5)
  fail('updates.edr-agent.example', '203.0.113.55', 7, 3)
  // An old spelling of the close reason, as 2023 logs have it.
  for (let i = 0; i < 3; i++) session({ sni: 'updates.edr-agent.example', ip: '203.0.113.55', reason: 'clientTlsError', device: devices[i + 5] })
  // One-off noise: one session on one device; thresholds drop it.
  fail('oneoff.rare-game.example', '192.0.2.200', 1, 1)
  // A failure on another port (not in the default [443]) is ignored.
  session({ sni: 'mail.pinnedbank.example', ip: '203.0.113.11', reason: 'CLIENT_TLS_ERROR', port: 993 })
  // google.com fails too (e.g. a browser with its own pins); the default exclusions suppress it.
  fail('www.google.com', '142.250.74.36', 6, 4)
  // No SNI on a clean IP: an IP candidate.
  fail('', '192.0.2.45', 8, 4)
  // No SNI on an IP that also serves accounts.google.com: the shared-IP guard stops it.
  fail('', '198.51.100.77', 6, 3)
  for (let i = 0; i < 12; i++) session({ sni: 'accounts.google.com', ip: '198.51.100.77', reason: 'CLIENT_CLOSED' })
  // A hostile SNI on 3 devices: it stays a host key; the planner must reject and escape it.
  fail('evil.example<script>alert(1)</script>', '203.0.113.66', 5, 3)
  fail('*@team', '203.0.113.67', 3, 3)

  // Normal traffic with other close reasons.
  const normal = ['www.wikipedia.org', 'github.com', 'api.github.com', 'slack.com', 'zoom.us', 'login.microsoftonline.com', 'outlook.office365.com', 'www.youtube.com', 'fonts.gstatic.com', 'cdn.jsdelivr.net', 'api.pinnedbank.example']
  const reasons = ['CLIENT_CLOSED', 'CLIENT_CLOSED', 'ORIGIN_CLOSED', 'CLIENT_IDLE_TIMEOUT', 'ORIGIN_UNREACHABLE']
  const normalIps = normal.map((_, i) => (i % 4 === 3 ? `2001:db8:${i}::${i + 1}` : `192.0.2.${10 + i}`))
  for (let i = 0; i < 2800; i++) {
    const k = int(normal.length)
    session({ sni: normal[k] as string, ip: normalIps[k] as string, reason: pick(reasons) })
  }
  // A device without the Gateway certificate (a laptop before enrolment finished): every
  // inspected site fails for it alone, while five enrolled devices reach the same sites fine.
  const certless = { id: uuid(), user: uuid(), email: 'new-hire@corp.example', name: `LAPTOP-${hex(5).toUpperCase()}` }
  const sites = ['news', 'weather', 'shop', 'travel', 'docs', 'wiki', 'maps', 'video', 'music', 'sports']
    .flatMap((s) => [`www.${s}-portal.example`, `cdn.${s}-portal.example`, `api.${s}-portal.example`])
  sites.forEach((sni, i) => {
    const ip = `198.51.100.${100 + i}`
    for (let k = 0; k < 3; k++) session({ sni, ip, reason: 'CLIENT_TLS_ERROR', device: certless })
    for (const d of devices.slice(10, 15)) session({ sni, ip, reason: 'CLIENT_CLOSED', device: d })
  })
  sessions.sort((a, b) => String(a.SessionID).localeCompare(String(b.SessionID)))

  // gateway_http: the managed policy bypassed this hostname (teaches the name behind an IP).
  const http: Rec[] = []
  for (let i = 0; i < 8; i++) {
    const d = devices[i % 4] as (typeof devices)[number]
    http.push({ Action: 'bypass', Datetime: time(at()), DestinationIP: '203.0.113.90', DestinationPort: 443, DeviceID: d.id, Email: d.email, HTTPHost: 'cdn.pinnedbank.example', PolicyID: '6f1c2e3d-4b5a-4c6d-8e7f-9a0b1c2d3e4f', PolicyName: 'gateway-tls-bypass', RequestID: '', URL: '', UserID: d.user })
  }
  for (let i = 0; i < 60; i++) {
    const d = pick(devices)
    http.push({ Action: 'allow', Datetime: time(at()), DestinationIP: '192.0.2.20', DestinationPort: 443, DeviceID: d.id, Email: d.email, HTTPHost: 'github.com', PolicyID: '', PolicyName: '', RequestID: hex(16), URL: 'https://github.com/', UserID: d.user })
  }
  // gateway_network: established sessions with their SNI (another source of IP -> host).
  const network: Rec[] = []
  for (let i = 0; i < 80; i++) {
    const d = pick(devices)
    const k = int(normal.length)
    network.push({ Action: 'allow', Datetime: time(at()), DestinationIP: normalIps[k], DestinationPort: 443, DeviceID: d.id, SNI: normal[k], SessionID: hex(32), TransportProtocol: 'tcp', UserID: d.user })
  }

  let files = 0
  let records = 0
  const stamp = (ms: number): string => new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')
  const write = async (dataset: string, recs: Rec[], opts2: { truncate?: boolean; garbage?: boolean } = {}): Promise<void> => {
    const start = now - 23 * 3600_000 + files * 60_000
    const path = join(dir, dataset, stamp(start).slice(0, 8), `${stamp(start)}_${stamp(start + 30_000)}_${hex(8)}.log.gz`)
    const lines = recs.map((r) => JSON.stringify(r))
    if (opts2.garbage === true) lines.splice(Math.floor(lines.length / 2), 0, '{"SessionID":"d3adb33f", this is not JSON')
    let gz = gzipSync(lines.join('\n') + '\n')
    // An aborted upload: the tail of the object is missing.
    if (opts2.truncate === true) gz = gz.subarray(0, Math.floor(gz.length * 0.6))
    await mkdir(dirname(path), { recursive: true })
    await writeFile(path, gz)
    files++
    records += lines.length
  }
  const parts = 4
  const per = Math.ceil(sessions.length / parts)
  for (let i = 0; i < parts; i++) await write('zero_trust_network_sessions', sessions.slice(i * per, (i + 1) * per), { garbage: i === 1 })
  await write('gateway_http', http)
  await write('gateway_network', network)
  // A truncated copy of some normal traffic: readers must keep what decodes and go on.
  const extra: Rec[] = []
  for (let i = 0; i < 200; i++) {
    const k = int(normal.length)
    extra.push({ ConnectionCloseReason: 'CLIENT_CLOSED', DeviceID: pick(devices).id, OriginIP: normalIps[k], OriginPort: 443, SNI: normal[k], SessionStartTime: time(at()) })
  }
  await write('zero_trust_network_sessions', extra, { truncate: true })
  await writeFile(join(dir, 'ownership-challenge.txt'), 'eyJhbGciOiJub25lIn0.eyJzYW1wbGUiOnRydWV9.\n')
  return { files, records }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2]
  if (dir === undefined) {
    process.stderr.write('usage: tsx scripts/make-sample.ts <dir>\n')
    process.exitCode = 2
  } else {
    const r = await writeSample(dir, { now: Date.now() })
    process.stderr.write(`wrote ${r.records} records in ${r.files} files under ${dir}\n`)
  }
}
