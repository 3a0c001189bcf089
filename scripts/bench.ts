/**
 * Benchmark of the Logpush reader: `tsx scripts/bench.ts [sizes...]` (default 1m 5m).
 *
 * Generates network-session records (~2% CLIENT_TLS_ERROR, the full Logpush field set,
 * unixnano timestamps, ~20 gzip files per size) into `.bench/` once, then measures, in the
 * same run and each in a fresh `node` process (so peak RSS is per measurement):
 *   - floor-seq: decompressing every file, one at a time;
 *   - floor-par: decompressing with the parallelism readLogpush uses (the fair floor);
 *   - collect:   readLogpush on the same files.
 * ratio = collect / floor-par. Results go to stdout and `.bench/results.json`.
 */
import { spawnSync } from 'node:child_process'
import { createWriteStream, existsSync } from 'node:fs'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { availableParallelism } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { once } from 'node:events'
import { createGzip } from 'node:zlib'
import { build } from 'esbuild'
import { prng } from './make-sample.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const benchDir = join(root, '.bench')
const SIZES: Record<string, number> = { '100k': 100_000, '1m': 1_000_000, '5m': 5_000_000 }
const FILES = 20
const FAIL_RATE = 0.02
// Bump when the generated data changes, so stale data is regenerated.
const DATA_VERSION = 2
const NOW = Date.UTC(2026, 9, 15, 12)


async function generate(dir: string, records: number): Promise<void> {
  const rnd = prng(records)
  const int = (n: number): number => Math.floor(rnd() * n)
  const hex = (n: number): string => {
    let s = ''
    for (let i = 0; i < n; i++) s += '0123456789abcdef'[int(16)]
    return s
  }
  const uuid = (): string => `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`
  const words = ['api', 'cdn', 'static', 'auth', 'login', 'img', 'video', 'edge', 'sync', 'push', 'mail', 'docs', 'app', 'ws', 'metrics']
  const tlds = ['com', 'net', 'io', 'org', 'example', 'co.uk', 'de', 'app']
  // Destinations: a long tail, visited with a skewed (Zipf-like) popularity, as in real traffic.
  const hosts = Array.from({ length: 30_000 }, (_, i) => `${words[i % words.length]}${i % 7 === 0 ? '' : '-' + (i % 97)}.${hex(6)}.${tlds[i % tlds.length]}`)
  const hostIps = hosts.map((_, i) => Array.from({ length: 1 + (i % 3) }, () =>
    int(10) === 0 ? `2606:4700:${hex(4)}::${hex(4)}` : `${1 + int(222)}.${int(256)}.${int(256)}.${1 + int(254)}`))
  const pinned = Array.from({ length: 150 }, (_, i) => `telemetry${i}.pinned-vendor${i % 40}.example`)
  const pinnedIps = pinned.map(() => `198.18.${int(256)}.${1 + int(254)}`)
  const devices = Array.from({ length: 3000 }, () => ({ id: uuid(), user: uuid(), email: `user${int(2500)}@corp.example`, name: `LAPTOP-${hex(6).toUpperCase()}`, reg: uuid() }))
  const reasons = ['CLIENT_CLOSED', 'CLIENT_CLOSED', 'CLIENT_CLOSED', 'ORIGIN_CLOSED', 'ORIGIN_CLOSED', 'CLIENT_IDLE_TIMEOUT', 'ORIGIN_UNREACHABLE', 'CLIENT_ERROR']
  const issuers = ['CN=R11, O=Let\'s Encrypt, C=US', 'CN=WE1, O=Google Trust Services, C=US', 'CN=DigiCert Global G2 TLS RSA SHA256 2020 CA1, O=DigiCert Inc, C=US', 'CN=Amazon RSA 2048 M02, O=Amazon, C=US']
  const colos = ['FRA', 'AMS', 'LHR', 'CDG', 'IAD', 'SJC']
  const perFile = Math.ceil(records / FILES)
  const start = NOW - 23 * 3600_000
  const span = 22 * 3600_000
  let written = 0
  const writeFile1 = async (f: number): Promise<void> => {
    const n = Math.min(perFile, records - f * perFile)
    const t0 = start + Math.floor((span * f) / FILES)
    const t1 = start + Math.floor((span * (f + 1)) / FILES)
    const stamp = (ms: number): string => new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')
    const day = stamp(t0).slice(0, 8)
    const path = join(dir, 'zero_trust_network_sessions', day, `${stamp(t0)}_${stamp(t1)}_${hex(8)}.log.gz`)
    await mkdir(dirname(path), { recursive: true })
    const gz = createGzip()
    const out = gz.pipe(createWriteStream(path))
    let batch: string[] = []
    for (let i = 0; i < n; i++) {
      const fail = rnd() < FAIL_RATE
      let sni: string
      let ip: string
      if (fail) {
        const k = int(pinned.length)
        sni = pinned[k] as string
        ip = pinnedIps[k] as string
      } else {
        const k = Math.floor(hosts.length * rnd() ** 3)
        sni = hosts[k] as string
        const ips = hostIps[k] as string[]
        ip = ips[int(ips.length)] as string
      }
      const d = devices[Math.floor(devices.length * rnd() ** 2)] as (typeof devices)[number]
      const ns = BigInt(t0 + Math.floor(((t1 - t0) * i) / n)) * 1_000_000n + BigInt(int(1_000_000))
      const dur = BigInt(int(600_000_000_000))
      const tls = !fail && rnd() < 0.9
      batch.push(`{"AccountID":"3f2b8c9d0e1f4a5b6c7d8e9f0a1b2c3d","BytesReceived":${int(5_000_000)},"BytesSent":${int(200_000)},` +
        `"ClientTCPHandshakeDurationMs":${int(80)},"ClientTLSCipher":"${tls ? 'TLS_AES_128_GCM_SHA256' : ''}","ClientTLSHandshakeDurationMs":${tls ? int(120) : 0},"ClientTLSVersion":"${tls ? 'TLSv1.3' : ''}",` +
        `"ConnectionCloseReason":"${fail ? 'CLIENT_TLS_ERROR' : reasons[int(reasons.length)]}","ConnectionReuse":${rnd() < 0.3},"DestinationTunnelID":"","DetectedProtocol":"${tls ? 'TLS' : 'UNKNOWN'}",` +
        `"DeviceID":"${d.id}","DeviceName":"${d.name}","EgressColoName":"${colos[int(colos.length)]}","EgressIP":"104.28.${int(256)}.${int(256)}","EgressPort":${1024 + int(64000)},"EgressRuleID":"","EgressRuleName":"",` +
        `"Email":"${d.email}","IngressColoName":"${colos[int(colos.length)]}","InitialOriginIP":"","Offramp":"INTERNET","OnrampType":"CF1_CLIENT",` +
        `"OriginIP":"${ip}","OriginPort":${rnd() < 0.97 ? 443 : 8443},"OriginTLSCertificateIssuer":"${tls ? issuers[int(issuers.length)] : ''}","OriginTLSCertificateValidationResult":"${tls ? 'VALID' : 'NONE'}",` +
        `"OriginTLSCipher":"${tls ? 'TLS_AES_256_GCM_SHA384' : ''}","OriginTLSHandshakeDurationMs":${tls ? int(300) : 0},"OriginTLSVersion":"${tls ? 'TLSv1.3' : ''}","Protocol":"TCP",` +
        `"RegistrationID":"${d.reg}","ResolvedFQDN":"${rnd() < 0.5 ? sni : ''}","RuleEvaluationDurationMs":${int(5)},"SNI":"${sni}","SessionEndTime":${ns + dur},"SessionID":"${hex(32)}",` +
        `"SessionStartTime":${ns},"SourceIP":"203.0.113.${int(256)}","SourceInternalIP":"100.96.${int(256)}.${int(256)}","SourcePort":${1024 + int(64000)},"TenantID":"","UserID":"${d.user}","VirtualNetworkID":"${uuid()}"}\n`)
      if (batch.length === 2000) {
        if (!gz.write(batch.join(''))) await once(gz, 'drain')
        batch = []
      }
    }
    gz.end(batch.join(''))
    await once(out, 'finish')
    written += n
    process.stderr.write(`\r  generated ${written}/${records}`)
  }
  // Two files at a time: gzip runs on the threadpool while this thread builds the next lines.
  const queue = Array.from({ length: FILES }, (_, f) => f)
  await Promise.all([0, 1].map(async () => {
    for (let f = queue.shift(); f !== undefined; f = queue.shift()) await writeFile1(f)
  }))
  process.stderr.write('\n')
}

const RUNNER = `
import { createReadStream } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { createGunzip } from 'node:zlib'
import { readLogpush } from '../action/src/sources/logpush/index.ts'

const [mode, dir, conc] = process.argv.slice(2)
const concurrency = Number(conc)
async function list(d) {
  const out = []
  for (const e of await readdir(d, { withFileTypes: true })) {
    const p = join(d, e.name)
    if (e.isDirectory()) out.push(...await list(p))
    else if (p.endsWith('.log.gz')) out.push(p)
  }
  return out.sort()
}
// The floor: exactly the I/O and inflate that readLogpush does, with the same chunk sizes.
async function decompress(files, lanes) {
  let bytes = 0
  const queue = files.slice()
  await Promise.all(Array.from({ length: lanes }, async () => {
    for (let f = queue.shift(); f !== undefined; f = queue.shift()) {
      const g = createGunzip({ chunkSize: 256 * 1024 })
      createReadStream(f, { highWaterMark: 256 * 1024 }).pipe(g)
      for await (const c of g) bytes += c.length
    }
  }))
  return { bytes }
}
const t0 = performance.now()
let detail
if (mode === 'collect') {
  const o = await readLogpush({ dir, window: { from: null, to: Date.now() }, ports: [443], policy: { name: 'gateway-tls-bypass' }, concurrency })
  detail = { records: o.stats.records, hostFailures: o.hostFailures.size, ipHosts: o.ipHosts.size, malformed: o.stats.malformedLines }
} else {
  detail = await decompress(await list(dir), mode === 'floor-seq' ? 1 : concurrency)
}
const ms = performance.now() - t0
console.log(JSON.stringify({ mode, ms, maxRssMB: process.resourceUsage().maxRSS / 1024, detail }))
`

interface Measure { mode: string; ms: number; maxRssMB: number; detail: unknown }

function measure(runner: string, mode: string, dir: string, concurrency: number): Measure {
  const r = spawnSync(process.execPath, [runner, mode, dir, String(concurrency)], { encoding: 'utf8', maxBuffer: 1 << 20 })
  if (r.status !== 0) throw new Error(`${mode} failed: ${r.stderr}`)
  return JSON.parse(r.stdout.trim().split('\n').pop() as string) as Measure
}

async function main(): Promise<void> {
  const sizes = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['1m', '5m']
  const runs = Number(process.env.BENCH_RUNS ?? 2)
  const concurrency = availableParallelism()
  await mkdir(benchDir, { recursive: true })
  const runnerSrc = join(benchDir, 'runner.ts')
  const runner = join(benchDir, 'runner.mjs')
  await writeFile(runnerSrc, RUNNER)
  await build({ entryPoints: [runnerSrc], outfile: runner, bundle: true, platform: 'node', target: 'node20', format: 'esm', logLevel: 'warning' })
  const results = []
  for (const size of sizes) {
    const records = SIZES[size]
    if (records === undefined) throw new Error(`unknown size ${size}; use one of ${Object.keys(SIZES).join(', ')}`)
    const dir = join(benchDir, size)
    const marker = join(dir, '.complete')
    const want = JSON.stringify({ DATA_VERSION, records, FILES })
    if (!existsSync(marker) || (await readFile(marker, 'utf8')) !== want) {
      process.stderr.write(`generating ${size} (${records} records) into ${dir}\n`)
      await rm(dir, { recursive: true, force: true })
      await generate(dir, records)
      await writeFile(marker, want)
    }
    // Interleaved repetitions, best of each: the machine is shared, so noise only adds time.
    const best: Record<string, Measure> = {}
    for (let i = 0; i < runs; i++) {
      for (const mode of ['floor-seq', 'floor-par', 'collect']) {
        const m = measure(runner, mode, dir, concurrency)
        process.stderr.write(`  ${size} ${mode}: ${(m.ms / 1000).toFixed(2)} s, ${m.maxRssMB.toFixed(0)} MB\n`)
        const b = best[mode]
        if (b === undefined || m.ms < b.ms) best[mode] = m
      }
    }
    const seq = best['floor-seq'] as Measure
    const par = best['floor-par'] as Measure
    const col = best.collect as Measure
    results.push({
      size, records, concurrency,
      floorSeqS: seq.ms / 1000, floorParS: par.ms / 1000, collectS: col.ms / 1000,
      ratio: col.ms / par.ms, ratioVsSequential: col.ms / seq.ms,
      peakRssMB: { floorSeq: seq.maxRssMB, floorPar: par.maxRssMB, collect: col.maxRssMB },
      detail: col.detail
    })
  }
  const pad = (s: string, n: number): string => s.padStart(n)
  console.log(`${pad('size', 6)} ${pad('floor seq s', 12)} ${pad('floor par s', 12)} ${pad('collect s', 10)} ${pad('ratio', 6)} ${pad('RSS floor MB', 13)} ${pad('RSS collect MB', 15)}`)
  for (const r of results) {
    console.log(`${pad(r.size, 6)} ${pad(r.floorSeqS.toFixed(2), 12)} ${pad(r.floorParS.toFixed(2), 12)} ${pad(r.collectS.toFixed(2), 10)} ${pad(r.ratio.toFixed(2), 6)} ${pad(r.peakRssMB.floorPar.toFixed(0), 13)} ${pad(r.peakRssMB.collect.toFixed(0), 15)}`)
  }
  await writeFile(join(benchDir, 'results.json'), JSON.stringify({ date: new Date().toISOString(), node: process.version, cpus: concurrency, results }, null, 2) + '\n')
}

await main()
