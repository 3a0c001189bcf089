import { describe, expect, it } from 'vitest'
import {
  canonicalHost,
  canonicalIp,
  canonicalValue,
  compareHosts,
  compareIps,
  compareValues,
  hostUnderDomain,
  ipInNetwork,
  isIpLiteral
} from '../action/src/core/values.js'

describe('canonicalIp accepts and canonicalises', () => {
  it.each([
    ['1.2.3.4', '1.2.3.4'],
    ['0.0.0.0', '0.0.0.0'],
    ['255.255.255.255', '255.255.255.255'],
    ['10.0.0.0/8', '10.0.0.0/8'],
    ['10.0.0.0/24', '10.0.0.0/24'],
    ['1.2.3.4/32', '1.2.3.4'],
    ['0.0.0.0/0', '0.0.0.0/0'],
    // RFC 5952: lowercase, no leading zeros, longest zero run compressed
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:db8::1/128', '2001:db8::1'],
    ['2001:db8::/32', '2001:db8::/32'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // tie: first run
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'], // longest run wins over the first
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // a single zero group is not compressed
    ['1::2:3:4:5:6:7', '1:0:2:3:4:5:6:7'],
    ['0:0:0:0:0:0:0:0', '::'],
    ['::1', '::1'],
    ['fe80::', 'fe80::'],
    ['::ffff:1.2.3.4', '1.2.3.4'], // IPv4-mapped written as IPv4
    ['::FFFF:0102:0304', '1.2.3.4'],
    ['::ffff:1.2.3.0/120', '1.2.3.0/24'],
    ['::ffff:1.2.3.4/128', '1.2.3.4'],
    ['::1.2.3.4', '::102:304'], // deprecated IPv4-compatible form is not mapped
    ['64:ff9b::1.2.3.4', '64:ff9b::102:304']
  ])('%s -> %s', (input, expected) => {
    expect(canonicalIp(input)).toEqual({ ok: true, value: expected })
  })
})

describe('canonicalIp rejects', () => {
  it.each([
    ['', 'empty'],
    ['010.1.1.1', 'leading zero'],
    ['1.2.3.04', 'leading zero'],
    ['::ffff:010.1.2.3', 'leading zero'],
    ['10.0.0.1/24', 'did you mean 10.0.0.0/24?'],
    ['2001:db8::1/32', 'did you mean 2001:db8::/32?'],
    ['::ffff:1.2.3.4/120', 'did you mean 1.2.3.0/24?'],
    ['fe80::1%eth0', 'zone'],
    ['1.2.3.4 ', 'whitespace'],
    ['1.2. 3.4', 'whitespace'],
    ['1.2.3', 'four'],
    ['1.2.3.4.5', 'four'],
    ['256.1.1.1', 'greater than 255'],
    ['1.2.3.4/33', 'larger than /32'],
    ['::/129', 'larger than /128'],
    ['1.2.3.0/024', 'leading zeros'],
    ['1.2.3.0/', 'number'],
    ['1.2.3.0/8/8', 'more than one'],
    ['1::2::3', 'only once'],
    ['1:2:3:4:5:6:7:8:9', 'eight groups'],
    ['1:2:3:4:5:6:7::8', 'too many groups'],
    ['12345::', 'hex digits'],
    ['g::1', 'hex digits'],
    ['[::1]', 'brackets'],
    ['example.com', 'IPv4'],
    ['1'.repeat(200), 'too long']
  ])('%j (%s)', (input, reason) => {
    const r = canonicalIp(input)
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.reason).toContain(reason)
  })

  it('never echoes hostile prefix text in the reason', () => {
    const r = canonicalIp('1.2.3.0/<script>')
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.reason).not.toContain('<')
  })
})

describe('canonicalHost accepts and canonicalises', () => {
  it.each([
    ['example.com', 'example.com'],
    ['Example.COM', 'example.com'],
    ['example.com.', 'example.com'],
    ['_dmarc.example.com', '_dmarc.example.com'],
    ['a-b.example.com', 'a-b.example.com'],
    ['münchen.de', 'xn--mnchen-3ya.de'],
    ['XN--MNCHEN-3YA.de', 'xn--mnchen-3ya.de'],
    ['ＥＸＡＭＰＬＥ。com', 'example.com'], // IDNA maps fullwidth letters and dots
    ['1.2.3.example', '1.2.3.example'],
    ['123.com', '123.com'],
    [`${'a'.repeat(63)}.com`, `${'a'.repeat(63)}.com`],
    [`${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`, `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`]
  ])('%s -> %s', (input, expected) => {
    expect(canonicalHost(input)).toEqual({ ok: true, value: expected })
  })
})

describe('canonicalHost rejects', () => {
  it.each([
    ['', 'empty'],
    ['*.example.com', 'wildcards are not allowed in Gateway hostname lists; list the exact hostname'],
    ['foo*.example.com', 'wildcards are not allowed'],
    ['1.2.3.4', 'an IP literal is not a hostname'],
    ['::1', 'an IP literal is not a hostname'],
    ['[2001:db8::1]', 'an IP literal is not a hostname'],
    ['fe80::1%eth0', 'an IP literal is not a hostname'],
    ['１.２.３.４', 'an IP literal is not a hostname'], // fullwidth digits map to an address
    ['0x7f.0.0.1', 'all digits'],
    ['foo.0x7f', 'hex number'],
    ['com', 'at least two labels'],
    ['example.com..', 'empty label'],
    ['.example.com', 'empty label'],
    ['a..b.com', 'empty label'],
    ['-a.example.com', 'start or end with "-"'],
    ['a-.example.com', 'start or end with "-"'],
    ['example.123', 'all digits'],
    [`${'a'.repeat(64)}.com`, 'limit is 63'],
    [`${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(62)}`, 'limit is 253'],
    ['a b.com', 'whitespace'],
    ['a\tb.com', 'whitespace'],
    ['a\u0000b.com', 'control'],
    ['a\u200bb.com', 'control'], // zero-width space: invisible in a review
    ['a\u202eb.com', 'control'], // right-to-left override
    ['https://example.com/', 'URL'],
    ['example.com/path', 'URL'],
    ['example.com:443', 'port'],
    ['user@example.com', 'U+0040'],
    ['<b>x.com', 'U+003C'],
    ['a|b.com', 'U+007C'],
    ['`x`.com', 'U+0060'],
    ['[x](http).com', 'U+005B'],
    ['a%41.com', 'U+0025'],
    ['xn--zz.com', 'not a valid internationalised'],
    ['xn--.com', 'not a valid internationalised'],
    ['a／b.com', 'not a valid internationalised'], // fullwidth slash maps to a forbidden "/"
    ['x'.repeat(10_000), 'too long']
  ])('%j (%s)', (input, reason) => {
    const r = canonicalHost(input)
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.reason).toContain(reason)
  })

  it.each(['<img src=x onerror=alert(1)>.com', '`rm -rf`.com', '@everyone.com', '[a](b).com'])(
    'does not echo hostile characters from %j',
    (input) => {
      const r = canonicalHost(input)
      expect(r.ok).toBe(false)
      if (!r.ok) expect(r.reason).not.toMatch(/[<>`@[\]]/)
    }
  )

  it('rejects a 1 MB input quickly', () => {
    const start = performance.now()
    for (let i = 0; i < 100; i++) canonicalHost('a.'.repeat(500_000))
    expect(performance.now() - start).toBeLessThan(1000)
  })
})

describe('canonicalValue dispatches on kind', () => {
  it.each([
    ['ip', '1.2.3.4/32', true, '1.2.3.4'],
    ['ip', 'example.com', false, ''],
    ['host', 'Example.com', true, 'example.com'],
    ['host', '1.2.3.4', false, '']
  ] as const)('%s %s', (kind, input, ok, value) => {
    const r = canonicalValue(kind, input)
    expect(r.ok).toBe(ok)
    if (r.ok) expect(r.value).toBe(value)
  })
})

describe('isIpLiteral', () => {
  it.each([
    ['1.2.3.4', true],
    ['::1', true],
    ['[::1]', true],
    ['fe80::1%eth0', true],
    ['[fe80::1%25eth0]', true],
    ['::ffff:1.2.3.4', true],
    ['example.com', false],
    ['1.2.3', false],
    ['', false],
    ['[example.com]', false],
    ['1.2.3.4/32', false]
  ])('%j -> %s', (input, expected) => {
    expect(isIpLiteral(input)).toBe(expected)
  })
})

describe('ordering', () => {
  it.each([
    ['1.2.3.4', '::1', -1], // IPv4 before IPv6
    ['255.255.255.255', '::', -1],
    ['9.0.0.0', '10.0.0.0', -1], // numeric, not lexicographic
    ['10.0.0.0/8', '10.0.0.0/24', -1], // same network: shorter prefix first
    ['10.0.0.0/24', '10.0.0.0', -1],
    ['10.0.0.0/8', '9.255.255.255', 1],
    ['2001:db8::/32', '2001:db8::1', -1],
    ['::2', '::10', -1], // 0x2 < 0x10
    ['1.2.3.4', '1.2.3.4', 0]
  ])('compareIps(%s, %s) has sign %i', (a, b, sign) => {
    expect(Math.sign(compareIps(a, b))).toBe(sign)
    expect(Math.sign(compareIps(b, a)) + 0).toBe(-sign + 0) // + 0 folds -0
  })

  it('sorts a mixed list', () => {
    const sorted = ['::1', '10.0.0.0/24', '9.9.9.9', '10.0.0.0/8', '2001:db8::/32', '10.0.0.0'].sort(compareIps)
    expect(sorted).toEqual(['9.9.9.9', '10.0.0.0/8', '10.0.0.0/24', '10.0.0.0', '::1', '2001:db8::/32'])
  })

  it('puts unparseable values last without throwing', () => {
    expect(['junk', '1.2.3.4'].sort(compareIps)).toEqual(['1.2.3.4', 'junk'])
  })

  it.each([
    ['a.com', 'b.com', -1],
    ['a-b.com', 'a.com', -1], // '-' (0x2d) < '.' (0x2e): byte order, not locale order
    ['B.com', 'a.com', -1],
    ['_x.com', 'a.com', -1],
    ['a.com', 'a.com', 0]
  ])('compareHosts(%s, %s) has sign %i', (a, b, sign) => {
    expect(Math.sign(compareHosts(a, b))).toBe(sign)
    expect(Math.sign(compareValues('host', a, b))).toBe(sign)
  })

  it('compareValues dispatches to numeric order for ips', () => {
    expect(compareValues('ip', '9.0.0.0', '10.0.0.0')).toBeLessThan(0)
    expect(compareValues('host', '9.0.0.0', '10.0.0.0')).toBeGreaterThan(0)
  })
})

describe('ipInNetwork', () => {
  it.each([
    ['10.1.2.3', '10.0.0.0/8', true],
    ['10.0.0.0/8', '10.0.0.0/8', true], // equal counts
    ['10.1.0.0/16', '10.0.0.0/8', true], // CIDR inside CIDR
    ['10.0.0.0/8', '10.1.0.0/16', false], // wider is not inside narrower
    ['11.0.0.0', '10.0.0.0/8', false],
    ['1.2.3.4', '1.2.3.4', true],
    ['1.2.3.5', '1.2.3.4', false],
    ['1.2.3.4', '0.0.0.0/0', true],
    ['1.2.3.4', '::/0', false], // IPv4 never inside an IPv6 network
    ['::1', '0.0.0.0/0', false],
    ['::ffff:10.1.1.1', '10.0.0.0/8', true], // mapped form is the IPv4 address
    ['2001:db8::1', '2001:db8::/32', true],
    ['2001:db9::1', '2001:db8::/32', false],
    ['2001:db8:1::/48', '2001:db8::/32', true],
    ['junk', '10.0.0.0/8', false],
    ['10.0.0.1', '10.0.0.1/8', false] // a network with host bits set is not a network
  ])('%s in %s -> %s', (value, network, expected) => {
    expect(ipInNetwork(value, network)).toBe(expected)
  })
})

describe('hostUnderDomain', () => {
  it.each([
    ['google.com', 'google.com', true],
    ['mail.google.com', 'google.com', true],
    ['a.b.google.com', 'google.com', true],
    ['notgoogle.com', 'google.com', false], // label boundary
    ['google.com.evil.net', 'google.com', false],
    ['google.com', 'mail.google.com', false],
    ['com', 'google.com', false],
    ['google.com', '', false]
  ])('%s under %s -> %s', (host, domain, expected) => {
    expect(hostUnderDomain(host, domain)).toBe(expected)
  })
})
