/**
 * Scanning on several cores: each worker inflates and scans whole files (`worker.ts`) and
 * posts a partial aggregate at the end, which is merged here exactly (sets unite).
 *
 * The worker script is found next to this module: `worker.ts` when running from source (then
 * started through tsx), `logpush-worker.mjs` in the bundle (this code then lives in
 * `action/dist/` or `action/dist/chunks/`). When it cannot be found or a worker fails,
 * `scanThreaded` returns null and the caller scans on this thread instead.
 */
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'
import type { Aggregator, RecordRules } from './aggregate.js'
import type { FileOutcome } from './files.js'
import type { FromWorker, ToWorker } from './worker.js'

/** What `new Worker` is given: a bundled script, or (from source) code that loads worker.ts through tsx. */
interface Script { entry: URL | string; eval: boolean }

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

/** Rules as plain data: a worker gets a structured clone. */
function plainRules(r: RecordRules): RecordRules {
  return { window: r.window, ports: r.ports, policy: r.policy, exclusions: r.exclusions, certless: r.certless }
}

function runWorker(script: Script, rules: RecordRules, next: () => string | undefined, agg: Aggregator, onFile: (d: FileDone) => void, all: Worker[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const w = new Worker(script.entry, { workerData: { gtbLogpush: true, rules: plainRules(rules) }, eval: script.eval })
    all.push(w)
    let current: string | undefined
    let finished = false
    const feed = (): void => {
      current = next()
      w.postMessage((current === undefined ? { done: true } : { file: current }) satisfies ToWorker)
    }
    w.on('online', feed)
    w.on('message', (m: FromWorker) => {
      if (m.kind === 'file') {
        onFile({ file: current as string, outcome: m.outcome as FileOutcome, bytes: m.bytes })
        feed()
      } else {
        agg.merge(m.partial)
        finished = true
        void w.terminate()
        resolve()
      }
    })
    w.on('error', reject)
    w.on('exit', (code) => { if (!finished) reject(new Error(`Logpush worker exited with code ${code}`)) })
  })
}

/**
 * Scans `files` on `threads` workers into `agg`; false (and `agg` untouched) when workers
 * are unavailable or one failed, so that the caller can scan on this thread instead.
 */
export async function scanThreaded(files: string[], agg: Aggregator, threads: number, onFile: (d: FileDone) => void): Promise<boolean> {
  const script = workerScript()
  if (script === null) return false
  const queue = files.slice()
  const next = (): string | undefined => queue.shift()
  const staged = new (agg.constructor as new (r: RecordRules) => Aggregator)(agg.rules)
  const workers: Worker[] = []
  try {
    await Promise.all(Array.from({ length: threads }, () => runWorker(script, agg.rules, next, staged, onFile, workers)))
  } catch {
    await Promise.all(workers.map((w) => w.terminate()))
    return false
  }
  agg.merge(staged.partial())
  return true
}
