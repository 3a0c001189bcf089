/**
 * How much of the address space the IP entries bypass, so that a reviewer sees breadth, not
 * just a count of lines: one `/8` is one entry but 16,777,216 addresses.
 *
 * Counts are of the union (overlapping entries are counted once) and exact, with BigInt for
 * IPv6.
 */
import { parseNet } from './values.js'

/** Addresses covered, per family. */
export interface Coverage { v4: bigint; v6: bigint }

interface Range { first: bigint; last: bigint }

function rangesOf(values: Iterable<string>): { v4: Range[]; v6: Range[] } {
  const out: { v4: Range[]; v6: Range[] } = { v4: [], v6: [] }
  for (const v of values) {
    const p = parseNet(v)
    if (!p.ok) continue
    const bits = p.value.version === 4 ? 32 : 128
    const size = 1n << BigInt(bits - p.value.prefix)
    const first = p.value.addr & ~(size - 1n)
    ;(p.value.version === 4 ? out.v4 : out.v6).push({ first, last: first + size - 1n })
  }
  return out
}

/** Size of the union of ranges. */
function unionSize(ranges: Range[]): bigint {
  const sorted = [...ranges].sort((a, b) => a.first < b.first ? -1 : a.first > b.first ? 1 : 0)
  let total = 0n
  let cur: Range | null = null
  for (const r of sorted) {
    if (cur !== null && r.first <= cur.last + 1n) {
      if (r.last > cur.last) cur.last = r.last
      continue
    }
    if (cur !== null) total += cur.last - cur.first + 1n
    cur = { ...r }
  }
  if (cur !== null) total += cur.last - cur.first + 1n
  return total
}

/** Addresses covered by the union of these IPs/CIDRs (values that do not parse count as none). */
export function coverage(values: Iterable<string>): Coverage {
  const r = rangesOf(values)
  return { v4: unionSize(r.v4), v6: unionSize(r.v6) }
}

/** Addresses covered by `after` and not by `before`: what a run adds to the bypass. */
export function addedCoverage(before: Iterable<string>, after: Iterable<string>): Coverage {
  const b = [...before]
  const both = coverage([...b, ...after])
  const was = coverage(b)
  return { v4: both.v4 - was.v4, v6: both.v6 - was.v6 }
}

/**
 * A count a person can read at a glance: exact with thousands separators up to 10^12, then
 * `2^64` for a power of two and `≈2^64.6` otherwise.
 */
export function formatCount(n: bigint): string {
  if (n < 1_000_000_000_000n) return n.toLocaleString('en-US')
  const bits = n.toString(2).length
  if (n === 1n << BigInt(bits - 1)) return `2^${bits - 1}`
  const shift = Math.max(0, bits - 53)
  const log2 = Math.log2(Number(n >> BigInt(shift))) + shift
  return `≈2^${log2.toFixed(1)}`
}
