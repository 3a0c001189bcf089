/**
 * Parsing of Log Explorer result rows. Rows are untyped maps (`Record<string, unknown>`);
 * counts may come as numbers or numeric strings, timestamps as RFC 3339 strings (or, from
 * other engines, `YYYY-MM-DD HH:MM:SS` or epoch numbers). A row that does not fit is
 * reported as malformed by the caller, never thrown.
 */
import { z } from 'zod'
import type { Stats } from '../../core/types.js'
import { epochToMs } from '../logpush/time.js'

const count = z.union([
  z.number().int().nonnegative().refine(Number.isSafeInteger),
  z.string().trim().regex(/^\d{1,15}$/).transform(Number)
])

const key = z.string()

/** Epoch ms of a timestamp value, or undefined when it cannot be read unambiguously. */
export function parseTimestamp(value: unknown): number | undefined {
  if (typeof value === 'number') return epochToMs(value) ?? undefined
  if (typeof value !== 'string') return undefined
  const text = value.trim()
  if (/^\d{1,19}$/.test(text)) return epochToMs(Number(text)) ?? undefined
  // RFC 3339 or the SQL `YYYY-MM-DD HH:MM:SS[.fff…][zone]` form; no zone means UTC.
  const m = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.(\d+))?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i.exec(text)
  if (!m) return undefined
  const frac = m[3] !== undefined ? `.${m[3].slice(0, 3).padEnd(3, '0')}` : ''
  let zone = m[4] === undefined || m[4].toUpperCase() === 'Z' ? 'Z' : m[4]
  if (/^[+-]\d{2}$/.test(zone)) zone += ':00'
  else if (/^[+-]\d{4}$/.test(zone)) zone = `${zone.slice(0, 3)}:${zone.slice(3)}`
  const ms = Date.parse(`${m[1]}T${m[2]}${frac}${zone}`)
  return Number.isFinite(ms) ? ms : undefined
}


const timestamp = z.unknown().transform((v, ctx) => {
  const ms = parseTimestamp(v)
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: 'not a timestamp' })
    return z.NEVER
  }
  return ms
})

const statsRow = z.object({
  sessions: count,
  devices: count,
  users: count,
  first_seen: timestamp,
  last_seen: timestamp
})

/** A parsed grouped row: its normalised keys (lower-case, trimmed) and, for stats queries, its counters. */
export interface ParsedRow {
  keys: string[]
  /** The keys exactly as the engine returned them (for IN lists that must match stored text). */
  raw: string[]
  sessions: number
  stats?: Stats
}

/**
 * Parses one row of a grouped query with the given key aliases. Returns undefined for a
 * malformed row (missing or non-string key, key empty after trimming, bad count/timestamp).
 */
export function parseRow(row: unknown, keyAliases: readonly string[], withStats: boolean): ParsedRow | undefined {
  if (typeof row !== 'object' || row === null || Array.isArray(row)) return undefined
  const rec = row as Record<string, unknown>
  const keys: string[] = []
  const raw: string[] = []
  for (const alias of keyAliases) {
    const k = key.safeParse(rec[alias])
    if (!k.success) return undefined
    const norm = k.data.trim().toLowerCase()
    if (norm === '') return undefined
    keys.push(norm)
    raw.push(k.data)
  }
  if (!withStats) {
    const s = count.safeParse(rec.sessions)
    if (!s.success) return undefined
    return { keys, raw, sessions: s.data }
  }
  const p = statsRow.safeParse(rec)
  if (!p.success) return undefined
  const d = p.data
  if (d.last_seen < d.first_seen) return undefined
  return {
    keys,
    raw,
    sessions: d.sessions,
    stats: { sessions: d.sessions, devices: d.devices, users: d.users, firstSeen: d.first_seen, lastSeen: d.last_seen }
  }
}

/** A row of the guard query: an IP (as logged) on which an excluded name was seen. */
export function parseGuardRow(row: unknown): { ip: string; host: string; sessions: number } | undefined {
  const p = parseRow(row, ['ip'], false)
  const host = typeof row === 'object' && row !== null ? (row as Record<string, unknown>).host : undefined
  if (p === undefined || typeof host !== 'string' || host.trim() === '') return undefined
  return { ip: p.keys[0]!, host: host.trim().toLowerCase(), sessions: p.sessions }
}

/** The `sessions` and `n` of the ignored-values query; undefined when malformed. */
export function parseIgnored(rows: readonly unknown[]): { sessions: number; values: number } | undefined {
  const first = rows[0]
  if (first === undefined) return { sessions: 0, values: 0 }
  if (typeof first !== 'object' || first === null) return undefined
  const s = count.safeParse((first as Record<string, unknown>).sessions)
  const n = count.safeParse((first as Record<string, unknown>).n)
  return s.success && n.success ? { sessions: s.data, values: n.data } : undefined
}

/** Parses the `n` of the count query; undefined when malformed. */
export function parseCount(rows: readonly unknown[]): number | undefined {
  const first = rows[0]
  if (typeof first !== 'object' || first === null) return undefined
  const p = count.safeParse((first as Record<string, unknown>).n)
  return p.success ? p.data : undefined
}

/**
 * Merges counters of one key read twice (two spellings that trim/lower alike, which the SQL
 * key classes make impossible for Log Explorer's own keys): sessions add; distinct counts
 * take the maximum, a lower bound (the safe direction for thresholds); first/last min/max.
 */
export function mergeStats(a: Stats, b: Stats): Stats {
  return {
    sessions: a.sessions + b.sessions,
    devices: Math.max(a.devices, b.devices),
    users: Math.max(a.users, b.users),
    firstSeen: Math.min(a.firstSeen, b.firstSeen),
    lastSeen: Math.max(a.lastSeen, b.lastSeen)
  }
}
