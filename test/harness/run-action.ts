/**
 * Runs the committed bundle (`action/dist/index.mjs`) the way the GitHub runner does:
 * `node <runs.main>` in the workspace, inputs as `INPUT_<NAME>` (hyphens kept, as
 * `@actions/core` reads them) with the `action.yml` defaults filled in, the `GITHUB_*`
 * variables, and real `GITHUB_OUTPUT` / `GITHUB_STEP_SUMMARY` files.
 *
 * The child gets a clean environment: nothing from this machine (no stray CLOUDFLARE_* or
 * GITHUB_* credentials) reaches it. It is spawned asynchronously because the emulators
 * it talks to run in this process.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'

const actionDir = fileURLToPath(new URL('../../action/', import.meta.url))

export interface ActionRun {
  code: number
  stdout: string
  stderr: string
  outputs: Record<string, string>
  summary: string
}

export interface ActionRunOptions {
  workspace: string
  inputs: Record<string, string>
  github: { repository: string; apiUrl: string; token: string; sha?: string; runId?: string }
  /** Extra environment (e.g. CLOUDFLARE_BASE_URL); nothing else is inherited. */
  env?: Record<string, string>
}

/** The `action.yml` defaults, with `${{ github.token }}` resolved as the runner would. */
export async function actionDefaults(token: string): Promise<Record<string, string>> {
  const action = parse(await readFile(join(actionDir, 'action.yml'), 'utf8')) as { inputs: Record<string, { default?: string }> }
  const out: Record<string, string> = {}
  for (const [name, spec] of Object.entries(action.inputs)) {
    if (spec.default === undefined) continue
    out[name] = spec.default === '${{ github.token }}' ? token : spec.default
  }
  return out
}

/** Parses the `name<<delimiter` blocks `@actions/core` writes to `GITHUB_OUTPUT`. */
/** Runs `node ...args` to its end, with everything it printed. */
export async function runNode(args: string[], o: { cwd: string; env: NodeJS.ProcessEnv }): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, args, { cwd: o.cwd, env: o.env, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const code = await new Promise<number>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (c) => resolve(c ?? 1))
  })
  return { code, stdout, stderr }
}

export function parseOutputFile(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const m = /^([^<=]+)<<(.+)$/.exec(lines[i]!)
    if (!m) continue
    const value: string[] = []
    for (i++; i < lines.length && lines[i] !== m[2]; i++) value.push(lines[i]!)
    out[m[1]!] = value.join('\n')
  }
  return out
}

export async function runActionBundle(o: ActionRunOptions): Promise<ActionRun> {
  const tmp = await mkdtemp(join(tmpdir(), 'gtb-runner-'))
  const outputFile = join(tmp, 'output')
  const summaryFile = join(tmp, 'summary')
  await writeFile(outputFile, '')
  await writeFile(summaryFile, '')
  const inputs = { ...(await actionDefaults(o.github.token)), ...o.inputs }
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: tmp,
    GITHUB_ACTIONS: 'true',
    CI: 'true',
    GITHUB_WORKSPACE: o.workspace,
    GITHUB_REPOSITORY: o.github.repository,
    GITHUB_API_URL: o.github.apiUrl,
    GITHUB_SERVER_URL: 'https://github.example',
    GITHUB_SHA: o.github.sha ?? '',
    GITHUB_RUN_ID: o.github.runId ?? '1',
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    RUNNER_TEMP: tmp,
    // Same retries, zero waits between them (README, Development); a test may set it back.
    GATEWAY_TLS_BYPASS_WAIT_SCALE: '0',
    ...o.env
  }
  for (const [name, value] of Object.entries(inputs)) env[`INPUT_${name.toUpperCase()}`] = value

  const { code, stdout, stderr } = await runNode([join(actionDir, 'dist', 'index.mjs')], { cwd: o.workspace, env })
  return {
    code,
    stdout,
    stderr,
    outputs: parseOutputFile(await readFile(outputFile, 'utf8')),
    summary: await readFile(summaryFile, 'utf8')
  }
}
