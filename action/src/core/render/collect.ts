/**
 * Renderings of a collect plan: PR title and body, commit message, job summary and
 * terminal text. The PR body carries no machine-readable state: what the next run carries
 * forward is read from the bot's own commit (see `core/carried.ts`), whose `+` lines
 * `renderCommitMessage` writes.
 *
 * Every value that came from a log or a file is escaped (see `escape.ts`): in Markdown,
 * values are code spans and free text is Markdown-escaped; in plain text, controls are
 * shown as `\uXXXX`. Only counts are ever printed about devices and users.
 */
import type { Candidate, CollectPlan, ExclusionRule, InvalidValue, Removal, Suppressed } from '../types.js'
import { clip, code, escapeMarkdown, plain, visible } from './escape.js'
import { EVIDENCE_LEGEND, cellValue, clipMiddle, evidenceHeader, evidenceRow, ipIntro } from './evidence.js'
import { certlessChecklist, certlessDetail, certlessHeadline, certlessHowToFind, certlessRuleText } from './certless.js'
import { idleRemovalText, idleTables, lifecycleCommitLines, lifecycleReadMd, lifecycleReportTables, lifecycleText, removalCount, type MdTable } from './lifecycle.js'

/** GitHub refuses PR bodies longer than this many characters. */
export const PR_BODY_LIMIT = 65_536

/** `$GITHUB_STEP_SUMMARY` accepts at most 1 MiB per step (measured in bytes). */
export const SUMMARY_LIMIT = 1_048_576

/** Context for the PR body that is not in the plan. */
export interface PrContext {
  runUrl?: string
  repository?: string
  /** The lookback as the user wrote it (e.g. `7d`). */
  lookback: string
  /** `logpush` or `log-explorer`. */
  source: string
}

// Reasons come from the exclusions file and warnings from sources: bounded per cell/line.
const REASON_MAX = 300
const WARNING_MAX = 500
const WARNINGS_SHOWN = 30
// Tables that only inform get a sensible default length even when there is room.
const BELOW_SHOWN = 10
const INVALID_SHOWN = 50

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`
}

/** Largest time a Date can hold; stats from any source are checked against it before printing. */
const MAX_DATE_MS = 8.64e15

/** A canonical list value as is; anything else (never expected here) through `plain`. */
function verbatim(value: string): string {
  return /^[a-z0-9._:/-]+$/.test(value) ? value : plain(value)
}

/** `YYYY-MM-DD HH:MM` UTC, or `—` for unknown (0) or impossible times. */
function utc(ms: number): string {
  if (!(ms > 0) || !(ms <= MAX_DATE_MS)) return '—'
  const iso = new Date(ms).toISOString()
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)}`
}

/** Compact ISO form for one-line commit evidence: `2026-11-15T10:00Z`, or `-`. */
function isoMinute(ms: number): string {
  if (!(ms > 0) || !(ms <= MAX_DATE_MS)) return '-'
  return `${new Date(ms).toISOString().slice(0, 16)}Z`
}

function windowText(plan: CollectPlan): string {
  const w = plan.observed.window
  return `${w.from === null ? 'all records' : utc(w.from)} → ${utc(w.to)} UTC`
}

function capText(n: number): string {
  return n === Infinity ? 'no cap' : String(n)
}

function counts(plan: CollectPlan): string {
  const parts: string[] = []
  if (plan.additions.length) parts.push(`add ${plan.additions.length}`)
  if (removalCount(plan)) parts.push(`remove ${removalCount(plan)}`)
  return parts.length ? parts.join(', ') : 'no changes'
}

/** The PR title, e.g. `TLS bypass: add 3, remove 1`. Always ≤ 72 characters. */
export function renderPrTitle(plan: CollectPlan): string {
  return clip(`TLS bypass: ${counts(plan)}`, 72)
}

// ---------------------------------------------------------------------------------------
// Markdown building blocks

function row(cells: string[]): string {
  return `| ${cells.join(' | ')} |`
}

function tableMd(t: MdTable, shown: number): string {
  const heading = `${t.title} (${t.total})`
  const lines: string[] = []
  if (t.intro) lines.push(t.intro, '')
  if (shown > 0) {
    lines.push(row(t.header), row(t.header.map(() => '---')), ...t.rows.slice(0, shown))
  }
  const notShown = t.total - shown
  if (notShown > 0) {
    lines.push('', `_${notShown} more not shown — ${t.elsewhere}._`)
  }
  const body = lines.join('\n')
  if (t.collapsed) return `<details><summary>${heading}</summary>\n\n${body}\n\n</details>`
  return `### ${heading}\n\n${body}`
}

/**
 * A value in a table cell. Canonical values are at most 253 characters, so the clip only
 * bounds values that did not come from the planner.
 */
function val(v: string): string {
  return cellValue(v)
}

/** The window's year: dates in the evidence tables name only other years. */
function yearOf(plan: CollectPlan): number {
  const y = new Date(plan.observed.window.to).getUTCFullYear()
  return Number.isFinite(y) ? y : 0
}

const candidateRows = (plan: CollectPlan, cs: Candidate[]): string[] => cs.map((c) => evidenceRow(c, yearOf(plan)))

/** The additions, one table per kind (hostnames first), so no Kind column is needed. */
function additionTables(plan: CollectPlan, elsewhere: string): MdTable[] {
  const hosts = plan.additions.filter((c) => c.kind !== 'ip')
  const ips = plan.additions.filter((c) => c.kind === 'ip')
  const one = (title: string, kind: 'host' | 'ip', cs: Candidate[], intro: string | undefined): MdTable => ({
    title, total: cs.length, header: evidenceHeader(kind), rows: candidateRows(plan, cs), limit: cs.length, collapsed: false, elsewhere, ...(intro ? { intro } : {})
  })
  const ipNote = ipIntro(ips)
  return [
    one('Add hostnames', 'host', hosts, EVIDENCE_LEGEND),
    one('Add IPs', 'ip', ips, hosts.length ? ipNote : [EVIDENCE_LEGEND, ipNote].filter(Boolean).join('\n\n'))
  ]
}

function ruleMd(rule: ExclusionRule): string {
  return `${val(rule.value)} (line ${rule.line})`
}

/** Free text in a cell: bounded, and no word longer than a column can hold. */
function reasonMd(reason: string): string {
  return escapeMarkdown(clip(reason, REASON_MAX).replace(/\S{41,}/g, (w) => clipMiddle(w, 40)))
}

function removalRow(r: Removal): string {
  return row([r.kind, val(r.value), ruleMd(r.rule), reasonMd(r.rule.reason), r.via ? val(r.via) : '—'])
}

function suppressedRow(s: Suppressed): string {
  const c = s.candidate
  return row([val(c.value), ruleMd(s.rule), s.via ? val(s.via) : '—', String(c.stats.sessions), String(c.stats.devices), reasonMd(s.rule.reason)])
}

function invalidRow(v: InvalidValue): string {
  return row([v.kind, val(v.raw), reasonMd(v.reason), String(v.sessions)])
}

function tables(plan: CollectPlan, elsewhere: { lists: string; other: string }): MdTable[] {
  return [
    ...additionTables(plan, elsewhere.lists),
    {
      title: 'Remove',
      total: plan.removals.length,
      header: ['Kind', 'Value', 'Excluded by', 'Reason', 'Via'],
      rows: plan.removals.map(removalRow),
      limit: plan.removals.length,
      collapsed: false,
      intro: 'Listed entries that an exclusion now covers; "via" is the excluded hostname seen on a listed IP.',
      elsewhere: elsewhere.lists
    },
    ...idleTables(plan, elsewhere),
    {
      title: 'Suppressed by exclusions',
      total: plan.suppressed.length,
      header: ['Value', 'Excluded by', 'Via', 'Sessions', 'Devices', 'Reason'],
      rows: plan.suppressed.map(suppressedRow),
      limit: plan.suppressed.length,
      collapsed: true,
      elsewhere: elsewhere.other
    },
    {
      title: 'Held back by max-new-entries',
      total: plan.heldBack.length,
      header: evidenceHeader('mixed'),
      rows: candidateRows(plan, plan.heldBack),
      limit: plan.heldBack.length,
      collapsed: true,
      intro: 'Valid candidates over the cap; the next runs propose them once these are merged.',
      elsewhere: elsewhere.other
    },
    ...lifecycleReportTables(plan, elsewhere.other),
    onlyCertlessTable(plan, elsewhere.other),
    {
      title: 'Below threshold',
      total: plan.belowThreshold.length,
      header: evidenceHeader('mixed'),
      rows: candidateRows(plan, plan.belowThreshold),
      limit: Math.min(plan.belowThreshold.length, BELOW_SHOWN),
      collapsed: true,
      intro: `Fewer than ${plan.options.minSessions} sessions or ${plan.options.minDevices} devices; strongest first.`,
      elsewhere: elsewhere.other
    },
    {
      title: 'Invalid values',
      total: plan.invalid.length,
      header: ['Kind', 'Logged value (escaped)', 'Why it cannot be listed', 'Sessions'],
      rows: plan.invalid.map(invalidRow),
      limit: Math.min(plan.invalid.length, INVALID_SHOWN),
      collapsed: true,
      intro: 'Logged values that can never be list entries. Shown escaped; they may be hostile.',
      elsewhere: elsewhere.other
    }
  ].filter((t) => t.total > 0)
}

/** Destinations that failed only on certificate-less devices: never proposed, shown for the record. */
function onlyCertlessTable(plan: CollectPlan, elsewhere: string): MdTable {
  const only = plan.certless?.onlyCertless ?? []
  const n = plan.certless?.notShown
  const hidden = n ? n.listed + n.excluded + n.elsewhere + n.invalid : 0
  return {
    title: 'Failed only on devices without the certificate',
    total: only.length,
    header: ['Kind', 'Value', 'Sessions', 'Devices', 'First seen (UTC)', 'Last seen (UTC)'],
    rows: only.map((d) => row([d.kind === 'ip' ? 'ip' : 'host', val(d.value), String(d.stats.sessions), String(d.stats.devices), utc(d.stats.firstSeen), utc(d.stats.lastSeen)])),
    limit: Math.min(only.length, ONLY_CERTLESS_SHOWN),
    collapsed: true,
    intro:
      'Not proposed: their TLS failed only on devices that look like they lack the Gateway certificate (counts are of those devices).' +
      (n && hidden ? ` Not listed here: ${n.listed} already listed, ${n.excluded} excluded, ${n.elsewhere} failing on other devices too, ${n.invalid} not a valid destination.` : ''),
    elsewhere
  }
}

const ONLY_CERTLESS_SHOWN = 100

/** The note under the header, and how an admin finds the devices; empty when none matched. */
function certlessMd(plan: CollectPlan): string {
  const c = plan.certless
  const how = certlessHowToFind(plan)
  if (!c || !how) return ''
  const which = c.devices.length === 1 ? 'the device' : 'the devices'
  return [
    // Only the finding is bold; the numbers after the colon read better plain.
    `> [!NOTE]\n> ${certlessHeadline(c).replace(/^([^:]+):/, '**$1**:')}\n> ${certlessDetail(c)}`,
    `<details><summary>How to find ${which} without the certificate</summary>\n\n${how.intro}\n\n\`\`\`${how.lang}\n${how.code}\n\`\`\`\n\n</details>`
  ].join('\n\n')
}

/** Characters of escaped warnings a PR body or summary shows at most. */
const WARNINGS_BUDGET = 8_000

function warningsMd(plan: CollectPlan): string {
  if (!plan.warnings.length) return ''
  // Bounded as a whole, not only per line: escaping can grow text several times, and the
  // warnings must never push the tables out of the body's size limit.
  const shown: string[] = []
  let budget = WARNINGS_BUDGET
  for (const w of plan.warnings.slice(0, WARNINGS_SHOWN)) {
    const line = `> - ${escapeMarkdown(clip(w, WARNING_MAX))}`
    if (line.length > budget) break
    budget -= line.length
    shown.push(line)
  }
  const more = plan.warnings.length - shown.length
  if (more > 0) shown.push(`> - _${plural(more, 'more warning')} in the run log_`)
  return ['> [!WARNING]', ...shown].join('\n')
}

function observedMd(plan: CollectPlan): string {
  const o = plan.observed
  const datasets = Object.entries(o.records)
    .filter((e): e is [string, number] => typeof e[1] === 'number')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([d, n]) => `${code(d)} ${n}`)
  const files = o.source === 'logpush' ? ` · files read ${o.filesRead}, skipped ${o.filesSkipped}, corrupt ${o.filesCorrupt}` : ''
  const queries = o.queries !== undefined ? ` · queries ${o.queries}${o.splits !== undefined ? `, window splits ${o.splits}` : ''}` : ''
  const opt = plan.options
  return [
    '### What was read',
    '',
    `- Source: ${escapeMarkdown(o.source)} · window ${windowText(plan)}`,
    `- ${o.source === 'log-explorer' ? 'Matched by the queries (failing sessions, bypassed requests, hostnames on candidate IPs)' : 'Records'}: ${datasets.length ? datasets.join(' · ') : 'none'} · in window ${o.inWindow} · malformed lines ${o.malformedLines}${files}${queries}`,
    `- Already listed (no change): ${plan.alreadyListed}`,
    `- Thresholds: min-sessions ${opt.minSessions} · min-devices ${opt.minDevices} · max-new-entries ${capText(opt.maxNewEntries)}`,
    ...(plan.certless ? [`- Devices without the certificate: ${plan.certless.devices.length} of ${plan.certless.devicesSeen} seen (${certlessRuleText(plan.certless)})`] : []),
    ...lifecycleReadMd(plan)
  ].join('\n')
}

const checklist = (plan: CollectPlan): string => [
  '### Before merging',
  '',
  ...certlessChecklist(plan.certless),
  '- [ ] No hostname is shared or a CDN/front door: a bypass exempts everything served under that name.',
  '- [ ] Every IP serves only this app: several unrelated names under "Seen with" mean a shared IP — prefer the hostname.',
  '- [ ] None of these needs tenant control, DLP or other HTTP policies (e.g. Google/Microsoft tenant restrictions); if one does, add it to the exclusions file instead.',
  // Only when something leaves the lists: a box nobody can tick is noise.
  ...(plan.removals.length + (plan.lifecycle?.idle.removals.length ?? 0) > 0 ? ['- [ ] Removals are intended: those destinations will be inspected again.'] : [])
].join('\n')

function linkOrCode(url: string | undefined, label: string): string {
  if (!url) return ''
  // Only a plain https URL becomes a link; anything else is shown, not followed.
  if (/^https?:\/\/[A-Za-z0-9._~:/?#[\]@!$&'*+,;=%-]+$/.test(url) && !/[()]/.test(url)) return ` · [${label}](${url})`
  return ` · ${label}: ${code(url)}`
}

/**
 * Shortens tables (largest first) until `build` fits `limit`. Returns the rendering and
 * whether anything had to be cut. `shown[i]` rows of table i are rendered.
 */
function fit(build: (shown: number[]) => string, ts: MdTable[], limit: number, measure: (s: string) => number): string {
  const shown = ts.map((t) => t.limit)
  // Prefix sums of row sizes: how much removing rows from the end of a table saves.
  const sizes = ts.map((t) => {
    const acc = [0]
    for (const r of t.rows) acc.push((acc[acc.length - 1] ?? 0) + measure(r) + 1)
    return acc
  })
  let out = build(shown)
  for (let guard = 0; guard < 1000; guard++) {
    const excess = measure(out) - limit
    if (excess <= 0) return out
    let best = -1
    let bestSize = 0
    shown.forEach((n, i) => {
      const size = sizes[i]?.[n] ?? 0
      if (n > 0 && size > bestSize) {
        best = i
        bestSize = size
      }
    })
    if (best < 0) break
    const acc = sizes[best] ?? [0]
    let n = shown[best] ?? 0
    // Cut enough rows for the excess plus the "N more not shown" note.
    const target = (acc[n] ?? 0) - excess - 200
    while (n > 0 && (acc[n] ?? 0) > target) n--
    shown[best] = n
    out = build(shown)
  }
  return out
}

function headerMd(plan: CollectPlan, title: string, extra: string): string {
  const lines = [`## ${title}`, '', `**${counts(plan).replace(/^./, (c) => c.toUpperCase())}**${extra}`]
  const w = warningsMd(plan)
  if (w) lines.push('', w)
  return lines.join('\n')
}

function assemble(parts: string[]): string {
  return `${parts.filter((p) => p !== '').join('\n\n')}\n`
}

/**
 * The PR body: summary, tables, what was read and the reviewer checklist. No hidden state:
 * nothing in the body is ever read back. Never longer than {@link PR_BODY_LIMIT}: tables
 * are shortened first (largest first, with a "not shown" note), prose last.
 */
export function renderPrBody(plan: CollectPlan, ctx: PrContext): string {
  const intro =
    ' · from ' +
    `${escapeMarkdown(ctx.source)}, lookback ${code(ctx.lookback)} (${windowText(plan)})${linkOrCode(ctx.runUrl, 'workflow run')}\n\n` +
    'Gateway could not inspect these destinations (`CLIENT_TLS_ERROR`), most likely because the apps pin their certificates. ' +
    'Merging adds them to the Do Not Inspect lists: their traffic then skips **every** HTTP policy. Review each one.'
  const head = headerMd(plan, 'Proposed TLS inspection bypasses', intro)
  const ts = tables(plan, { lists: 'see the job summary / commit message', other: 'see the job summary' })
  const footer =
    `<sub>Generated by gateway-tls-bypass${ctx.repository ? ` for ${code(ctx.repository)}` : ''}. ` +
    'To stop a value from being proposed, add it to the exclusions file. ' +
    (plan.lifecycle && plan.lifecycle.rejectDays > 0 ? `Closing this pull request unmerged, or deleting a line before merging, keeps those values out of proposals for ${plan.lifecycle.rejectDays} days. ` : '') +
    'The next run carries forward only what its own commit on this branch proposes, never this text.</sub>'
  const build = (shown: number[]): string => assemble([head, certlessMd(plan), ...ts.map((t, i) => tableMd(t, shown[i] ?? 0)), observedMd(plan), checklist(plan), footer])
  const out = fit(build, ts, PR_BODY_LIMIT, (s) => s.length)
  // Last resort (only if warnings alone leave no room): cut the prose.
  return out.length > PR_BODY_LIMIT ? `${clip(out, PR_BODY_LIMIT - 1)}\n` : out
}

/**
 * Markdown for `$GITHUB_STEP_SUMMARY`: the same tables as the PR body (same escaping),
 * without the checklist; at most {@link SUMMARY_LIMIT} bytes.
 */
export function renderSummary(plan: CollectPlan, run: SummaryContext = {}): string {
  const title = run.dryRun ? 'gateway-tls-bypass collect (dry run: nothing written)' : 'gateway-tls-bypass collect'
  const head = headerMd(plan, title, ` · ${windowText(plan)}${summaryPrLink(run.pullRequest)}`)
  const ts = tables(plan, { lists: 'the run log and the commit message list every one', other: 'the run log lists the strongest' })
  const bytes = (s: string): number => Buffer.byteLength(s, 'utf8')
  return fit((shown) => assemble([head, certlessMd(plan), ...ts.map((t, i) => tableMd(t, shown[i] ?? 0)), observedMd(plan)]), ts, SUMMARY_TABLES_LIMIT, bytes)
}

/** What the job summary says besides the plan: a dry run, and the PR collect opened or updated. */
export interface SummaryContext {
  dryRun?: boolean
  pullRequest?: { number?: number; url?: string; operation?: string }
}

/**
 * Bytes of a job summary. Far below GitHub's 1 MiB ({@link SUMMARY_LIMIT}): a page of
 * 12,000 rows is unreadable, and the run log lists every addition.
 */
export const SUMMARY_TABLES_LIMIT = 100_000

const PR_OUTCOME: Record<string, string> = {
  created: 'opened',
  updated: 'updated',
  unchanged: 'unchanged',
  closed: 'closed (nothing left to propose)',
  'blocked-human-commits': 'left alone: someone pushed to its branch'
}

/** ` · [pull request #12](url) updated`: the PR this run opened, updated or left alone. */
function summaryPrLink(pr: SummaryContext['pullRequest']): string {
  if (!pr?.url && (pr?.number === undefined || !Number.isSafeInteger(pr.number))) return ''
  const label = `pull request${pr.number !== undefined && Number.isSafeInteger(pr.number) ? ` #${pr.number}` : ''}`
  const outcome = pr.operation === undefined ? '' : ` ${PR_OUTCOME[pr.operation] ?? escapeMarkdown(pr.operation)}`
  return `${linkOrCode(pr.url, label) || ` · ${label}`}${outcome}`
}

// ---------------------------------------------------------------------------------------
// Plain text

function evidenceLine(c: Candidate): string {
  const other = c.kind === 'host' ? 'ips' : 'hosts'
  return (
    `${c.source} sessions=${c.stats.sessions} devices=${c.stats.devices} users=${c.stats.users} ` +
    `first=${isoMinute(c.stats.firstSeen)} last=${isoMinute(c.stats.lastSeen)} ${other}=${c.otherSideTotal}`
  )
}

/** `excluded by RULE via NAME (line N): reason`, with `esc` applied to every file/log value. */
function ruleText(rule: ExclusionRule, via: string | undefined, esc: (s: string) => string): string {
  return `excluded by ${esc(rule.value)}${via ? ` via ${esc(via)}` : ''} (line ${rule.line}): ${esc(clip(rule.reason, REASON_MAX))}`
}

/**
 * The commit message: subject ≤ 72 characters, then one line per added value with its
 * evidence and one per removed value with the rule that removed it, so `git blame` on a
 * list line leads to why it is there.
 */
export function renderCommitMessage(plan: CollectPlan): string {
  const o = plan.options
  const lines = [
    renderPrTitle(plan),
    '',
    `Evidence from ${plain(plan.observed.source)}, window ${windowText(plan)}; ` +
      `min-sessions=${o.minSessions} min-devices=${o.minDevices} max-new-entries=${capText(o.maxNewEntries)}.`
  ]
  const life = lifecycleCommitLines(plan, verbatim)
  if (plan.additions.length || removalCount(plan)) lines.push('')
  // Values are canonical (letters, digits, '.', '-', '_', ':', '/'), so they are written
  // verbatim: `git log --grep www.example.com` must find the commit. Reasons are free text.
  for (const c of plan.additions) lines.push(`+ ${c.kind} ${verbatim(c.value)}  ${evidenceLine(c)}`)
  for (const r of plan.removals) lines.push(`- ${r.kind} ${verbatim(r.value)}  ${ruleText(r.rule, r.via, plain)}`)
  lines.push(...life.removals)
  const notes: string[] = []
  if (plan.heldBack.length) notes.push(`Held back by max-new-entries: ${plan.heldBack.length}.`)
  if (plan.suppressed.length) notes.push(`Suppressed by exclusions: ${plan.suppressed.length}.`)
  notes.push(...life.notes)
  if (notes.length) lines.push('', notes.join(' '))
  return `${lines.join('\n')}\n`
}

/** Left-aligns text columns and right-aligns numeric ones. */
function columns(rows: string[][], numeric: boolean[]): string[] {
  const widths: number[] = []
  for (const r of rows) r.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)))
  return rows.map((r) =>
    `  ${r
      .map((cell, i) => {
        const w = widths[i] ?? 0
        if (i === r.length - 1 && !numeric[i]) return cell
        return numeric[i] ? cell.padStart(w) : cell.padEnd(w)
      })
      .join('  ')}`.trimEnd()
  )
}

const TEXT_SHOWN = 20
const TEXT_VALUE_MAX = 80

function candidateTable(cs: Candidate[], shown: number): string[] {
  const head = ['KIND', 'VALUE', 'SOURCE', 'SESSIONS', 'DEVICES', 'USERS', 'FIRST SEEN', 'LAST SEEN', 'SEEN WITH']
  const rows = cs.slice(0, shown).map((c) => {
    const others = c.otherSide.slice(0, 3).map((v) => visible(v))
    const more = c.otherSideTotal - others.length
    return [
      c.kind,
      visible(c.value),
      c.source,
      c.source === 'bypass-log' ? `${c.stats.sessions} requests` : String(c.stats.sessions),
      String(c.stats.devices),
      String(c.stats.users),
      utc(c.stats.firstSeen),
      utc(c.stats.lastSeen),
      `${others.join(', ')}${more > 0 ? ` +${more} more` : ''}` || (c.kind === 'ip' && c.source === 'tls-error' ? '! no hostname seen on this IP' : '-')
    ]
  })
  const out = columns([head, ...rows], [false, false, false, true, true, true, false, false, false])
  if (cs.length > shown) out.push(`  … ${cs.length - shown} more`)
  return out
}

/** The certificate-less note, the admin's search and the destinations left out, as terminal text. */
function certlessText(plan: CollectPlan): string[] {
  const c = plan.certless
  if (!c) return []
  if (!c.devices.length) return ['', `Devices without the certificate: none of ${c.devicesSeen} seen (${certlessRuleText(c)}).`]
  const out = ['', `Devices without the certificate: ${certlessHeadline(c)}`, `  ${certlessDetail(c)}`]
  const how = certlessHowToFind(plan)
  if (how) out.push(`  To find ${c.devices.length === 1 ? 'it' : 'them'}: ${how.intro.replace(/^./, (x) => x.toLowerCase())}`, '', ...how.code.split('\n').map((l) => `    ${l}`))
  return out
}

/** What failed only on certificate-less devices, after the proposal (it informs, it asks nothing). */
function onlyCertlessText(plan: CollectPlan): string[] {
  const c = plan.certless
  const out: string[] = []
  if (c?.onlyCertless.length) {
    out.push('', `Failed only on devices without the certificate (${c.onlyCertless.length}; not proposed):`)
    const rows = c.onlyCertless.slice(0, TEXT_SHOWN).map((d) => [d.kind === 'ip' ? 'ip' : 'host', visible(clip(d.value, TEXT_VALUE_MAX)), String(d.stats.sessions), String(d.stats.devices), utc(d.stats.lastSeen)])
    out.push(...columns([['KIND', 'VALUE', 'SESSIONS', 'DEVICES', 'LAST SEEN'], ...rows], [false, false, true, true, false]))
    if (c.onlyCertless.length > TEXT_SHOWN) out.push(`  … ${c.onlyCertless.length - TEXT_SHOWN} more`)
  }
  return out
}

/** Terminal text for the CLI and the demo: aligned columns, no Markdown, controls escaped. */
export function renderText(plan: CollectPlan, run: { dryRun?: boolean } = {}): string {
  const o = plan.observed
  const out: string[] = [`collect${run.dryRun ? ' (dry run: nothing is written)' : ''}: ${counts(plan)} (${visible(o.source)}, ${windowText(plan)})`]
  if (plan.warnings.length) {
    out.push('', 'Warnings:')
    for (const w of plan.warnings) out.push(`  ! ${visible(clip(w, WARNING_MAX))}`)
  }
  out.push(...certlessText(plan))
  if (plan.additions.length) out.push('', `Add (${plan.additions.length}):`, ...candidateTable(plan.additions, plan.additions.length))
  if (plan.removals.length) {
    out.push('', `Remove (${plan.removals.length}):`)
    out.push(...columns(plan.removals.map((r) => [r.kind, visible(r.value), ruleText(r.rule, r.via, visible)]), [false, false, false]))
  }
  out.push(...idleRemovalText(plan))
  if (plan.suppressed.length) {
    out.push('', `Suppressed by exclusions (${plan.suppressed.length}):`)
    const rows = plan.suppressed
      .slice(0, TEXT_SHOWN)
      .map((s) => [s.candidate.kind, visible(s.candidate.value), String(s.candidate.stats.sessions), ruleText(s.rule, s.via, visible)])
    out.push(...columns(rows, [false, false, true, false]))
    if (plan.suppressed.length > TEXT_SHOWN) out.push(`  … ${plan.suppressed.length - TEXT_SHOWN} more`)
  }
  if (plan.heldBack.length) out.push('', `Held back by max-new-entries (${plan.heldBack.length}):`, ...candidateTable(plan.heldBack, TEXT_SHOWN))
  out.push(...onlyCertlessText(plan))
  out.push(...lifecycleText(plan))
  if (plan.belowThreshold.length) {
    out.push('', `Below threshold (${plan.belowThreshold.length}; strongest shown):`, ...candidateTable(plan.belowThreshold, 5))
  }
  if (plan.invalid.length) {
    out.push('', `Invalid values (${plan.invalid.length}):`)
    const rows = plan.invalid.slice(0, TEXT_SHOWN).map((v) => [v.kind, visible(clip(v.raw, TEXT_VALUE_MAX)), String(v.sessions), visible(v.reason)])
    out.push(...columns(rows, [false, false, true, false]))
    if (plan.invalid.length > TEXT_SHOWN) out.push(`  … ${plan.invalid.length - TEXT_SHOWN} more`)
  }
  const datasets = Object.entries(o.records)
    .filter((e): e is [string, number] => typeof e[1] === 'number')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([d, n]) => `${d}=${n}`)
  const opt = plan.options
  out.push(
    '',
    `Read: ${datasets.length ? datasets.join(' ') : 'no records'}; in window ${o.inWindow}; malformed lines ${o.malformedLines}` +
      (o.source === 'logpush' ? `; files read ${o.filesRead}, skipped ${o.filesSkipped}, corrupt ${o.filesCorrupt}` : '') +
      (o.queries !== undefined ? `; queries ${o.queries}${o.splits !== undefined ? `, splits ${o.splits}` : ''}` : ''),
    `Already listed: ${plan.alreadyListed}`,
    `Thresholds: min-sessions ${opt.minSessions}, min-devices ${opt.minDevices}, max-new-entries ${capText(opt.maxNewEntries)}`
  )
  return `${out.join('\n')}\n`
}
