/**
 * collect: logs → evidence → plan → (list files | one pull request).
 *
 * Locally (no GitHub context) it rewrites the list files, or only prints with dry-run.
 * In Actions it never touches the checkout: it commits the new list files to the one
 * proposal branch through the API and opens or updates the one PR, carrying forward
 * what the bot's own commit on that branch proposes (never what the PR body says).
 */
import { buildCollectPlan, type CollectInput } from '../core/plan.js'
import { carriedFromCommit, type BotCommitContent } from '../core/carried.js'
import { renderCommitMessage, renderPrBody, renderPrTitle, renderSummary, renderText, type SummaryContext } from '../core/render/collect.js'
import type { Candidate, CollectPlan, ExclusionRule, ListedSince, Observations, Rejection } from '../core/types.js'
import type { CertlessThresholds } from '../core/devices.js'
import { formatListFile } from '../core/listfile.js'
import type { Inputs } from '../inputs.js'
import type { Runtime } from '../runtime.js'
import { loadFiles, widestOf } from './files.js'

/**
 * Where observations come from; built by the caller so tests can pass fixtures. The active
 * exclusion rules are passed in because the sources need them while reading: the shared-IP
 * guard must record every IP an excluded hostname was seen on, without keeping every
 * (IP, hostname) pair of ordinary traffic.
 */
export type ObservationSource = (window: { from: number | null; to: number }, context: { rules: ExclusionRule[] }) => Promise<Observations>

/** The GitHub side of collect; absent locally. */
export interface ProposalPort {
  /**
   * The open proposal PR, if any, with the bot's own commit on its branch and `paths`
   * read at it; `botCommit` is null when the tip is not provably the bot's (`distrust` says why).
   */
  findOpen(paths: string[]): Promise<{ number: number; url: string; botCommit: { message: string; files: Record<string, string | null> } | null; distrust?: string } | null>
  /** Commits the files to the proposal branch and opens/updates the PR. */
  upsert(p: { files: { path: string; content: string }[]; message: string; title: string; body: string }): Promise<{ operation: string; number?: number; url?: string }>
}

export interface CollectResult {
  plan: CollectPlan
  operation: 'written' | 'unchanged' | 'dry-run' | string
  pullRequest?: { number?: number; url?: string }
}

/**
 * The proposals the bot's own commit on the open PR's branch carries: values its list
 * files add over `current`, with the evidence its message states. Nothing is read from
 * the PR body, which anyone with write access can edit unseen.
 */
export function carriedFromOpen(
  open: { botCommit: { message: string; files: Record<string, string | null> } | null } | null,
  paths: { ips: string; hosts: string },
  current: { ips: string[]; hosts: string[] }
): Candidate[] {
  if (!open?.botCommit) return []
  const files: BotCommitContent['files'] = { ips: open.botCommit.files[paths.ips] ?? null, hosts: open.botCommit.files[paths.hosts] ?? null }
  return carriedFromCommit({ message: open.botCommit.message, files }, current)
}

/**
 * Hand-added Gateway items that sync reports as drift. Returns null when the account
 * cannot be read (e.g. the collect token has Logs Read only); never fatal.
 */
export type DriftSource = (desired: { ips: string[]; hosts: string[] }) => Promise<{ ips: string[]; hosts: string[] } | null>

/**
 * When each listed entry was listed (issue 10), keyed `kind:value`: the Gateway item's
 * `created_at` where the token can read it, else the commit that added the line. `note`
 * says why some or all are missing. Never throws for a missing permission: it says so.
 */
export type ListedSinceSource = (listed: { ips: string[]; hosts: string[] }) => Promise<{ listedSince: Map<string, ListedSince>; note?: string }>

/** Values reviewers rejected, from the closed and merged proposal PRs and the bot's own commits (never editable text). */
export type RejectionSource = () => Promise<Rejection[]>

/** The inputs `certless-min-destinations` and `certless-min-failed-percent`, as the sources and the planner take them. */
export function certlessThresholds(inputs: Inputs): CertlessThresholds {
  return { minDestinations: inputs['certless-min-destinations'], minFailedPercent: inputs['certless-min-failed-percent'] }
}

export async function collect(
  rt: Runtime,
  inputs: Inputs,
  deps: { source: ObservationSource; proposals?: ProposalPort; drift?: DriftSource; lifecycle?: ListedSinceSource; rejected?: RejectionSource }
): Promise<CollectResult> {
  const files = await loadFiles(rt, { listsDir: inputs['lists-dir'], exclusionsFile: inputs['exclusions-file'], requireLists: false, widest: widestOf(inputs) })
  const to = rt.now()
  const window = { from: inputs.lookback.ms === null ? null : to - inputs.lookback.ms, to }

  const redact = rt.redact ?? ((t: string) => t)
  const observations = await deps.source(window, { rules: files.rules })
  // Source warnings quote API errors, which may quote a credential: mask them while they
  // are raw text, before any renderer escapes them (escaping hides `_`/`-` from a mask).
  observations.stats.warnings = observations.stats.warnings.map(redact)
  const current = { ips: files.ips.entries, hosts: files.hosts.entries }
  const open = deps.proposals ? await deps.proposals.findOpen([files.paths.ips, files.paths.hosts]) : null
  const carried = carriedFromOpen(open, files.paths, current)
  if (open) {
    rt.log.info(`Open proposal #${open.number} carries ${carried.length} proposed entr${carried.length === 1 ? 'y' : 'ies'} from the bot's own commit.`)
    if (!open.botCommit) rt.log.warning(`Open proposal #${open.number}: nothing is carried forward because ${open.distrust ?? 'its branch tip is not the bot\'s commit'}; only this run's evidence is proposed.`)
  }

  const drift = deps.drift ? await deps.drift({ ips: files.ips.entries, hosts: files.hosts.entries }) : null
  const imports = drift ? [...drift.ips.map((value) => ({ kind: 'ip' as const, value })), ...drift.hosts.map((value) => ({ kind: 'host' as const, value }))] : []
  if (imports.length) rt.log.info(`${imports.length} item(s) were added to the managed Gateway lists by hand; proposing to import them for review.`)

  const plan = buildCollectPlan({
    observations,
    current,
    rules: files.rules,
    expiredRules: files.expired,
    options: { minSessions: inputs['min-sessions'], minDevices: inputs['min-devices'], maxNewEntries: inputs['max-new-entries'], now: to, widest: widestOf(inputs) },
    carried: { additions: carried },
    imports,
    certlessRule: { thresholds: certlessThresholds(inputs), ports: inputs.ports },
    ...(await lifecycleOf(rt, inputs, deps, current))
  })
  for (const w of plan.warnings) rt.log.warning(w)
  rt.print(renderText(plan, { dryRun: inputs['dry-run'] }))
  rt.setOutput?.('added', String(plan.additions.length))
  rt.setOutput?.('removed', String(plan.removals.length + (plan.lifecycle?.idle.removals.length ?? 0)))
  // Written once the outcome is known, so it can link the pull request; also when that step fails.
  const summarize = async (pullRequest?: SummaryContext['pullRequest']): Promise<void> => {
    if (rt.summary) await rt.summary(renderSummary(plan, { dryRun: inputs['dry-run'], ...(pullRequest ? { pullRequest } : {}) }))
  }

  const nextIps = formatListFile(files.ips.header, plan.next.ips, 'ip')
  const nextHosts = formatListFile(files.hosts.header, plan.next.hosts, 'host')
  const changed: { path: string; content: string }[] = []
  if (nextIps !== (files.texts.ips ?? '')) changed.push({ path: files.paths.ips, content: nextIps })
  if (nextHosts !== (files.texts.hosts ?? '')) changed.push({ path: files.paths.hosts, content: nextHosts })

  if (inputs['dry-run']) {
    if (deps.proposals) rt.print(`\n--- pull request (dry run) ---\n${renderPrTitle(plan)}\n\n${renderPrBody(plan, prContext(rt, inputs))}`)
    rt.log.info('Dry run: nothing written.')
    await summarize()
    return { plan, operation: 'dry-run' }
  }

  if (!deps.proposals) {
    for (const f of changed) await rt.writeText(f.path, f.content)
    rt.log.info(changed.length ? `Wrote ${changed.map((f) => f.path).join(', ')}.` : 'List files already up to date.')
    await summarize()
    return { plan, operation: changed.length ? 'written' : 'unchanged' }
  }

  if (changed.length === 0 && !open) {
    rt.log.info('Nothing new to propose and no open proposal: no commit, no pull request.')
    await summarize()
    return { plan, operation: 'none' }
  }
  // Masked again after rendering: everything GitHub stores passes through the redactor.
  const result = await deps.proposals
    .upsert({
      files: changed,
      message: redact(renderCommitMessage(plan)),
      title: redact(renderPrTitle(plan)),
      body: redact(renderPrBody(plan, prContext(rt, inputs)))
    })
    .catch(async (e: unknown) => {
      await summarize()
      throw e
    })
  await summarize(result)
  if (result.operation === 'blocked-human-commits') {
    rt.log.warning(`Someone pushed to ${inputs['pr-branch']}; collect leaves that branch and its pull request alone. Merge or close it, then the next run proposes again.`)
  }
  if (result.number !== undefined) rt.setOutput?.('pull-request-number', String(result.number))
  if (result.url) rt.setOutput?.('pull-request-url', result.url)
  rt.log.info(`Pull request: ${result.operation}${result.url ? ` ${result.url}` : ''}`)
  return { plan, operation: result.operation, pullRequest: { number: result.number, url: result.url } }
}

/**
 * Issue 10's inputs to the planner, when a port provides them. A port that fails costs its
 * rule only (said in the log and the notes), never the run.
 */
async function lifecycleOf(
  rt: Runtime,
  inputs: Inputs,
  deps: { lifecycle?: ListedSinceSource; rejected?: RejectionSource },
  current: { ips: string[]; hosts: string[] }
): Promise<Pick<CollectInput, 'lifecycle' | 'rejected'>> {
  if (!deps.lifecycle && !deps.rejected) return {}
  const redact = rt.redact ?? ((t: string) => t)
  const failed = (what: string, e: unknown): string => {
    const why = redact(e instanceof Error ? e.message : String(e))
    rt.log.warning(`${what} could not be read: ${why}`)
    return `${what} could not be read (${why})`
  }
  let since: Awaited<ReturnType<ListedSinceSource>> = { listedSince: new Map(), note: 'listed-since dates were not looked up in this run' }
  if (deps.lifecycle) since = await deps.lifecycle(current).catch((e: unknown) => ({ listedSince: new Map(), note: failed('Listed-since dates', e) }))
  const rejected = deps.rejected ? await deps.rejected().catch((e: unknown) => (failed('Rejected proposals', e), [])) : []
  return {
    lifecycle: { idleDays: inputs['idle-days'], rejectDays: inputs['reject-days'], listedSince: since.listedSince, ...(since.note ? { listedSinceNote: redact(since.note) } : {}) },
    rejected
  }
}

function prContext(rt: Runtime, inputs: Inputs) {
  return {
    runUrl: rt.github?.runUrl,
    repository: rt.github ? `${rt.github.owner}/${rt.github.repo}` : undefined,
    lookback: inputs.lookback.raw,
    source: inputs.source
  }
}
