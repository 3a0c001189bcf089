/**
 * Logpush source: reads a directory of Logpush objects (gzip NDJSON, any of the Zero Trust
 * datasets, in any layout) into `Observations`, in constant memory.
 *
 * Memory does not grow with ordinary traffic (see `aggregate.ts` for what is kept). Inflate
 * runs on libuv's threadpool, a few files at once, while this thread scans what comes out. On
 * up to 3 cores that is all: inflate and scan cost about the same, so one scanning thread and
 * the threadpool keep two cores busy, and a worker only adds its own isolate (measured on
 * 2 cores, 1M records: the same wall time, 1.2 more CPU-s and 40 MB more RSS). From 4 cores
 * on, worker threads take whole files from the same queue as this thread (`threads.ts`) and
 * their partial aggregates are merged exactly.
 */
import { stat } from 'node:fs/promises'
import { availableParallelism } from 'node:os'
import { basename } from 'node:path'
import type { CertlessThresholds } from '../../core/devices.js'
import type { ExclusionRule, Observations } from '../../core/types.js'
import { Aggregator } from './aggregate.js'
import { beforeWindow, listFiles, type FileOutcome, type Listing } from './files.js'
import { scanShared } from './threads.js'

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
  /**
   * Issue 10's idle rule (`idle-days`): last request the managed policy bypassed per host and
   * destination IP over this many days before `window.to`, from the files that are read (files
   * skipped by name for the lookback are not: judging idleness needs a lookback that long).
   */
  usageDays?: number
  onProgress?: (p: LogpushProgress) => void
  /** Files this thread decompresses at once; default 2. */
  concurrency?: number
  /** Scanning threads, this one included; default `defaultThreads()`; 1 scans on this thread only. */
  threads?: number
}

/**
 * Reads every `*.log.gz` under `opts.dir` and aggregates the records into `Observations`.
 *
 * Never fails on content: other files are counted in `filesSkipped`, and so are `*.log.gz`
 * entries that are not regular files or whose link leads outside `dir` (with the reason in a
 * warning); with a window, files whose name puts them wholly before it are not opened
 * (`filesOutsideWindow`); a truncated or corrupt gzip counts in `filesCorrupt` and keeps every
 * record decoded before the fault; lines that are not records of a known dataset count in
 * `malformedLines`. Throws only when `dir` itself cannot be read.
 */
export async function readLogpush(opts: LogpushOptions): Promise<Observations> {
  let listing: Listing
  try {
    const s = await stat(opts.dir)
    if (!s.isDirectory()) throw new Error('not a directory')
    listing = await listFiles(opts.dir)
  } catch (err) {
    throw new Error(`cannot read the Logpush directory ${opts.dir}: ${(err as Error).message}`, { cause: err })
  }
  const files = listing.files.filter((f) => !beforeWindow(basename(f), opts.window.from))
  const rules = { window: opts.window, ports: opts.ports, policy: opts.policy, exclusions: opts.exclusions, certless: opts.certless, usageDays: opts.usageDays }
  const agg = new Aggregator(rules)
  const tally = new Tally(files.length, opts.onProgress, () => agg.records)
  const threads = Math.max(1, Math.min(opts.threads ?? defaultThreads(), files.length))
  await scanShared(files, agg, { workers: threads - 1, lanes: Math.max(1, opts.concurrency ?? 2), workerLanes: 2, onFile: (d) => tally.file(d.outcome, d.bytes) })
  return agg.toObservations({
    filesRead: files.length - tally.unreadable - tally.notRegular,
    filesSkipped: listing.other + [...listing.refused.values()].reduce((a, b) => a + b, 0) + tally.notRegular,
    filesCorrupt: tally.corrupt + tally.unreadable,
    filesOutsideWindow: listing.files.length - files.length,
    warnings: warningsOf(opts.dir, listing, tally, agg.malformedLines)
  })
}

/** Scanning threads by default, this one included: one up to 3 cores (see above), then one per two cores. */
export function defaultThreads(cores: number = availableParallelism()): number {
  return cores >= 4 ? Math.floor(cores / 2) : 1
}

/** File outcomes and progress. */
class Tally {
  corrupt = 0
  unreadable = 0
  notRegular = 0
  private readonly p: LogpushProgress
  constructor(total: number, private readonly on: ((p: LogpushProgress) => void) | undefined, private readonly records: () => Record<string, number>) {
    this.p = { filesDone: 0, filesTotal: total, bytesRead: 0, records: 0 }
  }

  file(outcome: FileOutcome, bytes: number): void {
    if (outcome === 'corrupt') this.corrupt++
    else if (outcome === 'unreadable') this.unreadable++
    else if (outcome === 'not-regular') this.notRegular++
    this.p.bytesRead += bytes
    this.p.filesDone++
    if (this.on === undefined) return
    this.p.records = Object.values(this.records()).reduce((a, b) => a + b, 0)
    this.on({ ...this.p })
  }
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`
}

function warningsOf(dir: string, listing: Listing, tally: Tally, malformed: number): string[] {
  const w: string[] = []
  if (listing.files.length === 0) w.push(`no .log.gz files under ${dir}`)
  for (const [reason, n] of listing.refused) w.push(`${plural(n, '.log.gz entry was', '.log.gz entries were')} not read: ${reason}`)
  if (tally.notRegular > 0) w.push(`${plural(tally.notRegular, '.log.gz entry was', '.log.gz entries were')} not read: not a regular file when opened`)
  if (tally.corrupt > 0) w.push(`${plural(tally.corrupt, 'file was', 'files were')} truncated or corrupt; the records before the fault were kept`)
  if (tally.unreadable > 0) w.push(`${plural(tally.unreadable, 'file', 'files')} could not be read`)
  if (malformed > 0) w.push(`${plural(malformed, 'line was', 'lines were')} not a usable record`)
  return w
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
