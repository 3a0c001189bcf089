/**
 * The proposal pull request: one fixed branch, one open PR, updated instead of duplicated
 * (conventions §3.3). Everything goes through the REST API, never through a checkout:
 *
 * - Files are committed with the Git Data API (tree on `base_tree`, commit with NO
 *   author/committer), so a bot token gets a GitHub-signed, verified commit.
 * - Every commit this adapter writes carries `COMMIT_TRAILER`. Before the branch is
 *   force-updated, every commit on it that is not in the base must carry the trailer;
 *   otherwise a person has pushed there and the adapter leaves branch and PR alone.
 * - Each run rebuilds the branch as ONE commit on the current base tip, so the PR never
 *   accumulates history and never needs a rebase.
 * - What the next run carries forward comes only from the bot's own commit at the branch
 *   tip (`findOpenProposal(...).botCommit`), never from the PR body: a commit counts as the
 *   bot's only when it carries the trailer AND GitHub reports it verified, authored by a
 *   Bot account and committed by GitHub (or a Bot). The trailer alone is a line of text
 *   anyone can type.
 * - The body is rewritten on every run; from the current one only the reviewer's ticks
 *   under "Before merging" are kept (`carryTicks`), never anything that is proposed.
 * - A run with nothing to change writes nothing. If a proposal PR is open at that point,
 *   its content is obsolete (merged another way, or all excluded): the adapter closes it
 *   with a comment and keeps the branch (so a person can still read or reopen it).
 */
import { createHash } from 'node:crypto'
import { carryTicks } from '../core/render/ticks.js'
import type { Octokit } from './github.js'

/** The trailer that marks a commit as written by this action (and thus safe to replace). */
export const COMMIT_TRAILER = 'Generated-by: gateway-tls-bypass'

/** GitHub's limit for issue and pull request bodies, in characters. */
export const MAX_BODY_LENGTH = 65536

/** What `upsertProposal` should make the proposal branch and PR look like. */
export interface ProposalRequest {
  owner: string
  repo: string
  /** The single proposal branch, e.g. `gateway-tls-bypass/proposals`. */
  branch: string
  /** Branch the PR targets; default: the repository's default branch. */
  base?: string
  /** Full new contents of the files to change (UTF-8 text). Unchanged files may be included. */
  files: { path: string; content: string }[]
  /** Commit message; `COMMIT_TRAILER` is appended when it is not already a line of it. */
  message: string
  title: string
  /** At most `MAX_BODY_LENGTH` characters: truncating is the caller's job. */
  body: string
  /**
   * Added to the PR when the repository has them. A missing one is created (which needs
   * `issues: write`) only when the PR is opened; if that is refused, one warning says so
   * and later runs leave it alone. Labels already on the PR are kept.
   */
  labels: string[]
}

/** The open proposal PR and the state of its branch. */
export interface ExistingProposal {
  number: number
  url: string
  title: string
  body: string
  labels: string[]
  /** Base branch name of the PR. */
  base: string
  /** Tip of the proposal branch (the PR's head SHA when the branch is gone). */
  headSha: string
  branchExists: boolean
  /** Commits on the branch, not in the base, without `COMMIT_TRAILER`: a person's work. */
  humanCommits: number
  /**
   * The branch's one commit over the base, with the requested files at it, when that
   * commit is provably the bot's (see `botCommitProblem`); otherwise null, and
   * `distrust` says why. Only this may be carried forward.
   */
  botCommit: BotCommit | null
  distrust?: string
}

/** The bot's own proposal commit and the files it holds (null: absent at that commit). */
export interface BotCommit {
  sha: string
  message: string
  files: Record<string, string | null>
}

/** The parts of a compare/list-commits entry that tell who wrote a commit. */
export interface CommitFacts {
  commit: { message: string; verification?: { verified: boolean; reason?: string } | null }
  author?: { login?: string; type?: string } | null
  committer?: { login?: string; type?: string } | null
}

/**
 * Why a commit cannot be trusted as the bot's own, or undefined when it can. The trailer
 * is typed text; what a person cannot produce is GitHub's verdict: a verified signature on
 * a commit whose author is a Bot account and whose committer is GitHub itself (`web-flow`,
 * which signs API commits) or a Bot. A person who signs with their own key is the
 * committer (a User), and one who claims the bot's e-mail cannot sign for it.
 */
export function botCommitProblem(c: CommitFacts): string | undefined {
  if (!hasTrailer(c.commit.message)) return `it lacks "${COMMIT_TRAILER}"`
  if (c.commit.verification?.verified !== true) return `GitHub does not report its signature as verified (${c.commit.verification?.reason ?? 'no verification'})`
  if (c.author?.type !== 'Bot') return 'its author is not a Bot account'
  if (!(c.committer?.type === 'Bot' || c.committer?.login === 'web-flow')) return 'it was not committed by GitHub or a Bot account'
  return undefined
}

/** What `upsertProposal` did. */
export type ProposalOperation = 'created' | 'updated' | 'unchanged' | 'closed' | 'blocked-human-commits' | 'none'

/** The result of `upsertProposal`. */
export interface ProposalResult {
  /**
   * `created`: new PR. `updated`: a new commit on the branch (or, after a lost race, the
   * other run's PR was updated). `unchanged`: branch already had this tree (title/body
   * may still have been edited, see `edited`). `closed`: nothing left to propose, the open
   * PR was closed. `blocked-human-commits`: a person pushed to the branch; nothing was
   * written. `none`: nothing to propose and no open PR; nothing was written.
   */
  operation: ProposalOperation
  number?: number
  url?: string
  /** The branch tip after the call (when the branch exists). */
  headSha?: string
  /** The base tip the proposal was computed against. */
  baseSha: string
  /** True when the PR title, body or labels were changed. */
  edited?: boolean
  /** Things a person should fix that did not stop the run (e.g. a label that could not be added). */
  warnings?: string[]
}

type Where = { owner: string; repo: string }

/** True when `e` is an Octokit RequestError with this status. */
function hasStatus(e: unknown, status: number): boolean {
  return typeof e === 'object' && e !== null && (e as { status?: unknown }).status === status
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e)
}

/** The git blob SHA-1 of a text, to compare with what the API reports without downloading. */
export function gitBlobSha(content: string): string {
  const bytes = Buffer.from(content, 'utf8')
  return createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex')
}

/** Appends `COMMIT_TRAILER` as a trailer paragraph unless a line of the message already is it. */
export function withTrailer(message: string): string {
  if (hasTrailer(message)) return message
  const trimmed = message.replace(/\s+$/, '')
  return `${trimmed}\n\n${COMMIT_TRAILER}\n`
}

/** True when a commit message carries `COMMIT_TRAILER` on a line of its own. */
export function hasTrailer(message: string): boolean {
  return message.split('\n').some((l) => l.trim() === COMMIT_TRAILER)
}

/**
 * Reads files at a ref (branch, tag or SHA); `null` means the file does not exist. Files
 * over 1 MB, which the contents API returns without content, are read as blobs.
 */
export async function readFiles(octokit: Octokit, o: Where & { ref: string; paths: string[] }): Promise<Record<string, string | null>> {
  const out: Record<string, string | null> = {}
  for (const path of o.paths) {
    const entry = await contentEntry(octokit, { owner: o.owner, repo: o.repo, ref: o.ref, path })
    if (entry === null) {
      out[path] = null
      continue
    }
    let b64 = entry.content
    if (entry.encoding !== 'base64') {
      const blob = await octokit.rest.git.getBlob({ owner: o.owner, repo: o.repo, file_sha: entry.sha })
      b64 = blob.data.content
    }
    out[path] = Buffer.from(b64, 'base64').toString('utf8')
  }
  return out
}

async function contentEntry(octokit: Octokit, o: Where & { ref: string; path: string }): Promise<{ sha: string; content: string; encoding: string } | null> {
  try {
    const res = await octokit.rest.repos.getContent({ owner: o.owner, repo: o.repo, path: o.path, ref: o.ref })
    const d = res.data
    if (Array.isArray(d) || d.type !== 'file') throw new Error(`${o.path} at ${o.ref} is a ${Array.isArray(d) ? 'directory' : d.type}, not a file`)
    return { sha: d.sha, content: 'content' in d ? d.content : '', encoding: 'encoding' in d ? d.encoding : 'none' }
  } catch (e) {
    if (hasStatus(e, 404)) return null
    throw e
  }
}

/** The files whose requested content differs from `ref` (compared by blob SHA). */
async function changedAgainst(octokit: Octokit, o: Where & { ref: string; files: ProposalRequest['files'] }): Promise<ProposalRequest['files']> {
  const changed: ProposalRequest['files'] = []
  for (const f of o.files) {
    const entry = await contentEntry(octokit, { owner: o.owner, repo: o.repo, ref: o.ref, path: f.path })
    if (entry === null || entry.sha !== gitBlobSha(f.content)) changed.push(f)
  }
  return changed
}

interface BranchState {
  sha: string | null
  tree: string | null
  humanCommits: number
  /** Commits over the base as compare lists them, and how many there are. */
  commits: (CommitFacts & { sha: string })[]
  aheadBy: number
}

/**
 * Reads the branch and counts the commits on it (not in `baseSha`) that lack the trailer.
 * The compare API lists at most 250 commits; commits it does not list count as a
 * person's, since they cannot be checked.
 */
async function inspectBranch(octokit: Octokit, o: Where & { branch: string; baseSha: string }): Promise<BranchState> {
  let sha: string
  try {
    sha = (await octokit.rest.git.getRef({ owner: o.owner, repo: o.repo, ref: `heads/${o.branch}` })).data.object.sha
  } catch (e) {
    if (hasStatus(e, 404)) return { sha: null, tree: null, humanCommits: 0, commits: [], aheadBy: 0 }
    throw e
  }
  const cmp = await octokit.rest.repos.compareCommits({ owner: o.owner, repo: o.repo, base: o.baseSha, head: sha })
  const listed = cmp.data.commits
  const human = listed.filter((c) => !hasTrailer(c.commit.message)).length + Math.max(0, cmp.data.ahead_by - listed.length)
  const tree = (await octokit.rest.git.getCommit({ owner: o.owner, repo: o.repo, commit_sha: sha })).data.tree.sha
  return { sha, tree, humanCommits: human, commits: listed, aheadBy: cmp.data.ahead_by }
}

type OpenPull = Omit<ExistingProposal, 'headSha' | 'branchExists' | 'humanCommits' | 'botCommit' | 'distrust'> & { headSha: string }

/** Lists open PRs from `owner:branch` (the owner prefix is required for the filter to work). */
async function findOpenPull(octokit: Octokit, o: Where & { branch: string; base?: string }): Promise<OpenPull | null> {
  const list = await octokit.paginate(octokit.rest.pulls.list, {
    owner: o.owner,
    repo: o.repo,
    state: 'open',
    head: `${o.owner}:${o.branch}`,
    ...(o.base === undefined ? {} : { base: o.base }),
    per_page: 100
  })
  // Belt and braces: match the head ourselves too, in case the filter was ignored.
  const pr = list.find((p) => p.head.ref === o.branch && (p.head.repo?.full_name ?? `${o.owner}/${o.repo}`).toLowerCase() === `${o.owner}/${o.repo}`.toLowerCase())
  if (pr === undefined) return null
  return {
    number: pr.number,
    url: pr.html_url,
    title: pr.title,
    body: pr.body ?? '',
    labels: pr.labels.map((l) => l.name ?? '').filter((n) => n !== ''),
    base: pr.base.ref,
    headSha: pr.head.sha
  }
}

/**
 * The open proposal PR for `branch` (optionally only one targeting `base`), with the
 * number of commits a person pushed to its branch. Null when no PR is open.
 */
export async function findOpenProposal(octokit: Octokit, o: Where & { branch: string; base?: string; paths?: string[] }): Promise<ExistingProposal | null> {
  const pr = await findOpenPull(octokit, o)
  if (pr === null) return null
  const baseSha = (await octokit.rest.git.getRef({ owner: o.owner, repo: o.repo, ref: `heads/${pr.base}` })).data.object.sha
  const branch = await inspectBranch(octokit, { owner: o.owner, repo: o.repo, branch: o.branch, baseSha })
  const trust = await readBotCommit(octokit, { owner: o.owner, repo: o.repo, paths: o.paths ?? [] }, branch)
  return { ...pr, headSha: branch.sha ?? pr.headSha, branchExists: branch.sha !== null, humanCommits: branch.humanCommits, ...trust }
}

/**
 * The branch's commit, with `paths` read at that exact SHA (so message and files are one
 * snapshot), when it is the ONE commit over the base that collect writes and GitHub
 * vouches that the bot wrote it.
 */
async function readBotCommit(octokit: Octokit, o: Where & { paths: string[] }, b: BranchState): Promise<Pick<ExistingProposal, 'botCommit' | 'distrust'>> {
  if (b.sha === null) return { botCommit: null, distrust: 'the proposal branch is gone' }
  const only = b.commits.length === 1 && b.aheadBy === 1 ? b.commits[0] : undefined
  if (only === undefined || only.sha !== b.sha) return { botCommit: null, distrust: `the branch holds ${b.aheadBy} commits over the base, not the one commit collect writes` }
  const problem = botCommitProblem(only)
  if (problem !== undefined) return { botCommit: null, distrust: `its commit ${b.sha.slice(0, 7)} is not provably the bot's: ${problem}` }
  const files = await readFiles(octokit, { owner: o.owner, repo: o.repo, ref: b.sha, paths: o.paths })
  return { botCommit: { sha: b.sha, message: only.commit.message, files } }
}

/**
 * Closes a proposal PR, first explaining why in a comment. The branch is kept: the PR can
 * still be read and reopened, and the next proposal reuses the branch (force-updated).
 */
export async function closeProposal(octokit: Octokit, o: Where & { number: number; comment?: string }): Promise<void> {
  if (o.comment !== undefined && o.comment !== '') {
    await octokit.rest.issues.createComment({ owner: o.owner, repo: o.repo, issue_number: o.number, body: o.comment })
  }
  await octokit.rest.pulls.update({ owner: o.owner, repo: o.repo, pull_number: o.number, state: 'closed' })
}

/** The comment left on a proposal closed because it has nothing left to propose. */
export const OBSOLETE_COMMENT =
  'Closing: the base branch already contains everything this pull request proposed (merged another way, or excluded since). ' +
  'gateway-tls-bypass opens a new pull request when the logs show new candidates.'

/**
 * Makes the proposal branch and PR match `req`:
 *
 * 1. Reads the base tip. If every file is byte-identical to the base, nothing is written:
 *    `none`, or `closed` when an open proposal became obsolete.
 * 2. If anyone but this action committed to the branch (a commit not in the base without
 *    `COMMIT_TRAILER`): `blocked-human-commits`, nothing written.
 * 3. Builds the tree on the base tree. If the branch already has that tree: `unchanged`.
 *    Otherwise one commit (no author, so it is verified) on the base tip, and the branch
 *    is created or force-updated, re-checking just before that nobody pushed meanwhile.
 * 4. Updates the open PR's title/body/labels, or creates the PR; a 422 "already exists"
 *    (another run won the race) is resolved by updating that PR.
 *
 * Throws when `req.body` exceeds `MAX_BODY_LENGTH` (before any request) and on API errors.
 */
export async function upsertProposal(octokit: Octokit, req: ProposalRequest, log: (m: string) => void = () => undefined): Promise<ProposalResult> {
  if (req.body.length > MAX_BODY_LENGTH) {
    throw new Error(`Pull request body is ${req.body.length} characters; GitHub allows ${MAX_BODY_LENGTH}. Truncate it before calling upsertProposal.`)
  }
  if (req.title.trim() === '') throw new Error('Pull request title is empty.')
  const where: Where = { owner: req.owner, repo: req.repo }
  const base = req.base ?? (await octokit.rest.repos.get(where)).data.default_branch
  if (base === req.branch) throw new Error(`The proposal branch must not be the base branch (${base}).`)
  const baseSha = (await octokit.rest.git.getRef({ ...where, ref: `heads/${base}` })).data.object.sha

  const changed = await changedAgainst(octokit, { ...where, ref: baseSha, files: req.files })
  const open = await findOpenPull(octokit, { ...where, branch: req.branch, base })

  if (changed.length === 0) {
    if (open === null) {
      log(`Nothing to propose: ${base} already has this content; no commit, no pull request.`)
      return { operation: 'none', baseSha }
    }
    const branch = await inspectBranch(octokit, { ...where, branch: req.branch, baseSha })
    const headSha = branch.sha ?? open.headSha
    if (branch.humanCommits > 0) {
      log(`Pull request #${open.number} is obsolete, but ${req.branch} has ${branch.humanCommits} commit(s) by a person; leaving it open.`)
      return { operation: 'blocked-human-commits', number: open.number, url: open.url, headSha, baseSha }
    }
    await closeProposal(octokit, { ...where, number: open.number, comment: OBSOLETE_COMMENT })
    log(`Closed pull request #${open.number}: ${base} already has everything it proposed.`)
    return { operation: 'closed', number: open.number, url: open.url, headSha, baseSha }
  }

  let branch = await inspectBranch(octokit, { ...where, branch: req.branch, baseSha })
  const blocked = (b: BranchState): ProposalResult => {
    log(`${req.branch} has ${b.humanCommits} commit(s) without "${COMMIT_TRAILER}": a person pushed there; not overwriting it.`)
    return { operation: 'blocked-human-commits', number: open?.number, url: open?.url, headSha: b.sha ?? undefined, baseSha }
  }
  if (branch.humanCommits > 0) return blocked(branch)

  const baseTree = (await octokit.rest.git.getCommit({ ...where, commit_sha: baseSha })).data.tree.sha
  const tree = (
    await octokit.rest.git.createTree({
      ...where,
      base_tree: baseTree,
      tree: changed.map((f) => ({ path: f.path, mode: '100644' as const, type: 'blob' as const, content: f.content }))
    })
  ).data.sha

  let headSha: string
  let pushed = false
  if (branch.sha !== null && branch.tree === tree) {
    headSha = branch.sha
    log(`${req.branch} already holds this content (${headSha.slice(0, 7)}); no new commit.`)
  } else {
    // No author/committer: with a bot token GitHub signs the commit (verified).
    const commit = await octokit.rest.git.createCommit({ ...where, message: withTrailer(req.message), tree, parents: [baseSha] })
    headSha = commit.data.sha
    if (commit.data.verification?.verified !== true) {
      log(`Commit ${headSha.slice(0, 7)} is not verified (${commit.data.verification?.reason ?? 'unknown'}); a GITHUB_TOKEN or GitHub App token gets verified commits.`)
    }
    if (branch.sha === null) {
      try {
        await octokit.rest.git.createRef({ ...where, ref: `refs/heads/${req.branch}`, sha: headSha })
      } catch (e) {
        if (!(hasStatus(e, 422) && /already exists/i.test(errorText(e)))) throw e
        // Another writer created the branch after we looked: judge it like any existing branch.
        branch = await inspectBranch(octokit, { ...where, branch: req.branch, baseSha })
        if (branch.humanCommits > 0) return blocked(branch)
        await octokit.rest.git.updateRef({ ...where, ref: `heads/${req.branch}`, sha: headSha, force: true })
      }
    } else {
      // The REST API has no compare-and-swap for refs: re-read just before the forced
      // update, so a push during this run is seen (the window left is one round trip).
      const now = (await octokit.rest.git.getRef({ ...where, ref: `heads/${req.branch}` })).data.object.sha
      if (now !== branch.sha) {
        branch = await inspectBranch(octokit, { ...where, branch: req.branch, baseSha })
        if (branch.humanCommits > 0) return blocked(branch)
      }
      await octokit.rest.git.updateRef({ ...where, ref: `heads/${req.branch}`, sha: headSha, force: true })
    }
    pushed = true
    log(`Committed ${changed.map((f) => f.path).join(', ')} to ${req.branch} as ${headSha.slice(0, 7)} on ${base} ${baseSha.slice(0, 7)}.`)
  }

  let pr = open
  let operation: ProposalOperation = pushed ? 'updated' : 'unchanged'
  let edited = false
  if (pr === null) {
    try {
      const created = await octokit.rest.pulls.create({ ...where, head: `${req.owner}:${req.branch}`, base, title: req.title, body: req.body })
      pr = { number: created.data.number, url: created.data.html_url, title: created.data.title, body: created.data.body ?? '', labels: [], base, headSha }
      operation = 'created'
      edited = true
      log(`Opened pull request #${pr.number}: ${pr.url}`)
    } catch (e) {
      if (!(hasStatus(e, 422) && errorText(e).includes('A pull request already exists for'))) throw e
      // Another run opened it between our lookup and our create: update that one instead.
      pr = await findOpenPull(octokit, { ...where, branch: req.branch, base })
      if (pr === null) throw new Error(`GitHub says a pull request from ${req.branch} exists, but none is open: ${errorText(e)}`)
      operation = 'updated'
      log(`Pull request #${pr.number} appeared meanwhile; updating it.`)
    }
  }
  // The reviewer's ticks are the only thing taken from the current body.
  const body = carryTicks(pr.body, req.body)
  if (pr.title !== req.title || pr.body !== body) {
    await octokit.rest.pulls.update({ ...where, pull_number: pr.number, title: req.title, body })
    edited = true
  }
  const missing = [...new Set(req.labels.map((l) => l.trim()).filter((l) => l !== '' && !pr.labels.includes(l)))]
  const labelled = missing.length > 0 ? await addLabels(octokit, { ...where, number: pr.number, names: missing, opened: open === null }, log) : { added: false, warnings: [] }
  return { operation, number: pr.number, url: pr.url, headSha, baseSha, edited: edited || labelled.added, ...(labelled.warnings.length ? { warnings: labelled.warnings } : {}) }
}

/**
 * Adds the labels the repository has; creates the missing ones only on the run that opened
 * the PR. Creating a label needs `issues: write`, which collect's workflow does not grant:
 * a refusal is one warning on that run (never a failure), and later runs do not retry it.
 */
async function addLabels(octokit: Octokit, o: Where & { number: number; names: string[]; opened: boolean }, log: (m: string) => void): Promise<{ added: boolean; warnings: string[] }> {
  const exist: string[] = []
  const absent: string[] = []
  for (const name of o.names) {
    try {
      await octokit.rest.issues.getLabel({ owner: o.owner, repo: o.repo, name })
      exist.push(name)
    } catch (e) {
      if (!hasStatus(e, 404)) throw e
      absent.push(name)
    }
  }
  const add = async (labels: string[]): Promise<boolean> => {
    if (labels.length === 0) return false
    try {
      await octokit.rest.issues.addLabels({ owner: o.owner, repo: o.repo, issue_number: o.number, labels })
      return true
    } catch (e) {
      if (hasStatus(e, 403) || hasStatus(e, 404) || hasStatus(e, 422)) return false
      throw e
    }
  }
  const quoted = (ls: string[]): string => ls.map((l) => `"${l}"`).join(', ')
  const warnings: string[] = []
  const addedExisting = await add(exist)
  if (exist.length > 0 && !addedExisting && o.opened) warnings.push(`Could not label pull request #${o.number} with ${quoted(exist)}: the token may not edit pull requests (pull-requests: write). The pull request is fine otherwise.`)
  let created = false
  if (absent.length > 0 && o.opened) {
    created = await add(absent)
    if (!created) {
      warnings.push(
        `The repository has no label ${quoted(absent)} and this token cannot create one (that needs issues: write, which collect.yml does not grant). ` +
          `Create it under Issues › Labels to label the next pull request; #${o.number} stays without it, and nothing else is affected.`
      )
    }
  } else if (absent.length > 0) {
    log(`Label ${quoted(absent)} does not exist in the repository; not created on an update (see the README's GitHub setup).`)
  }
  return { added: addedExisting || created, warnings }
}
