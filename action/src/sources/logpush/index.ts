/**
 * Logpush source: reads a directory of Logpush objects (gzip NDJSON, any of the Zero Trust
 * datasets, in any layout) into `Observations`, in constant memory.
 *
 * Decompression runs on libuv's threadpool (zlib streams are asynchronous), several files at
 * once, while this thread scans the bytes (`scan.ts`). With 2 cores that keeps both busy
 * without worker threads: the scan costs a fraction of inflate, so the main thread is never
 * the bottleneck, and there is no second bundle entry or state to merge.
 */
import { createReadStream } from 'node:fs'
import { readdir, stat } from 'node:fs/promises'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { createGunzip } from 'node:zlib'
import type { CertlessThresholds } from '../../core/devices.js'
import type { ExclusionRule, Observations } from '../../core/types.js'
import { Aggregator } from './aggregate.js'
import { LineScanner } from './scan.js'

/** Progress of a `readLogpush` run. `bytesRead` counts compressed bytes. */
export interface LogpushProgress {
  filesDone: number
  filesTotal: number
  bytesRead: number
  records: number
}

/** What to read and how to judge it. */
export interface LogpushOptions {
  /** Read recursively; only `*.log.gz` files are read. */
  dir: string
  /** Epoch ms, inclusive; `from` null = no time filter ("lookback all"). */
  window: { from: number | null; to: number }
  /** OriginPort filter for failing sessions (the caller defaults it to [443]). */
  ports: number[]
  /** The managed Do Not Inspect policy, to recognise its `gateway_http` bypass records. */
  policy: { name?: string; id?: string }
  /**
   * Active exclusion rules: the scan records every IP on which a hostname they cover was
   * seen (the shared-IP guard), whatever else was seen there.
   */
  exclusions?: ExclusionRule[]
  /** Thresholds of the certificate-less device rule; default `DEFAULT_CERTLESS`. */
  certless?: CertlessThresholds
  onProgress?: (p: LogpushProgress) => void
  /** Files decompressed at once; default `os.availableParallelism()`. */
  concurrency?: number
}

// Large chunks amortise the per-chunk cost of the scanner and of stream plumbing.
const CHUNK = 256 * 1024

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = []
  const walk = async (d: string): Promise<void> => {
    const entries = await readdir(d, { withFileTypes: true })
    for (const e of entries) {
      const p = join(d, e.name)
      if (e.isDirectory()) await walk(p)
      else if (e.isFile() || e.isSymbolicLink()) out.push(p)
    }
  }
  await walk(dir)
  // Sorted, so runs are reproducible whatever order the file system lists.
  return out.sort()
}

/**
 * Reads every `*.log.gz` under `opts.dir` and aggregates the records into `Observations`.
 *
 * Never fails on content: other files are counted in `filesSkipped`; a truncated or corrupt
 * gzip counts in `filesCorrupt` and keeps every record decoded before the fault; lines that
 * are not records of a known dataset count in `malformedLines`. Throws only when `dir`
 * itself cannot be read.
 */
export async function readLogpush(opts: LogpushOptions): Promise<Observations> {
  let all: string[]
  try {
    const s = await stat(opts.dir)
    if (!s.isDirectory()) throw new Error('not a directory')
    all = await listFiles(opts.dir)
  } catch (err) {
    throw new Error(`cannot read the Logpush directory ${opts.dir}: ${(err as Error).message}`, { cause: err })
  }
  const files = all.filter((f) => f.endsWith('.log.gz'))
  const agg = new Aggregator(opts)
  const progress = { filesDone: 0, filesTotal: files.length, bytesRead: 0, records: 0 }
  const report = (): void => {
    if (opts.onProgress === undefined) return
    const r = agg.records
    progress.records = r.zero_trust_network_sessions + r.gateway_http + r.gateway_network
    opts.onProgress({ ...progress })
  }
  let corrupt = 0
  let unreadable = 0

  const readOne = async (file: string): Promise<void> => {
    const scanner = new LineScanner(agg)
    const input = createReadStream(file, { highWaterMark: CHUNK })
    const gunzip = createGunzip({ chunkSize: CHUNK })
    let readFailed = false
    input.on('data', (c) => { progress.bytesRead += c.length })
    input.on('error', (err) => {
      readFailed = true
      gunzip.destroy(err)
    })
    input.pipe(gunzip)
    try {
      for await (const chunk of gunzip) {
        scanner.push(chunk as Buffer)
        report()
      }
    } catch {
      // Keep what was decoded before the fault (already scanned); count the file.
      if (readFailed) unreadable++
      else corrupt++
      input.destroy()
    }
    scanner.end()
    progress.filesDone++
    report()
  }

  const queue = files.slice()
  const lanes = Math.max(1, Math.min(opts.concurrency ?? availableParallelism(), files.length))
  await Promise.all(Array.from({ length: lanes }, async () => {
    for (let f = queue.shift(); f !== undefined; f = queue.shift()) await readOne(f)
  }))

  const warnings: string[] = []
  if (files.length === 0) warnings.push(`no .log.gz files under ${opts.dir}`)
  if (corrupt > 0) warnings.push(`${corrupt} file${corrupt === 1 ? ' was' : 's were'} truncated or corrupt; the records before the fault were kept`)
  if (unreadable > 0) warnings.push(`${unreadable} file${unreadable === 1 ? '' : 's'} could not be read`)
  if (agg.malformedLines > 0) warnings.push(`${agg.malformedLines} line${agg.malformedLines === 1 ? ' was' : 's were'} not a usable record`)
  return agg.toObservations({
    filesRead: files.length - unreadable,
    filesSkipped: all.length - files.length,
    filesCorrupt: corrupt + unreadable,
    warnings
  })
}

/**
 * A progress callback for `readLogpush` that keeps one updating line on `stream` ('\r'),
 * at most 5 times a second, only when it is a TTY; a no-op otherwise (CI logs stay clean).
 */
export function progressReporter(stream: NodeJS.WriteStream): (p: LogpushProgress) => void {
  if (!stream.isTTY) return () => {}
  let last = 0
  let open = false
  return (p) => {
    const done = p.filesDone === p.filesTotal
    const now = Date.now()
    if (!done && now - last < 200) return
    if (done && !open) return
    last = now
    const mb = (p.bytesRead / 1048576).toFixed(1)
    stream.write(`\r\x1b[Kreading Logpush files: ${p.filesDone}/${p.filesTotal} files, ${mb} MB, ${p.records} records`)
    open = !done
    if (done) stream.write('\n')
  }
}
