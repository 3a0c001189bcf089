// `npm run demo`: generates the bundled sample logs (pinned apps, noise, a google.com failure
// the default exclusions suppress, a failure without SNI, a hostile SNI, a device without the
// Gateway certificate, a truncated file)
// and runs collect on them through the CLI bundle — offline, dry-run, nothing written.
import { spawnSync } from 'node:child_process'
import { rm } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { writeSample } from './make-sample.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const dir = fileURLToPath(new URL('../.demo/logs', import.meta.url))
await rm(dir, { recursive: true, force: true })
const { files, records } = await writeSample(dir, { now: Date.now() })
process.stderr.write(`Generated ${records} sample log records in ${files} files under .demo/logs\n\n`)

const args = ['action/dist/cli.mjs', 'collect', '--source', 'logpush', '--logpush-dir', dir, '--lookback', '24h', '--dry-run']
process.stderr.write(`$ gateway-tls-bypass ${args.slice(1).join(' ').replace(dir, '.demo/logs')}\n\n`)
const run = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' })
process.exitCode = run.status ?? 1
