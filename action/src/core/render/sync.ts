/**
 * Renders a sync plan: Markdown for the job summary / PR comment, plain text for the terminal.
 * Every remote value is attacker-reachable (anyone with dashboard access, or a value echoed
 * by the API), so values go through `code()` / `plain()` and free text through `escapeMarkdown()`.
 */
import type { KindPlan, SyncPlan } from '../sync-plan.js'
import { formatCount } from '../sync-breadth.js'
import { clip, code, escapeMarkdown, plain } from './escape.js'

/** Characters of a policy expression shown; the reasons name every clause sync removes. */
const MAX_TRAFFIC_SHOWN = 2000

/** Rows shown per table before "… and N more"; a summary must stay readable. */
const MAX_ROWS = 200

function label(k: KindPlan): string {
  return k.kind === 'ip' ? 'IP' : 'Hostname'
}

function table(head: string[], rows: string[][]): string[] {
  if (rows.length === 0) return []
  const shown = rows.slice(0, MAX_ROWS)
  const out = [`| ${head.join(' | ')} |`, `|${head.map(() => ' --- ').join('|')}|`, ...shown.map((r) => `| ${r.join(' | ')} |`)]
  if (rows.length > shown.length) out.push('', `… and ${rows.length - shown.length} more.`)
  return [...out, '']
}

function v(s: string): string {
  return code(clip(s, 300))
}

function kindMarkdown(k: KindPlan): string[] {
  const out: string[] = []
  const l = label(k)
  const added = table([`${l} added`, 'List'], k.added.map((a) => [v(a.value), escapeMarkdown(a.listName)]))
  const removed = table([`${l} removed`, 'List', 'Why'], k.removed.map((r) => [
    v(r.raw), escapeMarkdown(r.listName), r.reason === 'duplicate' ? 'second copy of a listed value' : 'no longer in the file'
  ]))
  const drift = table([`${l} kept (drift: added by hand, not in the file)`, 'List', 'Description'], k.drift.map((d) => [
    v(d.raw), escapeMarkdown(d.listName), d.description === undefined || d.description === '' ? '' : escapeMarkdown(clip(d.description, 120))
  ]))
  const unparsable = table([`${l} left alone (not a valid value)`, 'List', 'Why'], k.unparsable.map((u) => [
    v(u.raw), escapeMarkdown(u.listName), escapeMarkdown(u.reason)
  ]))
  const invalid = table([`${l} in the file skipped (invalid)`, 'Why'], k.invalidDesired.map((i) => [v(i.value), escapeMarkdown(i.reason)]))
  out.push(...added, ...removed, ...drift, ...unparsable, ...invalid)
  return out
}

function guardMarkdown(plan: SyncPlan): string[] {
  const g = plan.guard
  const out: string[] = []
  if (g.limits.length > 0) {
    out.push('> [!CAUTION]')
    for (const l of g.limits) out.push(`> ${escapeMarkdown(l)}`)
    out.push('> Nothing will be applied (force does not override this limit).', '')
  }
  if (g.violations.length > 0) {
    out.push(g.forced ? '> [!WARNING]' : '> [!CAUTION]')
    for (const violation of g.violations) out.push(`> ${escapeMarkdown(violation)}`)
    out.push(g.forced
      ? '> Applied anyway because `force` is set.'
      : '> Nothing will be applied. If this is intended, re-run the sync workflow with the `force` input (`force: true`).')
    out.push('')
  }
  return out
}

/** Fixed words and numbers only: needs no Markdown escaping. */
function countsDetail(plan: SyncPlan): string {
  const c = plan.counts
  const policy = plan.policy.action === 'none' ? 'unchanged' : plan.policy.action === 'create' ? 'created' : 'updated'
  return `${c.added} added, ${c.removed} removed, ${c.duplicates} duplicate(s) removed, ` +
    `${c.listsCreated} list(s) created, policy ${policy}${c.policiesDisabled > 0 ? `, ${c.policiesDisabled} duplicate polic${c.policiesDisabled === 1 ? 'y' : 'ies'} disabled` : ''}.`
}

/** Addresses bypassed, per family: total after apply and what this run adds. Digits, commas, `≈2^`: no escaping needed. */
function breadthLine(plan: SyncPlan): string {
  const b = plan.breadth
  return `IP entries cover ${formatCount(b.total.v4)} IPv4 and ${formatCount(b.total.v6)} IPv6 addresses; ` +
    `this run adds ${formatCount(b.added.v4)} IPv4 and ${formatCount(b.added.v6)} IPv6.`
}

function policyMarkdown(plan: SyncPlan): string[] {
  const p = plan.policy
  const out: string[] = []
  if (p.action !== 'none') {
    out.push(`**Policy ${escapeMarkdown(p.name)}** will be ${p.action === 'create' ? 'created' : 'updated'}` +
      `${p.handEdited ? ' (it was changed outside this repository; the change is reverted)' : ''}:`, '')
    for (const r of p.reasons) out.push(`- ${escapeMarkdown(r)}`)
    out.push('')
    out.push(...table(['Field', 'In Cloudflare', 'Restored to'], p.changes.map((c) => [
      `~ ${c.field}`, code(clip(c.old, MAX_TRAFFIC_SHOWN)), code(clip(c.new, MAX_TRAFFIC_SHOWN))
    ])))
  }
  if (p.duplicates.length > 0) {
    out.push(`**${p.duplicates.length} other polic${p.duplicates.length === 1 ? 'y is' : 'ies are'} named ${escapeMarkdown(p.name)}** ` +
      '(made by a concurrent run). sync manages the oldest, disables the others and never deletes them: delete them by hand.', '')
    out.push(...table(['Duplicate policy id', 'Created', 'Now'], p.duplicates.map((d) => [
      code(d.id), escapeMarkdown(d.createdAt ?? 'unknown'), d.enabled ? 'enabled: sync disables it' : 'disabled'
    ])))
  }
  return out
}

function duplicateListsMarkdown(plan: SyncPlan): string[] {
  if (plan.duplicateLists.length === 0) return []
  return [
    `**${plan.duplicateLists.length} managed list name(s) exist twice** (made by a concurrent run). sync uses the oldest ` +
      'list of each name; the policy no longer references the others and sync never deletes lists: delete them by hand.', '',
    ...table(['Duplicate list', 'Id', 'Entries', 'Used instead'], plan.duplicateLists.map((d) => [
      escapeMarkdown(d.name), code(d.id), String(d.items), code(d.adoptedId)
    ]))
  ]
}

/**
 * Markdown for the job summary and the PR comment: guard verdict, counts, policy changes,
 * lists created, and tables of added, removed, kept-as-drift and unusable values.
 */
export function renderSyncMarkdown(plan: SyncPlan): string {
  const out: string[] = ['### Cloudflare Gateway sync plan', '', ...guardMarkdown(plan)]
  if (plan.changes === 0) {
    out.push('No changes: Cloudflare already matches the list files.', '')
  } else {
    out.push(`**${plan.changes} change(s):** ${countsDetail(plan)}`, '')
  }
  out.push(breadthLine(plan), '')
  if (plan.counts.drift > 0) {
    out.push(`${plan.counts.drift} entr${plan.counts.drift === 1 ? 'y was' : 'ies were'} added by hand in Cloudflare and ` +
      'are not in the list files. They are kept; the next collect proposes importing them.', '')
  }

  out.push(...policyMarkdown(plan), ...duplicateListsMarkdown(plan))
  const creates = [...plan.ips.creates, ...plan.hosts.creates]
  out.push(...table(['List created', 'Type', 'Initial entries'], creates.map((c) => [escapeMarkdown(c.name), c.type, String(c.items.length)])))
  out.push(...kindMarkdown(plan.ips), ...kindMarkdown(plan.hosts))
  for (const w of plan.warnings) out.push(`- ⚠️ ${escapeMarkdown(w)}`)
  if (plan.warnings.length > 0) out.push('')
  out.push(`<sub>Capacity ${plan.capacity} entries per list; items written by sync are marked ${code(plan.mark)}.</sub>`)
  return out.join('\n') + '\n'
}

function kindText(k: KindPlan): string[] {
  const out: string[] = []
  for (const a of k.added) out.push(`  + ${plain(a.value)}  (${plain(a.listName)})`)
  for (const r of k.removed) out.push(`  - ${plain(r.raw)}  (${plain(r.listName)}${r.reason === 'duplicate' ? ', duplicate' : ''})`)
  for (const d of k.drift) out.push(`  = ${plain(d.raw)}  (${plain(d.listName)}, drift: added by hand, kept)`)
  for (const u of k.unparsable) out.push(`  ? ${plain(clip(u.raw, 300))}  (${plain(u.listName)}, left alone: ${plain(u.reason)})`)
  for (const i of k.invalidDesired) out.push(`  ! ${plain(clip(i.value, 300))}  (in the file, skipped: ${plain(i.reason)})`)
  return out.length === 0 ? [] : [`${k.kind === 'ip' ? 'IPs' : 'Hostnames'}:`, ...out]
}

/** Plain text for the terminal (`check` / `sync` without a job summary). */
export function renderSyncText(plan: SyncPlan): string {
  const out: string[] = []
  out.push(plan.changes === 0 ? 'No changes: Cloudflare already matches the list files.' : `${plan.changes} change(s): ${countsDetail(plan)}`)
  out.push(breadthLine(plan))
  for (const c of [...plan.ips.creates, ...plan.hosts.creates]) out.push(`create list ${plain(c.name)} (${c.type}, ${c.items.length} entries)`)
  if (plan.policy.action !== 'none') {
    out.push(`${plan.policy.action} policy ${plain(plan.policy.name)}${plan.policy.handEdited ? ' (edited outside this repository; reverting)' : ''}:`)
    for (const r of plan.policy.reasons) out.push(`  ${plain(r)}`)
    for (const c of plan.policy.changes) out.push(`  ~ ${c.field} = ${JSON.stringify(plain(clip(c.old, MAX_TRAFFIC_SHOWN)))} -> ${JSON.stringify(plain(clip(c.new, MAX_TRAFFIC_SHOWN)))}`)
  }
  for (const d of plan.policy.duplicates) {
    out.push(`duplicate policy ${plain(d.id)} named ${plain(plan.policy.name)}: ${d.enabled ? 'disabling it' : 'disabled'}; delete it by hand`)
  }
  for (const d of plan.duplicateLists) {
    out.push(`duplicate list ${plain(d.name)} (${plain(d.id)}, ${d.items} entries): not used, ${plain(d.adoptedId)} is; delete it by hand`)
  }
  out.push(...kindText(plan.ips), ...kindText(plan.hosts))
  if (plan.counts.drift > 0) out.push(`${plan.counts.drift} hand-made entr${plan.counts.drift === 1 ? 'y' : 'ies'} kept as drift.`)
  for (const w of plan.warnings) out.push(`warning: ${plain(w)}`)
  for (const l of plan.guard.limits) out.push(`LIMIT: ${plain(l)}`)
  if (plan.guard.limits.length > 0) out.push('Nothing will be applied (force does not override this limit).')
  if (plan.guard.violations.length > 0) {
    for (const v of plan.guard.violations) out.push(`GUARD: ${plain(v)}`)
    if (plan.guard.limits.length === 0) out.push(plan.guard.forced ? 'GUARD overridden by force.' : 'Nothing will be applied; re-run with force: true if this is intended.')
  }
  return out.join('\n') + '\n'
}
