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
