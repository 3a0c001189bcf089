/**
 * Renders a sync plan and what became of it: Markdown for the job summary, plain text for
 * the terminal and the log, and the comment on the merged pull request.
 *
 * The tense follows the outcome: check and dry runs show a plan ("… will be added"), an
 * applied run says what it did ("Applied: 11 added …"), a refused or failed run says that
 * nothing (or part) was written and what happens next. Every remote value is
 * attacker-reachable (anyone with dashboard access, or a value echoed by the API), so values
 * and names go through `code()` / `plain()` and free text through `escapeMarkdown()`.
 */
import type { KindPlan, SyncPlan } from '../sync-plan.js'
import { formatCount } from '../sync-breadth.js'
import { clip, code, escapeMarkdown, plain } from './escape.js'

/** Characters of a policy expression shown; the reasons name every clause sync removes. */
const MAX_TRAFFIC_SHOWN = 2000

/** Rows shown per table before "… and N more"; a summary must stay readable. */
const MAX_ROWS = 200

/** Lines of an error message shown in a summary or comment (the log has all of it). */
const MAX_ERROR_LINES = 5

/** Where a failed run stopped; decides what was written and what the next run does. */
export type SyncStage = 'files' | 'read' | 'apply'

/** What a run did with its plan. */
export type SyncOutcome =
  /** check: read-only. */
  | { kind: 'plan' }
  /** sync with dry-run. */
  | { kind: 'dry-run' }
  | { kind: 'applied'; writes: number }
  /** A guard or a hard limit refused the plan: nothing was written. */
  | { kind: 'refused' }
  /** `message` must already be redacted: renderers escape, they do not know the secrets. */
  | { kind: 'failed'; stage: SyncStage; message: string }

type Tense = 'past' | 'future'

const STEP: Record<SyncStage, string> = {
  files: 'validating the list files',
  read: 'reading the managed lists and policy from Cloudflare',
  apply: 'applying the plan to Cloudflare'
}

const NEXT: Record<SyncStage, string> = {
  files: 'Nothing was written. Fix the files in a new pull request; sync runs again when it is merged.',
  read: 'Nothing was written. The next sync run retries (the next merge, the daily schedule, or *Run workflow*).',
  apply: 'Part of the plan may have been written. The next sync run re-reads Cloudflare and completes it ' +
    '(the next merge, the daily schedule, or *Run workflow*).'
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`
}

function label(k: KindPlan): string {
  return k.kind === 'ip' ? 'IP' : 'Hostname'
}

function table(head: string[], rows: string[][]): string[] {
  if (rows.length === 0) return []
  const shown = rows.slice(0, MAX_ROWS)
  const out = [`| ${head.join(' | ')} |`, `|${head.map(() => ' --- ').join('|')}|`, ...shown.map((r) => `| ${r.join(' | ')} |`)]
  if (rows.length > shown.length) out.push('', `… and ${rows.length - shown.length} more (the full list is in this run's log).`)
  return [...out, '']
}

function v(s: string): string {
  return code(clip(s, 300))
}

/**
 * Every kind of change with its count, in fixed words and digits (no escaping needed).
 * The parts add up to `plan.changes`: the policy counts as one change.
 */
export function changeParts(plan: SyncPlan, tense: Tense | 'planned'): string[] {
  const c = plan.counts
  const p = plan.policy.action === 'create' ? ['created', 'create'] : ['updated', 'update']
  // [count, noun when future, past, future, planned]
  const rows: [number, string, string, string, string][] = [
    [c.added, plural(c.added, 'entry', 'entries'), `${c.added} added`, 'will be added', `${c.added} to add`],
    [c.removed, plural(c.removed, 'entry', 'entries'), `${c.removed} removed`, 'will be removed', `${c.removed} to remove`],
    [c.duplicates, plural(c.duplicates, 'duplicate', 'duplicates'), `${plural(c.duplicates, 'duplicate', 'duplicates')} removed`, 'will be removed', `${plural(c.duplicates, 'duplicate', 'duplicates')} to remove`],
    [c.listsCreated, plural(c.listsCreated, 'list', 'lists'), `${plural(c.listsCreated, 'list', 'lists')} created`, 'will be created', `${plural(c.listsCreated, 'list', 'lists')} to create`],
    [plan.policy.action === 'none' ? 0 : 1, 'the policy', `policy ${p[0]}`, `will be ${p[0]}`, `the policy to ${p[1]}`],
    [c.policiesDisabled, plural(c.policiesDisabled, 'duplicate policy', 'duplicate policies'), `${plural(c.policiesDisabled, 'duplicate policy', 'duplicate policies')} disabled`, 'will be disabled', `${plural(c.policiesDisabled, 'duplicate policy', 'duplicate policies')} to disable`]
  ]
  return rows.filter((r) => r[0] > 0).map(([, noun, past, future, planned]) => tense === 'past' ? past : tense === 'future' ? `${noun} ${future}` : planned)
}

function changeSentence(plan: SyncPlan, tense: Tense | 'planned'): string {
  return `${changeParts(plan, tense).join(', ')} (${plural(plan.changes, 'change', 'changes')}`
}

/** "No changes" that stays true when hand-added entries exist (Cloudflare then holds more than the files). */
function noChanges(plan: SyncPlan): string {
  return plan.counts.drift === 0
    ? 'Cloudflare already matches the list files'
    : 'every entry of the list files is in Cloudflare and nothing sync manages needs changing'
}

/** The outcome in one line of fixed words and digits; `bold` wraps its label for Markdown. */
function headline(plan: SyncPlan, outcome: SyncOutcome, bold: (s: string) => string): string {
  if (plan.changes === 0 && outcome.kind !== 'failed') {
    return `${bold('No changes:')} ${noChanges(plan)}${outcome.kind === 'applied' ? ' (no write calls)' : ''}.`
  }
  switch (outcome.kind) {
    case 'plan': return `${bold('Plan:')} ${changeSentence(plan, 'future')}). ${plan.guard.allowed ? 'Read-only: sync applies it after the merge.' : 'Read-only; sync will refuse it as it stands (see above).'}`
    case 'dry-run': return `${bold('Plan:')} ${changeSentence(plan, 'future')}). ${plan.guard.allowed ? 'Run sync without dry-run to apply it.' : 'sync will refuse it as it stands (see above).'}`
    case 'applied': return `${bold('Applied:')} ${changeSentence(plan, 'past')}, ${plural(outcome.writes, 'write call', 'write calls')}).`
    case 'refused': return `${bold('Refused: nothing was written.')} Planned: ${changeSentence(plan, 'planned')}).`
    case 'failed': return `${bold('Planned:')} ${changeSentence(plan, 'planned')}).`
  }
}

/** The plain-text headline for the terminal and the log. */
export function syncHeadline(plan: SyncPlan, outcome: SyncOutcome): string {
  return headline(plan, outcome, (s) => s)
}

function title(plan: SyncPlan, outcome: SyncOutcome): string {
  const what = outcome.kind === 'failed' ? 'failed'
    : plan.changes === 0 && outcome.kind !== 'refused' ? (outcome.kind === 'dry-run' ? 'dry run, no changes' : 'no changes')
      : { plan: 'plan (read-only)', 'dry-run': 'dry run, nothing written', applied: 'applied', refused: 'refused, nothing written' }[outcome.kind]
  return `### Cloudflare Gateway sync: ${what}`
}

function failureMarkdown(outcome: Extract<SyncOutcome, { kind: 'failed' }>): string[] {
  const lines = outcome.message.split('\n').filter((l) => l.trim() !== '')
  const shown = lines.slice(0, MAX_ERROR_LINES).map((l) => `> ${escapeMarkdown(clip(l, 300))}`)
  if (lines.length > shown.length) shown.push(`> … and ${lines.length - shown.length} more line(s) in this run's log.`)
  return [`**Failed while ${STEP[outcome.stage]}.**`, '', ...shown, '', NEXT[outcome.stage], '']
}

function kindMarkdown(k: KindPlan): string[] {
  const l = label(k)
  const added = table([`${l} added`, 'List'], k.added.map((a) => [v(a.value), code(a.listName)]))
  const removed = table([`${l} removed`, 'List', 'Why'], k.removed.map((r) => [
    v(r.raw), code(r.listName), r.reason === 'duplicate' ? 'second copy of a listed value' : 'no longer in the file'
  ]))
  const drift = table([`${l} kept (drift: added by hand, not in the file)`, 'List', 'Description'], k.drift.map((d) => [
    v(d.raw), code(d.listName), d.description === undefined || d.description === '' ? '' : escapeMarkdown(clip(d.description, 120))
  ]))
  const unparsable = table([`${l} left alone (not a valid value)`, 'List', 'Why'], k.unparsable.map((u) => [
    v(u.raw), code(u.listName), escapeMarkdown(u.reason)
  ]))
  const invalid = table([`${l} in the file skipped (invalid)`, 'Why'], k.invalidDesired.map((i) => [v(i.value), escapeMarkdown(i.reason)]))
  return [...added, ...removed, ...drift, ...unparsable, ...invalid]
}

function guardMarkdown(plan: SyncPlan, tense: Tense): string[] {
  const g = plan.guard
  const out: string[] = []
  const nothing = tense === 'future' ? 'Nothing will be applied' : 'Nothing was applied'
  if (g.limits.length > 0) {
    out.push('> [!CAUTION]')
    for (const l of g.limits) out.push(`> ${escapeMarkdown(l)}`)
    out.push(`> ${nothing} (force does not override this limit).`, '')
  }
  if (g.violations.length > 0) {
    out.push(g.forced ? '> [!WARNING]' : '> [!CAUTION]')
    for (const violation of g.violations) out.push(`> ${escapeMarkdown(violation)}`)
    out.push(g.forced
      ? `> ${tense === 'future' ? 'sync applies it anyway' : 'Applied anyway'} because \`force\` is set.`
      : `> ${nothing}. If this is intended, run the sync workflow by hand with the \`force\` input (*Run workflow › force: true*).`)
    out.push('')
  }
  return out
}

/** Hand-added entries: each one bypasses inspection without review, so this is a warning, not a footnote. */
function driftMarkdown(plan: SyncPlan): string[] {
  const n = plan.counts.drift
  if (n === 0) return []
  return [
    '> [!WARNING]',
    `> **${plural(n, 'entry', 'entries')} in the managed lists ${n === 1 ? 'is' : 'are'} not in the list files** (added by hand in the dashboard). ` +
      'Each one is a TLS-inspection bypass nobody reviewed. sync keeps them (it never removes what it did not add); ' +
      'the next collect proposes importing them for review, or delete them in the dashboard. They are listed below.',
    ''
  ]
}

/** Addresses bypassed, per family: total after apply and what this run adds. Digits, commas, `≈2^`: no escaping needed. */
function breadthLine(plan: SyncPlan): string {
  const b = plan.breadth
  return `IP entries cover ${formatCount(b.total.v4)} IPv4 and ${formatCount(b.total.v6)} IPv6 addresses; ` +
    `this run adds ${formatCount(b.added.v4)} IPv4 and ${formatCount(b.added.v6)} IPv6.`
}

function policyMarkdown(plan: SyncPlan, tense: Tense): string[] {
  const p = plan.policy
  const out: string[] = []
  if (p.action !== 'none') {
    const done = p.action === 'create' ? 'created' : 'updated'
    out.push(`**Policy ${code(p.name)}** ${tense === 'future' ? 'will be' : 'was'} ${done}` +
      `${p.handEdited ? ` (it was changed outside this repository; the change ${tense === 'future' ? 'is' : 'was'} reverted)` : ''}:`, '')
    for (const r of p.reasons) out.push(`- ${escapeMarkdown(r)}`)
    out.push('')
    out.push(...table(['Field', tense === 'future' ? 'In Cloudflare' : 'Was', tense === 'future' ? 'Restored to' : 'Now'], p.changes.map((c) => [
      `~ ${c.field}`, code(clip(c.old, MAX_TRAFFIC_SHOWN)), code(clip(c.new, MAX_TRAFFIC_SHOWN))
    ])))
  }
  if (p.duplicates.length > 0) {
    out.push(`**${p.duplicates.length} other polic${p.duplicates.length === 1 ? 'y is' : 'ies are'} named ${code(p.name)}** ` +
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
      code(d.name), code(d.id), String(d.items), code(d.adoptedId)
    ]))
  ]
}

/** The tense of the plan's details: past only once they were written. */
function tenseOf(outcome: SyncOutcome): Tense {
  return outcome.kind === 'applied' ? 'past' : 'future'
}

/**
 * Markdown for the job summary: the outcome first (plan, dry run, applied, refused,
 * failed), then guard verdict, drift warning, policy changes, lists created, and tables of
 * added, removed, kept-as-drift and unusable values (capped; the log has every value).
 */
export function renderSyncMarkdown(plan: SyncPlan, outcome: SyncOutcome = { kind: 'plan' }): string {
  const tense = tenseOf(outcome)
  const out: string[] = [title(plan, outcome), '']
  if (outcome.kind === 'dry-run') out.push('**Dry run: nothing was written.**', '')
  if (outcome.kind === 'failed') out.push(...failureMarkdown(outcome))
  out.push(...guardMarkdown(plan, outcome.kind === 'refused' || outcome.kind === 'applied' ? 'past' : 'future'))
  out.push(headline(plan, outcome, (s) => `**${s}**`), '', breadthLine(plan), '')
  out.push(...driftMarkdown(plan), ...policyMarkdown(plan, tense), ...duplicateListsMarkdown(plan))
  const creates = [...plan.ips.creates, ...plan.hosts.creates]
  out.push(...table(['List created', 'Type', 'Initial entries'], creates.map((c) => [code(c.name), c.type, String(c.items.length)])))
  out.push(...kindMarkdown(plan.ips), ...kindMarkdown(plan.hosts))
  for (const w of plan.warnings) out.push(`- ⚠️ ${escapeMarkdown(w)}`)
  if (plan.warnings.length > 0) out.push('')
  out.push(`<sub>Capacity ${plan.capacity} entries per list; items written by sync are marked ${code(plan.mark)}.</sub>`)
  return out.join('\n') + '\n'
}

/** Markdown for a run that failed before it had a plan (the files or the account could not be read). */
export function renderSyncFailureMarkdown(outcome: Extract<SyncOutcome, { kind: 'failed' }>): string {
  return ['### Cloudflare Gateway sync: failed', '', ...failureMarkdown(outcome)].join('\n')
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

function policyText(plan: SyncPlan): string[] {
  const out: string[] = []
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
  return out
}

function guardText(plan: SyncPlan): string[] {
  const out: string[] = []
  for (const l of plan.guard.limits) out.push(`LIMIT: ${plain(l)}`)
  if (plan.guard.limits.length > 0) out.push('Nothing will be applied (force does not override this limit).')
  if (plan.guard.violations.length > 0) {
    for (const v of plan.guard.violations) out.push(`GUARD: ${plain(v)}`)
    if (plan.guard.limits.length === 0) out.push(plan.guard.forced ? 'GUARD overridden by force.' : 'Nothing will be applied; re-run with force: true if this is intended.')
  }
  return out
}

/**
 * Plain text for the terminal and the log: the plan (every value, uncapped: this is where
 * the summary's "… and N more" points). A dry run says so on its first line.
 */
export function renderSyncText(plan: SyncPlan, outcome: SyncOutcome = { kind: 'plan' }): string {
  const out: string[] = []
  if (outcome.kind === 'dry-run') out.push('Dry run: nothing will be written.')
  out.push(syncHeadline(plan, outcome.kind === 'dry-run' ? outcome : { kind: 'plan' }))
  out.push(breadthLine(plan))
  for (const c of [...plan.ips.creates, ...plan.hosts.creates]) out.push(`create list ${plain(c.name)} (${c.type}, ${plural(c.items.length, 'entry', 'entries')})`)
  out.push(...policyText(plan), ...kindText(plan.ips), ...kindText(plan.hosts))
  if (plan.counts.drift > 0) out.push(`${plan.counts.drift} hand-made entr${plan.counts.drift === 1 ? 'y' : 'ies'} kept as drift (each an unreviewed bypass).`)
  for (const w of plan.warnings) out.push(`warning: ${plain(w)}`)
  out.push(...guardText(plan))
  return out.join('\n') + '\n'
}

/** The hidden first line of the applied comment: finds it again on a re-run for the same commit. */
export function appliedCommentMarker(sha: string): string {
  return `<!-- gateway-tls-bypass:sync ${hexSha(sha)} -->`
}

/** The commit SHA as hex only (GITHUB_SHA is; anything after it is dropped, never spliced in). */
function hexSha(sha: string): string {
  return /^[0-9a-f]{7,64}/i.exec(sha)?.[0].toLowerCase() ?? 'unknown'
}

/** A run link only when it is a plain http(s) URL (it is put in a Markdown link as is). */
function runLink(runUrl: string | undefined): string {
  return runUrl !== undefined && /^https?:\/\/[^\s()<>[\]"'`\\]+$/.test(runUrl) ? `[sync workflow run](${runUrl})` : 'sync workflow run'
}

function listsTouched(plan: SyncPlan): string[] {
  const rows: string[][] = []
  for (const c of [...plan.ips.creates, ...plan.hosts.creates]) rows.push([code(c.name), `created with ${plural(c.items.length, 'entry', 'entries')}`])
  for (const u of [...plan.ips.updates, ...plan.hosts.updates]) {
    const parts = [u.append.length > 0 ? `+${u.append.length}` : '', u.remove.length > 0 ? `−${u.remove.length}` : ''].filter((s) => s !== '')
    if (parts.length > 0) rows.push([code(u.name), parts.join(' ')])
  }
  return table(['List', 'Change'], rows)
}

function commentBody(plan: SyncPlan | undefined, outcome: SyncOutcome, link: string): string[] {
  if (outcome.kind === 'failed') {
    return [`### ❌ Sync failed while ${STEP[outcome.stage]}`, '', ...failureMarkdown(outcome).slice(2), `Details: the ${link}.`]
  }
  if (plan === undefined) return []
  if (outcome.kind === 'refused') {
    return ['### ⛔ Not applied: sync refused this change', '', ...guardMarkdown(plan, 'past'),
      `Planned: ${changeSentence(plan, 'planned')}). Details: the ${link}.`]
  }
  if (outcome.kind !== 'applied') return []
  const out = ['### ✅ Applied to Cloudflare Gateway', '', headline(plan, outcome, (s) => `**${s}**`), '', ...listsTouched(plan), ...policyMarkdown(plan, 'past')]
  if (plan.counts.drift > 0) {
    out.push(`⚠️ ${plural(plan.counts.drift, 'entry', 'entries')} in the managed lists ${plan.counts.drift === 1 ? 'was' : 'were'} added by hand and ${plan.counts.drift === 1 ? 'is' : 'are'} not in the list files (unreviewed bypasses; listed in the run's summary).`, '')
  }
  out.push(`The job summary of the ${link} lists every value.`)
  return out
}

/**
 * The comment on the merged pull request: what was applied (counts, lists touched, the
 * policy change), or that the guard refused and how to apply anyway, or which step failed
 * and that the next run retries. Counts and list names only: no values, no identities.
 * Empty when there is nothing to say (check, dry run).
 */
export function renderAppliedComment(plan: SyncPlan | undefined, outcome: SyncOutcome, ctx: { sha: string; runUrl?: string }): string {
  const body = commentBody(plan, outcome, runLink(ctx.runUrl))
  if (body.length === 0) return ''
  const short = hexSha(ctx.sha).slice(0, 7)
  return [appliedCommentMarker(ctx.sha), ...body, '', `<sub>gateway-tls-bypass sync of commit ${short}.</sub>`, ''].join('\n')
}
