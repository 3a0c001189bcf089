import { BlockList, isIP } from 'node:net'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { parseExclusions } from '../action/src/core/exclusions.js'
import { formatListFile, parseListFile } from '../action/src/core/listfile.js'
import type { EntryKind } from '../action/src/core/types.js'
import { canonicalHost, canonicalIp, compareHosts, compareIps, ipInNetwork } from '../action/src/core/values.js'

// Arbitrary strings with every kind of code point, including lone surrogates and controls.
const anyString = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: 'binary', maxLength: 2000 }))

const ipv6 = fc.oneof(fc.ipV6(), fc.mixedCase(fc.ipV6()))
const ipv4 = fc.ipV4()
const cidr = fc.oneof(
  fc.tuple(ipv4, fc.integer({ min: 0, max: 32 })).map(([a, p]) => `${a}/${p}`),
  fc.tuple(ipv6, fc.integer({ min: 0, max: 128 })).map(([a, p]) => `${a}/${p}`)
)
const ipish = fc.oneof(ipv4, ipv6, cidr, fc.constantFrom('::', '::1', '::ffff:1.2.3.4', '0.0.0.0/0'), fc.string({ maxLength: 12 }))
const hostish = fc.oneof(fc.domain(), fc.mixedCase(fc.domain()), fc.domain().map((d) => `${d}.`), anyString)

/** Canonical IPs (and networks), as list files would hold them. */
const canonicalIps = fc.oneof(ipv4, ipv6, cidr).map((s) => {
  const r = canonicalIp(s)
  if (r.ok) return r.value
  // A CIDR with host bits set: take the network the reason suggests.
  const m = /did you mean (\S+)\?$/.exec(r.reason)
  const fixed = canonicalIp(m?.[1] ?? '')
  if (!fixed.ok) throw new Error(`no canonical form for ${s}: ${r.reason}`)
  return fixed.value
})
const canonicalHosts = fc.domain().map((d) => canonicalHost(d)).filter((r) => r.ok).map((r) => (r.ok ? r.value : ''))

describe('canonical forms are fixed points', () => {
  it('canonicalIp(canonicalIp(x)) === canonicalIp(x)', () => {
    fc.assert(
      fc.property(ipish, (s) => {
        const once = canonicalIp(s)
        if (once.ok) expect(canonicalIp(once.value)).toEqual(once)
      })
    )
  })

  it('canonicalHost(canonicalHost(x)) === canonicalHost(x)', () => {
    fc.assert(
      fc.property(hostish, (s) => {
        const once = canonicalHost(s)
        if (once.ok) expect(canonicalHost(once.value)).toEqual(once)
      })
    )
  })

  it('every generated domain is accepted, lowercased, without a trailing dot', () => {
    fc.assert(
      fc.property(fc.mixedCase(fc.domain()), (d) => {
        // fast-check domains may end in an all-numeric-free TLD but can be longer than DNS allows
        const r = canonicalHost(`${d}.`)
        if (d.length <= 253) expect(r).toEqual({ ok: true, value: d.toLowerCase() })
      })
    )
  })
})

describe('canonical IPv6 is the same address (checked against node:net and WHATWG URL)', () => {
  it('round-trips through BlockList and matches the WHATWG (RFC 5952) serialisation', () => {
    fc.assert(
      fc.property(ipv6, (s) => {
        const r = canonicalIp(s)
        expect(r.ok).toBe(true)
        if (!r.ok) return
        const list = new BlockList()
        list.addAddress(s, 'ipv6')
        if (isIP(r.value) === 6) {
          expect(list.check(r.value, 'ipv6')).toBe(true)
          expect(new URL(`http://[${s}]/`).hostname).toBe(`[${r.value}]`)
        } else {
          // IPv4-mapped: written as IPv4, and it is the same address as ::ffff:<v4>
          expect(isIP(r.value)).toBe(4)
          expect(list.check(`::ffff:${r.value}`, 'ipv6')).toBe(true)
          expect(new URL(`http://[${s}]/`).hostname).toBe(new URL(`http://[::ffff:${r.value}]/`).hostname)
        }
      })
    )
  })

  it('a canonical network contains exactly what BlockList.addSubnet contains', () => {
    fc.assert(
      fc.property(canonicalIps, ipv4, ipv6, (net, probe4, probe6) => {
        const [addr = '', prefixText] = net.split('/')
        const v6 = addr.includes(':')
        const prefix = prefixText === undefined ? (v6 ? 128 : 32) : Number(prefixText)
        const list = new BlockList()
        list.addSubnet(addr, prefix, v6 ? 'ipv6' : 'ipv4')
        const probe = v6 ? probe6 : probe4
        const canonProbe = canonicalIp(probe)
        if (!canonProbe.ok || isIP(canonProbe.value) !== (v6 ? 6 : 4)) return
        expect(ipInNetwork(canonProbe.value, net)).toBe(list.check(probe, v6 ? 'ipv6' : 'ipv4'))
        expect(ipInNetwork(addr, net)).toBe(true)
      })
    )
  })
})

describe('host bits', () => {
  it('a CIDR is accepted exactly when its host bits are zero, else the suggestion is its network', () => {
    fc.assert(
      fc.property(cidr, (s) => {
        const r = canonicalIp(s)
        if (r.ok) return
        const m = /did you mean (\S+)\?$/.exec(r.reason)
        expect(m).not.toBeNull()
        const suggestion = m?.[1] ?? ''
        expect(canonicalIp(suggestion).ok).toBe(true)
        expect(ipInNetwork(s.split('/')[0] ?? '', suggestion)).toBe(true)
      })
    )
  })
})

function checkTotalOrder(cmp: (a: string, b: string) => number, a: string, b: string, c: string): void {
  expect(Math.sign(cmp(a, b)) + 0).toBe(-Math.sign(cmp(b, a)) + 0)
  expect(cmp(a, b) === 0).toBe(a === b)
  if (cmp(a, b) <= 0 && cmp(b, c) <= 0) expect(cmp(a, c)).toBeLessThanOrEqual(0)
}

describe('comparators are total orders on canonical values', () => {
  it('compareIps', () => {
    fc.assert(fc.property(canonicalIps, canonicalIps, canonicalIps, (a, b, c) => checkTotalOrder(compareIps, a, b, c)))
  })
  it('compareIps on near-identical values (same network, different prefixes)', () => {
    fc.assert(
      fc.property(fc.constantFrom('10.0.0.0', '10.0.0.0/8', '10.0.0.0/16', '::', '::/64', '::1', '0.0.0.0/0'), fc.constantFrom('10.0.0.0', '10.0.0.0/8', '::/64', '::1', '0.0.0.0/0'), fc.constantFrom('10.0.0.0/16', '::', '0.0.0.0/0'), (a, b, c) =>
        checkTotalOrder(compareIps, a, b, c)
      )
    )
  })
  it('compareHosts', () => {
    fc.assert(fc.property(canonicalHosts, canonicalHosts, canonicalHosts, (a, b, c) => checkTotalOrder(compareHosts, a, b, c)))
  })
})

const commentLine = fc.oneof(
  fc.constant(''),
  fc.string({ unit: 'binary', maxLength: 40 }).map((s) => `#${s.replace(/[\r\n]/g, '')}`)
)

describe('list files round-trip', () => {
  it.each([
    ['ip', canonicalIps],
    ['host', canonicalHosts]
  ] as const)('%s: parse(format(h, e)) gives h and sorted unique e, and format is idempotent', (kind, values) => {
    fc.assert(
      fc.property(fc.array(commentLine, { maxLength: 6 }), fc.array(values as fc.Arbitrary<string>, { maxLength: 20 }), (header, entries) => {
        // The /8 and /32 guards belong to list files; keep only entries a list may hold.
        const allowed = entries.filter((e) => parseListFile(`${e}\n`, { kind: kind as EntryKind, file: 'x' }).problems.length === 0)
        const text = formatListFile(header, allowed, kind)
        const parsed = parseListFile(text, { kind, file: 'x' })
        expect(parsed.problems).toEqual([])
        expect(parsed.header).toEqual(header)
        expect(parsed.entries).toEqual([...new Set(allowed)].sort((a, b) => (kind === 'ip' ? compareIps(a, b) : compareHosts(a, b))))
        expect(parsed.canonical).toBe(true)
        expect(formatListFile(parsed.header, parsed.entries, kind)).toBe(text)
      })
    )
  })

  it.each(['ip', 'host'] as const)('%s: parsing arbitrary text never throws, and its rewrite is canonical with the same entries', (kind) => {
    const lines = fc.array(fc.oneof(anyString, commentLine, fc.ipV4(), fc.domain(), fc.constant('\r')), { maxLength: 12 })
    fc.assert(
      fc.property(fc.oneof(anyString, lines.map((ls) => ls.join('\n'))), (text) => {
        const parsed = parseListFile(text, { kind, file: 'x' })
        const rewritten = formatListFile(parsed.header, parsed.entries, kind)
        const again = parseListFile(rewritten, { kind, file: 'x' })
        expect(again.problems).toEqual([])
        expect(again.entries).toEqual(parsed.entries)
        expect(again.canonical).toBe(true)
      })
    )
  })
})

describe('hostile input never throws', () => {
  it('canonicalIp, canonicalHost and parseExclusions on arbitrary strings', () => {
    fc.assert(
      fc.property(anyString, (s) => {
        expect(typeof canonicalIp(s).ok).toBe('boolean')
        expect(typeof canonicalHost(s).ok).toBe('boolean')
        const r = parseExclusions(s, 'x', 0)
        for (const p of r.problems) expect(p.line).toBeGreaterThanOrEqual(1)
      })
    )
  })

  it('an accepted hostname never contains markup or control characters', () => {
    fc.assert(
      fc.property(hostish, (s) => {
        const r = canonicalHost(s)
        if (r.ok) expect(r.value).toMatch(/^[a-z0-9_.-]{1,253}$/)
      })
    )
  })
})
