/**
 * A reviewer's "no", read back from GitHub (issue 10): the proposal PRs closed within
 * `reject-days`, and on each the bot's own commit (the same trust check as carrying:
 * trailer, verified, Bot author, GitHub or Bot committer). Nothing is read from the PR
 * title, body or comments, which anyone with write access can edit.
 *
 * - Closed unmerged by a person (the issue's `closed_by` is not a Bot: collect itself closes
 *   obsolete proposals, which is no one's "no"): what the bot proposed and the base branch
 *   does not hold now.
 * - Merged: what the bot proposed and the merge commit does not hold (lines deleted before
 *   merging).
 *
 * Bounded: closed PRs of the proposal branch, most recently updated first, stop at the
 * first one updated before the window (closed_at ≤ updated_at), and at most `maxPulls`.
 * Per PR: one list of its commits, plus who closed it (unmerged) or the two list files at
 * the merge commit (merged); the base branch's list files are read once.
 */
import { rejectedByPull, type KeptLists } from '../core/rejected-proposals.js'
import type { Rejection } from '../core/types.js'
import type { Octokit } from './github.js'
import { botCommitProblem, readFiles, type CommitFacts } from './pull-request.js'

const DAY_MS = 86_400_000

/** Most closed proposal PRs one run examines. */
export const MAX_REJECTION_PULLS = 25

export interface RejectionQuery {
  owner: string
  repo: string
  /** The proposal branch (head of every proposal PR). */
  branch: string
  paths: { ips: string; hosts: string }
  now: number
  days: number
  maxPulls?: number
}

/** The parts of a closed PR this reads: numbers, dates, refs. No title or body. */
interface ClosedPull {
  number: number
  closedAt: number
  updatedAt: number
  merged: boolean
  mergeSha: string | null
  base: string
}

/**
 * Rejections from the proposal PRs closed in the last `days` days. Logs one line on what
 * was examined (and whether the cap stopped it) and one per PR it could not judge.
 */
export async function findRejections(octokit: Octokit, q: RejectionQuery, log: (m: string) => void = () => undefined): Promise<Rejection[]> {
  if (!(q.days > 0)) return []
  const cutoff = q.now - q.days * DAY_MS
  const { pulls, capped } = await closedProposals(octokit, q, cutoff)
  const baseFiles = new Map<string, Promise<KeptLists>>()
  const out: Rejection[] = []
  for (const pull of pulls) {
    const message = await botMessage(octokit, q, pull, log)
    if (message === null) continue
    let kept: KeptLists
    if (pull.merged) {
      if (pull.mergeSha === null) continue
      kept = await listsAt(octokit, q, pull.mergeSha)
    } else {
      if (!(await closedByPerson(octokit, q, pull, log))) continue
      if (!baseFiles.has(pull.base)) baseFiles.set(pull.base, listsAt(octokit, q, pull.base))
      kept = await baseFiles.get(pull.base)!
    }
    out.push(...rejectedByPull(pull, message, kept))
  }
  const prs = new Set(out.map((r) => r.pr)).size
  log(
    `Rejected proposals: ${out.length} value(s) from ${prs} pull request(s) closed in the last ${q.days} day(s)` +
      ` (examined ${pulls.length}${capped ? `, the most recent ${pulls.length}: older ones in the window are not checked` : ''}).`
  )
  return out
}

/** Closed PRs from the proposal branch, closed within the window, newest update first. */
async function closedProposals(octokit: Octokit, q: RejectionQuery, cutoff: number): Promise<{ pulls: ClosedPull[]; capped: boolean }> {
  const max = Math.max(1, q.maxPulls ?? MAX_REJECTION_PULLS)
  const pulls: ClosedPull[] = []
  const pages = octokit.paginate.iterator(octokit.rest.pulls.list, {
    owner: q.owner,
    repo: q.repo,
    state: 'closed',
    head: `${q.owner}:${q.branch}`,
    sort: 'updated',
    direction: 'desc',
    per_page: Math.min(100, max + 1)
  })
  for await (const page of pages) {
    for (const p of page.data) {
      const updatedAt = Date.parse(p.updated_at)
      if (!(updatedAt >= cutoff)) return { pulls, capped: false }
      const closedAt = Date.parse(p.closed_at ?? '')
      // Belt and braces: the head filter is only honoured as `owner:branch`.
      if (p.head.ref !== q.branch || !(closedAt >= cutoff)) continue
      if (pulls.length === max) return { pulls, capped: true }
      pulls.push({ number: p.number, closedAt, updatedAt, merged: p.merged_at !== null && p.merged_at !== undefined, mergeSha: p.merge_commit_sha ?? null, base: p.base.ref })
    }
  }
  return { pulls, capped: false }
}

/** The message of the PR's last commit that is provably the bot's, or null (and why, logged). */
async function botMessage(octokit: Octokit, q: RejectionQuery, pull: ClosedPull, log: (m: string) => void): Promise<string | null> {
  const res = await octokit.rest.pulls.listCommits({ owner: q.owner, repo: q.repo, pull_number: pull.number, per_page: 100 })
  const commits = res.data as unknown as CommitFacts[]
  for (let i = commits.length - 1; i >= 0; i--) {
    const c = commits[i]!
    if (botCommitProblem(c) === undefined) return c.commit.message
  }
  log(`Pull request #${pull.number}: no commit on it is provably the bot's; nothing it proposed counts as rejected.`)
  return null
}

/** True when a person closed the PR; collect (a Bot) closes proposals that became obsolete. */
async function closedByPerson(octokit: Octokit, q: RejectionQuery, pull: ClosedPull, log: (m: string) => void): Promise<boolean> {
  let by: { type?: string } | null | undefined
  try {
    by = (await octokit.rest.issues.get({ owner: q.owner, repo: q.repo, issue_number: pull.number })).data.closed_by
  } catch (e) {
    const status = (e as { status?: unknown }).status
    if (status !== 403 && status !== 404) throw e
    log(`Pull request #${pull.number}: cannot read who closed it (HTTP ${status}); its proposals do not count as rejected.`)
    return false
  }
  if (by === null || by === undefined) {
    log(`Pull request #${pull.number}: GitHub does not say who closed it; its proposals do not count as rejected.`)
    return false
  }
  return by.type !== 'Bot'
}

async function listsAt(octokit: Octokit, q: RejectionQuery, ref: string): Promise<KeptLists> {
  const files = await readFiles(octokit, { owner: q.owner, repo: q.repo, ref, paths: [q.paths.ips, q.paths.hosts] })
  return { ips: files[q.paths.ips] ?? null, hosts: files[q.paths.hosts] ?? null }
}
