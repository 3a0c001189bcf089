/**
 * Logpush timestamps. The format depends on each job's `timestamp_format`: `unixnano` (the
 * API default), `unix`, `rfc3339` (the dashboard default), `rfc3339ms`, `rfc3339ns`, and the
 * numeric forms sometimes arrive as strings. So every form is accepted and the unit of a
 * number is decided by its magnitude.
 */

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/
const NUMERIC = /^\d+(?:\.\d+)?$/

/**
 * Epoch milliseconds from a number of seconds, milliseconds, microseconds or nanoseconds.
 * The thresholds sit far from any plausible log date: 1e11 s is the year 5138 while 1e11 ms
 * is 1973, and so on for each step of 1000.
 */
export function epochToMs(n: number): number | null {
  if (!Number.isFinite(n) || n <= 0 || n >= 1e20) return null
  if (n < 1e11) return Math.floor(n * 1000)
  if (n < 1e14) return Math.floor(n)
  if (n < 1e17) return Math.floor(n / 1e3)
  return Math.floor(n / 1e6)
}

/** Days in a month of the proleptic Gregorian calendar; `month` is 1-based. */
function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate()
}

/**
 * Parses a Logpush timestamp to epoch milliseconds, or null when it is not one: a number or
 * numeric string (unit by magnitude), or RFC 3339 with any fraction precision (truncated to
 * the millisecond) and `Z` or a numeric offset.
 */
export function parseTime(v: unknown): number | null {
  if (typeof v === 'number') return epochToMs(v)
  if (typeof v !== 'string') return null
  const s = v.trim()
  if (NUMERIC.test(s)) return epochToMs(Number(s))
  const m = RFC3339.exec(s)
  if (m === null) return null
  const [, ys, mos, ds, hs, mis, ss, frac, z, sign, oh, om] = m
  const year = Number(ys)
  const month = Number(mos)
  const day = Number(ds)
  const hour = Number(hs)
  const minute = Number(mis)
  const second = Number(ss)
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null
  // 60 is a leap second; Date.UTC rolls it into the next minute, which is close enough.
  if (hour > 23 || minute > 59 || second > 60) return null
  let ms = Date.UTC(year, month - 1, day, hour, minute, second)
  // Date.UTC maps years 0-99 to 1900-1999; no log is that old, so refuse rather than guess.
  if (year < 1970) return null
  if (frac !== undefined) ms += Number(frac.slice(0, 3).padEnd(3, '0'))
  if (z === undefined) {
    const offH = Number(oh)
    const offM = Number(om)
    if (offH > 23 || offM > 59) return null
    ms -= (sign === '-' ? -1 : 1) * (offH * 60 + offM) * 60_000
  }
  return ms > 0 ? ms : null
}
