/**
 * Local git history, read with the `git` command in the checkout. Used by `why`, which
 * answers "why is this line here?" from the commits that added and removed it.
 */
import { execFile } from 'node:child_process'

/** The history of one file, as `why` needs it. */
export interface GitPort {
  /** True when the checkout is shallow (older commits are missing). */
  isShallow(): Promise<boolean>
  /**
   * Commits that change the number of occurrences of `text` in `file`, newest first, with
   * their message and the lines they added and removed in that file (zero context).
   */
  commitsTouching(file: string, text: string): Promise<TouchingCommit[]>
  /**
   * For each line of `file` at HEAD: when the commit that last introduced it was made.
   * Empty when the file is not tracked, and in a shallow checkout (its oldest commit would
   * claim every older line, making old entries look new).
   */
  lineDates(file: string): Promise<Map<string, number>>
}

export interface TouchingCommit {
  sha: string
  /** Committer date, ISO 8601. */
  date: string
  message: string
  added: string[]
  removed: string[]
}

// Field and record separators that never occur in commit messages or diffs of text files.
const FIELD = '\x1f'
const RECORD = '\x1e'

function git(cwd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('git', args, { cwd, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) reject(new Error(`git ${args[0]} failed: ${(stderr || err.message).split('\n')[0]}`))
      else resolve(stdout)
    })
  })
}

/** Parses `git log -p --format=RECORD%H FIELD %cI FIELD %B FIELD` output. */
export function parseLogWithPatches(out: string): TouchingCommit[] {
  const commits: TouchingCommit[] = []
  for (const record of out.split(RECORD).slice(1)) {
    const [sha = '', date = '', message = '', patch = ''] = record.split(FIELD)
    const added: string[] = []
    const removed: string[] = []
    for (const line of patch.split('\n')) {
      if (line.startsWith('+++') || line.startsWith('---')) continue
      if (line.startsWith('+')) added.push(line.slice(1).replace(/\r$/, ''))
      else if (line.startsWith('-')) removed.push(line.slice(1).replace(/\r$/, ''))
    }
    commits.push({ sha: sha.trim(), date: date.trim(), message: message.trim(), added, removed })
  }
  return commits
}

/**
 * Parses `git blame --line-porcelain`: each line's header block names its commit, the
 * committer time, and `boundary` when the commit is the edge of the history read.
 */
export function parseBlame(out: string): Map<string, number> {
  const dates = new Map<string, number>()
  let time = NaN
  let boundary = false
  for (const line of out.split('\n')) {
    if (line.startsWith('\t')) {
      const text = line.slice(1).replace(/\r$/, '').trim()
      if (text && !boundary && Number.isFinite(time) && !dates.has(text)) dates.set(text, time * 1000)
      time = NaN
      boundary = false
    } else if (line.startsWith('committer-time ')) time = Number(line.slice('committer-time '.length))
    else if (line === 'boundary') boundary = true
  }
  return dates
}

export function gitPort(cwd: string): GitPort {
  return {
    isShallow: async () => (await git(cwd, ['rev-parse', '--is-shallow-repository'])).trim() === 'true',
    commitsTouching: async (file, text) => {
      // -S is a fixed string (no regex), so a value can never be read as a pattern or an option
      // (`--` ends the options; the value is one argv element, no shell is involved).
      const out = await git(cwd, ['log', '-p', '--unified=0', '--no-color', '--no-ext-diff', `--format=${RECORD}%H${FIELD}%cI${FIELD}%B${FIELD}`, `-S${text}`, '--', file])
      return parseLogWithPatches(out)
    },
    lineDates: async (file) => {
      try {
        if ((await git(cwd, ['rev-parse', '--is-shallow-repository'])).trim() === 'true') return new Map()
        // --root: the repository's first commit really added its lines (not a boundary).
        // --first-parent: a line merged from a proposal PR dates from the merge, when it
        // reached the default branch (and sync applied it), not from the proposal commit.
        return parseBlame(await git(cwd, ['blame', '--root', '--first-parent', '--line-porcelain', 'HEAD', '--', file]))
      } catch {
        return new Map()
      }
    }
  }
}
