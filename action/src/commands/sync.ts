/**
 * sync and check: committed files → Gateway lists + the managed Do Not Inspect policy.
 *
 * Both validate the files first and stop at the first broken line or at an entry that an
 * exclusion forbids; both read the account and compute the same plan. check (and sync
 * with dry-run) stops there: it makes read calls only. sync applies the plan, unless
 * the guard refuses it.
 */
import type Cloudflare from 'cloudflare'
import { planSync, type SyncPlan } from '../core/sync-plan.js'
import { renderSyncMarkdown, renderSyncText } from '../core/render/sync.js'
import { applySyncPlan, readRemoteState } from '../adapters/gateway.js'
import type { Inputs } from '../inputs.js'
import type { Runtime } from '../runtime.js'
import { excludedEntries, FileProblemsError, loadFiles, widestOf } from './files.js'

export interface SyncResult {
  plan?: SyncPlan
  writes: number
  /** check without a token: the files were validated, the account was not read. */
  validatedOnly?: boolean
}

export async function sync(rt: Runtime, inputs: Inputs, deps: { client?: Cloudflare; mode: 'sync' | 'check' }): Promise<SyncResult> {
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

  const remote = await readRemoteState(deps.client, accountId, { prefix: inputs['list-prefix'], policyName: inputs['policy-name'] })
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
  rt.print(renderSyncText(plan))
  if (rt.summary) await rt.summary(renderSyncMarkdown(plan))

  if (plan.guard.limits.length > 0) {
    // force cannot help here: the files or the inputs must change before the merge.
    rt.log.warning(`sync will refuse this plan: ${plan.guard.limits.join('; ')}`)
  } else if (!plan.guard.allowed) {
    // On a PR this is the moment to learn it: the merge would be refused until someone runs sync with force.
    rt.log.warning(`sync will refuse this plan: ${plan.guard.violations.join('; ')}. If it is intended, run the sync workflow by hand with force: true after merging.`)
  }
  if (deps.mode === 'check' || inputs['dry-run']) {
    rt.log.info(deps.mode === 'check' ? 'check: plan shown, nothing written.' : 'Dry run: nothing written.')
    return { plan, writes: 0 }
  }
  const { writes } = await applySyncPlan(deps.client, accountId, plan, { log: (m) => rt.log.info(m) })
  rt.log.info(writes === 0 ? 'Cloudflare already matches the files: no write calls.' : `Applied with ${writes} write call${writes === 1 ? '' : 's'}.`)
  return { plan, writes }
}
