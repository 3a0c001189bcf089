/**
 * Certificate-less devices (issue 9).
 *
 * Gateway TLS inspection assumes every device trusts the Gateway root certificate. A device
 * that does not (enrolment not finished, certificate removed, Firefox or Java with their own
 * trust store, a container) fails TLS on *every* inspected site, and each failure looks
 * exactly like certificate pinning. Such a device is recognised by its breadth: it fails on
 * many distinct destinations, and most of its TLS sessions fail. A pinned app is the
 * opposite: a handful of destinations, on devices whose other sessions succeed.
 *
 * Both log sources tally every device in the window, classify it with `isCertless`, and
 * leave the failing sessions of certificate-less devices out of every candidate. Device ids
 * stay inside the source: only the anonymous tallies below reach the planner and renderers.
 */

/** What one device did in the window: anonymous counts, never its id. */
export interface DeviceTally {
  /** Its TLS sessions: network sessions on one of `ports`, failing or not. */
  tlsSessions: number
  /** Of those, the ones that ended in CLIENT_TLS_ERROR. */
  failedSessions: number
  /** Distinct destinations (SNI, or OriginIP without an SNI) of the failing sessions. */
  failedDestinations: number
}

/** The inputs `certless-min-destinations` and `certless-min-failed-percent`. */
export interface CertlessThresholds {
  minDestinations: number
  /** 1–100. */
  minFailedPercent: number
}

export const DEFAULT_CERTLESS: CertlessThresholds = { minDestinations: 10, minFailedPercent: 50 }

/**
 * True when a device looks like it lacks the Gateway certificate: its TLS failed on at least
 * `minDestinations` distinct destinations AND at least `minFailedPercent` of its TLS sessions
 * failed. Both must hold: breadth alone also fits a busy developer machine running several
 * pinned tools; a high failure share alone fits a device that only ever opens one pinned app.
 * Integer arithmetic, so 50% of 3 sessions is judged exactly.
 */
export function isCertless(t: DeviceTally, th: CertlessThresholds): boolean {
  if (t.failedDestinations < th.minDestinations) return false
  // A source may see failures without the matching session count (e.g. ports filtered
  // differently); the failing sessions are then the lower bound of its TLS sessions.
  const total = Math.max(t.tlsSessions, t.failedSessions)
  return total > 0 && t.failedSessions * 100 >= th.minFailedPercent * total
}

/** Strongest first: most destinations, then most failing sessions, then most sessions. */
export function compareTallies(a: DeviceTally, b: DeviceTally): number {
  return b.failedDestinations - a.failedDestinations || b.failedSessions - a.failedSessions || b.tlsSessions - a.tlsSessions
}

/** A tally from anywhere (a source, a hand-built plan): negative, fractional or absent counts become 0. */
export function cleanTally(t: Partial<DeviceTally> | undefined): DeviceTally {
  const n = (x: unknown): number => (typeof x === 'number' && Number.isFinite(x) && x >= 0 ? Math.floor(x) : 0)
  return { tlsSessions: n(t?.tlsSessions), failedSessions: n(t?.failedSessions), failedDestinations: n(t?.failedDestinations) }
}

/**
 * Thresholds and ports safe to print into a query: integers in their input ranges, else the
 * defaults. Renderers get plans from anywhere (tests, an edited state), and these numbers are
 * pasted into SQL and a shell by an admin.
 */
export function safeRule(th: CertlessThresholds | undefined, ports: readonly number[] | undefined): { thresholds: CertlessThresholds; ports: number[] } {
  const int = (x: unknown, min: number, max: number): x is number => Number.isSafeInteger(x) && (x as number) >= min && (x as number) <= max
  const thresholds = {
    minDestinations: int(th?.minDestinations, 1, 1_000_000) ? th.minDestinations : DEFAULT_CERTLESS.minDestinations,
    minFailedPercent: int(th?.minFailedPercent, 1, 100) ? th.minFailedPercent : DEFAULT_CERTLESS.minFailedPercent
  }
  const good = [...new Set((ports ?? []).filter((p) => int(p, 1, 65535)))].sort((a, b) => a - b)
  return { thresholds, ports: good.length ? good : [443] }
}

// The same tests as the sources: CLIENT_TLS_ERROR in any historical spelling, and a
// destination that is the SNI, or the origin IP without one.
const FAILED = "upper(replace(connectionclosereason, '_', '')) = 'CLIENTTLSERROR'"
const DESTINATION = "CASE WHEN sni <> '' THEN lower(sni) ELSE originip END"

function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')
}

/**
 * A Log Explorer query an admin pastes (Log Explorer › Log Search › Custom SQL) to see which
 * devices the rule matched, with their names and users. It runs in the admin's account, so
 * the names never pass through this tool or the pull request. Only documented SQL is used
 * (no joins, subqueries or FILTER); `HAVING` repeats the rule with integer arithmetic.
 */
export function findCertlessSql(window: { from: number | null; to: number }, th: CertlessThresholds, ports: readonly number[]): string {
  const rule = safeRule(th, ports)
  const to = Number.isFinite(window.to) && window.to > 0 ? window.to : Date.now()
  const from = window.from !== null && Number.isFinite(window.from) && window.from < to ? window.from : to - 86_400_000
  const day = (ms: number): string => new Date(ms).toISOString().slice(0, 10)
  // Wrapped so the query reads without scrolling in a pull request.
  const failedDestinations = `COUNT(DISTINCT CASE WHEN ${FAILED}\n    THEN ${DESTINATION} END)`
  const failedSessions = `SUM(CASE WHEN ${FAILED}\n    THEN 1 ELSE 0 END)`
  return [
    'SELECT deviceid, MAX(devicename) AS device_name, MAX(email) AS email,',
    `  ${failedDestinations} AS failed_destinations,`,
    `  ${failedSessions} AS failed_sessions,`,
    '  COUNT(*) AS tls_sessions',
    'FROM zero_trust_network_sessions',
    `WHERE date >= '${day(from)}' AND date <= '${day(to - 1)}'`,
    `  AND sessionstarttime >= '${rfc3339(from)}' AND sessionstarttime < '${rfc3339(to)}'`,
    `  AND originport IN (${rule.ports.join(', ')}) AND deviceid <> ''`,
    'GROUP BY deviceid',
    `HAVING ${failedDestinations} >= ${rule.thresholds.minDestinations}`,
    `  AND ${failedSessions} * 100 >= ${rule.thresholds.minFailedPercent} * COUNT(*)`,
    'ORDER BY failed_destinations DESC',
    'LIMIT 100'
  ].join('\n')
}

/**
 * The same search over a folder of Logpush files, for admins without Log Explorer: the same
 * rule, over every file (no time filter). Streams (`jq -R 'fromjson?'` skips lines that are
 * not JSON; a truncated file yields what decodes); awk keeps one counter per device and one
 * entry per failing (device, destination) pair. Prints destinations, failing sessions, TLS
 * sessions and the device id, strongest first.
 */
export function findCertlessShell(th: CertlessThresholds, ports: readonly number[]): string {
  const rule = safeRule(th, ports)
  const select =
    `fromjson? | select((.DeviceID // "") != "" and (.OriginPort as $p | any(${rule.ports.join(', ')}; . == ($p | tonumber? // -1))))` +
    ' | [.DeviceID, (if ((.ConnectionCloseReason // "") | ascii_upcase | gsub("_"; "")) == "CLIENTTLSERROR" then 1 else 0 end),' +
    ' (if (.SNI // "") != "" then (.SNI | ascii_downcase) else .OriginIP end)] | @tsv'
  const count =
    '{ t[$1]++; if ($2 == 1) { f[$1]++; if (!(($1 FS $3) in s)) { s[$1 FS $3] = 1; d[$1]++ } } }' +
    ` END { for (k in t) if (d[k] >= ${rule.thresholds.minDestinations} && f[k] * 100 >= ${rule.thresholds.minFailedPercent} * t[k]) print d[k], f[k], t[k], k }`
  return [
    // One gzip per file (given several, gzip stops at the first truncated one), each output
    // ending with a newline (a truncated file's last half line must not swallow the next file's first).
    "find LOGPUSH_DIR -name '*.log.gz' -exec sh -c 'gzip -dc \"$1\"; echo' sh {} \\; 2>/dev/null |",
    `  jq -Rr '${select}' |`,
    `  awk -F '\\t' '${count}' | sort -rn`
  ].join('\n')
}
