/**
 * Canonical forms of list values (IPs, CIDRs, hostnames), their ordering and containment.
 *
 * Every value that reaches a list file, an exclusion rule or a Gateway list goes through
 * here first, so "the same destination" always has exactly one spelling. Inputs may be
 * hostile (raw log values): nothing here throws, and long inputs are refused before any
 * heavier work.
 */
import { isIP } from 'node:net'
import { domainToASCII } from 'node:url'
import type { EntryKind } from './types.js'

/** The outcome of canonicalising one value: the canonical text, or a short human reason. */
export type CanonResult = { ok: true; value: string } | { ok: false; reason: string }

export interface IpNet {
  version: 4 | 6
  /** Address as an unsigned integer (32 or 128 bits). */
  addr: bigint
  prefix: number
}

// Far beyond the longest IPv6 CIDR (~50 chars) but small enough to cap the work on junk.
const MAX_IP_INPUT = 100
// Unicode input is shorter than its punycode, so this only has to bound the work; the real
// 253-character limit is checked on the ASCII result.
const MAX_HOST_INPUT = 1024

const fail = (reason: string): CanonResult => ({ ok: false, reason })

function bitsOf(version: 4 | 6): number {
  return version === 4 ? 32 : 128
}

function hostMask(version: 4 | 6, prefix: number): bigint {
  return (1n << BigInt(bitsOf(version) - prefix)) - 1n
}

type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string }

function parseIpv4(s: string): Parsed<bigint> {
  const parts = s.split('.')
  if (parts.length !== 4) return { ok: false, reason: 'not a valid IPv4 address (expected four dot-separated numbers)' }
  let addr = 0n
  for (const part of parts) {
    if (!/^[0-9]{1,3}$/.test(part)) return { ok: false, reason: 'not a valid IPv4 address (each part must be a number 0-255)' }
    // 010 means 8 to some parsers and 10 to others: refuse rather than guess.
    if (part.length > 1 && part.startsWith('0')) {
      return { ok: false, reason: `IPv4 part "${part}" has a leading zero (octal or decimal? ambiguous); write it without leading zeros` }
    }
    const n = Number(part)
    if (n > 255) return { ok: false, reason: `IPv4 part "${part}" is greater than 255` }
    addr = (addr << 8n) | BigInt(n)
  }
  return { ok: true, value: addr }
}

function parseGroups(s: string): Parsed<number[]> {
  if (s === '') return { ok: true, value: [] }
  const groups: number[] = []
  for (const g of s.split(':')) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return { ok: false, reason: 'not a valid IPv6 address (groups are 1-4 hex digits)' }
    groups.push(parseInt(g, 16))
  }
  return { ok: true, value: groups }
}

function parseIpv6(s: string): Parsed<bigint> {
  let body = s
  let tail: number[] = []
  // An embedded IPv4 address (::ffff:1.2.3.4) stands for the last two groups.
  const lastColon = body.lastIndexOf(':')
  const last = body.slice(lastColon + 1)
  if (last.includes('.')) {
    const v4 = parseIpv4(last)
    if (!v4.ok) return v4
    tail = [Number(v4.value >> 16n), Number(v4.value & 0xffffn)]
    body = body.slice(0, lastColon + 1)
    // Keep "::" intact when the IPv4 part follows it directly; drop a lone separator colon.
    if (body.endsWith(':') && !body.endsWith('::')) body = body.slice(0, -1)
  }
  const halves = body.split('::')
  if (halves.length > 2) return { ok: false, reason: 'not a valid IPv6 address ("::" may appear only once)' }
  let groups: number[]
  if (halves.length === 2) {
    const head = parseGroups(halves[0] ?? '')
    const rest = parseGroups(halves[1] ?? '')
    if (!head.ok) return head
    if (!rest.ok) return rest
    const missing = 8 - head.value.length - rest.value.length - tail.length
    if (missing < 1) return { ok: false, reason: 'not a valid IPv6 address (too many groups)' }
    groups = [...head.value, ...new Array<number>(missing).fill(0), ...rest.value, ...tail]
  } else {
    const all = parseGroups(body)
    if (!all.ok) return all
    groups = [...all.value, ...tail]
  }
  if (groups.length !== 8) return { ok: false, reason: 'not a valid IPv6 address (expected eight groups)' }
  let addr = 0n
  for (const g of groups) addr = (addr << 16n) | BigInt(g)
  return { ok: true, value: addr }
}

function formatIpv4(addr: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => String((addr >> shift) & 0xffn)).join('.')
}

/** RFC 5952: lowercase, no leading zeros, longest run (>= 2) of zero groups as "::", first on ties. */
function formatIpv6(addr: bigint): string {
  const groups: number[] = []
  for (let i = 7; i >= 0; i--) groups.push(Number((addr >> BigInt(i * 16)) & 0xffffn))
  let bestStart = -1
  let bestLen = 0
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > bestLen) {
      bestStart = i
      bestLen = j - i
    }
    i = j
  }
  const hex = groups.map((g) => g.toString(16))
  if (bestLen < 2) return hex.join(':')
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`
}

function formatNet(n: IpNet): string {
  const text = n.version === 4 ? formatIpv4(n.addr) : formatIpv6(n.addr)
  return n.prefix === bitsOf(n.version) ? text : `${text}/${n.prefix}`
}

/**
 * Parses an IP or CIDR without the host-bits rule, folding IPv4-mapped IPv6 into IPv4.
 * Shared by canonicalIp (which adds the host-bits rule) and the comparators.
 */
export function parseNet(input: string): Parsed<IpNet> {
  if (typeof input !== 'string' || input === '') return { ok: false, reason: 'empty value' }
  if (input.length > MAX_IP_INPUT) return { ok: false, reason: `too long to be an IP address or CIDR (${input.length} characters)` }
  if (/\s/.test(input)) return { ok: false, reason: 'contains whitespace' }
  if (input.includes('%')) return { ok: false, reason: 'IPv6 zone ids (%...) are not allowed; they only mean something on one machine' }
  if (input.startsWith('[')) return { ok: false, reason: 'write IPv6 addresses without brackets' }
  const slash = input.split('/')
  if (slash.length > 2) return { ok: false, reason: 'not a valid CIDR (more than one "/")' }
  const [addrText = '', prefixText] = slash
  const version: 4 | 6 = addrText.includes(':') ? 6 : 4
  const bits = bitsOf(version)
  let prefix = bits
  if (prefixText !== undefined) {
    if (!/^[0-9]{1,3}$/.test(prefixText) || (prefixText.length > 1 && prefixText.startsWith('0'))) {
      return { ok: false, reason: 'the prefix length after "/" must be a number without leading zeros' }
    }
    prefix = Number(prefixText)
    if (prefix > bits) return { ok: false, reason: `prefix length /${prefix} is larger than /${bits}` }
  }
  const parsed = version === 4 ? parseIpv4(addrText) : parseIpv6(addrText)
  if (!parsed.ok) return parsed
  // Belt and braces: our parser must never accept what Node itself calls invalid.
  if (isIP(addrText) !== version) return { ok: false, reason: `not a valid IPv${version} address` }
  let net: IpNet = { version, addr: parsed.value, prefix }
  if (version === 6 && parsed.value >> 32n === 0xffffn && prefix >= 96) {
    net = { version: 4, addr: parsed.value & 0xffffffffn, prefix: prefix - 96 }
  }
  return { ok: true, value: net }
}

/**
 * Canonical IPv4/IPv6 address or CIDR: no leading zeros (refused, not rewritten), RFC 5952
 * IPv6, IPv4-mapped IPv6 written as IPv4, /32 and /128 written as the bare address.
 * A CIDR with host bits set is refused (with the network it probably meant), because
 * silently widening or narrowing a bypass is unsafe.
 */
export function canonicalIp(input: string): CanonResult {
  const parsed = parseNet(input)
  if (!parsed.ok) return fail(parsed.reason)
  const n = parsed.value
  const mask = hostMask(n.version, n.prefix)
  if ((n.addr & mask) !== 0n) {
    const network = formatNet({ ...n, addr: n.addr & ~mask })
    return fail(`host bits are set: ${input} is not a network address; did you mean ${network}?`)
  }
  return { ok: true, value: formatNet(n) }
}

/** True for an IPv4 or IPv6 literal, including `[v6]` brackets and `%zone` suffixes. */
export function isIpLiteral(s: string): boolean {
  if (typeof s !== 'string' || s.length > MAX_IP_INPUT) return false
  let t = s
  if (t.startsWith('[') && t.endsWith(']')) t = t.slice(1, -1)
  const zone = t.indexOf('%')
  if (zone > 0) t = t.slice(0, zone)
  return isIP(t) !== 0
}

const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/

function codePoint(ch: string): string {
  return `U+${(ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`
}

/**
 * Canonical hostname: lowercase ASCII (IDN as punycode), no trailing dot, at least two
 * labels of [a-z0-9-_], at most 253 characters. Wildcards, IP literals, URLs, ports and
 * anything that could carry markup are refused. Reasons never echo hostile characters.
 */
export function canonicalHost(input: string): CanonResult {
  if (typeof input !== 'string' || input === '') return fail('empty value')
  if (input.length > MAX_HOST_INPUT) return fail(`too long to be a hostname (${input.length} characters)`)
  // eslint-disable-next-line no-control-regex
  if (/[\s\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]/u.test(input)) {
    return fail('contains whitespace or control characters')
  }
  if (input.includes('*')) return fail('wildcards are not allowed in Gateway hostname lists; list the exact hostname')
  if (isIpLiteral(input)) return fail('an IP literal is not a hostname')
  if (input.includes('://') || input.includes('/')) return fail('looks like a URL or path; list the bare hostname')
  if (input.includes(':')) return fail('contains ":" (a port?); list the bare hostname')
  const bad = /[^A-Za-z0-9._\-\u00a0-\u{10ffff}]/u.exec(input)
  if (bad) return fail(`contains the character ${codePoint(bad[0])}, which cannot appear in a hostname`)

  let ascii = input
  if (/[^\x20-\x7e]/.test(input) || /(^|\.)xn--/i.test(input)) {
    ascii = domainToASCII(input)
    if (ascii === '') return fail('not a valid internationalised domain name')
  } else {
    ascii = input.toLowerCase()
  }
  // IDNA mapping can turn odd digits/dots into an address (e.g. fullwidth digits).
  if (isIpLiteral(ascii) || isIpLiteral(ascii.replace(/\.$/, ''))) return fail('an IP literal is not a hostname')
  if (ascii.endsWith('.')) ascii = ascii.slice(0, -1)
  if (ascii.length > 253) return fail(`hostname is ${ascii.length} characters long; the limit is 253`)
  const labels = ascii.split('.')
  if (labels.length < 2) return fail('a hostname needs at least two labels (e.g. example.com)')
  for (const label of labels) {
    if (label === '') return fail('empty label (two dots in a row, or a leading dot)')
    if (label.length > 63) return fail(`label is ${label.length} characters long; the limit is 63`)
    if (label.startsWith('-') || label.endsWith('-')) return fail('a label cannot start or end with "-"')
    if (!LABEL.test(label)) {
      const ch = /[^a-z0-9_-]/.exec(label)?.[0] ?? '?'
      return fail(`contains the character ${codePoint(ch)}, which cannot appear in a hostname`)
    }
  }
  const tld = labels[labels.length - 1] ?? ''
  if (/^[0-9]+$/.test(tld)) return fail('the last label is all digits, which is not a hostname')
  // URL parsers read a hex last label (foo.0x7f) as an IPv4 address.
  if (/^0x[0-9a-f]*$/.test(tld)) return fail('the last label is a hex number, which URL parsers treat as an IP address')
  return { ok: true, value: ascii }
}

/** Dispatches to canonicalIp or canonicalHost. */
export function canonicalValue(kind: EntryKind, input: string): CanonResult {
  return kind === 'ip' ? canonicalIp(input) : canonicalHost(input)
}

/**
 * Orders canonical IPs/CIDRs: IPv4 before IPv6, then network address, then prefix length.
 * Unparseable inputs sort after everything, by plain string order, so sort never throws.
 */
export function compareIps(a: string, b: string): number {
  const pa = parseNet(a)
  const pb = parseNet(b)
  if (!pa.ok || !pb.ok) {
    if (pa.ok) return -1
    if (pb.ok) return 1
    return compareHosts(a, b)
  }
  const x = pa.value
  const y = pb.value
  if (x.version !== y.version) return x.version - y.version
  const xa = x.addr & ~hostMask(x.version, x.prefix)
  const ya = y.addr & ~hostMask(y.version, y.prefix)
  if (xa !== ya) return xa < ya ? -1 : 1
  if (x.prefix !== y.prefix) return x.prefix - y.prefix
  return 0
}

/** Orders canonical hostnames by byte (UTF-16 code unit; they are ASCII) order. */
export function compareHosts(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** Dispatches to compareIps or compareHosts. */
export function compareValues(kind: EntryKind, a: string, b: string): number {
  return kind === 'ip' ? compareIps(a, b) : compareHosts(a, b)
}

/**
 * True when the IP or CIDR `value` lies entirely inside the CIDR `network` (equal counts).
 * IPv4 is never inside an IPv6 network and vice versa; invalid inputs are never inside.
 */
export function ipInNetwork(value: string, network: string): boolean {
  const v = canonicalIp(value)
  const n = canonicalIp(network)
  if (!v.ok || !n.ok) return false
  const pv = parseNet(v.value)
  const pn = parseNet(n.value)
  if (!pv.ok || !pn.ok) return false
  if (pv.value.version !== pn.value.version || pv.value.prefix < pn.value.prefix) return false
  const mask = ~hostMask(pn.value.version, pn.value.prefix)
  return (pv.value.addr & mask) === pn.value.addr
}

/**
 * The ways IPv6 spells an IPv4 address: the 32 IPv4 bits placed at `shift` under a fixed
 * prefix. A client behind NAT64/DNS64, or a hand-written entry, can reach an IPv4
 * destination through any of these, so a bypass of such an IPv6 network bypasses the IPv4
 * range it embeds. (IPv4-mapped `::ffff:0:0/96` is folded into IPv4 by `parseNet` already
 * for /96 and longer; it is listed for networks around it.) Operator-chosen NAT64 prefixes
 * (RFC 6052 §2.2) cannot be known here and are not covered.
 */
const IPV4_IN_IPV6: { name: string; base: bigint; prefix: number; shift: number }[] = [
  { name: 'IPv4-mapped', base: 0xffffn << 32n, prefix: 96, shift: 0 },
  { name: 'IPv4-compatible', base: 0n, prefix: 96, shift: 0 },
  { name: 'IPv4-translated (SIIT)', base: 0xffffn << 48n, prefix: 96, shift: 0 },
  { name: 'NAT64 well-known prefix', base: 0x64ff9bn << 96n, prefix: 96, shift: 0 },
  { name: 'NAT64 local-use prefix', base: 0x64ff9b0001n << 80n, prefix: 96, shift: 0 },
  { name: '6to4', base: 0x2002n << 112n, prefix: 16, shift: 80 }
]

function contains(outer: IpNet, inner: IpNet): boolean {
  if (outer.version !== inner.version || inner.prefix < outer.prefix) return false
  const mask = ~hostMask(outer.version, outer.prefix)
  return (inner.addr & mask) === (outer.addr & mask)
}

/**
 * How the IPv6 network `v6` overlaps an IPv6 spelling of the IPv4 network `v4`: `'inside'`
 * when `v6` lies within an embedding of `v4` (a NAT64 address of an excluded range),
 * `'around'` when `v6` contains one (e.g. `64:ff9b::/64` contains all of NAT64), `'equal'`
 * when it is one. Returns
 * the embedding's name with the relation; undefined when they do not overlap or either
 * value is not of the expected version.
 */
export function ipv6EmbeddingOf(v6: string, v4: string): { scheme: string; relation: 'inside' | 'around' | 'equal' } | undefined {
  const a = parseNet(v6)
  const b = parseNet(v4)
  // A mapped /96-or-longer network parses as IPv4 and is compared as IPv4 by the callers.
  if (!a.ok || !b.ok || a.value.version !== 6 || b.value.version !== 4) return undefined
  const six = a.value
  for (const s of IPV4_IN_IPV6) {
    const image: IpNet = { version: 6, addr: s.base | (b.value.addr << BigInt(s.shift)), prefix: s.prefix + b.value.prefix }
    const inside = contains(image, six)
    const around = contains(six, image)
    if (inside || around) return { scheme: s.name, relation: inside && around ? 'equal' : inside ? 'inside' : 'around' }
  }
  return undefined
}

/** True when `host` is `domain` or a subdomain of it (label boundary, so notgoogle.com is not under google.com). */
export function hostUnderDomain(host: string, domain: string): boolean {
  if (domain === '') return false
  return host === domain || host.endsWith(`.${domain}`)
}
