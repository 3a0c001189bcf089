/**
 * Builds the adapters an input set asks for and runs the command. Shared by the action
 * (`main.ts`) and the CLI (`cli.ts`): the only difference between them is the Runtime.
 */
import { posix } from 'node:path'
import type Cloudflare from 'cloudflare'
import { createCloudflareClient } from './adapters/cloudflare-client.js'
import { createGitHubClient, scaledGitHubTiming } from './adapters/github.js'
import { findOpenProposal, upsertProposal } from './adapters/pull-request.js'
import { findRejections } from './adapters/rejections.js'
import { LIST_FILES } from './commands/files.js'
import { readRemoteState } from './adapters/gateway.js'
import { certlessThresholds, collect, type CollectResult, type DriftSource, type ObservationSource, type ProposalPort, type RejectionSource } from './commands/collect.js'
import { driftValues, planSync, type RemoteState } from './core/sync-plan.js'
import { gitPort } from './adapters/git.js'
import { listedSinceSource } from './adapters/listed-since.js'
import { sync, type AppliedCommentPort, type SyncResult } from './commands/sync.js'
import { upsertAppliedComment } from './adapters/applied-comment.js'
import type { Inputs } from './inputs.js'
import { scaledSleep, type Runtime } from './runtime.js'
import { queryLogExplorer } from './sources/log-explorer/index.js'
import { readLogpush } from './sources/logpush/index.js'

export type RunResult = { command: 'collect'; result: CollectResult } | { command: 'sync' | 'check'; result: SyncResult }

export async function runCommand(rt: Runtime, inputs: Inputs): Promise<RunResult> {
  const token = inputs['cloudflare-api-token']
  const client = token ? createCloudflareClient({ apiToken: token, baseURL: inputs['cloudflare-api-url'], waitScale: rt.waitScale }) : undefined

  if (inputs.command === 'sync' || inputs.command === 'check') {
    return { command: inputs.command, result: await sync(rt, inputs, { client, mode: inputs.command, comment: appliedCommentPort(rt, inputs) }) }
  }

  const policy = { name: inputs['policy-name'] }
  let source: ObservationSource
  if (inputs.source === 'logpush') {
    const dir = inputs['logpush-dir']!
    source = (window, { rules }) => readLogpush({ dir: rt.cwd ? resolvePath(rt.cwd, dir) : dir, window, ports: inputs.ports, policy, exclusions: rules, certless: certlessThresholds(inputs), usageDays: inputs['idle-days'], onProgress: rt.progress })
  } else {
    const accountId = inputs['cloudflare-account-id']!
    source = (window, { rules }) => queryLogExplorer({ client: client!, accountId, window: { from: window.from!, to: window.to }, ports: inputs.ports, policy, exclusions: rules, certless: certlessThresholds(inputs), usageDays: inputs['idle-days'], log: (m) => rt.log.info(m), sleep: scaledSleep(rt.waitScale) })
  }

  // The repository paths of the list files, spelled as loadFiles spells them.
  const paths = { ips: posix.join(inputs['lists-dir'], LIST_FILES.ip), hosts: posix.join(inputs['lists-dir'], LIST_FILES.host) }
  let proposals: ProposalPort | undefined
  let rejected: RejectionSource | undefined
  const gh = rt.github
  const githubToken = inputs['github-token']
  if (gh && githubToken) {
    const octokit = createGitHubClient({ token: githubToken, baseUrl: gh.apiUrl, ...(gh.timing ?? scaledGitHubTiming(rt.waitScale)), log: (m) => rt.log.info(m) })
    const where = { owner: gh.owner, repo: gh.repo, branch: inputs['pr-branch'] }
    proposals = {
      findOpen: async (paths) => {
        try {
          const p = await findOpenProposal(octokit, { ...where, paths })
          return p ? { number: p.number, url: p.url, botCommit: p.botCommit, distrust: p.distrust } : null
        } catch (e) {
          throw githubStepError(`Reading the open proposal pull request (branch ${where.branch})`, e, 'nothing was changed')
        }
      },
      upsert: async (p) => {
        try {
          const r = await upsertProposal(octokit, { ...where, ...p, labels: inputs['pr-labels'] }, (m) => rt.log.info(m))
          for (const w of r.warnings ?? []) rt.log.warning(w)
          return r
        } catch (e) {
          throw githubStepError(`Committing to ${where.branch} and opening or updating its pull request`, e, 'whatever was pushed is kept and the next run completes it')
        }
      }
    }
    rejected = () => findRejections(octokit, { ...where, paths, now: rt.now(), days: inputs['reject-days'] }, (m) => rt.log.info(m))
  }
  const { drift, remote } = gatewayReadPorts(rt, inputs, client)
  const lifecycle = inputs['idle-days'] > 0 ? listedSinceSource({ remote, git: gitPort(rt.cwd), paths }) : undefined
  return { command: 'collect', result: await collect(rt, inputs, { source, proposals, drift, rejected, lifecycle }) }
}

/**
 * What collect reads from the managed Gateway lists, when its token may (Account › Zero
 * Trust › Read; without it both are skipped): hand-added items to import (drift), and the
 * items' created_at for the idle rule. One read serves both.
 */
function gatewayReadPorts(rt: Runtime, inputs: Inputs, client: Cloudflare | undefined): { drift?: DriftSource; remote?: () => Promise<RemoteState> } {
  const accountId = inputs['cloudflare-account-id']
  if (!client || !accountId) return {}
  let once: Promise<RemoteState> | undefined
  const remote = (): Promise<RemoteState> => (once ??= readRemoteState(client, accountId, { prefix: inputs['list-prefix'], policyName: inputs['policy-name'], sleep: scaledSleep(rt.waitScale) }))
  const drift: DriftSource = async (desired) => {
    try {
      const plan = planSync(desired, await remote(), { prefix: inputs['list-prefix'], policyName: inputs['policy-name'], capacity: inputs['list-capacity'], force: false, provenance: { repository: 'collect', commit: 'collect' } })
      return driftValues(plan)
    } catch (e) {
      rt.log.info(`Drift import skipped: the token cannot read the Gateway lists (${(e as Error).message.split('\n')[0]}). Grant Account › Zero Trust › Read to import hand-added entries.`)
      return null
    }
  }
  return { drift, remote }
}

/** sync on GitHub with a token: the merged pull request of the synced commit hears the outcome. */
function appliedCommentPort(rt: Runtime, inputs: Inputs): AppliedCommentPort | undefined {
  const gh = rt.github
  const token = inputs['github-token']
  if (inputs.command !== 'sync' || !gh?.sha || !token) return undefined
  const sha = gh.sha
  return async (body) => {
    // At most a few writes a run: client-side pacing would only hold the job up, and a rate
    // limit answer just turns the comment into a warning.
    const octokit = createGitHubClient({ token, baseUrl: gh.apiUrl, pacing: false, retryUnitMs: (gh.timing ?? scaledGitHubTiming(rt.waitScale))?.retryUnitMs, log: (m) => rt.log.info(m) })
    for (const r of await upsertAppliedComment(octokit, { owner: gh.owner, repo: gh.repo, sha }, body)) {
      rt.log.info(`Pull request #${r.pull}: sync comment ${r.action}.`)
    }
  }
}

function resolvePath(cwd: string, p: string): string {
  return p.startsWith('/') ? p : `${cwd.replace(/\/$/, '')}/${p}`
}

/** An Octokit failure as one sentence: the step, the HTTP status, GitHub's message, what happens next. */
function githubStepError(step: string, e: unknown, next: string): Error {
  const err = e as { status?: number; message?: string }
  const status = typeof err.status === 'number' ? `GitHub API HTTP ${err.status}` : 'GitHub API request failed'
  const message = (err.message ?? String(e)).split('\n')[0]!.slice(0, 300)
  return new Error(`${step} failed: ${status} (${message}); ${next}.`, { cause: e })
}
