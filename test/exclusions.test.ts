import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { matchHost, matchIp, parseExclusions, ruleCovering } from '../action/src/core/exclusions.js'
import type { ExclusionRule } from '../action/src/core/types.js'

const NOW = Date.UTC(2027, 0, 15, 12)
const parse = (text: string, now = NOW) => parseExclusions(text, 'exclusions.yaml', now)

describe('parseExclusions: valid files', () => {
  it('parses hosts, IPs and CIDRs into canonical rules with the line of each value', () => {
    const text = [
      'exclusions:', //                                     1
      '  - value: Google.COM.', //                          2
      '    reason: tenant restrictions header', //          3
      '  - reason: broad is fine here', //                  4
      '    value: 142.250.0.0/15', //                       5
      '  - value: "2001:DB8::/32"', //                      6
      '    reason: v6', //                                  7
      '    expires: 2027-06-30', //                         8
      '  - value: ::ffff:1.2.3.4', //                       9
      '    reason: mapped', //                              10
      '  - value: 0.0.0.0/0', //                            11
      '    reason: "  no /8 limit for exclusions  "' //     12
    ].join('\n')
    const r = parse(text)
    expect(r.problems).toEqual([])
    expect(r.expired).toEqual([])
    expect(r.rules).toEqual([
      { value: 'google.com', kind: 'host', reason: 'tenant restrictions header', line: 2 },
      { value: '142.250.0.0/15', kind: 'ip', reason: 'broad is fine here', line: 5 },
      { value: '2001:db8::/32', kind: 'ip', reason: 'v6', expires: '2027-06-30', line: 6 },
      { value: '1.2.3.4', kind: 'ip', reason: 'mapped', line: 9 },
      { value: '0.0.0.0/0', kind: 'ip', reason: 'no /8 limit for exclusions', line: 11 }
    ])
  })

  it.each([
    ['an empty file', ''],
    ['only comments', '# nothing yet\n'],
    ['exclusions: null', 'exclusions:\n'],
    ['an empty list', 'exclusions: []\n'],
    ['an empty map', '{}\n']
  ])('%s means no rules', (_name, text) => {
    expect(parse(text)).toEqual({ rules: [], expired: [], problems: [] })
  })

  it('the committed exclusions.yaml is valid and keeps tenant-control services inspected', () => {
    const text = readFileSync(new URL('../exclusions.yaml', import.meta.url), 'utf8')
    const r = parse(text, Date.now())
    expect(r.problems).toEqual([])
    const values = r.rules.map((rule) => rule.value)
    for (const v of ['google.com', 'youtube.com', 'login.microsoftonline.com', 'login.microsoft.com', 'login.windows.net', 'slack.com']) {
      expect(values).toContain(v)
    }
    // Hosts that carry the same tenant controls (issue 12): YouTube restricted mode, Microsoft
    // accounts, Google sign-in on country domains.
    for (const host of ['youtubei.googleapis.com', 'youtube.googleapis.com', 'www.youtube-nocookie.com', 'login.live.com', 'accounts.google.co.uk', 'accounts.google.de', 'accounts.google.com.br', 'accounts.google.co.jp', 'www.google.cat']) {
      expect(matchHost(r.rules, host), host).toBeDefined()
    }
    // ...without swallowing unrelated Google API hosts or look-alikes.
    for (const host of ['storage.googleapis.com', 'google.co.uk.attacker.example', 'notgoogle.de']) expect(matchHost(r.rules, host), host).toBeUndefined()
    for (const rule of r.rules) expect(rule.reason.length).toBeGreaterThan(30)
  })
})

describe('parseExclusions: every problem has a line and column', () => {
  it.each([
    ['unknown key in a rule', 'exclusions:\n  - value: a.com\n    reason: r\n    note: x\n', 4, 5, 'unknown key "note"'],
    ['unknown top-level key', 'exclusion:\n  - value: a.com\n', 1, 1, 'unknown key "exclusion"'],
    ['missing reason', 'exclusions:\n  - value: a.com\n', 2, 5, 'missing "reason"'],
    ['missing value', 'exclusions:\n  - reason: r\n', 2, 5, 'missing "value"'],
    ['empty reason', 'exclusions:\n  - value: a.com\n    reason: "  "\n', 3, 13, '"reason" must not be empty'],
    ['value of the wrong type', 'exclusions:\n  - value: 10\n    reason: r\n', 2, 12, '"value" must be a string'],
    ['reason of the wrong type', 'exclusions:\n  - value: a.com\n    reason: [a]\n', 3, 13, '"reason" must be a string'],
    ['rule that is not a map', 'exclusions:\n  - a.com\n', 2, 5, 'each exclusion must be a map'],
    ['exclusions that is not a list', 'exclusions: a.com\n', 1, 13, '"exclusions" must be a list'],
    ['top level that is a list', '- value: a.com\n', 1, 1, 'the top level must be a map'],
    ['top level that is a scalar', 'hello\n', 1, 1, 'the top level must be a map'],
    ['duplicate key', 'exclusions:\n  - value: a.com\n    value: b.com\n    reason: r\n', 3, 5, 'duplicate key'],
    ['duplicate value', 'exclusions:\n  - value: a.com\n    reason: r\n  - value: A.com.\n    reason: r\n', 4, 12, 'already excluded at line 2'],
    ['duplicate CIDR after canonicalisation', 'exclusions:\n  - value: 10.0.0.0/8\n    reason: r\n  - value: "::ffff:10.0.0.0/104"\n    reason: r\n', 4, 12, 'already excluded at line 2'],
    ['wildcard', 'exclusions:\n  - value: "*.example.com"\n    reason: r\n', 2, 12, 'a hostname already matches all its subdomains, so write example.com'],
    ['host bits set', 'exclusions:\n  - value: 10.0.0.1/8\n    reason: r\n', 2, 12, 'did you mean 10.0.0.0/8?'],
    ['invalid hostname', 'exclusions:\n  - value: bad_-.com\n    reason: r\n', 2, 12, 'start or end with "-"'],
    ['impossible date', 'exclusions:\n  - value: a.com\n    reason: r\n    expires: 2027-02-30\n', 4, 14, 'real date'],
    ['date in the wrong format', 'exclusions:\n  - value: a.com\n    reason: r\n    expires: 30.06.2027\n', 4, 14, 'YYYY-MM-DD'],
    ['date as a number', 'exclusions:\n  - value: a.com\n    reason: r\n    expires: 20270630\n', 4, 14, 'YYYY-MM-DD'],
    ['YAML syntax error', 'exclusions:\n  - value: [a\n', 3, 1, ''],
    ['two documents', 'exclusions: []\n---\nexclusions: []\n', 2, 1, 'only one YAML document'],
    ['alias', 'x: &r a reason\nexclusions:\n  - value: a.com\n    reason: *r\n', 4, 13, 'aliases'],
    ['merge key', 'base: &b {reason: r}\nexclusions:\n  - <<: *b\n    value: a.com\n', 3, 9, 'aliases']
  ])('%s', (_name, text, line, column, message) => {
    const r = parse(text)
    // A duplicate keeps the first rule; every other case yields no rule at all.
    expect(r.rules).toHaveLength(message.includes('already excluded') ? 1 : 0)
    expect(r.problems).toHaveLength(1)
    expect(r.problems[0]).toEqual({ file: 'exclusions.yaml', line, column, message: expect.stringContaining(message) })
  })

  it('reports every bad rule and keeps the good ones', () => {
    const r = parse('exclusions:\n  - value: a.com\n    reason: r\n  - value: "*.b.com"\n    reason: r\n  - value: 1.2.3.4/8\n    reason: r\n')
    expect(r.rules.map((rule) => rule.value)).toEqual(['a.com'])
    expect(r.problems.map((p) => p.line)).toEqual([4, 6])
  })

  it('survives an alias bomb quickly with one problem', () => {
    const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for (let i = 1; i < 10; i++) {
      const prev = String.fromCharCode(96 + i)
      const name = String.fromCharCode(97 + i)
      levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]`)
    }
    const start = performance.now()
    const r = parse(`${levels.join('\n')}\nexclusions: []\n`)
    expect(performance.now() - start).toBeLessThan(2000)
    expect(r.rules).toEqual([])
    expect(r.problems).toEqual([{ file: 'exclusions.yaml', line: 2, column: 8, message: expect.stringContaining('81 aliases') }])
  })

  it('refuses an absurdly large file without parsing it', () => {
    const r = parse(`# ${'x'.repeat(1_000_001)}\n`)
    expect(r.problems).toEqual([{ file: 'exclusions.yaml', line: 1, message: expect.stringContaining('never this large') }])
  })
})

describe('parseExclusions: expiry (inclusive, UTC)', () => {
  const text = 'exclusions:\n  - value: a.com\n    reason: r\n    expires: 2027-06-30\n'
  it.each([
    ['the day before', Date.UTC(2027, 5, 29, 12), 'active'],
    ['the first instant of the day', Date.UTC(2027, 5, 30, 0, 0, 0, 0), 'active'],
    ['the last millisecond of the day', Date.UTC(2027, 5, 30, 23, 59, 59, 999), 'active'],
    ['the first instant of the next day', Date.UTC(2027, 6, 1, 0, 0, 0, 0), 'expired'],
    ['a year later', Date.UTC(2028, 5, 30), 'expired']
  ])('%s: %s', (_name, now, state) => {
    const r = parse(text, now)
    expect(r.problems).toEqual([])
    const rule = { value: 'a.com', kind: 'host', reason: 'r', expires: '2027-06-30', line: 2 }
    expect(r.rules).toEqual(state === 'active' ? [rule] : [])
    expect(r.expired).toEqual(state === 'expired' ? [rule] : [])
  })

  it('accepts 29 February in a leap year only', () => {
    expect(parse('exclusions:\n  - value: a.com\n    reason: r\n    expires: 2028-02-29\n').problems).toEqual([])
    expect(parse('exclusions:\n  - value: a.com\n    reason: r\n    expires: 2027-02-29\n').problems).toHaveLength(1)
  })
})

const rule = (value: string, kind: ExclusionRule['kind'], line: number): ExclusionRule => ({ value, kind, reason: 'r', line })

describe('matchHost', () => {
  const rules = [rule('google.com', 'host', 1), rule('mail.google.com', 'host', 2), rule('10.0.0.0/8', 'ip', 3), rule('slack.com', 'host', 4)]
  it.each([
    ['google.com', 1],
    ['docs.google.com', 1],
    ['mail.google.com', 2], // most specific wins
    ['a.mail.google.com', 2],
    ['notgoogle.com', undefined],
    ['google.com.evil.net', undefined],
    ['slack.com', 4],
    ['example.com', undefined]
  ])('%s -> rule at line %s', (host, line) => {
    expect(matchHost(rules, host)?.line).toBe(line)
  })

  it('is independent of rule order', () => {
    expect(matchHost([...rules].reverse(), 'a.mail.google.com')?.line).toBe(2)
  })
})

describe('matchIp', () => {
  const rules = [
    rule('10.0.0.0/8', 'ip', 1),
    rule('10.1.0.0/16', 'ip', 2),
    rule('10.1.2.3', 'ip', 3),
    rule('2001:db8::/32', 'ip', 4),
    rule('2001:db8:1::/48', 'ip', 5),
    rule('google.com', 'host', 6)
  ]
  it.each([
    ['10.9.9.9', 1],
    ['10.1.9.9', 2], // most specific wins
    ['10.1.2.3', 3],
    ['10.1.0.0/24', 2], // a CIDR inside a rule network
    ['10.0.0.0/7', undefined], // wider than every rule
    ['11.0.0.1', undefined],
    ['::ffff:10.1.2.3', 3], // mapped form is the IPv4 address
    ['2001:db8::1', 4],
    ['2001:db8:1::5', 5],
    ['2001:db8:1::/64', 5],
    ['2001:db9::1', undefined],
    ['::a01:203', 3], // IPv4-compatible spelling of 10.1.2.3 (issue 12 item 5)
    ['64:ff9b::a01:909', 2], // NAT64 spelling of 10.1.9.9
    ['2002:a01:909::1', 2], // 6to4 prefix of 10.1.9.9
    ['64:ff9b::b00:1', undefined], // NAT64 of 11.0.0.1: no rule
    ['not-an-ip', undefined]
  ])('%s -> rule at line %s', (value, line) => {
    expect(matchIp(rules, value)?.line).toBe(line)
  })

  it('is independent of rule order', () => {
    expect(matchIp([...rules].reverse(), '10.1.2.3')?.line).toBe(3)
  })
})

describe('ruleCovering (shared by collect removals and sync validation)', () => {
  const rules = [
    rule('142.250.0.0/15', 'ip', 1),
    rule('2001:db8:1::/48', 'ip', 2),
    rule('google.com', 'host', 3),
    rule('accounts.google.com', 'host', 4)
  ]
  it.each([
    ['ip', '142.250.1.1', 1], // inside a rule network
    ['ip', '142.0.0.0/8', 1], // a listed network that contains an excluded one
    ['ip', '142.250.0.0/15', 1],
    ['ip', '2001:db8::/32', 2],
    ['ip', '2001:db8:1::5', 2],
    ['host', 'mail.google.com', 3],
    ['host', 'x.accounts.google.com', 4], // most specific wins
    ['ip', '142.252.0.0/16', undefined], // beside, not inside or around
    ['ip', '10.0.0.0/8', undefined],
    ['host', 'notgoogle.com', undefined],
    ['ip', 'google.com', undefined], // kinds never cross
    // Issue 12 item 5: IPv6 spellings of the excluded IPv4 range are that range.
    ['ip', '64:ff9b::8efa:0/111', 1], // NAT64 well-known prefix
    ['ip', '64:ff9b::8efa:101', 1],
    ['ip', '64:ff9b:1::8efa:0/112', 1], // NAT64 local-use prefix
    ['ip', '::8efa:0/111', 1], // IPv4-compatible
    ['ip', '::ffff:0:8efa:0/111', 1], // IPv4-translated (SIIT)
    ['ip', '::ffff:8efa:0/111', 1], // IPv4-mapped (folds to 142.250.0.0/15)
    ['ip', '::ffff:0:0/95', 1], // around all of IPv4-mapped space
    ['ip', '64:ff9b::/64', 1], // around all of NAT64
    ['ip', '2002:8efa::/32', 1], // 6to4 inside the range
    ['ip', '2002::/16', 1], // 6to4 around the range
    ['ip', '64:ff9b::8efc:0/112', undefined], // NAT64 of 142.252.0.0/16: beside
    ['ip', '2001:db8:2::/48', undefined]
  ] as const)('%s %s → rule on line %s', (kind, value, line) => {
    expect(ruleCovering(rules, kind, value)?.line).toBe(line)
  })

  it('an IPv6-spelled exclusion covers the IPv4 range it embeds, and the networks around it', () => {
    const nat64 = [rule('64:ff9b::8efa:0/111', 'ip', 7)]
    expect(ruleCovering(nat64, 'ip', '142.250.1.1')?.line).toBe(7)
    expect(matchIp(nat64, '142.250.1.1')?.line).toBe(7)
    expect(ruleCovering(nat64, 'ip', '142.0.0.0/8')?.line).toBe(7)
    expect(ruleCovering(nat64, 'ip', '142.252.0.1')).toBeUndefined()
  })
})
