/**
 * Scanning on several cores: this thread and worker threads take whole files from one queue;
 * each worker inflates and scans its files (`worker.ts`) into its own `Aggregator` and posts
 * that partial aggregate when the queue is empty; it is merged here exactly (sets unite).
 *
 * The worker script is found next to this module: `worker.ts` when running from source (then
 * started through tsx), `logpush-worker.mjs` in the bundle (this code then lives in
 * `action/dist/` or `action/dist/chunks/`). When it cannot be found, this thread scans alone;
 * when a worker fails, the files it had taken go back to the queue and are read here (its
 * partial is all or nothing, so nothing is counted twice).
 */
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'
import type { Aggregator, RecordRules } from './aggregate.js'
import { scanFile, type FileOutcome } from './files.js'
import type { FromWorker, ToWorker } from './worker.js'

/** What `new Worker` is given: a bundled script, or (from source) code that loads worker.ts through tsx. */
export interface Script { entry: URL | string; eval: boolean }

/** Where the worker script is, or null when it is not there. */
export function workerScript(base: string = import.meta.url): Script | null {
  if (base.endsWith('.ts')) {
    const url = new URL('./worker.ts', base)
    if (!existsSync(fileURLToPath(url))) return null
    let api: string
    try {
      // require.resolve finds the CommonJS build; its ESM twin registers the loader correctly.
      api = pathToFileURL(createRequire(fileURLToPath(base)).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href
    } catch {
      return null
    }
    // Node 20 does not apply --import hooks to a worker's own entry, so tsx loads it in-thread.
    return { entry: `import(${JSON.stringify(api)}).then((m) => m.tsImport(${JSON.stringify(url.href)}, ${JSON.stringify(base)}))`, eval: true }
  }
  for (const rel of ['./logpush-worker.mjs', '../logpush-worker.mjs']) {
    const url = new URL(rel, base)
    if (existsSync(fileURLToPath(url))) return { entry: url, eval: false }
  }
  return null
}

export interface FileDone { file: string; outcome: FileOutcome; bytes: number }

/** How `scanShared` divides the work. */
export interface SharedScan {
  /** Worker threads besides this one. */
  workers: number
  /** Files this thread decompresses at once (0: only the workers scan, unless one fails). */
  lanes: number
  /** Files each worker decompresses at once. */
  workerLanes: number
  onFile: (d: FileDone) => void
  /** The worker script; default `workerScript()` (tests inject failing ones). */
  script?: Script | null
}

/**
 * A worker's own heap: its state is small (failing evidence, guard sightings, device tallies),
 * and a small young generation keeps its peak RSS low; a worker that runs out fails, and its
 * files are read on this thread instead.
 */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 16, maxOldGenerationSizeMb: 512 }

/** Rules as plain data: a worker gets a structured clone. */
function plainRules(r: RecordRules): RecordRules {
  return { window: r.window, ports: r.ports, policy: r.policy, exclusions: r.exclusions, certless: r.certless, usageDays: r.usageDays }
}

/**
 * One worker over the shared queue. Resolves with its outcomes once its partial is merged
 * into `agg`; rejects (having merged nothing) with the files it had taken in `taken`.
 */
function runWorker(script: Script, agg: Aggregator, next: () => string | undefined, lanes: number, taken: string[]): Promise<FileDone[]> {
  return new Promise((resolve, reject) => {
    const w = new Worker(script.entry, { workerData: { gtbLogpush: true, rules: plainRules(agg.rules) }, eval: script.eval, resourceLimits: WORKER_LIMITS })
    const done: FileDone[] = []
    let busy = 0
    let finished = false
    const feed = (): void => {
      const file = next()
      if (file !== undefined) {
        taken.push(file)
        busy++
        w.postMessage({ file } satisfies ToWorker)
      } else if (busy === 0) w.postMessage({ done: true } satisfies ToWorker)
    }
    w.on('online', () => { for (let i = 0; i < lanes; i++) feed() })
    w.on('message', (m: FromWorker) => {
      if (m.kind === 'file') {
        done.push({ file: m.file, outcome: m.outcome as FileOutcome, bytes: m.bytes })
        busy--
        feed()
        return
      }
      agg.merge(m.partial)
      finished = true
      void w.terminate()
      resolve(done)
    })
    w.on('error', (err) => { void w.terminate(); reject(err) })
    w.on('exit', (code) => { if (!finished) reject(new Error(`Logpush worker exited with code ${code}`)) })
  })
}

/** `lanes` loops on this thread, each reading one file at a time from `next`. */
async function scanHere(agg: Aggregator, next: () => string | undefined, lanes: number, onFile: (d: FileDone) => void): Promise<void> {
  await Promise.all(Array.from({ length: lanes }, async () => {
    for (let file = next(); file !== undefined; file = next()) {
      let bytes = 0
      const outcome = await scanFile(file, agg, (n) => { bytes += n }).catch((): FileOutcome => 'unreadable')
      onFile({ file, outcome, bytes })
    }
  }))
}

/**
 * Scans `files` into `agg` on this thread and on `o.workers` workers at once, from one queue.
 * Returns how many files the workers read. Every file is read exactly once into `agg`.
 */
export async function scanShared(files: string[], agg: Aggregator, o: SharedScan): Promise<{ onWorkers: number }> {
  const queue = files.slice()
  const next = (): string | undefined => queue.shift()
  const script = o.workers > 0 ? (o.script === undefined ? workerScript() : o.script) : null
  const failed: string[] = []
  let onWorkers = 0
  const runs = script === null ? [] : Array.from({ length: o.workers }, () => {
    const taken: string[] = []
    return runWorker(script, agg, next, Math.max(1, o.workerLanes), taken).then((done) => {
      onWorkers += done.length
      for (const d of done) o.onFile(d)
    }, () => { failed.push(...taken) })
  })
  await scanHere(agg, next, runs.length === 0 ? Math.max(1, o.lanes) : o.lanes, o.onFile)
  await Promise.all(runs)
  if (failed.length > 0) {
    queue.push(...failed.sort())
    await scanHere(agg, next, Math.max(1, o.lanes), o.onFile)
  }
  return { onWorkers }
}
