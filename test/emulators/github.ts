/**
 * A GitHub REST API emulator for tests: a real `node:http` server on 127.0.0.1 backed by
 * a real bare git repository. It speaks the documented shapes of the endpoints the
 * pull-request adapter uses (repos, Git Data refs/commits/trees/blobs, contents, compare,
 * pulls, issue labels and comments), including GitHub's error shapes and the 422s that
 * matter: "A pull request already exists for owner:branch.", "No commits between ...",
 * "Update is not a fast forward", "Reference already exists".
 *
 * Why a server and not a mock: `@actions/github` sends through undici's own `fetch`,
 * which msw/nock do not see (conventions §5.2), and a real repository makes SHAs, tree
 * identity and ancestry honest, which is what idempotence and "a person pushed" hinge on.
 *
 * Not emulated: pagination of compare, GraphQL, webhooks/checks, mergeability, rate-limit
 * headers (inject them), permissions beyond "token matches".
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { GitError, GitRepo, isSha, MissingPathError, type GitCommit, type GitIdentity, type TreeChange } from './github-git.js'

/**
 * The GitHub client's waits for tests (`GitHubContext.timing`): retries and `Retry-After`
 * happen at once and writes are not paced, while the retry and throttling plugins stay on.
 */
export const NO_WAITS = { retryUnitMs: 0, pacingMs: { write: 0, notifications: 0 } } as const

/** One request the emulator answered, in arrival order. */
export interface RecordedRequest {
  method: string
  /** Path plus query string, as sent (still URL-encoded). */
  path: string
  /** Parsed JSON body, or undefined when there was none. */
  body: unknown
  status: number
}

/** The emulator's view of a pull request; `head.sha` follows the branch. */
export interface EmuPull {
  number: number
  state: 'open' | 'closed'
  head: { ref: string; sha: string }
  base: { ref: string }
  title: string
  body: string
  labels: string[]
  merged: boolean
  /** Issue comments, oldest first. */
  comments: string[]
}

/**
 * A fault or hook for the next matching request(s). With `status`, the emulator answers
 * with it (and `body`/`headers`) instead of handling the request. With `before` and no
 * `status`, it runs `before` (e.g. moves a branch) and then handles the request normally,
 * which is how "the branch moved between the adapter's read and its write" is staged.
 */
export interface Injection {
  method?: string
  /** Tested against the URL path without the query string, e.g. `/repos/o/r/git/trees`. */
  path?: RegExp
  /** How many matching requests to affect; default 1. */
  times?: number
  status?: number
  body?: unknown
  headers?: Record<string, string>
  before?: () => Promise<void> | void
}

/** A running emulator. */
export interface GitHubEmulator {
  url: string
  token: string
  owner: string
  repo: string
  defaultBranch: string
  /** The bare repository the API serves; `git clone` it for a real checkout. */
  bareRepo: string
  requests: RecordedRequest[]
  pulls: EmuPull[]
  /** Queues a fault or hook; see `Injection`. */
  inject(f: Injection): void
  /** Commits `files` with a human author on top of `branch` (created from the default branch if absent). */
  pushAsHuman(branch: string, files: Record<string, string>, message: string): Promise<string>
  /**
   * The strongest forgery a person with push access can make of a bot commit: the bot's
   * name and e-mail as author (so GitHub links the author to the Bot account) and a
   * signature that verifies, made with the person's own key, so the committer is the
   * person. On top of `branch`, like `pushAsHuman`.
   */
  pushAsImpostor(branch: string, files: Record<string, string>, message: string): Promise<string>
  /** Commits `files` with a human author on the default branch. */
  commitToDefault(files: Record<string, string>, message: string): Promise<string>
  /** A comment on a pull request written by a person (`user.type` User). */
  commentAsHuman(number: number, body: string): Promise<void>
  /** Merges a pull request with a merge commit (as the default merge button does); marks it merged and closed. */
  mergePull(number: number): Promise<string>
  /** Closes a pull request unmerged as a person would (the issue's `closed_by` is a User). */
  closeAsHuman(number: number): Promise<void>
  /** A file's text at a branch/SHA, or null when absent. */
  readFile(ref: string, path: string): Promise<string | null>
  /** Verification metadata of a commit, as the API reports it. */
  verification(sha: string): Verification
  close(): Promise<void>
}

/** The `verification` object of a commit. */
export interface Verification {
  verified: boolean
  reason: 'valid' | 'unsigned'
  signature: string | null
  payload: string | null
  verified_at: string | null
}

/** Options for `startGitHubEmulator`. */
export interface EmulatorOptions {
  owner?: string
  repo?: string
  defaultBranch?: string
  token?: string
  /** Initial contents of the default branch (path → text). */
  files: Record<string, string>
  /** Labels the repository already has; others are created when first added to a PR. */
  labels?: string[]
  /**
   * False: the token cannot create labels (as `GITHUB_TOKEN` without `issues: write`), so
   * adding a label the repository lacks is a 403; adding existing ones still works.
   */
  canCreateLabels?: boolean
}

const DOCS = 'https://docs.github.com/rest'
const HUMAN: Omit<GitIdentity, 'date'> = { name: 'A Person', email: 'person@example.com' }
// What GitHub records for a bot-signed API commit: the app as author, "GitHub" (web-flow) as committer.
const BOT_AUTHOR: Omit<GitIdentity, 'date'> = { name: 'github-actions[bot]', email: '41898282+github-actions[bot]@users.noreply.github.com' }
const WEB_FLOW: Omit<GitIdentity, 'date'> = { name: 'GitHub', email: 'noreply@github.com' }
const UNSIGNED: Verification = { verified: false, reason: 'unsigned', signature: null, payload: null, verified_at: null }

/** The account GitHub links to a commit e-mail, as compare and list-commits show it. */
function account(email: string): { login: string; type: 'User' | 'Bot' } | null {
  if (email === BOT_AUTHOR.email) return { login: BOT_AUTHOR.name, type: 'Bot' }
  if (email === WEB_FLOW.email) return { login: 'web-flow', type: 'User' }
  if (email === HUMAN.email) return { login: 'a-person', type: 'User' }
  return null
}

/** An error the handlers throw to produce a GitHub-shaped error response. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errors?: unknown[]
  ) {
    super(message)
  }
}

const notFound = (): HttpError => new HttpError(404, 'Not Found')
const invalid = (message: string, errors?: unknown[]): HttpError => new HttpError(422, message, errors)

/** Starts an emulator with `files` committed on the default branch. */
export async function startGitHubEmulator(opts: EmulatorOptions): Promise<GitHubEmulator> {
  const owner = opts.owner ?? 'acme'
  const repoName = opts.repo ?? 'zero-trust'
  const defaultBranch = opts.defaultBranch ?? 'main'
  const token = opts.token ?? 'test-token-' + Math.random().toString(36).slice(2)
  const git = await GitRepo.create(defaultBranch)
  const requests: RecordedRequest[] = []
  // closedAt/closedBy as GitHub keeps them: set when the PR closes, untouched by later edits.
  const pulls: (EmuPull & { createdAt: string; updatedAt: string; mergeCommit: string | null; closedAt: string | null; closedBy: { login: string; type: 'User' | 'Bot' } | null })[] = []
  const injections: (Injection & { left: number })[] = []
  const verifications = new Map<string, Verification>()
  const labelIds = new Map<string, number>()
  const repoLabels = new Set<string>(opts.labels ?? [])
  const issueComments: { id: number; pull: number; index: number; user: { login: string; type: 'User' | 'Bot' }; createdAt: string; updatedAt: string }[] = []
  let nextId = 1000
  let base = ''

  const now = (): string => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')
  const ident = (who: Omit<GitIdentity, 'date'>): GitIdentity => ({ ...who, date: now() })

  // Requests are handled one at a time, like a single git backend: no interleaved ref updates.
  let queue: Promise<unknown> = Promise.resolve()
  const serial = <T>(f: () => Promise<T>): Promise<T> => {
    const p = queue.then(f, f)
    queue = p.catch(() => undefined)
    return p
  }

  const changesFromFiles = (files: Record<string, string>): TreeChange[] =>
    Object.entries(files).map(([path, content]) => ({ path, mode: '100644', content: Buffer.from(content, 'utf8') }))

  const humanCommit = async (branch: string, files: Record<string, string>, message: string, impostor = false): Promise<string> => {
    const ref = `refs/heads/${branch}`
    const parent = (await git.readRef(ref)) ?? (await git.readRef(`refs/heads/${defaultBranch}`))
    const parentTree = parent === null ? null : (await git.readCommit(parent)).tree
    const tree = await git.buildTree(parentTree, changesFromFiles(files))
    const sha = await git.commitTree({ tree, parents: parent === null ? [] : [parent], message, author: ident(impostor ? BOT_AUTHOR : HUMAN), committer: ident(HUMAN) })
    if (impostor) verifications.set(sha, { verified: true, reason: 'valid', signature: '-----BEGIN PGP SIGNATURE-----\n(the person\'s own key)\n-----END PGP SIGNATURE-----', payload: null, verified_at: now() })
    await git.updateRef(ref, sha)
    await refsChanged()
    return sha
  }

  // Keeps pull heads in step with their branches, and closes PRs whose head branch was
  // deleted (GitHub does the same).
  const refsChanged = async (): Promise<void> => {
    for (const p of pulls) {
      if (p.state !== 'open') continue
      const sha = await git.readRef(`refs/heads/${p.head.ref}`)
      if (sha === null) {
        p.state = 'closed'
        p.updatedAt = now()
        p.closedAt = p.updatedAt
        p.closedBy = { login: 'a-person', type: 'User' }
      } else p.head.sha = sha
    }
  }

  // Initial commit, authored by a person like any repository's history.
  const initialTree = await git.buildTree(null, changesFromFiles(opts.files))
  const initial = await git.commitTree({ tree: initialTree, parents: [], message: 'Initial commit\n', author: ident(HUMAN), committer: ident(HUMAN) })
  await git.updateRef(`refs/heads/${defaultBranch}`, initial)

  // ---- JSON shapes -------------------------------------------------------------------

  const repoUrl = (): string => `${base}/repos/${owner}/${repoName}`
  const htmlRepo = `https://github.com/${owner}/${repoName}`
  const repoJson = () => ({
    id: 1,
    node_id: 'R_emulated',
    name: repoName,
    full_name: `${owner}/${repoName}`,
    owner: { login: owner, type: 'Organization' },
    private: false,
    html_url: htmlRepo,
    url: repoUrl(),
    default_branch: defaultBranch
  })
  const refJson = (ref: string, sha: string) => ({
    ref,
    node_id: `REF_${Buffer.from(ref).toString('base64')}`,
    url: `${repoUrl()}/git/${ref}`,
    object: { sha, type: 'commit', url: `${repoUrl()}/git/commits/${sha}` }
  })
  const commitJson = (c: GitCommit) => ({
    sha: c.sha,
    node_id: `C_${c.sha}`,
    url: `${repoUrl()}/git/commits/${c.sha}`,
    html_url: `${htmlRepo}/commit/${c.sha}`,
    author: c.author,
    committer: c.committer,
    message: c.message,
    tree: { sha: c.tree, url: `${repoUrl()}/git/trees/${c.tree}` },
    parents: c.parents.map((p) => ({ sha: p, url: `${repoUrl()}/git/commits/${p}`, html_url: `${htmlRepo}/commit/${p}` })),
    verification: verifications.get(c.sha) ?? UNSIGNED
  })
  // The shape of a commit inside compare/list-commits responses.
  const repoCommitJson = (c: GitCommit) => ({
    sha: c.sha,
    node_id: `C_${c.sha}`,
    url: `${repoUrl()}/commits/${c.sha}`,
    html_url: `${htmlRepo}/commit/${c.sha}`,
    commit: {
      author: c.author,
      committer: c.committer,
      message: c.message,
      tree: { sha: c.tree, url: `${repoUrl()}/git/trees/${c.tree}` },
      url: `${repoUrl()}/git/commits/${c.sha}`,
      verification: verifications.get(c.sha) ?? UNSIGNED
    },
    // GitHub links each side to the account that owns its e-mail (null when none does);
    // `type` is documented as "User", "Bot" or "Organization". web-flow is a User.
    author: account(c.author.email),
    committer: account(c.committer.email),
    parents: c.parents.map((p) => ({ sha: p, url: `${repoUrl()}/commits/${p}` }))
  })
  const labelJson = (name: string) => {
    let id = labelIds.get(name)
    if (id === undefined) {
      id = nextId++
      labelIds.set(name, id)
    }
    return { id, node_id: `LA_${id}`, url: `${repoUrl()}/labels/${encodeURIComponent(name)}`, name, color: 'ededed', default: false, description: null }
  }
  const pullJson = async (p: (typeof pulls)[number]) => {
    const baseSha = (await git.readRef(`refs/heads/${p.base.ref}`)) ?? ''
    const side = (ref: string, sha: string) => ({
      label: `${owner}:${ref}`,
      ref,
      sha,
      user: { login: owner },
      repo: repoJson()
    })
    return {
      url: `${repoUrl()}/pulls/${p.number}`,
      id: p.number + 500000,
      node_id: `PR_${p.number}`,
      html_url: `${htmlRepo}/pull/${p.number}`,
      number: p.number,
      state: p.state,
      locked: false,
      title: p.title,
      body: p.body,
      user: { login: 'github-actions[bot]', type: 'Bot' },
      labels: p.labels.map(labelJson),
      created_at: p.createdAt,
      updated_at: p.updatedAt,
      closed_at: p.state === 'closed' ? p.closedAt : null,
      merged_at: p.merged ? p.updatedAt : null,
      merge_commit_sha: p.mergeCommit,
      draft: false,
      merged: p.merged,
      head: side(p.head.ref, p.head.sha),
      base: side(p.base.ref, baseSha)
    }
  }

  // ---- helpers for handlers ----------------------------------------------------------

  const body = (b: unknown): Record<string, unknown> => {
    if (typeof b !== 'object' || b === null || Array.isArray(b)) throw new HttpError(400, 'Problems parsing JSON')
    return b as Record<string, unknown>
  }
  const str = (b: Record<string, unknown>, key: string, required = true): string | undefined => {
    const v = b[key]
    if (v === undefined || v === null) {
      if (required) throw invalid('Invalid request.', [{ resource: 'Request', field: key, code: 'missing_field' }])
      return undefined
    }
    if (typeof v !== 'string') throw invalid(`Invalid request.\n\nFor '${key}', ${JSON.stringify(v)} is not a string.`)
    return v
  }
  const identity = (v: unknown, fallback: GitIdentity): GitIdentity => {
    if (typeof v !== 'object' || v === null) return fallback
    const o = v as Record<string, unknown>
    if (typeof o['name'] !== 'string' || typeof o['email'] !== 'string') throw invalid('Invalid request.', [{ resource: 'Commit', field: 'author', code: 'invalid' }])
    return { name: o['name'], email: o['email'], date: typeof o['date'] === 'string' ? o['date'] : fallback.date }
  }

  // ---- handlers ------------------------------------------------------------------------

  type Handler = (m: RegExpExecArray, b: unknown, q: URLSearchParams) => Promise<[number, unknown, Record<string, string>?]>
  const routes: [string, RegExp, Handler][] = []
  const route = (method: string, pattern: string, h: Handler): void => {
    const re = new RegExp(`^/repos/${owner}/${repoName}${pattern}$`)
    routes.push([method, re, h])
  }

  route('GET', '', async () => [200, repoJson()])

  const getRef = async (m: RegExpExecArray): Promise<[number, unknown]> => {
    const ref = `refs/${decodeURIComponent(m[1] ?? '')}`
    const sha = await git.readRef(ref)
    if (sha === null || !ref.startsWith('refs/heads/')) {
      // `GET /git/refs/heads` (a prefix) lists; an unknown exact ref is 404.
      const list = (await git.listRefs(ref.endsWith('/') ? ref : `${ref}/`)).map((r) => refJson(r.ref, r.sha))
      if (list.length > 0) return [200, list]
      throw notFound()
    }
    return [200, refJson(ref, sha)]
  }
  route('GET', '/git/ref/(.+)', getRef)
  route('GET', '/git/refs/(.+)', getRef)
  route('GET', '/git/matching-refs/(.+)', async (m) => {
    const prefix = `refs/${decodeURIComponent(m[1] ?? '')}`
    const all = await git.listRefs('refs/')
    return [200, all.filter((r) => r.ref.startsWith(prefix)).map((r) => refJson(r.ref, r.sha))]
  })
  route('POST', '/git/refs', async (_m, b) => {
    const o = body(b)
    const ref = str(o, 'ref') ?? ''
    const sha = str(o, 'sha') ?? ''
    if (!ref.startsWith('refs/') || ref.split('/').length < 3) throw invalid('Reference name must start with \'refs/\' and have at least two slashes.')
    if ((await git.objectType(sha)) !== 'commit') throw invalid('Object does not exist')
    if ((await git.readRef(ref)) !== null) throw invalid('Reference already exists')
    await git.updateRef(ref, sha, '0'.repeat(40))
    await refsChanged()
    return [201, refJson(ref, sha)]
  })
  route('PATCH', '/git/refs/(.+)', async (m, b) => {
    const ref = `refs/${decodeURIComponent(m[1] ?? '')}`
    const o = body(b)
    const sha = str(o, 'sha') ?? ''
    const current = await git.readRef(ref)
    if (current === null) throw invalid('Reference does not exist')
    if ((await git.objectType(sha)) !== 'commit') throw invalid('Object does not exist')
    if (o['force'] !== true && !(await git.isAncestor(current, sha))) throw invalid('Update is not a fast forward')
    await git.updateRef(ref, sha, current)
    await refsChanged()
    return [200, refJson(ref, sha)]
  })
  route('DELETE', '/git/refs/(.+)', async (m) => {
    const ref = `refs/${decodeURIComponent(m[1] ?? '')}`
    if ((await git.readRef(ref)) === null) throw invalid('Reference does not exist')
    await git.deleteRef(ref)
    await refsChanged()
    return [204, undefined]
  })

  route('GET', '/git/commits/([0-9a-f]{40})', async (m) => {
    const sha = m[1] ?? ''
    if ((await git.objectType(sha)) !== 'commit') throw notFound()
    return [200, commitJson(await git.readCommit(sha))]
  })
  route('POST', '/git/commits', async (_m, b) => {
    const o = body(b)
    const message = str(o, 'message') ?? ''
    const tree = str(o, 'tree') ?? ''
    const parents = o['parents'] ?? []
    if (!Array.isArray(parents) || parents.some((p) => typeof p !== 'string')) throw invalid('Invalid request.\n\nFor \'parents\', must be an array of strings.')
    if ((await git.objectType(tree)) !== 'tree') throw invalid('Tree SHA does not exist')
    for (const p of parents as string[]) if ((await git.objectType(p)) !== 'commit') throw invalid('Parent SHA does not exist or is not a commit object')
    // GitHub's bot-signing rule: only a request with no custom author, committer or
    // signature gets a GitHub-signed (verified) commit.
    const custom = o['author'] !== undefined || o['committer'] !== undefined || o['signature'] !== undefined
    const author = custom ? identity(o['author'], ident(BOT_AUTHOR)) : ident(BOT_AUTHOR)
    const committer = custom ? identity(o['committer'], author) : ident(WEB_FLOW)
    const sha = await git.commitTree({ tree, parents: parents as string[], message, author, committer })
    verifications.set(
      sha,
      custom ? UNSIGNED : { verified: true, reason: 'valid', signature: '-----BEGIN PGP SIGNATURE-----\n(emulated)\n-----END PGP SIGNATURE-----', payload: null, verified_at: now() }
    )
    return [201, commitJson(await git.readCommit(sha))]
  })

  route('GET', '/git/trees/([^/]+)', async (m, _b, q) => {
    const sha = decodeURIComponent(m[1] ?? '')
    let tree: string
    try {
      tree = await git.text(['rev-parse', '--verify', '--quiet', `${isSha(sha) ? sha : `refs/heads/${sha}`}^{tree}`])
    } catch {
      throw notFound()
    }
    const recursive = q.has('recursive') && q.get('recursive') !== '0' && q.get('recursive') !== 'false'
    const entries = await git.lsTree(tree, recursive)
    return [200, { sha: tree, url: `${repoUrl()}/git/trees/${tree}`, tree: entries.map((e) => ({ ...e, url: `${repoUrl()}/git/${e.type}s/${e.sha}` })), truncated: false }]
  })
  route('POST', '/git/trees', async (_m, b) => {
    const o = body(b)
    const baseTree = str(o, 'base_tree', false)
    if (baseTree !== undefined && (await git.objectType(baseTree)) !== 'tree') throw invalid('base_tree is not a valid tree oid')
    const entries = o['tree']
    if (!Array.isArray(entries)) throw invalid('Invalid tree info', [{ resource: 'Tree', field: 'tree', code: 'missing_field' }])
    const changes: TreeChange[] = []
    for (const raw of entries) {
      const e = body(raw)
      const path = str(e, 'path') ?? ''
      const mode = str(e, 'mode') ?? ''
      const type = str(e, 'type') ?? ''
      if (!['100644', '100755', '040000', '160000', '120000'].includes(mode) || !['blob', 'tree', 'commit'].includes(type)) {
        throw invalid('Invalid tree info', [{ resource: 'Tree', field: 'tree', code: 'invalid' }])
      }
      if (path === '' || path.startsWith('/') || path.endsWith('/') || path.split('/').some((s) => s === '' || s === '.' || s === '..' || s === '.git')) {
        throw invalid(`tree.path contains a malformed path component`)
      }
      const hasContent = 'content' in e && e['content'] !== undefined
      const hasSha = 'sha' in e
      if (hasContent && hasSha) throw invalid('Must supply either tree.sha or tree.content, not both')
      if (hasContent) {
        changes.push({ path, mode, content: Buffer.from(str(e, 'content') ?? '', 'utf8') })
      } else if (hasSha && e['sha'] === null) {
        changes.push({ path, delete: true })
      } else if (hasSha) {
        const sha = str(e, 'sha') ?? ''
        if (type !== 'commit' && (await git.objectType(sha)) !== type) throw invalid('tree.sha ' + sha + ' is not a valid ' + type)
        changes.push({ path, mode, type: type as 'blob' | 'tree' | 'commit', sha })
      } else {
        throw invalid('Must supply either tree.sha or tree.content')
      }
    }
    let sha: string
    try {
      sha = await git.buildTree(baseTree ?? null, changes)
    } catch (e) {
      // What GitHub answers when a deletion names a path that is not there.
      if (e instanceof MissingPathError) throw invalid('GitRPC::BadObjectState')
      throw e
    }
    const listed = await git.lsTree(sha, false)
    return [201, { sha, url: `${repoUrl()}/git/trees/${sha}`, tree: listed.map((e) => ({ ...e, url: `${repoUrl()}/git/${e.type}s/${e.sha}` })), truncated: false }]
  })
  route('POST', '/git/blobs', async (_m, b) => {
    const o = body(b)
    const content = str(o, 'content') ?? ''
    const encoding = str(o, 'encoding', false) ?? 'utf-8'
    if (encoding !== 'utf-8' && encoding !== 'base64') throw invalid(`encoding must be "utf-8" or "base64"`)
    const sha = await git.writeBlob(Buffer.from(content, encoding === 'base64' ? 'base64' : 'utf8'))
    return [201, { sha, url: `${repoUrl()}/git/blobs/${sha}` }]
  })
  route('GET', '/git/blobs/([0-9a-f]{40})', async (m) => {
    const sha = m[1] ?? ''
    if ((await git.objectType(sha)) !== 'blob') throw notFound()
    const bytes = await git.readBlob(sha)
    return [200, { sha, node_id: `B_${sha}`, size: bytes.length, url: `${repoUrl()}/git/blobs/${sha}`, content: wrap64(bytes), encoding: 'base64' }]
  })

  route('GET', '/contents/(.*)', async (m, _b, q) => {
    const path = decodeURIComponent(m[1] ?? '').replace(/\/$/, '')
    const commit = await git.resolveCommit(q.get('ref') ?? defaultBranch)
    if (commit === null) throw new HttpError(404, `No commit found for the ref ${q.get('ref') ?? ''}`)
    const entryJson = (e: { type: string; sha: string; path: string; size?: number }) => ({
      type: e.type === 'tree' ? 'dir' : e.type === 'commit' ? 'submodule' : 'file',
      name: e.path.split('/').pop() ?? e.path,
      path: e.path,
      sha: e.sha,
      size: e.size ?? 0,
      url: `${repoUrl()}/contents/${e.path}?ref=${q.get('ref') ?? defaultBranch}`,
      html_url: `${htmlRepo}/blob/${q.get('ref') ?? defaultBranch}/${e.path}`,
      git_url: `${repoUrl()}/git/${e.type === 'tree' ? 'trees' : 'blobs'}/${e.sha}`,
      download_url: null
    })
    if (path === '') return [200, (await git.lsTree(commit, false)).map(entryJson)]
    const entry = await git.entryAt(commit, path)
    if (entry === null) throw notFound()
    if (entry.type === 'tree') return [200, (await git.lsTree(`${commit}:${path}`, false)).map((e) => entryJson({ ...e, path: `${path}/${e.path}` }))]
    const bytes = await git.readBlob(entry.sha)
    // Like GitHub: files over 1 MB come back without content ("encoding": "none").
    const large = bytes.length > 1024 * 1024
    return [200, { ...entryJson(entry), encoding: large ? 'none' : 'base64', content: large ? '' : wrap64(bytes) }]
  })

  route('GET', '/compare/(.+)', async (m) => {
    const spec = decodeURIComponent(m[1] ?? '')
    const dots = spec.indexOf('...')
    if (dots === -1) throw notFound()
    const baseSha = await git.resolveCommit(spec.slice(0, dots))
    const headSha = await git.resolveCommit(spec.slice(dots + 3))
    if (baseSha === null || headSha === null) throw notFound()
    const mergeBase = await git.mergeBase(baseSha, headSha)
    if (mergeBase === null) throw notFound()
    const ahead = await git.revList(baseSha, headSha)
    const behind = await git.revList(headSha, baseSha)
    const status = ahead.length === 0 && behind.length === 0 ? 'identical' : behind.length === 0 ? 'ahead' : ahead.length === 0 ? 'behind' : 'diverged'
    const commits = await Promise.all(ahead.slice(0, 250).map(async (s) => repoCommitJson(await git.readCommit(s))))
    const files = (await git.changedFiles(mergeBase, headSha)).map((f) => ({
      filename: f.path,
      status: f.status === 'A' ? 'added' : f.status === 'D' ? 'removed' : 'modified'
    }))
    return [
      200,
      {
        url: `${repoUrl()}/compare/${spec}`,
        html_url: `${htmlRepo}/compare/${spec}`,
        status,
        ahead_by: ahead.length,
        behind_by: behind.length,
        total_commits: ahead.length,
        base_commit: repoCommitJson(await git.readCommit(baseSha)),
        merge_base_commit: repoCommitJson(await git.readCommit(mergeBase)),
        commits,
        files
      }
    ]
  })

  const findPull = (n: string | undefined): (typeof pulls)[number] => {
    const p = pulls.find((x) => x.number === Number(n))
    if (p === undefined) throw notFound()
    return p
  }
  route('GET', '/pulls', async (_m, _b, q) => {
    const state = q.get('state') ?? 'open'
    const head = q.get('head')
    const baseFilter = q.get('base')
    let list = pulls.filter((p) => state === 'all' || p.state === state)
    // Like GitHub, `head` must be `owner:branch`; a bare branch name does not filter.
    if (head !== null && head.includes(':')) list = list.filter((p) => `${owner}:${p.head.ref}` === head)
    if (baseFilter !== null) list = list.filter((p) => p.base.ref === baseFilter)
    // `sort`: created (default) or updated; `direction` desc by default, as GitHub documents.
    const key = q.get('sort') === 'updated' ? (p: (typeof pulls)[number]) => `${p.updatedAt}#${String(p.number).padStart(9, '0')}` : (p: (typeof pulls)[number]) => String(p.number).padStart(9, '0')
    list = [...list].sort((a, b) => (key(a) < key(b) ? 1 : key(a) > key(b) ? -1 : 0))
    if (q.get('direction') === 'asc') list.reverse()
    const perPage = Math.min(Number(q.get('per_page') ?? 30) || 30, 100)
    const page = Math.max(Number(q.get('page') ?? 1) || 1, 1)
    const slice = list.slice((page - 1) * perPage, page * perPage)
    const headers: Record<string, string> = {}
    if (page * perPage < list.length) {
      const next = new URLSearchParams(q)
      next.set('page', String(page + 1))
      headers['link'] = `<${repoUrl()}/pulls?${next.toString()}>; rel="next"`
    }
    return [200, await Promise.all(slice.map(pullJson)), headers]
  })
  route('POST', '/pulls', async (_m, b) => {
    const o = body(b)
    const title = str(o, 'title') ?? ''
    const rawHead = str(o, 'head') ?? ''
    const baseRef = str(o, 'base') ?? ''
    const text = str(o, 'body', false) ?? ''
    const colon = rawHead.indexOf(':')
    if (colon !== -1 && rawHead.slice(0, colon) !== owner) throw invalid('Validation Failed', [{ resource: 'PullRequest', field: 'head', code: 'invalid' }])
    const headRef = colon === -1 ? rawHead : rawHead.slice(colon + 1)
    const headSha = await git.readRef(`refs/heads/${headRef}`)
    const baseSha = await git.readRef(`refs/heads/${baseRef}`)
    if (headSha === null) throw invalid('Validation Failed', [{ resource: 'PullRequest', field: 'head', code: 'invalid' }])
    if (baseSha === null) throw invalid('Validation Failed', [{ resource: 'PullRequest', field: 'base', code: 'invalid' }])
    if (text.length > 65536) throw invalid('Validation Failed', [{ resource: 'Issue', field: 'body', code: 'custom', message: 'body is too long (maximum is 65536 characters)' }])
    if (pulls.some((p) => p.state === 'open' && p.head.ref === headRef && p.base.ref === baseRef)) {
      throw invalid('Validation Failed', [{ resource: 'PullRequest', code: 'custom', message: `A pull request already exists for ${owner}:${headRef}.` }])
    }
    if ((await git.revList(baseSha, headSha)).length === 0) {
      throw invalid('Validation Failed', [{ resource: 'PullRequest', code: 'custom', message: `No commits between ${baseRef} and ${headRef}` }])
    }
    const t = now()
    const p = {
      number: pulls.length + 1,
      state: 'open' as const,
      head: { ref: headRef, sha: headSha },
      base: { ref: baseRef },
      title,
      body: text,
      labels: [],
      merged: false,
      comments: [],
      createdAt: t,
      updatedAt: t,
      mergeCommit: null,
      closedAt: null,
      closedBy: null
    }
    pulls.push(p)
    return [201, await pullJson(p)]
  })
  route('GET', '/pulls/(\\d+)', async (m) => [200, await pullJson(findPull(m[1]))])
  // GET /repos/{o}/{r}/pulls/{n}/commits: oldest first, at most 250 (GitHub's limit). The
  // range is the head's commits not in the base: for a merged PR the base before the merge
  // (the merge commit's first parent), otherwise the base branch now.
  route('GET', '/pulls/(\\d+)/commits', async (m, _b, q) => {
    const p = findPull(m[1])
    const from = p.mergeCommit !== null ? (await git.readCommit(p.mergeCommit)).parents[0] ?? null : await git.readRef(`refs/heads/${p.base.ref}`)
    const shas = (from === null ? [] : await git.revList(from, p.head.sha)).slice(0, 250)
    const perPage = Math.min(Number(q.get('per_page') ?? 30) || 30, 100)
    const page = Math.max(Number(q.get('page') ?? 1) || 1, 1)
    const slice = shas.slice((page - 1) * perPage, page * perPage)
    const headers: Record<string, string> = {}
    if (page * perPage < shas.length) {
      const next = new URLSearchParams(q)
      next.set('page', String(page + 1))
      headers['link'] = `<${repoUrl()}/pulls/${p.number}/commits?${next.toString()}>; rel="next"`
    }
    return [200, await Promise.all(slice.map(async (sha) => repoCommitJson(await git.readCommit(sha)))), headers]
  })
  // GET /repos/{o}/{r}/issues/{n} for a pull request: the issue side, with who closed it.
  route('GET', '/issues/(\\d+)', async (m) => {
    const p = findPull(m[1])
    const pr = await pullJson(p)
    return [200, { ...pr, url: `${repoUrl()}/issues/${p.number}`, pull_request: { url: pr.url, html_url: pr.html_url, merged_at: pr.merged_at }, closed_by: p.closedBy }]
  })
  route('PATCH', '/pulls/(\\d+)', async (m, b) => {
    const p = findPull(m[1])
    const o = body(b)
    const title = str(o, 'title', false)
    const text = str(o, 'body', false)
    const state = str(o, 'state', false)
    const baseRef = str(o, 'base', false)
    if (text !== undefined && text.length > 65536) throw invalid('Validation Failed', [{ resource: 'Issue', field: 'body', code: 'custom', message: 'body is too long (maximum is 65536 characters)' }])
    if (state !== undefined && state !== 'open' && state !== 'closed') throw invalid('Validation Failed', [{ resource: 'PullRequest', field: 'state', code: 'invalid' }])
    if (state === 'open' && p.state === 'closed') {
      if (p.merged) throw invalid('Validation Failed', [{ resource: 'PullRequest', code: 'custom', message: 'Cannot reopen a merged pull request' }])
      if ((await git.readRef(`refs/heads/${p.head.ref}`)) === null) throw invalid('Validation Failed', [{ resource: 'PullRequest', code: 'custom', message: 'state cannot be changed. The head branch was deleted.' }])
    }
    if (baseRef !== undefined && (await git.readRef(`refs/heads/${baseRef}`)) === null) throw invalid('Validation Failed', [{ resource: 'PullRequest', field: 'base', code: 'invalid' }])
    if (title !== undefined) p.title = title
    if (text !== undefined) p.body = text
    if (state !== undefined && state !== p.state) {
      // The token is the bot's: an API close is the bot's (a person's is `closeAsHuman`).
      p.closedAt = state === 'closed' ? now() : null
      p.closedBy = state === 'closed' ? { login: 'github-actions[bot]', type: 'Bot' } : null
    }
    if (state !== undefined) p.state = state
    if (baseRef !== undefined) p.base.ref = baseRef
    p.updatedAt = now()
    await refsChanged()
    return [200, await pullJson(p)]
  })
  route('POST', '/issues/(\\d+)/labels', async (m, b) => {
    const p = findPull(m[1])
    // Both `{labels: [...]}` and a bare array are accepted by GitHub.
    const names = Array.isArray(b) ? b : body(b)['labels']
    if (!Array.isArray(names) || names.some((n) => typeof n !== 'string' || n.trim() === '')) {
      throw invalid('Invalid request.', [{ resource: 'Label', field: 'labels', code: 'invalid' }])
    }
    const absent = (names as string[]).filter((n) => !repoLabels.has(n))
    if (absent.length > 0 && opts.canCreateLabels === false) throw new HttpError(403, 'Resource not accessible by integration')
    for (const n of names as string[]) {
      repoLabels.add(n)
      if (!p.labels.includes(n)) p.labels.push(n)
    }
    return [200, p.labels.map(labelJson)]
  })
  // GET /repos/{o}/{r}/labels/{name}: 404 when the repository has no such label.
  route('GET', '/labels/([^/]+)', async (m) => {
    const name = decodeURIComponent(m[1] ?? '')
    if (!repoLabels.has(name)) throw notFound()
    return [200, labelJson(name)]
  })
  // Issue comments: the body lives in `pull.comments[index]`, so tests read it there.
  const addComment = (p: (typeof pulls)[number], text: string, user: { login: string; type: 'User' | 'Bot' }) => {
    const c = { id: nextId++, pull: p.number, index: p.comments.push(text) - 1, user, createdAt: now(), updatedAt: now() }
    issueComments.push(c)
    return c
  }
  const commentJson = (c: (typeof issueComments)[number]) => ({
    id: c.id, node_id: `IC_${c.id}`, body: findPull(String(c.pull)).comments[c.index], user: c.user,
    html_url: `${htmlRepo}/pull/${c.pull}#issuecomment-${c.id}`, created_at: c.createdAt, updated_at: c.updatedAt
  })
  route('POST', '/issues/(\\d+)/comments', async (m, b) => {
    const p = findPull(m[1])
    const text = str(body(b), 'body') ?? ''
    if (text.length > 65536) throw invalid('Validation Failed', [{ resource: 'IssueComment', field: 'body', code: 'custom', message: 'body is too long (maximum is 65536 characters)' }])
    return [201, commentJson(addComment(p, text, { login: 'github-actions[bot]', type: 'Bot' }))]
  })
  // GET /repos/{o}/{r}/issues/{n}/comments: oldest first, paginated with a Link header.
  route('GET', '/issues/(\\d+)/comments', async (m, _b, q) => {
    const p = findPull(m[1])
    const list = issueComments.filter((c) => c.pull === p.number)
    const perPage = Math.min(Number(q.get('per_page') ?? 30) || 30, 100)
    const page = Math.max(Number(q.get('page') ?? 1) || 1, 1)
    const headers: Record<string, string> = {}
    if (page * perPage < list.length) {
      const next = new URLSearchParams(q)
      next.set('page', String(page + 1))
      headers['link'] = `<${repoUrl()}/issues/${p.number}/comments?${next.toString()}>; rel="next"`
    }
    return [200, list.slice((page - 1) * perPage, page * perPage).map(commentJson), headers]
  })
  // PATCH /repos/{o}/{r}/issues/comments/{id}: a token with write access may edit any comment.
  route('PATCH', '/issues/comments/(\\d+)', async (m, b) => {
    const c = issueComments.find((x) => x.id === Number(m[1]))
    if (c === undefined) throw notFound()
    const text = str(body(b), 'body') ?? ''
    findPull(String(c.pull)).comments[c.index] = text
    c.updatedAt = now()
    return [200, commentJson(c)]
  })
  // GET /repos/{o}/{r}/commits/{sha}/pulls: the merged PR a default-branch commit came from
  // (its merge commit, or its head for rebase/squash-like histories), and open PRs whose head it is.
  route('GET', '/commits/([0-9a-f]{40})/pulls', async (m) => {
    const sha = m[1]
    const list = pulls.filter((p) => p.mergeCommit === sha || p.head.sha === sha)
    return [200, await Promise.all(list.map(pullJson))]
  })

  // ---- server ---------------------------------------------------------------------------

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const text = Buffer.concat(chunks).toString('utf8')
    const rawPath = req.url ?? '/'
    const method = req.method ?? 'GET'
    const record: RecordedRequest = { method, path: rawPath, body: undefined, status: 0 }
    requests.push(record)
    const send = (status: number, payload: unknown, headers: Record<string, string> = {}): void => {
      record.status = status
      const out = payload === undefined ? '' : JSON.stringify(payload)
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'x-github-api-version-selected': '2022-11-28', ...headers })
      res.end(out)
    }
    try {
      let parsed: unknown
      if (text !== '') {
        try {
          parsed = JSON.parse(text)
        } catch {
          throw new HttpError(400, 'Problems parsing JSON')
        }
      }
      record.body = parsed
      const auth = req.headers['authorization'] ?? ''
      const m = /^(?:token|bearer)\s+(.+)$/i.exec(auth)
      if (m === null) throw new HttpError(401, 'Requires authentication')
      if (m[1] !== token) throw new HttpError(401, 'Bad credentials')
      const url = new URL(rawPath, 'http://emulator')
      const inj = injections.find((i) => i.left > 0 && (i.method === undefined || i.method === method) && (i.path === undefined || i.path.test(url.pathname)))
      if (inj !== undefined) {
        inj.left--
        if (inj.before !== undefined) await inj.before()
        if (inj.status !== undefined) {
          send(inj.status, inj.body ?? { message: `Injected ${inj.status}`, documentation_url: DOCS }, inj.headers)
          return
        }
      }
      for (const [rm, re, h] of routes) {
        if (rm !== method) continue
        const match = re.exec(url.pathname)
        if (match === null) continue
        const [status, payload, headers] = await serial(() => h(match, parsed, url.searchParams))
        send(status, payload, headers)
        return
      }
      throw notFound()
    } catch (e) {
      if (e instanceof HttpError) {
        send(e.status, { message: e.message, documentation_url: DOCS, ...(e.errors === undefined ? {} : { errors: e.errors }), status: String(e.status) })
      } else {
        const detail = e instanceof GitError ? e.stderr : String(e)
        send(500, { message: `Emulator error: ${detail}`, documentation_url: DOCS })
      }
    }
  }

  const server = createServer((req, res) => {
    void handle(req, res)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  return {
    url: base,
    token,
    owner,
    repo: repoName,
    defaultBranch,
    bareRepo: git.dir,
    requests,
    pulls,
    inject(f) {
      injections.push({ ...f, left: f.times ?? 1 })
    },
    pushAsHuman: (branch, files, message) => serial(() => humanCommit(branch, files, message)),
    pushAsImpostor: (branch, files, message) => serial(() => humanCommit(branch, files, message, true)),
    commitToDefault: (files, message) => serial(() => humanCommit(defaultBranch, files, message)),
    mergePull: (number) =>
      serial(async () => {
        const p = findPull(String(number))
        if (p.state !== 'open') throw new Error(`pull #${number} is not open`)
        const baseRef = `refs/heads/${p.base.ref}`
        const baseSha = await git.readRef(baseRef)
        if (baseSha === null) throw new Error(`base ${p.base.ref} is gone`)
        const tree = await git.mergeTrees(baseSha, p.head.sha)
        if (tree === null) throw new Error(`pull #${number} has conflicts`)
        const sha = await git.commitTree({
          tree,
          parents: [baseSha, p.head.sha],
          message: `Merge pull request #${number} from ${owner}/${p.head.ref}\n\n${p.title}`,
          author: ident(HUMAN),
          committer: ident(WEB_FLOW)
        })
        await git.updateRef(baseRef, sha, baseSha)
        p.state = 'closed'
        p.merged = true
        p.mergeCommit = sha
        p.updatedAt = now()
        p.closedAt = p.updatedAt
        p.closedBy = { login: 'a-person', type: 'User' }
        return sha
      }),
    closeAsHuman: (number) =>
      serial(async () => {
        const p = findPull(String(number))
        if (p.state !== 'open') throw new Error(`pull #${number} is not open`)
        p.state = 'closed'
        p.updatedAt = now()
        p.closedAt = p.updatedAt
        p.closedBy = { login: 'a-person', type: 'User' }
      }),
    async readFile(ref, path) {
      const commit = await git.resolveCommit(ref)
      if (commit === null) return null
      const entry = await git.entryAt(commit, path)
      if (entry === null || entry.type !== 'blob') return null
      return (await git.readBlob(entry.sha)).toString('utf8')
    },
    commentAsHuman: (number, text) => serial(async () => {
      addComment(findPull(String(number)), text, { login: 'a-person', type: 'User' })
    }),
    verification: (sha) => verifications.get(sha) ?? UNSIGNED,
    async close() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await git.destroy()
    }
  }
}

/** Base64 with a newline every 60 characters, as GitHub formats blob content. */
function wrap64(bytes: Buffer): string {
  const b64 = bytes.toString('base64')
  return (b64.match(/.{1,60}/g) ?? ['']).join('\n') + (b64 === '' ? '' : '\n')
}
