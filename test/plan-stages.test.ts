/**
 * The collect planner's stages, one table each (the whole pipeline is in plan.test.ts and
 * plan.property.test.ts). Every row would fail if its stage's rule broke.
 */
import { describe, expect, it } from 'vitest'
import { canonAddress, canonSni, compareStrength, mergeStats } from '../action/src/core/plan/canonical.js'
import { carriedProposals, gather, InvalidValues, observe, otherSides } from '../action/src/core/plan/evidence.js'
import { exclusionLookup, listedOf, rulesInForce } from '../action/src/core/plan/exclusions.js'
import { nextLists } from '../action/src/core/plan/next.js'
import { removalsByExclusion } from '../action/src/core/plan/removals.js'
import { applyExclusions, applyThresholds, capAdditions, contenders, dropListed, type Contender } from '../action/src/core/plan/select.js'
import { planWarnings } from '../action/src/core/plan/warnings.js'
import type { Candidate, CollectOptions, ExclusionRule, Observations, Stats } from '../action/src/core/types.js'

const T0 = Date.UTC(2026, 10, 15)
const st = (sessions: number, devices: number, lastSeen = T0): Stats => ({ sessions, devices, users: devices, firstSeen: T0, lastSeen })
const cand = (kind: 'ip' | 'host', value: string, s = st(5, 2), otherSideTotal = 0): Candidate => ({ kind, value, source: 'tls-error', stats: s, otherSide: [], otherSideTotal })
const O: CollectOptions = { minSessions: 2, minDevices: 2, maxNewEntries: Infinity, now: T0 }
const rule = (kind: 'ip' | 'host', value: string, line = 1, expires?: string): ExclusionRule => ({ kind, value, reason: 'r', line, ...(expires ? { expires } : {}) })
const con = (c: Candidate, extra: Partial<Contender> = {}): Contender => ({ candidate: c, imported: false, current: true, ...extra })

describe('canonicalise', () => {
  it.each([
    ['API.Example.com.', { ok: true, value: 'api.example.com' }],
    ['192.0.2.1', { ok: false, reason: 'an IP literal in SNI is not a hostname' }],
    ['[2001:db8::1]', { ok: false, reason: 'an IP literal in SNI is not a hostname' }],
    [' 10.0.0.1 ', { ok: false, reason: 'an IP literal in SNI is not a hostname' }]
  ])('SNI %j', (raw, want) => expect(canonSni(raw)).toEqual(want))

  it.each([
    ['::ffff:192.0.2.1', '192.0.2.1'],
    ['2001:DB8:0:0::1', '2001:db8::1'],
    ['192.0.2.0/24', undefined],
    ['010.0.0.1', undefined]
  ])('origin IP %j → %j', (raw, want) => {
    const c = canonAddress(raw)
    expect(c.ok ? c.value : undefined).toBe(want)
  })

  it('merges stats: sessions add, devices/users max, first min (0 = unknown), last max', () => {
    expect(mergeStats({ sessions: 1, devices: 3, users: 1, firstSeen: 0, lastSeen: 5 }, { sessions: 2, devices: 1, users: 4, firstSeen: 7, lastSeen: 3 })).toEqual({ sessions: 3, devices: 3, users: 4, firstSeen: 7, lastSeen: 5 })
  })
})

describe('evidence', () => {
  const obs = (p: Partial<Observations>): Observations => ({
    window: { from: 0, to: 1 }, hostFailures: new Map(), ipFailures: new Map(), hostIps: new Map(), ipHosts: new Map(), bypassedHosts: new Map(),
    stats: { source: 'logpush', records: {}, inWindow: 0, malformedLines: 0, filesRead: 0, filesSkipped: 0, filesCorrupt: 0, warnings: [] }, ...p
  })

  it('a host failing and bypassed is one tls-error candidate; `failures` keeps only the failures', () => {
    const inv = new InvalidValues()
    const { observed, failures } = observe(obs({ hostFailures: new Map([['A.example.com', st(2, 1)]]), bypassedHosts: new Map([['a.example.com', st(10, 4)]]) }), inv)
    expect([...observed.values()]).toEqual([{ kind: 'host', value: 'a.example.com', source: 'tls-error', stats: { ...st(12, 4), users: 4 } }])
    expect(failures.get('host a.example.com')?.stats.sessions).toBe(2)
  })

  it('an IP-literal SNI is invalid, never an IP candidate; sessions of one raw value add up', () => {
    const inv = new InvalidValues()
    const { observed } = observe(obs({ hostFailures: new Map([['192.0.2.1', st(3, 1)]]), bypassedHosts: new Map([['192.0.2.1', st(4, 1)]]) }), inv)
    expect(observed.size).toBe(0)
    expect(inv.sorted()).toEqual([{ kind: 'host', raw: '192.0.2.1', reason: 'an IP literal in SNI is not a hostname', sessions: 7 }])
  })

  it('other sides are canonical, counted with the unusable ones, and names on an IP come from both directions', () => {
    const s = otherSides({ hostIps: new Map([['a.example.com', new Set(['192.0.2.1', 'junk'])]]), ipHosts: new Map([['::ffff:192.0.2.1', new Set(['B.example.com'])]]) })
    expect([...(s.namesOnIp.get('192.0.2.1') ?? [])].sort()).toEqual(['a.example.com', 'b.example.com'])
    const g = gather(new Map([['host a.example.com', { kind: 'host', value: 'a.example.com', source: 'tls-error', stats: st(1, 1) }]]), [], s, new InvalidValues(), undefined)
    expect(g.get('host a.example.com')?.candidate).toMatchObject({ otherSide: ['192.0.2.1'], otherSideTotal: 2 })
  })

  it.each([
    [{ kind: 'ip', value: '10.0.0.0/8' }, 'dashboard item: '],
    [{ kind: 'host', value: '*.example.com' }, 'dashboard item: ']
  ] as const)('a dashboard import %j that cannot be a list line is invalid', (item, prefix) => {
    const inv = new InvalidValues()
    expect(gather(new Map(), [item], otherSides({ hostIps: new Map(), ipHosts: new Map() }), inv, undefined).size).toBe(0)
    expect(inv.sorted()[0]?.reason.startsWith(prefix)).toBe(true)
  })

  it('carried proposals are canonicalised; malformed ones are counted and dropped', () => {
    const r = carriedProposals([cand('host', 'A.Example.com'), cand('ip', '10.0.0.0/8'), { ...cand('ip', 'x'), kind: 'bogus' as 'ip' }], undefined)
    expect([...r.carried.keys()]).toEqual(['host a.example.com'])
    expect(r.malformed).toBe(2)
  })
})

describe('exclusions', () => {
  it.each([
    ['expired yesterday', rule('host', 'a.com', 1, '2026-11-14'), true],
    ['expires today (applies through the day)', rule('host', 'a.com', 1, '2026-11-15'), false],
    ['no expiry', rule('host', 'a.com'), false]
  ])('rule %s', (_, r, expired) => {
    const got = rulesInForce([r], [], T0 + 3_600_000)
    expect(got.expired.length === 1).toBe(expired)
    expect(got.active.length === 0).toBe(expired)
  })

  it('listed: canonical, and an IP inside a listed network counts', () => {
    const l = listedOf({ ips: ['::ffff:192.0.2.1', '198.51.100.0/24'], hosts: ['A.example.com'] })
    expect([l.has('ip', '192.0.2.1'), l.has('ip', '198.51.100.7'), l.has('host', 'a.example.com'), l.has('ip', '203.0.113.1')]).toEqual([true, true, true, false])
  })

  it.each([
    ['host under an excluded domain', 'host', 'mail.google.com', 'google.com', undefined],
    ['IP inside an excluded network', 'ip', '142.250.1.1', '142.250.0.0/15', undefined],
    ['IP where an excluded name was seen', 'ip', '192.0.2.9', 'google.com', 'www.google.com'],
    ['network holding an IP where an excluded name was seen', 'ip', '192.0.2.0/24', 'google.com', 'www.google.com']
  ] as const)('%s', (_, kind, value, by, via) => {
    const rules = [rule('host', 'google.com'), rule('ip', '142.250.0.0/15', 2)]
    const ex = exclusionLookup(rules, new Map([['192.0.2.9', new Set(['www.google.com'])]]))(kind, value)
    expect(ex?.rule.value).toBe(by)
    expect(ex?.via).toBe(via)
  })

  it('removals by exclusion: hostnames then IPs, each in list order', () => {
    const l = listedOf({ ips: ['142.250.1.1', '10.0.0.1'], hosts: ['z.google.com', 'a.google.com', 'x.org'] })
    const got = removalsByExclusion(l, exclusionLookup([rule('host', 'google.com'), rule('ip', '142.250.0.0/15', 2)], new Map()))
    expect(got.map((r) => r.value)).toEqual(['a.google.com', 'z.google.com', '142.250.1.1'])
  })
})

describe('select: listed, exclusions, thresholds, cap', () => {
  it('contenders: one per value; carried-only values stand on their recorded evidence', () => {
    const cs = contenders(new Map([['host a.com', { candidate: cand('host', 'a.com'), imported: false }]]), new Map([['host a.com', cand('host', 'a.com')], ['host b.com', cand('host', 'b.com')]]))
    expect(cs.map((c) => [c.candidate.value, c.current, c.prior !== undefined])).toEqual([['a.com', true, true], ['b.com', false, true]])
  })

  it.each([
    ['observed and listed', con(cand('host', 'a.com')), 1, 0],
    ['observed, carried and listed', con(cand('host', 'a.com'), { prior: cand('host', 'a.com') }), 1, 1],
    ['carried only and listed', con(cand('host', 'a.com'), { current: false, prior: cand('host', 'a.com') }), 0, 1]
  ])('dropListed: %s', (_, c, already, carriedListed) => {
    const got = dropListed([c], listedOf({ ips: [], hosts: ['a.com'] }))
    expect([got.rest.length, got.alreadyListed, got.carriedListed]).toEqual([0, already, carriedListed])
  })

  it.each([
    ['above thresholds: reported', con(cand('host', 'a.google.com')), 1, 0],
    ['below thresholds: dropped silently', con(cand('host', 'a.google.com', st(1, 1))), 0, 0],
    ['import below thresholds: reported', con(cand('host', 'a.google.com', st(0, 0)), { imported: true }), 1, 0],
    ['carried below thresholds: reported and counted', con(cand('host', 'a.google.com', st(1, 1)), { prior: cand('host', 'a.google.com', st(1, 1)) }), 1, 1]
  ])('applyExclusions: %s', (_, c, suppressed, carriedExcluded) => {
    const got = applyExclusions([c], exclusionLookup([rule('host', 'google.com')], new Map()), O)
    expect([got.rest.length, got.suppressed.length, got.carriedExcluded]).toEqual([0, suppressed, carriedExcluded])
  })

  it.each([
    ['meets both', con(cand('host', 'a.com', st(2, 2))), true, 0],
    ['sessions short', con(cand('host', 'a.com', st(1, 2))), false, 0],
    ['devices short', con(cand('host', 'a.com', st(9, 1))), false, 0],
    ['import skips thresholds', con(cand('host', 'a.com', st(0, 0)), { imported: true }), true, 0],
    ['weak now, carried strong: stays', con(cand('host', 'a.com', st(1, 1)), { prior: cand('host', 'a.com', st(5, 5)) }), true, 0],
    ['weak now and carried weak: dropped, counted', con(cand('host', 'a.com', st(1, 1)), { prior: cand('host', 'a.com', st(1, 1)) }), false, 1]
  ])('applyThresholds: %s', (_, c, eligible, carriedBelow) => {
    const got = applyThresholds([c], O)
    expect([got.eligible.length === 1, got.carriedBelow]).toEqual([eligible, carriedBelow])
  })

  it('applyThresholds keeps the earliest first sighting and the recorded other side of a carried value', () => {
    const prior = { ...cand('host', 'a.com', { ...st(5, 5), firstSeen: T0 - 9, lastSeen: T0 + 9 }), otherSide: ['192.0.2.1'], otherSideTotal: 1 }
    const [e] = applyThresholds([con(cand('host', 'a.com', st(3, 3)), { prior })], O).eligible
    expect(e).toMatchObject({ stats: { sessions: 3, firstSeen: T0 - 9, lastSeen: T0 + 9 }, otherSide: ['192.0.2.1'] })
  })

  it.each([
    [Infinity, 3, 0],
    [2, 2, 1],
    [0, 0, 3],
    [Number.NaN, 0, 3],
    [-1, 0, 3],
    [1.9, 1, 2]
  ])('cap %s → %i added, %i held back, strongest first', (max, added, held) => {
    const got = capAdditions([cand('ip', '192.0.2.1', st(2, 1)), cand('host', 'b.com', st(2, 3)), cand('host', 'a.com', st(2, 1))], max)
    expect([got.additions.length, got.heldBack.length]).toEqual([added, held])
    expect([...got.additions, ...got.heldBack].map((c) => c.value)).toEqual(['b.com', 'a.com', '192.0.2.1'])
  })

  it('compareStrength: devices, sessions, recency, hostnames before IPs', () => {
    const xs = [cand('ip', '192.0.2.1', st(2, 1)), cand('host', 'z.com', st(2, 1)), cand('host', 'y.com', st(2, 1, T0 + 1)), cand('host', 'x.com', st(3, 1))]
    expect(xs.sort(compareStrength).map((c) => c.value)).toEqual(['x.com', 'y.com', 'z.com', '192.0.2.1'])
  })
})

describe('the next lists and warnings', () => {
  it('next = listed ∪ additions − removals, sorted by values.ts', () => {
    const got = nextLists(listedOf({ ips: ['10.0.0.2', '10.0.0.10'], hosts: ['b.com', 'c.com'] }), [cand('host', 'a.com'), cand('ip', '10.0.0.1')], [{ kind: 'host', value: 'c.com' }, { kind: 'ip', value: '10.0.0.10' }])
    expect(got).toEqual({ ips: ['10.0.0.1', '10.0.0.2'], hosts: ['a.com', 'b.com'] })
  })

  it.each([
    ['no records', {}, 0, 'no records in the window — is the dataset enabled / is Logpush writing to the bucket?'],
    ['records, none in the window', { gateway_http: 3 }, 0, '3 records were read but none is inside the lookback window']
  ])('warning: %s', (_, records, inWindow, want) => {
    const stats = { source: 'logpush' as const, records, inWindow, malformedLines: 0, filesRead: 0, filesSkipped: 0, filesCorrupt: 0, warnings: [] }
    expect(planWarnings(stats, [], { excluded: 0, listed: 0, below: 0, malformed: 0 })).toEqual([want])
  })

  it('warnings name expired rules and every kind of dropped earlier proposal', () => {
    const stats = { source: 'log-explorer' as const, records: { gateway_http: 1 }, inWindow: 1, malformedLines: 0, filesRead: 0, filesSkipped: 0, filesCorrupt: 0, warnings: ['src'] }
    expect(planWarnings(stats, [rule('host', 'a.com', 4, '2026-01-01')], { excluded: 1, listed: 2, below: 1, malformed: 2 })).toEqual([
      'src',
      'exclusion a.com (line 4) expired on 2026-01-01; it no longer applies',
      '1 earlier proposal is now excluded and no longer proposed',
      '2 earlier proposals are now listed and no longer proposed',
      '1 earlier proposal is below the current thresholds and no longer proposed',
      '2 earlier proposals were not a valid value and dropped'
    ])
  })
})
