import { createRequire as __gtbCreateRequire } from 'node:module'; const require = __gtbCreateRequire(import.meta.url);
import {
  Aggregator,
  scanFile
} from "./chunks/chunk-ZTB453P2.mjs";

// action/src/sources/logpush/worker.ts
import { parentPort, workerData } from "node:worker_threads";
if (parentPort !== null && workerData?.gtbLogpush === true) {
  const port = parentPort;
  const agg = new Aggregator(workerData.rules);
  const records = () => agg.records.zero_trust_network_sessions + agg.records.gateway_http + agg.records.gateway_network;
  port.on("message", (m) => {
    if ("done" in m) {
      port.postMessage({ kind: "partial", partial: agg.partial() });
      port.close();
      return;
    }
    let bytes = 0;
    void scanFile(m.file, agg, (n) => {
      bytes += n;
    }).catch(() => "unreadable").then((outcome) => {
      port.postMessage({ kind: "file", file: m.file, outcome, bytes, records: records() });
    });
  });
}
