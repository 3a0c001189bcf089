/**
 * The byte-level fast path: turns decompressed Logpush NDJSON into `Aggregator` calls
 * without `JSON.parse` for the ~98% of lines that cannot be failing sessions.
 *
 * Why this is sound (and when it gives up). For a line that starts with `{`, ends with `}`
 * and contains no backslash and no other `{` (no nested object, so every key is top-level):
 * - with no backslash there are no escapes, so every `"` is structural: the pattern `"SNI":`
 *   can only be a key followed by its value, never text inside a string, and a string value
 *   ends at the next `"`. (A client controls its SNI, but JSON escaping is what puts a
 *   backslash before every `"` it sends.)
 * - a key that the exact pattern misses (e.g. `"SNI" :`) still contains `"SNI"`, so a key is
 *   declared absent only when `"SNI"` does not occur in the line at all.
 * Anything else (escapes, nesting, spacing after the colon, non-string values where strings
 * are expected, a close reason that may be a TLS error, a bypass action) goes to
 * `JSON.parse` and `Aggregator.ingest`, the definition. The differential test checks both
 * agree. Not detected, because Logpush emits none of them and no logged value can create
 * them: duplicate keys (the fast path may read another copy than the last) and
 * otherwise-invalid JSON between well-formed fields.
 *
 * Speed: each chunk is viewed once as a latin1 string (a memcpy; char index = byte offset),
 * because `String.prototype.indexOf` is a cheap builtin while each `Buffer.indexOf` is a
 * ~100 ns binding call. Keys are looked for near where they were in the previous line
 * (fields come in a fixed order with values of similar length), and absence is proven once
 * per chunk with a cursor ("the next occurrence after X is at Y"), not once per line.
 * Values are decoded from the Buffer as UTF-8 whenever they are not pure ASCII.
 */
import type { Aggregator, DeviceAcc } from './aggregate.js'
import { owned } from './aggregate.js'
import { epochToMs, parseTime } from './time.js'

/** Lines longer than this (bytes, without the newline) are malformed and never buffered. */
export const MAX_LINE = 1 << 20

const NL = 10
const QUOTE = 34
const COMMA = 44
const UNDERSCORE = 95
const LBRACE = 123
const RBRACE = 125

const CCR = 0
const SST = 1
const SET = 2
const OIP = 3
const SNI = 4
const HOST = 5
const ACTION = 6
const DIP = 7
const DT = 8
const PORT = 9
const DEV = 10
const NAMES = ['ConnectionCloseReason', 'SessionStartTime', 'SessionEndTime', 'OriginIP', 'SNI', 'HTTPHost', 'Action', 'DestinationIP', 'Datetime', 'OriginPort', 'DeviceID']
const EXACT = NAMES.map((n) => `"${n}":`)
const LOOSE = NAMES.map((n) => `"${n}"`)
const KEYS = NAMES.length

// find() results that are not a value position.
const ABSENT = -1
const UNSURE = -2

// Value kinds from readValue().
const V_UNSURE = 0
const V_STR = 1
const V_NUM = 2
const V_NULL = 3

/** How far before the predicted offset a key search starts: values before a key vary about this much. */
const SLACK = 40

/** Slots of the per-SNI exclusion decision cache and of the device cache; powers of two. */
const SNI_SLOTS = 1 << 15
const DEVICE_SLOTS = 1 << 14
/**
 * Slots tried per value (linear probing). With one slot, the ~15% of a few thousand values
 * that share a slot with another evicted each other on every sighting (measured: 9% of all
 * records missed); a few probes make misses nearly only first sightings.
 */
const PROBES = 4

/**
 * Exclusion decisions by raw SNI, and device tallies by raw DeviceID, in direct-mapped slots:
 * a hit skips decoding, lower-casing and a map lookup; a flood of distinct values only evicts.
 * One per Aggregator, shared by the scanners of its files, so each file starts warm.
 */
class ScanCache {
  readonly sniRaw: (string | undefined)[] = new Array<string | undefined>(SNI_SLOTS)
  // The key of an excluded SNI, '' for one no rule covers.
  readonly sniKeys: (string | undefined)[] = new Array<string | undefined>(SNI_SLOTS)
  readonly devRaw: (string | undefined)[] = new Array<string | undefined>(DEVICE_SLOTS)
  readonly devAcc: (DeviceAcc | undefined)[] = new Array<DeviceAcc | undefined>(DEVICE_SLOTS)
}
const caches = new WeakMap<Aggregator, ScanCache>()

function cacheOf(agg: Aggregator): ScanCache {
  let c = caches.get(agg)
  if (c === undefined) caches.set(agg, (c = new ScanCache()))
  return c
}

/** Bytes turned into one string at a time. */
const WINDOW = 64 * 1024

const TLS_ERROR = 'clienttlserror'
const BYPASS = 'bypass'

type Slicer = (this: Buffer, start: number, end: number) => string
// latin1Slice skips the encoding dispatch of toString (measurable per chunk and per value).
const latin1: Slicer = (Buffer.prototype as unknown as { latin1Slice?: Slicer }).latin1Slice ??
  function (this: Buffer, s: number, e: number) { return this.toString('latin1', s, e) }

/**
 * A cache slot hash of s[from, to) from its length and at most 9 of its characters: enough to
 * spread device ids and hostnames, cheaper than reading every character. A collision only
 * costs a cache miss: a slot is used only after its string compares equal.
 */
function sampleHash(s: string, from: number, to: number): number {
  const n = to - from
  if (n === 0) return 0
  let h = n
  const step = n > 8 ? n >> 3 : 1
  for (let i = to - 1; i >= from; i -= step) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0
  return h ^ (h >>> 15)
}

function isWs(c: number): boolean {
  return c === 32 || c === 9 || c === 13
}

/** Splits one file's decompressed bytes into lines and feeds them to an `Aggregator`. */
export class LineScanner {
  private buf: Buffer = Buffer.alloc(0)
  // buf[base...] as a latin1 string: index i is byte base + i.
  private s = ''
  private base = 0
  // Per key: the offset from the line start where it was found last time.
  private readonly pred = new Float64Array(KEYS)
  // Cursors per buffer: the first occurrence at or after `from` is at `occ` (Infinity: none).
  private readonly exFrom = new Float64Array(KEYS)
  private readonly exOcc = new Float64Array(KEYS)
  private readonly loFrom = new Float64Array(KEYS)
  private readonly loOcc = new Float64Array(KEYS)
  private bsFrom = Infinity
  private bsOcc = 0
  private lbFrom = Infinity
  private lbOcc = 0
  // The value read last by readValue(), and a hash of a string value.
  private vs = 0
  private ve = 0
  private vh = 0
  private readonly sniRaw: (string | undefined)[]
  private readonly sniKeys: (string | undefined)[]
  private sniKey = ''
  private readonly devRaw: (string | undefined)[]
  private readonly devAcc: (DeviceAcc | undefined)[]
  private carry: Buffer[] = []
  private carryLen = 0
  private skipping = false
  /** Lines handed to JSON.parse; for tests and tuning. */
  slowLines = 0

  constructor(private readonly agg: Aggregator) {
    const c = cacheOf(agg)
    this.sniRaw = c.sniRaw
    this.sniKeys = c.sniKeys
    this.devRaw = c.devRaw
    this.devAcc = c.devAcc
  }

  /** Feeds the next chunk of decompressed bytes. */
  push(chunk: Buffer): void {
    let start = 0
    if (this.skipping) {
      const nl = chunk.indexOf(NL)
      if (nl === -1) return
      this.skipping = false
      start = nl + 1
    } else if (this.carryLen > 0) {
      const nl = chunk.indexOf(NL)
      if (nl === -1) {
        this.hold(chunk)
        return
      }
      if (this.carryLen + nl > MAX_LINE) {
        this.agg.malformed()
      } else {
        this.carry.push(chunk.subarray(0, nl))
        const line = Buffer.concat(this.carry)
        this.lines(line, 0, line.length)
      }
      this.carry = []
      this.carryLen = 0
      start = nl + 1
    }
    const last = chunk.lastIndexOf(NL)
    if (last >= start) {
      this.lines(chunk, start, last)
      start = last + 1
    }
    if (start < chunk.length) this.hold(chunk.subarray(start))
  }

  /** The end of the file: a last line without a newline (or cut short by corruption) counts too. */
  end(): void {
    if (this.carryLen > 0) {
      const line = Buffer.concat(this.carry)
      this.carry = []
      this.carryLen = 0
      this.lines(line, 0, line.length)
    }
    this.skipping = false
    this.buf = Buffer.alloc(0)
    this.s = ''
  }

  private hold(part: Buffer): void {
    if (this.carryLen + part.length > MAX_LINE) {
      // Count the over-long line once, now, and drop it instead of buffering all of it.
      this.agg.malformed()
      this.carry = []
      this.carryLen = 0
      this.skipping = true
      return
    }
    // A copy, so that a small tail does not pin a whole chunk.
    this.carry.push(Buffer.from(part))
    this.carryLen += part.length
  }

  /** The lines of buf[start, end): `end` is a newline or the end of a final line. */
  private lines(buf: Buffer, start: number, end: number): void {
    this.buf = buf
    let p = start
    while (p <= end) {
      // Strings up to 64 KiB are young-generation objects that die cheaply; a 256 KiB chunk
      // string would go to large-object space and cost major GCs.
      let w = end
      if (end - p > WINDOW) {
        w = buf.lastIndexOf(NL, p + WINDOW)
        if (w < p) {
          w = buf.indexOf(NL, p + WINDOW)
          if (w === -1 || w > end) w = end
        }
      }
      this.window(p, w)
      p = w + 1
    }
  }

  /** The lines of buf[from, to], `to` being a newline or the end of a final line. */
  private window(from: number, to: number): void {
    this.base = from
    const s = (this.s = latin1.call(this.buf, from, to))
    this.exFrom.fill(Infinity)
    this.loFrom.fill(Infinity)
    this.bsFrom = Infinity
    this.lbFrom = Infinity
    const end = s.length
    let p = 0
    while (p <= end) {
      let nl = p === end ? end : s.indexOf('\n', p)
      if (nl === -1) nl = end
      if (nl - p > MAX_LINE) this.agg.malformed()
      else this.line(p, nl)
      p = nl + 1
    }
  }

  /** Whether [ls, le) holds a backslash; a cursor makes this one scan per chunk when there are none. */
  private hasBackslash(ls: number, le: number): boolean {
    if (!(this.bsFrom <= ls && this.bsOcc >= ls)) {
      const r = this.s.indexOf('\\', ls)
      this.bsFrom = ls
      this.bsOcc = r === -1 ? Infinity : r
    }
    return this.bsOcc < le
  }

  /** Whether [from, le) holds a `{`: a nested object, whose keys are not the record's. */
  private hasBrace(from: number, le: number): boolean {
    if (!(this.lbFrom <= from && this.lbOcc >= from)) {
      const r = this.s.indexOf('{', from)
      this.lbFrom = from
      this.lbOcc = r === -1 ? Infinity : r
    }
    return this.lbOcc < le
  }

  /**
   * Position of key k's value in [ls, le), or ABSENT, or UNSURE (present but not as `"K":`).
   * The search starts a little before where the key was in the previous line, measured from
   * `anchor` (a key found before in this line, or a line end), so that only the values in
   * between can shift it. When the key is not in [q, le) it is looked for backwards from q:
   * one short scan instead of a forward scan from the line start. A cursor per key ("the next
   * occurrence after X is at Y") keeps a key that no line has from costing a scan per line.
   */
  private find(k: number, ls: number, le: number, anchor: number): number {
    const s = this.s
    const pat = EXACT[k] as string
    const pred = this.pred[k] as number
    if (pred !== 0) {
      let q = anchor + pred - SLACK
      if (q < ls) q = ls
      if (q < le) {
        let r: number
        const from = this.exFrom[k] as number
        const occ = this.exOcc[k] as number
        if (from <= q && occ >= q) r = occ
        else {
          r = s.indexOf(pat, q)
          if (r === -1) r = Infinity
          this.exFrom[k] = q
          this.exOcc[k] = r
        }
        if (r < le) {
          this.pred[k] = r - anchor
          return r + pat.length
        }
        // Not in [q, le): the only place left in this line is [ls, q).
        if (q > ls) {
          const b = s.lastIndexOf(pat, q - 1)
          if (b >= ls) {
            this.pred[k] = b - anchor
            return b + pat.length
          }
        }
        return this.loose(k, ls, le)
      }
    }
    if (!((this.exFrom[k] as number) <= ls && (this.exOcc[k] as number) >= ls)) {
      const r = s.indexOf(pat, ls)
      this.exFrom[k] = ls
      this.exOcc[k] = r === -1 ? Infinity : r
    }
    const r = this.exOcc[k] as number
    if (r < le) {
      this.pred[k] = r - anchor
      return r + pat.length
    }
    return this.loose(k, ls, le)
  }

  /** UNSURE when key k is in [ls, le) in some other spelling than `"K":`, else ABSENT. */
  private loose(k: number, ls: number, le: number): number {
    if (!((this.loFrom[k] as number) <= ls && (this.loOcc[k] as number) >= ls)) {
      const l = this.s.indexOf(LOOSE[k] as string, ls)
      this.loFrom[k] = ls
      this.loOcc[k] = l === -1 ? Infinity : l
    }
    return (this.loOcc[k] as number) < le ? UNSURE : ABSENT
  }

  /** Reads the value at v: sets vs/ve for strings (inside the quotes) and numbers. */
  private readValue(v: number, le: number): number {
    if (v < 0) return V_UNSURE
    const s = this.s
    const c = s.charCodeAt(v)
    if (c === QUOTE) {
      const close = s.indexOf('"', v + 1)
      if (close === -1 || close >= le - 1) return V_UNSURE
      this.vh = sampleHash(s, v + 1, close)
      const after = s.charCodeAt(close + 1)
      if (after !== COMMA && after !== RBRACE) return V_UNSURE
      this.vs = v + 1
      this.ve = close
      return V_STR
    }
    if (c >= 48 && c <= 57) {
      let e = v + 1
      while (e < le) {
        const d = s.charCodeAt(e)
        if (d < 48 || d > 57) break
        e++
      }
      const after = s.charCodeAt(e)
      if (after !== COMMA && after !== RBRACE) return V_UNSURE
      // JSON forbids leading zeros; leave that to JSON.parse to reject.
      if (c === 48 && e - v > 1) return V_UNSURE
      this.vs = v
      this.ve = e
      return V_NUM
    }
    if (s.startsWith('null', v)) {
      const after = s.charCodeAt(v + 4)
      if (after === COMMA || after === RBRACE) return V_NULL
    }
    return V_UNSURE
  }

  /**
   * The string value last read, decoded as JSON.parse would decode it (there are no escapes);
   * undefined if it holds a raw control character, which JSON.parse rejects. With `asKey`,
   * trimmed and lower-cased like `keyOf`, skipping both calls when nothing would change.
   */
  private text(asKey = false): string | undefined {
    const s = this.s
    const vs = this.vs
    const ve = this.ve
    let ascii = true
    let clean = true
    for (let i = vs; i < ve; i++) {
      const c = s.charCodeAt(i)
      if (c < 0x20) return undefined
      if (c >= 0x80) ascii = false
      else if (c >= 65 && c <= 90) clean = false
    }
    if (!ascii) {
      const t = this.buf.toString('utf8', this.base + vs, this.base + ve)
      return asKey ? t.trim().toLowerCase() : t
    }
    const t = s.slice(vs, ve)
    if (!asKey) return t
    if (clean && ve > vs && s.charCodeAt(vs) !== 32 && s.charCodeAt(ve - 1) !== 32) return t
    return t.trim().toLowerCase()
  }

  /** Case-insensitive ASCII equality of the last string value with `target`, optionally ignoring `_`. */
  private matches(target: string, skipUnderscore: boolean): boolean {
    const s = this.s
    let j = 0
    for (let i = this.vs; i < this.ve; i++) {
      const c = s.charCodeAt(i)
      if (skipUnderscore && c === UNDERSCORE) continue
      // `| 0x20` lower-cases ASCII letters, and the targets are all letters, so no other byte matches.
      if (j >= target.length || (c | 0x20) !== target.charCodeAt(j)) return false
      j++
    }
    return j === target.length
  }

  /**
   * Epoch ms of the digits in [vs, ve) (no sign, no leading zero), exactly as
   * `epochToMs(Number(digits))` would compute it. Number() of 16+ digits is a slow correctly
   * rounded conversion; for nanoseconds the result is simply the leading digits unless the
   * sub-millisecond part is so close to a boundary that rounding could cross it.
   */
  private digitsTime(vs: number, ve: number): number | null {
    const s = this.s
    const n = ve - vs
    if (n <= 15) {
      let v = 0
      for (let i = vs; i < ve; i++) v = v * 10 + (s.charCodeAt(i) - 48)
      return epochToMs(v)
    }
    if (n === 18 || n === 19) {
      let hi = 0
      for (let i = vs; i < ve - 6; i++) hi = hi * 10 + (s.charCodeAt(i) - 48)
      let lo = 0
      for (let i = ve - 6; i < ve; i++) lo = lo * 10 + (s.charCodeAt(i) - 48)
      // Below 1e19 a double is within 1024 ns of the integer, and the division adds < 200 ns.
      if (lo >= 10_000 && lo < 990_000) return hi
    }
    return epochToMs(Number(s.slice(vs, ve)))
  }

  /** The time at value v: a number, null (absent, null or unparseable), undefined (ask JSON.parse). */
  private timeAt(v: number, le: number): number | null | undefined {
    if (v === ABSENT) return null
    return this.timeOf(this.readValue(v, le))
  }

  /** The time of the value just read, of the given kind; see timeAt. */
  private timeOf(kind: number): number | null | undefined {
    if (kind === V_NUM) return this.digitsTime(this.vs, this.ve)
    if (kind === V_STR) {
      const s = this.s
      const vs = this.vs
      const ve = this.ve
      let digits = ve > vs && s.charCodeAt(vs) !== 48
      for (let i = vs; digits && i < ve; i++) {
        const c = s.charCodeAt(i)
        digits = c >= 48 && c <= 57
      }
      if (digits) return this.digitsTime(vs, ve)
      const t = this.text()
      return t === undefined ? undefined : parseTime(t)
    }
    if (kind === V_NULL) return null
    return undefined
  }

  /** A string-or-absent value as a key; undefined: let JSON.parse decide. */
  private keyAt(v: number, le: number): string | undefined {
    if (v === ABSENT) return ''
    if (this.readValue(v, le) !== V_STR) return undefined
    return this.text(true)
  }

  private slow(ls: number, le: number): void {
    this.slowLines++
    let v: unknown
    try {
      v = JSON.parse(this.buf.toString('utf8', this.base + ls, this.base + le))
    } catch {
      this.agg.malformed()
      return
    }
    try {
      this.agg.ingest(v)
    } catch {
      // A hostile value (e.g. a 100k-deep array) must cost its own record only.
      this.agg.malformed()
    }
  }

  /** The time of a network session, from SessionStartTime else SessionEndTime; see timeAt. */
  private sessionTime(ls: number, le: number, sst: number): number | null | undefined {
    if (sst >= 0) {
      const kind = this.readValue(sst, le)
      if (kind === V_UNSURE) return undefined
      if (kind === V_NUM || (kind === V_STR && this.ve > this.vs)) return this.timeOf(kind)
    }
    const set = this.find(SET, ls, le, le)
    return set === UNSURE ? undefined : this.timeAt(set, le)
  }

  /**
   * Whether the SNI at value position `sni` is one an exclusion covers, decided once per
   * distinct raw value (a bounded cache); null when it is absent or not a string; undefined:
   * ask JSON.parse.
   */
  private excludedSni(sni: number, le: number): boolean | null | undefined {
    if (sni === ABSENT) return null
    const kind = this.readValue(sni, le)
    if (kind === V_UNSURE) return undefined
    if (kind !== V_STR) return null
    const found = this.probe(this.sniRaw, SNI_SLOTS - 1)
    if (found >= 0) {
      this.sniKey = this.sniKeys[found] as string
      return this.sniKey !== ''
    }
    const slot = -found - 1
    const raw = this.s.slice(this.vs, this.ve)
    const key = this.text(true)
    if (key === undefined) return undefined
    const ex = key !== '' && this.agg.excluded(key)
    this.sniRaw[slot] = owned(raw)
    this.sniKeys[slot] = this.sniKey = ex ? owned(key) : ''
    return ex
  }

  /** The OriginPort at v: a number, -1 when absent or null, undefined: ask JSON.parse. */
  private portAt(v: number, le: number): number | undefined {
    if (v === ABSENT) return -1
    const kind = this.readValue(v, le)
    if (kind === V_NULL) return -1
    if (kind !== V_NUM || this.ve - this.vs > 9) return undefined
    let n = 0
    for (let i = this.vs; i < this.ve; i++) n = n * 10 + (this.s.charCodeAt(i) - 48)
    return n
  }

  /**
   * The slot of `raw` that holds the string value last read, or -(slot + 1) for the slot to
   * fill: the first empty one among the probes, else the value's home slot (evicted).
   */
  private probe(raw: (string | undefined)[], mask: number): number {
    const s = this.s
    const vs = this.vs
    const len = this.ve - vs
    const home = this.vh & mask
    for (let i = 0; i < PROBES; i++) {
      const slot = (home + i) & mask
      const cached = raw[slot]
      if (cached === undefined) return -slot - 1
      if (cached.length === len && s.startsWith(cached, vs)) return slot
    }
    return -home - 1
  }

  /** The DeviceAcc of the DeviceID at v; null when there is none; undefined: ask JSON.parse. */
  private deviceAt(v: number, le: number): DeviceAcc | null | undefined {
    if (v === ABSENT) return null
    const kind = this.readValue(v, le)
    if (kind === V_UNSURE) return undefined
    if (kind !== V_STR) return null
    if (this.ve === this.vs) return null
    const found = this.probe(this.devRaw, DEVICE_SLOTS - 1)
    if (found >= 0) return this.devAcc[found]
    const slot = -found - 1
    const raw = this.s.slice(this.vs, this.ve)
    const id = this.text()
    if (id === undefined) return undefined
    const d = this.agg.deviceAcc(id)
    this.devRaw[slot] = owned(raw)
    this.devAcc[slot] = d
    return d
  }

  /** A network session that is not a TLS failure (the scanner sends those to JSON.parse). */
  private session(ls: number, le: number, ccr: number, oip: number, sst: number): void {
    const agg = this.agg
    if (ccr >= 0) {
      const kind = this.readValue(ccr, le)
      if (kind === V_UNSURE || (kind === V_STR && this.matches(TLS_ERROR, true))) return this.slow(ls, le)
    }
    const t = this.sessionTime(ls, le, sst)
    if (t === undefined) return this.slow(ls, le)
    const sni = this.find(SNI, ls, le, sst >= 0 ? sst : oip >= 0 ? oip : ls)
    if (sni === UNSURE) return this.slow(ls, le)
    if (t === null) return agg.malformed()
    if (!agg.inside(t)) {
      agg.records.zero_trust_network_sessions++
      return
    }
    const ex = this.excludedSni(sni, le)
    if (ex === undefined) return this.slow(ls, le)
    let ipKey = ''
    if (ex) {
      const sniKey = this.sniKey
      const k = this.keyAt(oip, le)
      if (k === undefined) return this.slow(ls, le)
      ipKey = k
      this.sniKey = sniKey
    }
    const portPos = this.find(PORT, ls, le, oip >= 0 ? oip : ls)
    if (portPos === UNSURE) return this.slow(ls, le)
    const port = this.portAt(portPos, le)
    if (port === undefined) return this.slow(ls, le)
    let dev: DeviceAcc | null | undefined = null
    if (agg.ports.has(port)) {
      const dv = this.find(DEV, ls, le, ccr >= 0 ? ccr : ls)
      if (dv === UNSURE) return this.slow(ls, le)
      dev = this.deviceAt(dv, le)
      if (dev === undefined) return this.slow(ls, le)
    }
    agg.records.zero_trust_network_sessions++
    agg.inWindow++
    if (ex) agg.seen(ipKey, this.sniKey)
    if (dev !== null) dev.tls++
  }

  private line(ls: number, le: number): void {
    const s = this.s
    while (ls < le && isWs(s.charCodeAt(ls))) ls++
    while (le > ls && isWs(s.charCodeAt(le - 1))) le--
    if (ls === le) return
    if (s.charCodeAt(ls) !== LBRACE || s.charCodeAt(le - 1) !== RBRACE || this.hasBackslash(ls, le) || this.hasBrace(ls + 1, le)) {
      return this.slow(ls, le)
    }
    // Logpush writes fields in alphabetical order: CCR, OriginIP, SNI, SessionStartTime.
    const ccr = this.find(CCR, ls, le, ls)
    const oip = this.find(OIP, ls, le, ccr >= 0 ? ccr : ls)
    // SessionStartTime is near the end, after fixed-width fields: measured from the line end.
    const sst = this.find(SST, ls, le, le)
    if (ccr === UNSURE || sst === UNSURE || oip === UNSURE) return this.slow(ls, le)
    const agg = this.agg
    if (ccr >= 0 || sst >= 0 || oip >= 0) return this.session(ls, le, ccr, oip, sst)
    const host = this.find(HOST, ls, le, ls)
    if (host === UNSURE) return this.slow(ls, le)
    if (host >= 0) {
      const action = this.find(ACTION, ls, le, ls)
      if (action === UNSURE) return this.slow(ls, le)
      if (action < 0) return this.slow(ls, le)
      const kind = this.readValue(action, le)
      if (kind !== V_STR || this.matches(BYPASS, false)) return this.slow(ls, le)
      const t = this.timeAt(this.find(DT, ls, le, ls), le)
      if (t === undefined) return this.slow(ls, le)
      if (t === null) return agg.malformed()
      agg.records.gateway_http++
      agg.httpSeen(t)
      if (agg.inside(t)) agg.inWindow++
      return
    }
    const sni = this.find(SNI, ls, le, ls)
    const dip = this.find(DIP, ls, le, ls)
    if (sni < 0 || dip < 0) return this.slow(ls, le)
    const dt = this.find(DT, ls, le, ls)
    if (dt === UNSURE) return this.slow(ls, le)
    const t = this.timeAt(dt, le)
    const ipKey = this.keyAt(dip, le)
    const sniKey = this.keyAt(sni, le)
    if (t === undefined || ipKey === undefined || sniKey === undefined) return this.slow(ls, le)
    if (t === null) return agg.malformed()
    agg.records.gateway_network++
    if (!agg.inside(t)) return
    agg.inWindow++
    agg.seen(ipKey, sniKey)
  }
}
