/**
 * Benchmark of the Logpush reader: `tsx scripts/bench.ts [sizes...]` (default 1m 5m), on two
 * traffic shapes (issue 8):
 *   - long-tail: every ordinary session goes to a fresh random IPv4 with one of 5,000
 *     hostnames (CDN traffic), and 1% to www.google.com on a handful of IPs;
 *   - stable: each of the 5,000 hostnames lives on 1–3 fixed IPs (same 1% to Google).
 * Both: ≈2% CLIENT_TLS_ERROR on 300 pinned hostnames, 10% of those without an SNI; the full
 * Logpush field set, unixnano timestamps, 20 gzip files named `<start>_<end>_<hash>.log.gz`.
 *
 * Data goes to `.bench/` (gitignored) once. Each measurement runs in a fresh `node` process,
 * so peak RSS is its own:
 *   - floor:  inflating every file, files in parallel on libuv's threadpool (2 lanes);
 *   - duckdb: @duckdb/node-api with 2 threads doing the same aggregation: read_ndjson over
 *     the files; failing sessions by SNI and by OriginIP (sessions, distinct devices, first
 *     and last seen, the IPs of each failing SNI); the IPs an excluded hostname was seen on;
 *   - collect: readLogpush on the same files, with google.com excluded.
 * Results go to stdout (a markdown table) and `.bench/results.json`.
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
const SHAPES = ['long-tail', 'stable'] as const
type Shape = (typeof SHAPES)[number]
// Bump when the generated data changes, so stale data is regenerated.
const DATA_VERSION = 3
const NOW = Date.UTC(2026, 9, 15, 12)


async function generate(dir: string, records: number, shape: Shape): Promise<void> {
  const rnd = prng(records + (shape === 'stable' ? 1 : 0))
  const int = (n: number): number => Math.floor(rnd() * n)
  const hex = (n: number): string => {
    let s = ''
    for (let i = 0; i < n; i++) s += '0123456789abcdef'[int(16)]
    return s
  }
  const uuid = (): string => `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`
  const words = ['api', 'cdn', 'static', 'auth', 'login', 'img', 'video', 'edge', 'sync', 'push', 'mail', 'docs', 'app', 'ws', 'metrics']
  const tlds = ['com', 'net', 'io', 'org', 'example', 'co.uk', 'de', 'app']
  const v4 = (): string => `${1 + int(222)}.${int(256)}.${int(256)}.${1 + int(254)}`
  const hosts = Array.from({ length: 5000 }, (_, i) => `${words[i % words.length]}${i % 7 === 0 ? '' : '-' + (i % 97)}.${hex(6)}.${tlds[i % tlds.length]}`)
  const hostIps = hosts.map(() => Array.from({ length: 1 + int(3) }, v4))
  const googleIps = Array.from({ length: 6 }, (_, i) => `142.250.${i}.${10 + i}`)
  const pinned = Array.from({ length: 300 }, (_, i) => `telemetry${i}.pinned-vendor${i % 40}.example`)
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
        sni = rnd() < 0.1 ? '' : pinned[k] as string
        ip = pinnedIps[k] as string
      } else if (rnd() < 0.01) {
        sni = 'www.google.com'
        ip = googleIps[int(googleIps.length)] as string
      } else {
        const k = int(hosts.length)
        sni = hosts[k] as string
        const ips = hostIps[k] as string[]
        ip = shape === 'long-tail' ? v4() : ips[int(ips.length)] as string
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

const [mode, dir] = process.argv.slice(2)
async function list(d) {
  const out = []
  for (const e of await readdir(d, { withFileTypes: true })) {
    const p = join(d, e.name)
    if (e.isDirectory()) out.push(...await list(p))
    else if (p.endsWith('.log.gz')) out.push(p)
  }
  return out.sort()
}
// The floor: the I/O and inflate that collect does, with the same chunk sizes, two files at a time.
async function decompress(files) {
  let bytes = 0
  const queue = files.slice()
  await Promise.all([0, 1].map(async () => {
    for (let f = queue.shift(); f !== undefined; f = queue.shift()) {
      const g = createGunzip({ chunkSize: 256 * 1024 })
      createReadStream(f, { highWaterMark: 256 * 1024 }).pipe(g)
      for await (const c of g) bytes += c.length
    }
  }))
  return { bytes }
}
async function duck() {
  const { DuckDBInstance } = await import('@duckdb/node-api')
  const db = await DuckDBInstance.create(':memory:', { threads: '2' })
  const con = await db.connect()
  const glob = join(dir, '**', '*.log.gz').replace(/'/g, "''")
  // One pass over the files keeps what the aggregation needs; the groupings run on that.
  await con.run(\`CREATE TEMP TABLE k AS SELECT SNI, OriginIP, DeviceID, SessionStartTime,
      (ConnectionCloseReason = 'CLIENT_TLS_ERROR' AND OriginPort = 443) AS failing
    FROM read_ndjson('\${glob}', compression = 'gzip', format = 'newline_delimited',
      columns = {SNI: 'VARCHAR', OriginIP: 'VARCHAR', DeviceID: 'VARCHAR', SessionStartTime: 'UBIGINT', ConnectionCloseReason: 'VARCHAR', OriginPort: 'INTEGER'})
    WHERE (ConnectionCloseReason = 'CLIENT_TLS_ERROR' AND OriginPort = 443) OR lower(SNI) = 'google.com' OR lower(SNI) LIKE '%.google.com'\`)
  const bySni = (await con.runAndReadAll(\`SELECT lower(SNI) AS k, count(*) AS sessions, count(DISTINCT DeviceID) AS devices, min(SessionStartTime) AS first, max(SessionStartTime) AS last,
    list(DISTINCT OriginIP) AS ips FROM k WHERE failing AND SNI <> '' GROUP BY 1\`)).getRows()
  const byIp = (await con.runAndReadAll(\`SELECT OriginIP, count(*), count(DISTINCT DeviceID), min(SessionStartTime), max(SessionStartTime)
    FROM k WHERE failing AND (SNI IS NULL OR SNI = '') GROUP BY 1\`)).getRows()
  const excluded = (await con.runAndReadAll(\`SELECT DISTINCT OriginIP, lower(SNI) FROM k WHERE lower(SNI) = 'google.com' OR lower(SNI) LIKE '%.google.com'\`)).getRows()
  return { hostFailures: bySni.length, ipFailures: byIp.length, excludedPairs: excluded.length }
}
const t0 = performance.now()
const c0 = process.cpuUsage()
let detail
if (mode === 'collect') {
  const exclusions = [{ kind: 'host', value: 'google.com', reason: 'tenant controls', line: 1 }]
  const o = await readLogpush({ dir, window: { from: null, to: Date.now() }, ports: [443], policy: { name: 'gateway-tls-bypass' }, exclusions })
  detail = { records: o.stats.records, hostFailures: o.hostFailures.size, ipFailures: o.ipFailures.size, ipHosts: o.ipHosts.size, malformed: o.stats.malformedLines }
} else if (mode === 'duckdb') {
  detail = await duck()
} else {
  detail = await decompress(await list(dir))
}
const ms = performance.now() - t0
const cpu = process.cpuUsage(c0)
console.log(JSON.stringify({ mode, ms, cpuMs: (cpu.user + cpu.system) / 1000, maxRssMB: process.resourceUsage().maxRSS / 1024, detail }))
`

interface Measure { mode: string; ms: number; cpuMs: number; maxRssMB: number; detail: unknown }
const MODES = ['floor', 'duckdb', 'collect'] as const

function measure(runner: string, mode: string, dir: string): Measure {
  const r = spawnSync(process.execPath, [runner, mode, dir], { encoding: 'utf8', maxBuffer: 1 << 20 })
  if (r.status !== 0) throw new Error(`${mode} failed: ${r.stderr}`)
  return JSON.parse(r.stdout.trim().split('\n').pop() as string) as Measure
}

async function ensureData(size: string, shape: Shape): Promise<string> {
  const records = SIZES[size]
  if (records === undefined) throw new Error(`unknown size ${size}; use one of ${Object.keys(SIZES).join(', ')}`)
  const dir = join(benchDir, `${shape}-${size}`)
  const marker = join(dir, '.complete')
  const want = JSON.stringify({ DATA_VERSION, records, FILES, shape })
  if (!existsSync(marker) || (await readFile(marker, 'utf8')) !== want) {
    process.stderr.write(`generating ${shape} ${size} (${records} records) into ${dir}\n`)
    await rm(dir, { recursive: true, force: true })
    await generate(dir, records, shape)
    await writeFile(marker, want)
  }
  return dir
}

async function main(): Promise<void> {
  const sizes = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['1m', '5m']
  const runs = Number(process.env.BENCH_RUNS ?? 2)
  await mkdir(benchDir, { recursive: true })
  const runnerSrc = join(benchDir, 'runner.ts')
  await writeFile(runnerSrc, RUNNER)
  // The worker is its own entry, next to the runner, as in action/dist.
  await build({
    entryPoints: { runner: runnerSrc, 'logpush-worker': join(root, 'action/src/sources/logpush/worker.ts') },
    outdir: benchDir, outExtension: { '.js': '.mjs' }, bundle: true, platform: 'node', target: 'node20', format: 'esm',
    external: ['@duckdb/node-api'], logLevel: 'warning',
    // As scripts/build.mjs: bundled CommonJS dependencies (yaml) need a `require`.
    banner: { js: "import { createRequire as __gtbCreateRequire } from 'node:module'; const require = __gtbCreateRequire(import.meta.url);" }
  })
  const runner = join(benchDir, 'runner.mjs')
  const results = []
  for (const size of sizes) {
    for (const shape of SHAPES) {
      const dir = await ensureData(size, shape)
      // Interleaved repetitions, best of each: the machine is shared, so noise only adds time.
      const best: Partial<Record<string, Measure>> = {}
      for (let i = 0; i < runs; i++) {
        for (const mode of MODES) {
          const m = measure(runner, mode, dir)
          process.stderr.write(`  ${shape} ${size} ${mode}: ${(m.ms / 1000).toFixed(2)} s (CPU ${(m.cpuMs / 1000).toFixed(2)} s), ${m.maxRssMB.toFixed(0)} MB\n`)
          const b = best[mode]
          if (b === undefined || m.ms < b.ms) best[mode] = m
        }
      }
      const [floor, duck, col] = MODES.map((m) => best[m] as Measure) as [Measure, Measure, Measure]
      results.push({ shape, size, floor, duck, col })
    }
  }
  const s = (m: Measure): string => (m.ms / 1000).toFixed(2)
  const mb = (m: Measure): string => m.maxRssMB.toFixed(0)
  // CPU seconds of the whole process (all threads): with wall time, how well each uses the cores.
  const cpu = (m: Measure): string => (m.cpuMs / 1000).toFixed(2)
  console.log('| shape | size | inflate floor s | DuckDB (2 threads) s | collect s | collect/DuckDB | collect/floor | CPU s floor | CPU s DuckDB | CPU s collect | RSS floor MB | RSS DuckDB MB | RSS collect MB |')
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|')
  for (const r of results) {
    console.log(`| ${r.shape} | ${r.size} | ${s(r.floor)} | ${s(r.duck)} | ${s(r.col)} | ${(r.col.ms / r.duck.ms).toFixed(2)} | ${(r.col.ms / r.floor.ms).toFixed(2)} | ${cpu(r.floor)} | ${cpu(r.duck)} | ${cpu(r.col)} | ${mb(r.floor)} | ${mb(r.duck)} | ${mb(r.col)} |`)
  }
  await writeFile(join(benchDir, 'results.json'), JSON.stringify({ date: new Date().toISOString(), node: process.version, cpus: availableParallelism(), runs, results }, null, 2) + '\n')
}

await main()
