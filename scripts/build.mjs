// Bundles the action and the CLI into action/dist (committed; .ci/run rebuilds and diffs it).
// ESM output because @actions/core 3 and @actions/github 9 are ESM-only; the banner gives
// bundled CommonJS dependencies a `require`.
import { build } from 'esbuild'
import { readFile, rm } from 'node:fs/promises'

const outdir = new URL('../action/dist/', import.meta.url).pathname

/** Each entry becomes action/dist/<name>.mjs. */
export const entries = {
  index: 'action/src/index.ts',
  cli: 'action/src/cli.ts',
  // Started by sources/logpush/threads.ts as a worker thread (found next to the chunk or entry).
  'logpush-worker': 'action/src/sources/logpush/worker.ts'
}

await rm(outdir, { recursive: true, force: true })
await build({
  entryPoints: entries,
  outdir,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  // The action and the CLI share one chunk instead of carrying the Cloudflare SDK twice.
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  // Deterministic output: no metafile timestamps, no absolute paths, legal comments kept apart.
  legalComments: 'none',
  sourcemap: false,
  charset: 'utf8',
  logLevel: 'warning',
  // `gateway-tls-bypass --version` (cli.ts reads package.json when run from source).
  define: { __GTB_VERSION__: JSON.stringify(JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')).version) },
  banner: {
    js: "import { createRequire as __gtbCreateRequire } from 'node:module'; const require = __gtbCreateRequire(import.meta.url);"
  }
})
