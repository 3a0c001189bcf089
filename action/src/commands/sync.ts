/**
 * sync and check: committed files → Gateway lists + the managed Do Not Inspect policy.
 *
 * Both validate the files first and stop at the first broken line or at an entry that an
 * exclusion forbids; both read the account and compute the same plan. check (and sync
 * with dry-run) stops there: it makes read calls only. sync applies the plan, unless
 * the guard refuses it, then writes its summary in the past tense and tells the merged
 * pull request what happened (applied, refused, or which step failed).
 */
import type Cloudflare from 'cloudflare'
import { assertPlanAllowed, planSync, type SyncPlan } from '../core/sync-plan.js'
import { renderAppliedComment, renderSyncFailureMarkdown, renderSyncMarkdown, renderSyncText, syncHeadline, type SyncOutcome, type SyncStage } from '../core/render/sync.js'
import { plain } from '../core/render/escape.js'
import { applySyncPlan, readRemoteState } from '../adapters/gateway.js'
import type { Inputs } from '../inputs.js'
import { scaledSleep, type Runtime } from '../runtime.js'
import { excludedEntries, FileProblemsError, loadFiles, widestOf } from './files.js'

export interface SyncResult {
  plan?: SyncPlan
  writes: number
  /** check without a token: the files were validated, the account was not read. */
  validatedOnly?: boolean
}

/** Posts (or updates) the comment on the pull request(s) of the synced commit. */
export type AppliedCommentPort = (markdown: string) => Promise<void>

export interface SyncDeps {
  client?: Cloudflare
  mode: 'sync' | 'check'
  /** sync only, on GitHub with a token: the merged PR hears the outcome. */
  comment?: AppliedCommentPort
}

/** Drift values named in the one annotation; the summary lists them all. */
const DRIFT_NAMED = 3

/** Where the run is, so that a failure can say which step it was. */
interface Progress { stage: SyncStage; plan?: SyncPlan; reported: boolean }

export async function sync(rt: Runtime, inputs: Inputs, deps: SyncDeps): Promise<SyncResult> {
  const progress: Progress = { stage: 'files', reported: false }
  try {
    return await runSync(rt, inputs, deps, progress)
  } catch (e) {
    if (deps.mode === 'sync' && !inputs['dry-run'] && !progress.reported) await reportFailure(rt, deps, progress, e)
    throw e
  }
}

async function runSync(rt: Runtime, inputs: Inputs, deps: SyncDeps, progress: Progress): Promise<SyncResult> {
  const files = await loadFiles(rt, { listsDir: inputs['lists-dir'], exclusionsFile: inputs['exclusions-file'], requireLists: true, widest: widestOf(inputs) })
  const contradictions = excludedEntries(files)
  if (contradictions.length) throw new FileProblemsError(contradictions)
  rt.log.info(`Files valid: ${files.ips.entries.length} IPs, ${files.hosts.entries.length} hostnames, ${files.rules.length} active exclusions.`)

  const accountId = inputs['cloudflare-account-id']
  if (!deps.client || !accountId) {
    if (deps.mode === 'sync') throw new Error('sync needs cloudflare-account-id and cloudflare-api-token')
    rt.log.info('No Cloudflare token: check validated the files only (add a read-only token to see the sync plan).')
    return { writes: 0, validatedOnly: true }
  }

  progress.stage = 'read'
  const sleep = scaledSleep(rt.waitScale)
  const remote = await readRemoteState(deps.client, accountId, { prefix: inputs['list-prefix'], policyName: inputs['policy-name'], sleep })
  const plan = planSync({ ips: files.ips.entries, hosts: files.hosts.entries }, remote, {
    prefix: inputs['list-prefix'],
    policyName: inputs['policy-name'],
    capacity: inputs['list-capacity'],
    force: inputs.force,
    maxAdditions: inputs['max-sync-additions'],
    maxLists: inputs['max-lists'],
    provenance: {
      repository: rt.github ? `${rt.github.owner}/${rt.github.repo}` : 'local',
      commit: rt.github?.sha ?? 'local'
    }
  })
  progress.plan = plan
  const readOnly = deps.mode === 'check' || inputs['dry-run']
  rt.print(renderSyncText(plan, deps.mode === 'sync' && inputs['dry-run'] ? { kind: 'dry-run' } : { kind: 'plan' }))
  warnDrift(rt, plan)
  warnGuard(rt, plan)

  if (readOnly) {
    const outcome: SyncOutcome = deps.mode === 'check' ? { kind: 'plan' } : { kind: 'dry-run' }
    if (rt.summary) await rt.summary(renderSyncMarkdown(plan, outcome))
    rt.log.info(deps.mode === 'check' ? 'check: plan shown, nothing written.' : 'Dry run: nothing written.')
    return { plan, writes: 0 }
  }
  if (!plan.guard.allowed) {
    progress.reported = true
    await report(rt, deps, plan, { kind: 'refused' })
    assertPlanAllowed(plan)
  }
  progress.stage = 'apply'
  const { writes } = await applySyncPlan(deps.client, accountId, plan, { log: (m) => rt.log.info(m), sleep })
  progress.reported = true
  const outcome: SyncOutcome = { kind: 'applied', writes }
  rt.log.info(syncHeadline(plan, outcome))
  await report(rt, deps, plan, outcome)
  return { plan, writes }
}

/** One annotation per run, however many hand-added items: each is an unreviewed bypass. */
function warnDrift(rt: Runtime, plan: SyncPlan): void {
  const n = plan.counts.drift
  if (n === 0) return
  const values = [...plan.ips.drift, ...plan.hosts.drift].map((d) => plain(d.raw).slice(0, 100))
  const named = values.slice(0, DRIFT_NAMED).join(', ') + (n > DRIFT_NAMED ? `, and ${n - DRIFT_NAMED} more` : '')
  rt.log.warning(`${n} entr${n === 1 ? 'y' : 'ies'} in the managed Gateway lists ${n === 1 ? 'is' : 'are'} not in the list files (added by hand in the dashboard: ${named}). ` +
    'Each is a TLS-inspection bypass nobody reviewed. sync keeps them; the next collect proposes importing them for review. The job summary lists them all.')
}

function warnGuard(rt: Runtime, plan: SyncPlan): void {
  if (plan.guard.limits.length > 0) {
    // force cannot help here: the files or the inputs must change before the merge.
    rt.log.warning(`sync will refuse this plan: ${plan.guard.limits.join('; ')}`)
  } else if (!plan.guard.allowed) {
    // On a PR this is the moment to learn it: the merge would be refused until someone runs sync with force.
    rt.log.warning(`sync will refuse this plan: ${plan.guard.violations.join('; ')}. If it is intended, run the sync workflow by hand with force: true after merging.`)
  }
}

/** The summary and the PR comment for an outcome of a real (not dry) sync. */
async function report(rt: Runtime, deps: SyncDeps, plan: SyncPlan | undefined, outcome: SyncOutcome): Promise<void> {
  if (rt.summary) {
    const md = plan === undefined && outcome.kind === 'failed' ? renderSyncFailureMarkdown(outcome) : plan === undefined ? '' : renderSyncMarkdown(plan, outcome)
    if (md !== '') await rt.summary(md)
  }
  // Nothing to say to the PR when nothing changed: the daily run must not touch old PRs.
  if (plan !== undefined && plan.changes === 0 && outcome.kind === 'applied') return
  if (!deps.comment || !rt.github?.sha) return
  const body = renderAppliedComment(plan, outcome, { sha: rt.github.sha, runUrl: rt.github.runUrl })
  if (body === '') return
  try {
    await deps.comment(rt.redact ? rt.redact(body) : body)
  } catch (e) {
    // The comment is a courtesy: it never fails the sync, nor hides the sync's own error.
    const hint = (e as { status?: unknown }).status === 403 ? ' Grant the sync job pull-requests: write.' : ''
    rt.log.warning(`Could not comment on the pull request of commit ${rt.github.sha.slice(0, 7)}: ${firstLine(e)}.${hint}`)
  }
}

async function reportFailure(rt: Runtime, deps: SyncDeps, progress: Progress, e: unknown): Promise<void> {
  const message = maskEmails(rt.redact ? rt.redact(errorText(e)) : errorText(e))
  try {
    await report(rt, deps, progress.plan, { kind: 'failed', stage: progress.stage, message })
  } catch (inner) {
    rt.log.warning(`Could not write the failure summary: ${firstLine(inner)}`)
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e)
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 300)
}

/** An API error may quote an account e-mail; the PR comment and the summary never show one. */
function maskEmails(s: string): string {
  return s.replace(/[^\s@<>()"'`,;]+@[^\s@<>()"'`,;]+\.[A-Za-z]{2,}/g, 'email hidden')
}
