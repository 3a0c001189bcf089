/**
 * The edges of the program, passed in: files, clock, logging, job summary, outputs.
 *
 * The action (`main.ts`) builds a runtime on `@actions/core`; the CLI (`cli.ts`) builds
 * one on the terminal; tests build one on temp folders. Commands never touch
 * `process`, `console` or `@actions/core` directly, so the same code runs everywhere.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { escapeHtml, escapeMarkdown } from './core/render/escape.js'

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
  /**
   * The GitHub client's waits: back-off unit and write pacing (`createGitHubClient`).
   * Absent in production (1 s unit, the plugin's pacing); tests set zeros so nothing sleeps.
   */
  timing?: { retryUnitMs: number; pacingMs: { write: number; notifications: number } }
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
  /**
   * Masks the run's secrets in a text (see `redactor`). Commands apply it to raw text
   * before any renderer escapes it (plan warnings, PR title/body, commit message); the
   * output edges apply it once more to everything they write.
   */
  redact?: (text: string) => string
  /**
   * Multiplies every wait between attempts: the Cloudflare SDK's back-off and Retry-After,
   * the Gateway write recovery, Log Explorer's one retry, GitHub's back-off and write pacing
   * (unless `github.timing` is given). Absent or 1 in production; tests use 0 so nothing
   * sleeps. Only the waits change: the number of attempts never does.
   */
  waitScale?: number
}

/** The one switch a spawned bundle or CLI reads to shorten its waits (see `waitScaleFromEnv`). */
export const WAIT_SCALE_ENV = 'GATEWAY_TLS_BYPASS_WAIT_SCALE'

/**
 * `GATEWAY_TLS_BYPASS_WAIT_SCALE`: unset or blank is 1 (the real waits); otherwise a number
 * from 0 to 1. It can only shorten waits, never lengthen them or turn retries off, and any
 * other value fails the run before anything is read or written.
 */
export function waitScaleFromEnv(env: NodeJS.ProcessEnv): number {
  const raw = env[WAIT_SCALE_ENV]?.trim() ?? ''
  if (raw === '') return 1
  const scale = Number(raw)
  if (!/^\d+(\.\d+)?$/.test(raw) || !(scale >= 0 && scale <= 1)) {
    throw new Error(`${WAIT_SCALE_ENV} must be a number from 0 to 1 (it only shortens retry waits); got ${JSON.stringify(raw.slice(0, 20))}`)
  }
  return scale
}

/** A sleep whose waits are multiplied by `scale` (1 when absent); 0 resolves at once. */
export function scaledSleep(scale = 1): (ms: number) => Promise<void> {
  return (ms) => {
    const wait = ms * scale
    return wait > 0 ? new Promise((resolve) => setTimeout(resolve, wait)) : Promise.resolve()
  }
}

/** Fragments at least this long are masked wherever they appear (as the log redactor always did). */
const MIN_FRAGMENT = 8

/**
 * The spellings a secret can take on its way out: as is, Markdown-escaped (a renderer
 * writes `\_` and `\-`, which broke exact-match masking), HTML-escaped, URL-encoded and
 * JSON-escaped (including the all-`\u00XX` form some encoders use for punctuation).
 */
export function secretSpellings(secret: string): string[] {
  const u = (c: string): string => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`
  const forms = [
    secret,
    escapeMarkdown(secret),
    escapeHtml(secret),
    encodeURIComponent(secret),
    JSON.stringify(secret).slice(1, -1),
    secret.replace(/[^A-Za-z0-9]/g, u)
  ]
  return [...new Set(forms)]
}

/**
 * Replaces every occurrence of each secret (≥ 4 characters, as given and trimmed) with
 * `***`, and every fragment of it of 8 characters or more (prefix, suffix or middle):
 * error messages quote fragments (JSON.parse quotes the first ten characters of a body;
 * logs cut long values), and the runner only masks the exact value. Each secret is also
 * matched in every spelling of `secretSpellings`, so escaping before or after this
 * function cannot hide it.
 *
 * Fragments are found through their 8-character windows: a text position starts a masked
 * run when its next 8 characters are a window of some spelling, and overlapping windows
 * merge, so a fragment of any length ≥ 8 is masked whole in one linear pass.
 */
export function redactor(secrets: (string | undefined)[]): (s: string) => string {
  const wholes = new Set<string>()
  const trimmed = new Set<string>()
  for (const raw of secrets) {
    const s = raw?.trim()
    if (!raw || !s || s.length < 4) continue
    wholes.add(raw)
    for (const f of secretSpellings(s)) trimmed.add(f)
  }
  // Windows come from the trimmed spellings only: a window of " token" would mask the
  // space before a quoted token too.
  const windows = new Set<string>()
  for (const w of trimmed) {
    wholes.add(w)
    for (let i = 0; i + MIN_FRAGMENT <= w.length; i++) windows.add(w.slice(i, i + MIN_FRAGMENT))
  }
  const exact = [...wholes].sort((a, b) => b.length - a.length)
  if (exact.length === 0) return (text) => text
  return (text) => {
    if (typeof text !== 'string' || text === '') return text
    const spans: [number, number][] = []
    for (const w of exact) for (let i = text.indexOf(w); i >= 0; i = text.indexOf(w, i + 1)) spans.push([i, i + w.length])
    if (windows.size > 0) for (let i = 0; i + MIN_FRAGMENT <= text.length; i++) if (windows.has(text.slice(i, i + MIN_FRAGMENT))) spans.push([i, i + MIN_FRAGMENT])
    return maskSpans(text, spans)
  }
}

/** Replaces each run of overlapping spans with `***`. */
function maskSpans(text: string, spans: [number, number][]): string {
  if (spans.length === 0) return text
  spans.sort((a, b) => a[0] - b[0])
  let out = ''
  let at = 0
  let start = spans[0]![0]
  let end = spans[0]![1]
  const flush = (): void => {
    out += `${text.slice(at, start)}***`
    at = end
  }
  for (const [s, e] of spans.slice(1)) {
    if (s < end) end = Math.max(end, e)
    else {
      flush()
      start = s
      end = e
    }
  }
  flush()
  return out + text.slice(at)
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
