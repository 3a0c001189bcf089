/**
 * Thin async wrapper over the `git` CLI for the GitHub emulator: every object the
 * emulated API hands out is a real object in a real bare repository, so SHAs, trees and
 * ancestry behave exactly as on GitHub and tests can `git clone` the result.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** A parsed `Name <email> 1700000000 +0000` identity line. */
export interface GitIdentity {
  name: string
  email: string
  /** ISO 8601, UTC, second precision: the format GitHub returns. */
  date: string
}

/** A parsed commit object. */
export interface GitCommit {
  sha: string
  tree: string
  parents: string[]
  author: GitIdentity
  committer: GitIdentity
  message: string
}

/** One entry of a (possibly recursive) tree listing. */
export interface GitTreeEntry {
  mode: string
  type: 'blob' | 'tree' | 'commit'
  sha: string
  path: string
  size?: number
}

/** A change to apply on top of a tree: content, an existing object, or a deletion. */
export type TreeChange =
  | { path: string; mode: string; content: Buffer }
  | { path: string; mode: string; type: 'blob' | 'tree' | 'commit'; sha: string }
  | { path: string; delete: true }

/** Raised when git rejects an operation; `stderr` carries git's own words. */
export class GitError extends Error {
  constructor(
    readonly args: string[],
    readonly code: number | null,
    readonly stderr: string
  ) {
    super(`git ${args.join(' ')} failed (${code}): ${stderr.trim()}`)
  }
}

const SHA_RE = /^[0-9a-f]{40}$/

/** True for a full lower-case SHA-1 hex string. */
export function isSha(s: string): boolean {
  return SHA_RE.test(s)
}

/**
 * A bare repository plus the plumbing the emulator needs. Global and system git config
 * are ignored so that a developer's `~/.gitconfig` (hooks, signing, default branch)
 * cannot change what the emulator writes.
 */
export class GitRepo {
  private constructor(
    readonly dir: string,
    private readonly root: string
  ) {}

  /** Creates an empty bare repository in a fresh temporary directory. */
  static async create(defaultBranch: string): Promise<GitRepo> {
    const root = await mkdtemp(join(tmpdir(), 'gh-emu-'))
    const repo = new GitRepo(join(root, 'repo.git'), root)
    await run(['init', '--quiet', '--bare', `--initial-branch=${defaultBranch}`, repo.dir], {}, root)
    return repo
  }

  /** Removes the repository and its temporary directory. */
  async destroy(): Promise<void> {
    await rm(this.root, { recursive: true, force: true })
  }

  /** Runs git against this repository and returns stdout as bytes. */
  async raw(args: string[], o: { input?: Buffer | string; env?: Record<string, string> } = {}): Promise<Buffer> {
    return run(args, { GIT_DIR: this.dir, ...o.env }, this.root, o.input)
  }

  /** Runs git and returns stdout as trimmed text. */
  async text(args: string[], o: { input?: Buffer | string; env?: Record<string, string> } = {}): Promise<string> {
    return (await this.raw(args, o)).toString('utf8').trim()
  }

  /** Writes a blob and returns its SHA. */
  async writeBlob(content: Buffer): Promise<string> {
    return this.text(['hash-object', '-w', '--stdin'], { input: content })
  }

  /** The type of an object, or null when it does not exist. */
  async objectType(sha: string): Promise<string | null> {
    if (!isSha(sha)) return null
    try {
      return await this.text(['cat-file', '-t', sha])
    } catch {
      return null
    }
  }

  /** Reads a blob's bytes. */
  async readBlob(sha: string): Promise<Buffer> {
    return this.raw(['cat-file', 'blob', sha])
  }

  /** Resolves a branch name, full ref or SHA to a commit SHA, or null. */
  async resolveCommit(ref: string): Promise<string | null> {
    // Refuse option-looking and odd names instead of passing them to git.
    if (!/^[A-Za-z0-9._/@-]+$/.test(ref) || ref.startsWith('-')) return null
    const candidates = isSha(ref) ? [ref] : [`refs/heads/${ref}`, `refs/tags/${ref}`, ref]
    for (const c of candidates) {
      try {
        return await this.text(['rev-parse', '--verify', '--quiet', `${c}^{commit}`])
      } catch {
        // try the next spelling
      }
    }
    return null
  }

  /** The SHA a full ref points at, or null. */
  async readRef(ref: string): Promise<string | null> {
    try {
      return await this.text(['rev-parse', '--verify', '--quiet', ref])
    } catch {
      return null
    }
  }

  /** Full ref names under a prefix, e.g. `refs/heads/`. */
  async listRefs(prefix: string): Promise<{ ref: string; sha: string }[]> {
    const out = await this.text(['for-each-ref', '--format=%(refname) %(objectname)', prefix])
    return out === '' ? [] : out.split('\n').map((l) => {
      const [ref = '', sha = ''] = l.split(' ')
      return { ref, sha }
    })
  }

  /**
   * Points a ref at `sha`. With `expected`, the update is atomic compare-and-swap (git's
   * own old-value check), which is what makes concurrent emulated pushes safe.
   */
  async updateRef(ref: string, sha: string, expected?: string): Promise<void> {
    await this.raw(expected === undefined ? ['update-ref', ref, sha] : ['update-ref', ref, sha, expected])
  }

  /** Deletes a ref. */
  async deleteRef(ref: string): Promise<void> {
    await this.raw(['update-ref', '-d', ref])
  }

  /** True when `ancestor` is reachable from `descendant` (or equal). */
  async isAncestor(ancestor: string, descendant: string): Promise<boolean> {
    try {
      await this.raw(['merge-base', '--is-ancestor', ancestor, descendant])
      return true
    } catch (e) {
      if (e instanceof GitError && e.code === 1) return false
      throw e
    }
  }

  /** The best common ancestor, or null for unrelated histories. */
  async mergeBase(a: string, b: string): Promise<string | null> {
    try {
      return await this.text(['merge-base', a, b])
    } catch {
      return null
    }
  }

  /** Commits reachable from `head` but not from `base`, oldest first. */
  async revList(base: string, head: string): Promise<string[]> {
    const out = await this.text(['rev-list', '--reverse', '--topo-order', `${base}..${head}`])
    return out === '' ? [] : out.split('\n')
  }

  /** Parses a commit object. */
  async readCommit(sha: string): Promise<GitCommit> {
    const raw = (await this.raw(['cat-file', 'commit', sha])).toString('utf8')
    const split = raw.indexOf('\n\n')
    const header = split === -1 ? raw : raw.slice(0, split)
    const message = split === -1 ? '' : raw.slice(split + 2)
    const parents: string[] = []
    let tree = ''
    let author: GitIdentity | undefined
    let committer: GitIdentity | undefined
    for (const line of header.split('\n')) {
      if (line.startsWith('tree ')) tree = line.slice(5)
      else if (line.startsWith('parent ')) parents.push(line.slice(7))
      else if (line.startsWith('author ')) author = parseIdentity(line.slice(7))
      else if (line.startsWith('committer ')) committer = parseIdentity(line.slice(10))
    }
    if (author === undefined || committer === undefined) throw new Error(`commit ${sha} has no author/committer`)
    return { sha, tree, parents, author, committer, message }
  }

  /** Writes a commit object with explicit identities and returns its SHA. */
  async commitTree(o: { tree: string; parents: string[]; message: string; author: GitIdentity; committer: GitIdentity }): Promise<string> {
    const args = ['commit-tree', o.tree]
    for (const p of o.parents) args.push('-p', p)
    // The message goes through stdin so that git stores it byte for byte (no `-m` cleanup).
    return this.text(args, {
      input: o.message,
      env: {
        GIT_AUTHOR_NAME: o.author.name,
        GIT_AUTHOR_EMAIL: o.author.email,
        GIT_AUTHOR_DATE: o.author.date,
        GIT_COMMITTER_NAME: o.committer.name,
        GIT_COMMITTER_EMAIL: o.committer.email,
        GIT_COMMITTER_DATE: o.committer.date
      }
    })
  }

  /** Lists a tree; `recursive` descends into subtrees like `?recursive=1`. */
  async lsTree(treeish: string, recursive: boolean): Promise<GitTreeEntry[]> {
    const args = ['ls-tree', '-z', '--long', '--full-tree']
    if (recursive) args.push('-r', '-t')
    args.push(treeish)
    const out = (await this.raw(args)).toString('utf8')
    return out.split('\0').filter((l) => l !== '').map((l) => {
      const tab = l.indexOf('\t')
      const [mode = '', type = '', sha = '', size = '-'] = l.slice(0, tab).split(/\s+/)
      const entry: GitTreeEntry = { mode, type: type as GitTreeEntry['type'], sha, path: l.slice(tab + 1) }
      if (size !== '-') entry.size = Number(size)
      return entry
    })
  }

  /** Looks up one path in a tree-ish, or null when absent. */
  async entryAt(treeish: string, path: string): Promise<GitTreeEntry | null> {
    const out = (await this.raw(['ls-tree', '-z', '--long', '--full-tree', treeish, '--', path])).toString('utf8')
    const line = out.split('\0').find((l) => l.endsWith(`\t${path}`))
    if (line === undefined) return null
    const tab = line.indexOf('\t')
    const [mode = '', type = '', sha = '', size = '-'] = line.slice(0, tab).split(/\s+/)
    const entry: GitTreeEntry = { mode, type: type as GitTreeEntry['type'], sha, path }
    if (size !== '-') entry.size = Number(size)
    return entry
  }

  /**
   * Builds a tree from `base` (a tree SHA, or null for empty) plus changes, through a
   * throw-away index file: git handles nested paths, sorting and subtree rewriting.
   * Throws `MissingPathError` when a deletion names a path that is not in the tree.
   */
  async buildTree(base: string | null, changes: TreeChange[]): Promise<string> {
    const index = join(this.root, `index-${process.pid}-${Math.random().toString(36).slice(2)}`)
    const env = { GIT_INDEX_FILE: index }
    try {
      if (base !== null) await this.raw(['read-tree', base], { env })
      else await this.raw(['read-tree', '--empty'], { env })
      for (const c of changes) {
        if ('delete' in c) {
          const present = await this.text(['ls-files', '--cached', '--', c.path], { env })
          if (present === '') throw new MissingPathError(c.path)
          await this.raw(['rm', '--cached', '-r', '--quiet', '--', c.path], { env })
        } else if ('content' in c) {
          const sha = await this.writeBlob(c.content)
          await this.replaceEntry(env, c.path)
          await this.raw(['update-index', '--add', '--cacheinfo', `${c.mode},${sha},${c.path}`], { env })
        } else if (c.type === 'tree') {
          await this.replaceEntry(env, c.path)
          await this.raw(['read-tree', `--prefix=${c.path}/`, c.sha], { env })
        } else {
          await this.replaceEntry(env, c.path)
          await this.raw(['update-index', '--add', '--cacheinfo', `${c.mode},${c.sha},${c.path}`], { env })
        }
      }
      return await this.text(['write-tree'], { env })
    } finally {
      await rm(index, { force: true })
    }
  }

  /** Drops whatever sits at `path` (file or directory) so a new entry can take its place. */
  private async replaceEntry(env: Record<string, string>, path: string): Promise<void> {
    const present = await this.text(['ls-files', '--cached', '--', path], { env })
    if (present !== '') await this.raw(['rm', '--cached', '-r', '--quiet', '--', path], { env })
  }

  /** Merges two commits in memory; returns the tree, or null on conflicts. */
  async mergeTrees(ours: string, theirs: string): Promise<string | null> {
    try {
      const out = await this.text(['merge-tree', '--write-tree', '--no-messages', ours, theirs])
      return out.split('\n')[0] ?? null
    } catch (e) {
      if (e instanceof GitError && e.code === 1) return null
      throw e
    }
  }

  /** `git diff --name-status` between two commits, for the compare endpoint. */
  async changedFiles(from: string, to: string): Promise<{ status: string; path: string }[]> {
    const out = (await this.raw(['diff-tree', '-r', '-z', '--no-renames', '--name-status', from, to])).toString('utf8')
    const parts = out.split('\0').filter((p) => p !== '')
    const files: { status: string; path: string }[] = []
    for (let i = 0; i + 1 < parts.length; i += 2) files.push({ status: parts[i] ?? '', path: parts[i + 1] ?? '' })
    return files
  }
}

/** A tree deletion named a path that the base tree does not contain. */
export class MissingPathError extends Error {
  constructor(readonly path: string) {
    super(`path ${path} does not exist in the base tree`)
  }
}

function parseIdentity(s: string): GitIdentity {
  const m = /^(.*) <([^>]*)> (\d+) ([+-]\d{4})$/.exec(s)
  if (m === null) return { name: s, email: '', date: new Date(0).toISOString() }
  const seconds = Number(m[3])
  return { name: m[1] ?? '', email: m[2] ?? '', date: new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z') }
}

function run(args: string[], env: Record<string, string>, cwd: string, input?: Buffer | string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, {
      cwd,
      env: {
        PATH: process.env['PATH'] ?? '/usr/bin:/bin',
        HOME: cwd,
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_CONFIG_GLOBAL: '/dev/null',
        GIT_TERMINAL_PROMPT: '0',
        LC_ALL: 'C',
        ...env
      },
      stdio: ['pipe', 'pipe', 'pipe']
    })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (d: Buffer) => out.push(d))
    child.stderr.on('data', (d: Buffer) => err.push(d))
    child.on('error', reject)
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out))
      else reject(new GitError(args, code, Buffer.concat(err).toString('utf8')))
    })
    child.stdin.on('error', () => {
      // git may exit before reading stdin (e.g. a bad argument); the exit code reports it.
    })
    child.stdin.end(input ?? '')
  })
}
