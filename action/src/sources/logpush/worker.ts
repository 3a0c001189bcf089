/**
 * A Logpush scan worker: reads the whole files the main thread hands it (one or a few at a time) into
 * its own `Aggregator`, and posts the partial aggregate (failing evidence, guard sightings,
 * device tallies: all small) when told there are no more files. Started by `threads.ts`;
 * bundled as its own entry (`action/dist/logpush-worker.mjs`).
 */
import { parentPort, workerData } from 'node:worker_threads'
import { Aggregator, type RecordRules } from './aggregate.js'
import { scanFile } from './files.js'

/** Main thread → worker. */
export type ToWorker = { file: string } | { done: true }
/** Worker → main thread. */
export type FromWorker =
  | { kind: 'file'; file: string; outcome: string; bytes: number; records: number }
  | { kind: 'partial'; partial: ReturnType<Aggregator['partial']> }

if (parentPort !== null && (workerData as { gtbLogpush?: unknown } | null)?.gtbLogpush === true) {
  const port = parentPort
  const agg = new Aggregator((workerData as { rules: RecordRules }).rules)
  const records = (): number => agg.records.zero_trust_network_sessions + agg.records.gateway_http + agg.records.gateway_network
  port.on('message', (m: ToWorker) => {
    if ('done' in m) {
      port.postMessage({ kind: 'partial', partial: agg.partial() } satisfies FromWorker)
      port.close()
      return
    }
    let bytes = 0
    void scanFile(m.file, agg, (n) => { bytes += n }).catch(() => 'unreadable').then((outcome) => {
      port.postMessage({ kind: 'file', file: m.file, outcome, bytes, records: records() } satisfies FromWorker)
    })
  })
}
