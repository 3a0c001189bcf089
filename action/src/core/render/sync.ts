/**
 * Renders a sync plan: Markdown for the job summary / PR comment, plain text for the terminal.
 * Every remote value is attacker-reachable (anyone with dashboard access, or a value echoed
 * by the API), so values go through `code()` / `plain()` and free text through `escapeMarkdown()`.
 */
import type { KindPlan, SyncPlan } from '../sync-plan.js'
import { clip, code, escapeMarkdown, plain } from './escape.js'

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

/**
 * Markdown for the job summary and the PR comment: guard verdict, counts, policy changes,
 * lists created, and tables of added, removed, kept-as-drift and unusable values.
 */
export function renderSyncMarkdown(plan: SyncPlan): string {
  const out: string[] = ['### Cloudflare Gateway sync plan', '']
  const g = plan.guard
  if (!g.safe) {
    out.push(g.forced ? '> [!WARNING]' : '> [!CAUTION]')
    for (const violation of g.violations) out.push(`> ${escapeMarkdown(violation)}`)
    out.push(g.forced
      ? '> Applied anyway because `force` is set.'
      : '> Nothing will be applied. If this is intended, re-run the sync workflow with the `force` input (`force: true`).')
    out.push('')
  }
  if (plan.changes === 0) {
    out.push('No changes: Cloudflare already matches the list files.', '')
  } else {
    const c = plan.counts
    out.push(`**${plan.changes} change(s):** ${c.added} added, ${c.removed} removed, ${c.duplicates} duplicate(s) removed, ` +
      `${c.listsCreated} list(s) created, policy ${plan.policy.action === 'none' ? 'unchanged' : plan.policy.action === 'create' ? 'created' : 'updated'}.`, '')
  }
  if (plan.counts.drift > 0) {
    out.push(`${plan.counts.drift} entr${plan.counts.drift === 1 ? 'y was' : 'ies were'} added by hand in Cloudflare and ` +
      'are not in the list files. They are kept; the next collect proposes importing them.', '')
  }

  if (plan.policy.action !== 'none') {
    out.push(`**Policy ${escapeMarkdown(plan.policy.name)}** will be ${plan.policy.action === 'create' ? 'created' : 'updated'}` +
      `${plan.policy.handEdited ? ' (it was changed outside this repository; the change is reverted)' : ''}:`, '')
    for (const r of plan.policy.reasons) out.push(`- ${escapeMarkdown(r)}`)
    out.push('')
  }
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
  if (plan.changes === 0) out.push('No changes: Cloudflare already matches the list files.')
  else {
    const c = plan.counts
    out.push(`${plan.changes} change(s): ${c.added} added, ${c.removed} removed, ${c.duplicates} duplicate(s) removed, ${c.listsCreated} list(s) created.`)
  }
  for (const c of [...plan.ips.creates, ...plan.hosts.creates]) out.push(`create list ${plain(c.name)} (${c.type}, ${c.items.length} entries)`)
  if (plan.policy.action !== 'none') {
    out.push(`${plan.policy.action} policy ${plain(plan.policy.name)}${plan.policy.handEdited ? ' (edited outside this repository; reverting)' : ''}:`)
    for (const r of plan.policy.reasons) out.push(`  ${plain(r)}`)
  }
  out.push(...kindText(plan.ips), ...kindText(plan.hosts))
  if (plan.counts.drift > 0) out.push(`${plan.counts.drift} hand-made entr${plan.counts.drift === 1 ? 'y' : 'ies'} kept as drift.`)
  for (const w of plan.warnings) out.push(`warning: ${plain(w)}`)
  if (!plan.guard.safe) {
    for (const v of plan.guard.violations) out.push(`GUARD: ${plain(v)}`)
    out.push(plan.guard.forced ? 'GUARD overridden by force.' : 'Nothing will be applied; re-run with force: true if this is intended.')
  }
  return out.join('\n') + '\n'
}
