/**
 * Tells the merged pull request what sync did with it: one comment per synced commit on
 * each pull request the commit belongs to, updated in place on a re-run.
 *
 * The comment is found again by its hidden first line (the marker holds the commit SHA),
 * and only among comments written by a bot: the job's token may edit anyone's comment, so
 * a person who pastes the marker into their own comment must not get it overwritten.
 */
import { appliedCommentMarker } from '../core/render/sync.js'
import type { Octokit } from './github.js'

/** Pull requests commented on per commit at most (a commit normally belongs to one). */
const MAX_PULLS = 5
/** Comments read per pull request while looking for ours (the newest pages are not needed: ours is usually early). */
const MAX_COMMENT_PAGES = 10

export interface AppliedCommentTarget {
  owner: string
  repo: string
  sha: string
}

/** What was done, per pull request number (for the log and tests). */
export type CommentResult = { pull: number; action: 'created' | 'updated' | 'unchanged' }[]

/**
 * The merged pull requests that `sha` belongs to (a merge, squash or rebase commit of
 * the default branch). A direct push has none.
 */
export async function mergedPullsOf(octokit: Octokit, t: AppliedCommentTarget): Promise<number[]> {
  const { data } = await octokit.rest.repos.listPullRequestsAssociatedWithCommit({ owner: t.owner, repo: t.repo, commit_sha: t.sha, per_page: 100 })
  return data.filter((p) => p.merged_at !== null && p.merged_at !== undefined).map((p) => p.number).slice(0, MAX_PULLS)
}

/** Our earlier comment for this commit: a bot's comment that starts with the marker. */
async function findOwnComment(octokit: Octokit, t: AppliedCommentTarget, pull: number, marker: string): Promise<{ id: number; body: string } | null> {
  for (let page = 1; page <= MAX_COMMENT_PAGES; page++) {
    const { data } = await octokit.rest.issues.listComments({ owner: t.owner, repo: t.repo, issue_number: pull, per_page: 100, page })
    const ours = data.find((c) => c.user?.type === 'Bot' && (c.body ?? '').startsWith(marker))
    if (ours !== undefined) return { id: ours.id, body: ours.body ?? '' }
    if (data.length < 100) break
  }
  return null
}

/**
 * Creates or updates the comment `body` (which starts with the commit's marker) on every
 * merged pull request of `sha`. An identical body is left alone.
 */
export async function upsertAppliedComment(octokit: Octokit, t: AppliedCommentTarget, body: string): Promise<CommentResult> {
  const marker = appliedCommentMarker(t.sha)
  if (!body.startsWith(marker)) throw new Error('the applied comment must start with its marker')
  const out: CommentResult = []
  for (const pull of await mergedPullsOf(octokit, t)) {
    const existing = await findOwnComment(octokit, t, pull, marker)
    if (existing === null) {
      await octokit.rest.issues.createComment({ owner: t.owner, repo: t.repo, issue_number: pull, body })
      out.push({ pull, action: 'created' })
    } else if (existing.body !== body) {
      await octokit.rest.issues.updateComment({ owner: t.owner, repo: t.repo, comment_id: existing.id, body })
      out.push({ pull, action: 'updated' })
    } else {
      out.push({ pull, action: 'unchanged' })
    }
  }
  return out
}
