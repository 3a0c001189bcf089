/**
 * The edges of the program, passed in: files, clock, logging, job summary, outputs.
 *
 * The action (`main.ts`) builds a runtime on `@actions/core`; the CLI (`cli.ts`) builds
 * one on the terminal; tests build one on temp folders. Commands never touch
 * `process`, `console` or `@actions/core` directly, so the same code runs everywhere.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'

export interface Logger {
  info(message: string): void
  warning(message: string, where?: { file?: string; line?: number }): void
  error(message: string, where?: { file?: string; line?: number }): void
}

/** Where the run happens on GitHub; absent for local CLI runs. */
export interface GitHubContext {
  owner: string
  repo: string
  apiUrl: string
  /** The commit being synced or collected from (GITHUB_SHA). */
  sha?: string
  /** Link to this workflow run, for PR bodies. */
  runUrl?: string
}

export interface Runtime {
  cwd: string
  now(): number
  log: Logger
  /** Plain text meant for a person (plans, PR body in dry-run). */
  print(text: string): void
  readText(path: string): Promise<string | null>
  writeText(path: string, content: string): Promise<void>
  summary?(markdown: string): Promise<void>
  setOutput?(name: string, value: string): void
  /** Progress of long reads (a terminal line in the CLI, nothing in Actions). */
  progress?: (p: { filesDone: number; filesTotal: number; bytesRead: number; records: number }) => void
  github?: GitHubContext
}

/** Reads a UTF-8 file; `null` when it does not exist (any other failure throws). */
export async function readTextOrNull(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw new Error(`cannot read ${path}: ${(e as Error).message}`)
  }
}

/** Writes through a temp file and a rename, so an interrupted run never leaves half a list. */
export async function writeTextAtomic(path: string, content: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true })
  const tmp = `${path}.tmp-${process.pid}`
  await writeFile(tmp, content, 'utf8')
  await rename(tmp, path)
}

/** File edges rooted at `cwd`. */
export function fileEdges(cwd: string): Pick<Runtime, 'cwd' | 'readText' | 'writeText'> {
  return {
    cwd,
    readText: (p) => readTextOrNull(resolve(cwd, p)),
    writeText: (p, c) => writeTextAtomic(resolve(cwd, p), c)
  }
}
