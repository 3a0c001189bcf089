/**
 * Log Explorer source: asks Cloudflare Log Explorer, in SQL, for the aggregates the planner
 * needs (all GROUP BY in Cloudflare, never raw rows) and returns the shared `Observations`.
 *
 * Queries, in order (SQL in `sql.ts`, each read whole by key paging in `paging.ts`):
 *  0. the datasets' time columns (`datasets/available`)
 *  ·  every device's TLS sessions, failures and failing destinations; the certificate-less
 *     ones (`core/devices.ts`) are left out of 1–3 by id, and what failed only on them is
 *     read once more, restricted to them                               → certless
 *  1. failing sessions with an SNI, by `lower(sni)`                     → hostFailures
 *  2. failing sessions without an SNI, by `originip`                    → ipFailures
 *  3. failing (SNI, OriginIP) pairs                                      → hostIps
 *  4. failing sessions whose SNI/OriginIP can never be a list entry     → one count (ignored)
 *  5. every SNI seen on the IPs of (2), any session, chunked IN lists,
 *     and every IP (any spelling) on which an excluded name was seen,
 *     from zero_trust_network_sessions and (optional) gateway_network   → ipHosts
 *  6. gateway_http requests the managed Do Not Inspect policy bypassed  → bypassedHosts
 *  7. with `usageDays`: the span of gateway_http records, then the last bypassed request per
 *     HTTPHost and per DestinationIP over those days (`usage.ts`)       → usage
 *
 * Counts are exact over the whole window: nothing is merged across time parts.
 */
import type Cloudflare from 'cloudflare'
import { isIP } from 'node:net'
import { DEFAULT_CERTLESS, type CertlessThresholds } from '../../core/devices.js'
import type { BypassUsage, CertlessReport, Dataset, ExclusionRule, Observations, SourceStats, Stats } from '../../core/types.js'
import { canonicalIp } from '../../core/values.js'
import { tallyDevices, type DeviceEvidence } from './devices.js'
import { readGrouped, labelOf } from './paging.js'
import { mergeStats, parseCount, parseGuardRow, parseIgnored, parseRow, type ParsedRow } from './rows.js'
import {
  buildSql,
  chunk,
  devicePredicate,
  IN_CHUNK,
  MAX_ROWS,
  policyPredicate,
  portsPredicate,
  queryShape,
  rfc3339,
  type DeviceFilter,
  type GroupedSpec,
  type TimeWindow
} from './sql.js'
import { DatasetUnavailableError, LOGS_READ, newCtx, readTimeColumns, runSql, type Ctx } from './transport.js'
import { MAX_USAGE_DAYS, readUsage } from './usage.js'

export { buildSql, sqlString, type QuerySpec, type QueryKind } from './sql.js'
export { LOGS_READ } from './transport.js'
export { lastBypassed, type LastBypassedOptions } from './usage.js'

/** Options of {@link queryLogExplorer}. */
export interface LogExplorerOptions {
  client: Cloudflare
  accountId: string
  /** Epoch ms, half-open `[from, to)`. */
  window: { from: number; to: number }
  /** Validated integers 1–65535 (OriginPort). */
  ports: number[]
  /** The managed Do Not Inspect policy: `id` is preferred when known, else `name`. */
  policy: { name?: string; id?: string }
  /** Active exclusion rules (the shared-IP guard compares canonical values against them). */
  exclusions?: ExclusionRule[]
  /** Thresholds of the certificate-less device rule; default `DEFAULT_CERTLESS`. */
  certless?: CertlessThresholds
  /** Client timeout of one SQL call (default 120 000). */
  sqlTimeoutMs?: number
  /** Groups per page (default 10 000, Log Explorer's maximum). */
  rowCap?: number
  /** The idle rule's window in days (input `idle-days`): 0 or absent reads no usage. */
  usageDays?: number
  /** End of the usage window (epoch ms); default `window.to`. */
  now?: number
  log?: (msg: string) => void
  /** How the one deliberate retry waits (default: a real timer); tests resolve at once. */
  sleep?: (ms: number) => Promise<void>
}

/** Excluded names per guard statement (one regexp each). */
const NAMES_CHUNK = 100

/**
 * Queries Log Explorer for TLS-inspection failures, the shared-IP guard data and the
 * hostnames the managed Do Not Inspect policy bypassed, all aggregated in Cloudflare.
 *
 * Fails (throws) when zero_trust_network_sessions cannot be read, when the token lacks
 * "Account › Logs › Read", after one deliberate retry of a transient error, or when a result
 * could not be read completely. gateway_http / gateway_network are optional: when they are
 * not enabled, a warning is added instead.
 */
export async function queryLogExplorer(o: LogExplorerOptions): Promise<Observations> {
  const ctx = newContext(o)
  const window: TimeWindow = { from: o.window.from, to: o.window.to }
  const bypassPolicy = checkPolicy(o, ctx)
  ctx.time = await readTimeColumns(ctx)
  const records = new Records()

  const base = { window, ports: o.ports }
  const devices = await required(tallyDevices(ctx, window, o.ports, o.certless ?? DEFAULT_CERTLESS))
  const leaveOut = excludeFilter(devices)
  const hostRows = await required(parsed(ctx, { kind: 'host-failures', ...base, ...leaveOut }))
  const ipRows = await required(parsed(ctx, { kind: 'ip-failures', ...base, ...leaveOut }))
  const pairRows = await required(parsed(ctx, { kind: 'host-ips', ...base, ...leaveOut }))
  const hostFailures = statsMap(hostRows)
  const ipFailures = statsMap(ipRows)
  const certless = await certlessReport(ctx, base, devices, hostFailures, ipFailures)
  records.add('zero_trust_network_sessions', hostRows)
  records.add('zero_trust_network_sessions', ipRows)
  await countIgnored(ctx, base)

  const ipHosts = await readIpHosts(ctx, window, ipRows, o.exclusions ?? [], records)
  const hostIps = pairMap(pairRows)
  const bypassedHosts = bypassPolicy === undefined ? new Map<string, Stats>() : await readBypassed(ctx, window, bypassPolicy, records, hostIps)
  // A quiet day: nothing failed. Count every session, so the run shows the real volume read
  // (200 sessions, none failing) and warns only when there was no data at all.
  if (hostRows.length === 0 && ipRows.length === 0 && pairRows.length === 0) records.add('zero_trust_network_sessions', [{ sessions: await checkNotEmpty(ctx, window) }])
  const usage = await readUsageFor(ctx, o, bypassPolicy)

  return {
    window: { from: window.from, to: window.to },
    hostFailures,
    ipFailures,
    hostIps,
    ipHosts,
    bypassedHosts,
    certless,
    ...(usage === undefined ? {} : { usage }),
    stats: finalStats(ctx, records)
  }
}

// Too many devices to name in SQL would be a fleet-wide problem, not a device's: say so.
function excludeFilter(d: DeviceEvidence): { devices?: DeviceFilter } {
  if (d.certlessIds.length === 0) return {}
  const devices: DeviceFilter = { mode: 'exclude', ids: d.certlessIds }
  try {
    devicePredicate(devices)
  } catch {
    throw new Error(`Log Explorer: ${d.certlessIds.length} devices look like they lack the Gateway certificate, more than can be left out of a query; check the certificate deployment, or raise \`certless-min-destinations\` / \`certless-min-failed-percent\` if this is wrong, then run again`)
  }
  return { devices }
}

/**
 * The anonymous report, plus what failed only on certificate-less devices: their own failures
 * (one more pair of grouped queries restricted to them), minus every destination that also
 * failed on a healthy device (those are candidates already).
 */
async function certlessReport(ctx: Ctx, base: { window: TimeWindow; ports: readonly number[] }, d: DeviceEvidence, hosts: Map<string, Stats>, ips: Map<string, Stats>): Promise<CertlessReport> {
  const report: CertlessReport = { devices: d.tallies, devicesSeen: d.devicesSeen, sessionsExcluded: d.sessionsExcluded, onlyCertless: { hosts: new Map(), ips: new Map() } }
  if (d.certlessIds.length === 0) return report
  const only: DeviceFilter = { mode: 'only', ids: d.certlessIds }
  for (const [k, s] of statsMap(await required(parsed(ctx, { kind: 'host-failures', ...base, devices: only })))) {
    if (!hosts.has(k)) report.onlyCertless.hosts.set(k, s)
  }
  for (const [k, s] of statsMap(await required(parsed(ctx, { kind: 'ip-failures', ...base, devices: only })))) {
    if (!ips.has(k)) report.onlyCertless.ips.set(k, s)
  }
  return report
}

function newContext(o: LogExplorerOptions): Ctx {
  const ctx = newCtx(o)
  if (!Number.isFinite(o.window.from) || !Number.isFinite(o.window.to) || o.window.to <= o.window.from) {
    throw new Error('Log Explorer needs a bounded window (from < to)')
  }
  portsPredicate(o.ports) // validates the ports up front
  const days = o.usageDays ?? 0
  if (!Number.isInteger(days) || days < 0 || days > MAX_USAGE_DAYS) throw new Error(`usageDays must be an integer in 0–${MAX_USAGE_DAYS}`)
  if (o.now !== undefined && !Number.isFinite(o.now)) throw new Error('now must be a finite epoch ms')
  return ctx
}

// Validate the policy before the first query: a name we cannot quote is an input error.
function checkPolicy(o: LogExplorerOptions, ctx: Ctx): { name?: string; id?: string } | undefined {
  try {
    policyPredicate(o.policy)
    return o.policy
  } catch (err) {
    if (o.policy.name === undefined && o.policy.id === undefined) {
      ctx.warnings.push('Log Explorer: no Do Not Inspect policy name or id given; bypassed hostnames (gateway_http) were not read')
      return undefined
    }
    throw new Error(`The Do Not Inspect policy name/id cannot be used in a Log Explorer query: ${(err as Error).message}`)
  }
}

class Records {
  readonly byDataset: Partial<Record<Dataset, number>> = {}
  add(dataset: Dataset, rows: readonly { sessions: number }[]): void {
    this.byDataset[dataset] = (this.byDataset[dataset] ?? 0) + rows.reduce((n, r) => n + r.sessions, 0)
  }
}

/** Reads a grouped query whole and parses its rows; malformed ones are counted per query. */
async function parsed(ctx: Ctx, spec: GroupedSpec): Promise<ParsedRow[]> {
  const shape = queryShape(spec, ctx.time)
  const aliases = shape.keys.map((k) => k.alias)
  const withStats = shape.columns.some((c) => c.endsWith(' AS devices'))
  return parseAll(ctx, labelOf(spec), await readGrouped(ctx, spec), (row) => parseRow(row, aliases, withStats))
}

function parseAll<T>(ctx: Ctx, label: string, rows: readonly unknown[], parse: (row: unknown) => T | undefined): T[] {
  const out: T[] = []
  let bad = 0
  for (const row of rows) {
    const p = parse(row)
    if (p === undefined) bad++
    else out.push(p)
  }
  if (bad > 0) ctx.malformed.set(label, (ctx.malformed.get(label) ?? 0) + bad)
  return out
}

// A client chooses its SNI: values that can never be list entries are kept out of the paged
// queries in SQL (so they cannot fill pages or block the cursor) and counted here instead.
async function countIgnored(ctx: Ctx, base: { window: TimeWindow; ports: readonly number[] }): Promise<void> {
  const raw = await required(runSql(ctx, buildSql({ kind: 'ignored', ...base }, MAX_ROWS, ctx.time), 'zero_trust_network_sessions'))
  const n = parseIgnored(raw)
  if (n === undefined) ctx.malformed.set('ignored', (ctx.malformed.get('ignored') ?? 0) + 1)
  else if (n.sessions > 0) {
    ctx.warnings.push(`Log Explorer: ${n.sessions} failing session(s) on ${n.values} distinct SNI/OriginIP value(s) that can never be list entries (characters outside a-z 0-9 . _ - for names, hex digits . : for IPs) were counted and ignored`)
  }
}

/**
 * The shared-IP guard's data for the no-SNI candidate IPs: every name seen on them (as
 * logged, plus the canonical spelling), and every IP in ANY spelling on which an excluded
 * name was seen. The planner canonicalises both, so `::ffff:a.b.c.d` meets `a.b.c.d`.
 */
async function readIpHosts(ctx: Ctx, window: TimeWindow, ipRows: readonly ParsedRow[], rules: readonly ExclusionRule[], records: Records): Promise<Map<string, Set<string>>> {
  const ipHosts = new Map<string, Set<string>>()
  const logged = [...new Set(ipRows.map((r) => r.keys[0]!))]
  const candidates = logged.filter((ip) => isIP(ip) !== 0)
  const skipped = logged.length - candidates.length
  if (skipped > 0) ctx.warnings.push(`Log Explorer: ${skipped} OriginIP value(s) without SNI are not valid IPs; the hostnames seen on them were not looked up`)
  if (candidates.length === 0) return ipHosts
  const spellings = new Set(candidates)
  for (const ip of candidates) {
    const c = canonicalIp(ip)
    if (c.ok) spellings.add(c.value)
  }
  const chunks = chunk([...spellings].sort(), IN_CHUNK)
  const names = [...new Set(rules.filter((r) => r.kind === 'host').map((r) => r.value))]
  for (const dataset of ['zero_trust_network_sessions', 'gateway_network'] as const) {
    const read = async (): Promise<void> => {
      for (const ips of chunks) {
        const rows = await parsed(ctx, { kind: 'ip-hosts', dataset, window, ips })
        if (dataset === 'gateway_network') records.add(dataset, rows)
        addPairs(ipHosts, rows.map((r) => r.keys as [string, string]))
      }
      for (const part of chunk(names, NAMES_CHUNK)) {
        const spec = { kind: 'guard-ips', dataset, window, names: part } as const
        const rows = parseAll(ctx, labelOf(spec), await readGrouped(ctx, spec), parseGuardRow)
        addPairs(ipHosts, rows.map((r) => [r.ip, r.host]))
      }
    }
    if (dataset === 'gateway_network') await optional(ctx, dataset, read())
    else await required(read())
  }
  return ipHosts
}

/**
 * Hostnames the managed policy bypassed, and the IPs those requests went to (added to the
 * host/IP pairs, so "Seen with" shows them for a bypass-log row, and an IP candidate shows
 * the hostnames bypassed on it).
 */
async function readBypassed(ctx: Ctx, window: TimeWindow, policy: { name?: string; id?: string }, records: Records, hostIps: Map<string, Set<string>>): Promise<Map<string, Stats>> {
  const rows = await optional(ctx, 'gateway_http', parsed(ctx, { kind: 'bypassed-hosts', window, policy }))
  if (rows === undefined) return new Map()
  records.add('gateway_http', rows)
  if (rows.length > 0) {
    const pairs = await optional(ctx, 'gateway_http', parsed(ctx, { kind: 'bypassed-host-ips', window, policy }))
    addPairs(hostIps, (pairs ?? []).map((r) => r.keys as [string, string]))
  }
  return statsMap(rows)
}

// Usage is optional evidence: without it no entry is called idle, and the run goes on.
async function readUsageFor(ctx: Ctx, o: LogExplorerOptions, policy: { name?: string; id?: string } | undefined): Promise<BypassUsage | undefined> {
  const days = o.usageDays ?? 0
  if (days === 0) return undefined
  if (policy === undefined) {
    ctx.log('Log Explorer: idleness cannot be judged: no Do Not Inspect policy name or id to look for in gateway_http')
    return undefined
  }
  return readUsage(ctx, policy, o.now ?? o.window.to, days)
}

// "No rows" is not "no failures": make sure the dataset has data at all for the window.
/** Counts every session in the window (0 when the count could not be read) and warns when there are none. */
async function checkNotEmpty(ctx: Ctx, window: TimeWindow): Promise<number> {
  const raw = await required(runSql(ctx, buildSql({ kind: 'count', window }, MAX_ROWS, ctx.time), 'zero_trust_network_sessions'))
  const n = parseCount(raw)
  if (n === undefined) {
    ctx.malformed.set('count', (ctx.malformed.get('count') ?? 0) + 1)
    return 0
  } else if (n === 0) {
    ctx.warnings.push(`Log Explorer: zero_trust_network_sessions has no sessions at all between ${rfc3339(window.from)} and ${rfc3339(window.to)}: the dataset may not be enabled in Log Explorer (or was enabled later), or there was no traffic. This is not evidence that nothing failed.`)
  } else {
    ctx.log(`Log Explorer: ${n} sessions in the window, none failing TLS inspection on the selected ports`)
  }
  return n
}

function finalStats(ctx: Ctx, records: Records): SourceStats {
  let malformed = 0
  for (const [kind, n] of ctx.malformed) {
    malformed += n
    ctx.warnings.push(`Log Explorer: ${n} malformed row(s) in the ${kind} results were skipped`)
  }
  return {
    source: 'log-explorer',
    records: records.byDataset,
    inWindow: Object.values(records.byDataset).reduce((a, b) => a + b, 0),
    malformedLines: malformed,
    filesRead: 0,
    filesSkipped: 0,
    filesCorrupt: 0,
    queries: ctx.queries,
    splits: 0,
    warnings: ctx.warnings
  }
}

// zero_trust_network_sessions is the source of truth: an unavailable dataset is an error.
async function required<T>(p: Promise<T>): Promise<T> {
  try {
    return await p
  } catch (err) {
    if (err instanceof DatasetUnavailableError) {
      throw new Error(`${err.message}. Enable it for this account in Log Explorer (dashboard: Log Explorer › Manage datasets, or POST /accounts/{account_id}/logs/explorer/datasets) and make sure the token has "${LOGS_READ}".`)
    }
    throw err
  }
}

// gateway_http / gateway_network only add evidence: when they are not enabled, say so and go on.
async function optional<T>(ctx: Ctx, dataset: Dataset, p: Promise<T>): Promise<T | undefined> {
  try {
    return await p
  } catch (err) {
    if (err instanceof DatasetUnavailableError) {
      ctx.warnings.push(`Log Explorer: dataset ${dataset} is not available (${err.message.replace(/^.*?: /, '')}); enable it in Log Explorer to use it. Continuing without it.`)
      return undefined
    }
    throw err
  }
}

function statsMap(rows: readonly ParsedRow[]): Map<string, Stats> {
  const out = new Map<string, Stats>()
  for (const r of rows) {
    if (r.stats === undefined) continue
    const k = r.keys[0]!
    const prev = out.get(k)
    out.set(k, prev === undefined ? r.stats : mergeStats(prev, r.stats))
  }
  return out
}

function pairMap(rows: readonly ParsedRow[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>()
  addPairs(out, rows.map((r) => r.keys as [string, string]))
  return out
}

function addPairs(out: Map<string, Set<string>>, pairs: readonly (readonly [string, string])[]): void {
  for (const [a, b] of pairs) {
    let set = out.get(a)
    if (set === undefined) out.set(a, (set = new Set()))
    set.add(b)
  }
}
