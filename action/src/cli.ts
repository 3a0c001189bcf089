#!/usr/bin/env node
/**
 * `gateway-tls-bypass <command> [--flags]`: the same commands as the action, locally.
 * Every action input is a `--flag` of the same name; secrets and the account can come
 * from the environment (CLOUDFLARE_API_TOKEN, CLOUDFLARE_ACCOUNT_ID) so they stay out of
 * shell history. Locally, collect rewrites the list files (no pull request).
 */
import { parseArgs } from 'node:util'
import { FileProblemsError } from './commands/files.js'
import { INPUTS, parseInputs } from './inputs.js'
import { runCommand } from './run.js'
import { fileEdges, redactor, type Runtime } from './runtime.js'
import { progressReporter } from './sources/logpush/index.js'

export function helpText(): string {
  const lines = [
    'Usage: gateway-tls-bypass <collect|sync|check> [options]',
    '',
    'Find destinations that fail Cloudflare Gateway TLS inspection, propose them for review,',
    'and apply reviewed lists to a Do Not Inspect policy.',
    '',
    'Examples:',
    '  gateway-tls-bypass collect --source logpush --logpush-dir ./logs --lookback all --dry-run',
    '  CLOUDFLARE_API_TOKEN=... gateway-tls-bypass collect --cloudflare-account-id <id> --lookback 6h --dry-run',
    '  CLOUDFLARE_API_TOKEN=... gateway-tls-bypass check --cloudflare-account-id <id>',
    '',
    'Options (each is also an action input of the same name):'
  ]
  for (const s of INPUTS) {
    if (s.name === 'command' || s.name === 'github-token') continue
    const flag = s.boolean ? `--${s.name}` : `--${s.name} <value>`
    const dflt = s.default && !s.default.startsWith('${{') ? ` (default: ${s.default || 'empty'})` : ''
    const env = s.env ? ` [env ${s.env}]` : ''
    lines.push(`  ${flag}`, `      ${s.description.replace(/`/g, '')}${dflt}${env}`)
  }
  lines.push('  --help', '      Show this help.')
  return lines.join('\n')
}

export async function cli(argv: string[], env: NodeJS.ProcessEnv, io: { out: (s: string) => void; err: (s: string) => void; cwd: string; isTTY: boolean }): Promise<number> {
  const options: Record<string, { type: 'string' | 'boolean' }> = { help: { type: 'boolean' } }
  for (const s of INPUTS) if (s.name !== 'command') options[s.name] = { type: s.boolean ? 'boolean' : 'string' }
  let parsed
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true })
  } catch (e) {
    io.err(`${(e as Error).message}\nRun with --help for the options.`)
    return 2
  }
  const values = parsed.values as Record<string, string | boolean | undefined>
  if (values.help || parsed.positionals.length === 0) {
    io.out(helpText())
    return values.help ? 0 : 2
  }
  if (parsed.positionals.length > 1) {
    io.err(`one command expected, got: ${parsed.positionals.join(' ')}`)
    return 2
  }
  if (!['collect', 'sync', 'check'].includes(parsed.positionals[0]!)) {
    io.err(`unknown command "${parsed.positionals[0]!.slice(0, 40)}": use collect, sync or check (--help lists the options)`)
    return 2
  }
  const raw: Record<string, string | undefined> = { command: parsed.positionals[0] }
  for (const s of INPUTS) {
    if (s.name === 'command') continue
    const v = values[s.name]
    raw[s.name] = typeof v === 'boolean' ? String(v) : v ?? (s.env ? env[s.env] : undefined)
  }
  // Locally collect writes files; a PR needs the action. Don't pick up a stray GITHUB_TOKEN.
  raw['github-token'] = undefined
  const redact = redactor([raw['cloudflare-api-token']])
  const progress = io.isTTY ? progressReporter(process.stderr) : undefined
  const rt: Runtime = {
    ...fileEdges(io.cwd),
    now: () => Date.now(),
    log: {
      info: (m) => io.err(redact(m)),
      warning: (m) => io.err(`warning: ${redact(m)}`),
      error: (m) => io.err(`error: ${redact(m)}`)
    },
    print: (t) => io.out(redact(t)),
    progress,
    redact
  }
  try {
    const inputs = parseInputs(raw)
    await runCommand(rt, inputs)
    return 0
  } catch (e) {
    io.err(`error: ${redact(e instanceof FileProblemsError || e instanceof Error ? e.message : String(e))}`)
    return 1
  }
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
