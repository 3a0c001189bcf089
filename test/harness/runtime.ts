/**
 * An in-process Runtime for command tests: a temp workspace seeded with files, a fixed
 * clock, and everything the command says captured for assertions. Faster than spawning
 * the bundle (see run-action.ts for that), same commands.
 */
import { cp, mkdir, mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseInputs, type Inputs } from '../../action/src/inputs.js'
import { runCommand, type RunResult } from '../../action/src/run.js'
import { fileEdges, type GitHubContext, type Runtime } from '../../action/src/runtime.js'

export interface CapturedRuntime extends Runtime {
  logs: { level: 'info' | 'warning' | 'error'; message: string }[]
  printed: string[]
  outputs: Record<string, string>
  summaries: string[]
  /** Everything the run said, in one string (for "never contains X" assertions). */
  all(): string
}

const repoRoot = fileURLToPath(new URL('../../', import.meta.url))

/**
 * A workspace with the repository's own `lists/` and `exclusions.yaml` (or `files` given),
 * and a runtime over it.
 */
export async function testRuntime(o: { files?: Record<string, string>; now?: number; github?: GitHubContext; withRepoFiles?: boolean; waitScale?: number } = {}): Promise<CapturedRuntime> {
  const ws = await mkdtemp(join(tmpdir(), 'gtb-test-'))
  if (o.withRepoFiles !== false) {
    await cp(join(repoRoot, 'lists'), join(ws, 'lists'), { recursive: true })
    await cp(join(repoRoot, 'exclusions.yaml'), join(ws, 'exclusions.yaml'))
  }
  for (const [path, content] of Object.entries(o.files ?? {})) {
    await mkdir(dirname(join(ws, path)), { recursive: true })
    await writeFile(join(ws, path), content)
  }
  const logs: CapturedRuntime['logs'] = []
  const printed: string[] = []
  const outputs: Record<string, string> = {}
  const summaries: string[] = []
  const now = o.now ?? Date.now()
  return {
    ...fileEdges(ws),
    now: () => now,
    log: {
      info: (message) => logs.push({ level: 'info', message }),
      warning: (message) => logs.push({ level: 'warning', message }),
      error: (message) => logs.push({ level: 'error', message })
    },
    print: (t) => printed.push(t),
    summary: async (md) => {
      summaries.push(md)
    },
    setOutput: (name, value) => {
      outputs[name] = value
    },
    github: o.github,
    // Retries and pacing keep their counts; only their waits are zero (no test sleeps).
    waitScale: o.waitScale ?? 0,
    logs,
    printed,
    outputs,
    summaries,
    all: () => [...logs.map((l) => l.message), ...printed, ...summaries, ...Object.values(outputs)].join('\n')
  }
}

/** Inputs as the action would read them: the action.yml defaults plus these. */
export function inputsFor(raw: Record<string, string>): Inputs {
  return parseInputs(raw)
}

/**
 * Runs a command in-process and captures the outcome instead of throwing: the result or
 * the error, and everything the run said plus the error message as one text (for
 * "never contains a secret" assertions).
 */
export async function runCaptured(rt: CapturedRuntime, raw: Record<string, string>): Promise<{ result?: RunResult; error?: Error; text: string }> {
  try {
    const result = await runCommand(rt, inputsFor(raw))
    return { result, text: rt.all() }
  } catch (e) {
    const error = e as Error
    return { error, text: [rt.all(), error.message].join('\n') }
  }
}
