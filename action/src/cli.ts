#!/usr/bin/env node
/**
 * `gateway-tls-bypass <command> [--flags]`: the action's commands, locally, and `why`.
 * Every action input a command reads is a `--flag` of the same name; secrets and the account
 * can come from the environment (CLOUDFLARE_API_TOKEN, CLOUDFLARE_ACCOUNT_ID) so they stay
 * out of shell history. Locally, collect rewrites the list files (no pull request).
 *
 * Exit codes: 0 done, 1 failed, 2 usage error, 3 `check --detailed-exitcode` with changes.
 */
import { readFileSync } from 'node:fs'
import { isAbsolute, relative, resolve } from 'node:path'
import { createCloudflareClient } from './adapters/cloudflare-client.js'
import { readRemoteState } from './adapters/gateway.js'
import { gitPort } from './adapters/git.js'
import { BIN, helpText, parseCli, type CliRequest } from './cli-args.js'
import { loadFiles, widestOf } from './commands/files.js'
import { canonicalTarget, explain, gatewaySighting, renderWhy, type BypassReader } from './commands/why.js'
import { INPUTS, parseInputs, type CliCommand, type Inputs } from './inputs.js'
import { runCommand } from './run.js'
import { fileEdges, redactor, scaledSleep, waitScaleFromEnv, type Runtime } from './runtime.js'
import { lastBypassed } from './sources/log-explorer/index.js'
import { progressReporter } from './sources/logpush/index.js'

export { helpText } from './cli-args.js'

export const EXIT = { ok: 0, failed: 1, usage: 2, changes: 3 } as const

export interface CliIo { out: (s: string) => void; err: (s: string) => void; cwd: string; isTTY: boolean }

// Set by scripts/build.mjs in the bundle; from source, package.json two folders up.
declare const __GTB_VERSION__: string | undefined

export function version(): string {
  if (typeof __GTB_VERSION__ === 'string') return __GTB_VERSION__
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
  return pkg.version
}

export async function cli(argv: string[], env: NodeJS.ProcessEnv, io: CliIo): Promise<number> {
  const req = parseCli(argv)
  switch (req.kind) {
    case 'help':
      io.out(helpText(req.command))
      return EXIT.ok
    case 'version':
      io.out(`${BIN} ${version()}`)
      return EXIT.ok
    case 'usage':
      io.err(`error: ${req.message}`)
      if (req.showHelp) io.err(`\n${helpText()}`)
      return EXIT.usage
    case 'run':
      return runRequest(req, env, io)
  }
}

/** Flags over the environment over the defaults (parseInputs applies those). */
function rawInputs(command: CliCommand, flags: Map<string, string | true>, env: NodeJS.ProcessEnv): Record<string, string | undefined> {
  // why reads the files and the account as check does; parseInputs knows the action's commands only.
  const raw: Record<string, string | undefined> = { command: command === 'why' ? 'check' : command }
  for (const s of INPUTS) {
    if (s.name === 'command') continue
    const v = flags.get(s.name)
    raw[s.name] = v === true ? 'true' : v ?? (s.env ? env[s.env] : undefined)
  }
  // Locally collect writes files; a PR needs the action. Don't pick up a stray GITHUB_TOKEN.
  raw['github-token'] = undefined
  return raw
}

function runtimeFor(io: CliIo, redact: (s: string) => string): Runtime {
  const tidy = (m: string): string => redact(plainPaths(m, io.cwd))
  return {
    ...fileEdges(io.cwd),
    now: () => Date.now(),
    log: {
      info: (m) => io.err(tidy(m)),
      warning: (m) => io.err(`warning: ${tidy(m)}`),
      error: (m) => io.err(`error: ${tidy(m)}`)
    },
    print: (t) => io.out(redact(t)),
    progress: io.isTTY ? progressReporter(process.stderr) : undefined,
    redact
  }
}

async function runRequest(req: Extract<CliRequest, { kind: 'run' }>, env: NodeJS.ProcessEnv, io: CliIo): Promise<number> {
  const raw = rawInputs(req.command, req.flags, env)
  const redact = redactor([raw['cloudflare-api-token']])
  const rt = runtimeFor(io, redact)
  const detailed = req.flags.has('detailed-exitcode')
  if (detailed && (!raw['cloudflare-api-token'] || !raw['cloudflare-account-id'])) {
    io.err('error: check --detailed-exitcode needs the plan, so a token and the account: set CLOUDFLARE_API_TOKEN and --cloudflare-account-id (or CLOUDFLARE_ACCOUNT_ID)')
    return EXIT.usage
  }
  try {
    const inputs = parseInputs(raw)
    rt.waitScale = waitScaleFromEnv(env)
    if (req.command === 'why') return await why(rt, inputs, req.positionals[0]!, io)
    const result = await runCommand(rt, inputs)
    if (detailed && result.command === 'check') return (result.result.plan?.changes ?? 0) > 0 ? EXIT.changes : EXIT.ok
    return EXIT.ok
  } catch (e) {
    io.err(`error: ${redact(plainPaths(e instanceof Error ? e.message : String(e), io.cwd))}`)
    return EXIT.failed
  }
}

/** `why VALUE`: the history from git, the files from disk, Gateway and Log Explorer with a token. */
async function why(rt: Runtime, inputs: Inputs, value: string, io: CliIo): Promise<number> {
  const target = canonicalTarget(value)
  if ('error' in target) {
    io.err(`error: why: ${target.error}`)
    return EXIT.usage
  }
  const files = await loadFiles(rt, { listsDir: inputs['lists-dir'], exclusionsFile: inputs['exclusions-file'], requireLists: false, widest: widestOf(inputs) })
  const git = gitPort(io.cwd)
  try {
    await git.isShallow()
  } catch (e) {
    throw new Error(`why reads the history of the list files with git, and git could not read it here (${(e as Error).message}). Run it inside a clone of your repository.`, { cause: e })
  }
  const { remote, bypass } = gatewayReaders(inputs, rt.waitScale)
  const report = await explain(target, files, git, remote, bypass)
  rt.print(renderWhy(report))
  return EXIT.ok
}

/** With a token and an account: which managed list holds the value, and its last bypass. */
function gatewayReaders(inputs: Inputs, waitScale?: number): { remote?: Parameters<typeof explain>[3]; bypass?: BypassReader } {
  const token = inputs['cloudflare-api-token']
  const accountId = inputs['cloudflare-account-id']
  if (!token || !accountId) return {}
  const client = createCloudflareClient({ apiToken: token, baseURL: inputs['cloudflare-api-url'], waitScale })
  const sleep = scaledSleep(waitScale)
  const names = { prefix: inputs['list-prefix'], policyName: inputs['policy-name'], sleep }
  let state: ReturnType<typeof readRemoteState> | undefined
  const read = () => (state ??= readRemoteState(client, accountId, names))
  const remote = async (kind: 'ip' | 'host', value: string) => gatewaySighting(await read(), kind, value)
  const days = inputs['idle-days']
  if (days === 0) return { remote }
  const bypass: BypassReader = async (kind, value) => {
    // The policy's id names it even after a rename; without a readable policy, its name.
    const policyId = await read().then((s) => s.policy?.id, () => undefined)
    const policy = policyId ? { id: policyId, name: names.policyName } : { name: names.policyName }
    return { days, at: await lastBypassed({ client, accountId, policy, sleep }, { kind, value }, days) }
  }
  return { remote, bypass }
}

/**
 * Paths in a message, relative to the working directory: `./nope`, not `/home/…/repo/./nope`;
 * Node's errno wording (`ENOENT: no such file or directory, stat '…'`) as plain words.
 */
export function plainPaths(text: string, cwd: string): string {
  if (resolve(cwd) === '/') return text
  const plain = text.replace(/\bE[A-Z]{2,}: ([^,\n]+), [a-z]+ '[^'\n]*'( -> '[^'\n]*')?/g, '$1')
  return plain.replace(/(?<![\w.:/~-])\/[^\s'"`,;()<>]*/g, (p) => {
    const trail = /[.:]+$/.exec(p)?.[0] ?? ''
    const path = p.slice(0, p.length - trail.length)
    if (!path) return p
    const abs = resolve(path)
    const rel = relative(cwd, abs)
    if (rel === '') return `.${trail}`
    if (!rel.startsWith('..') && !isAbsolute(rel)) return `./${rel}${trail}`
    return (/\/\.\.?(\/|$)/.test(path) ? abs : path) + trail
  })
}

const isEntry = import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('/cli.mjs') || process.argv[1]?.endsWith('/gateway-tls-bypass')
if (isEntry) {
  void cli(process.argv.slice(2), process.env, {
    out: (s) => process.stdout.write(`${s}\n`),
    err: (s) => process.stderr.write(`${s}\n`),
    cwd: process.cwd(),
    isTTY: !!process.stderr.isTTY
  }).then((code) => {
    process.exitCode = code
  })
}
