import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { buildCollectPlan, compareStrength, INVALID_RAW_MAX, OTHER_SIDE_CAP, type CollectInput } from '../action/src/core/plan.js'
import type { Candidate, CollectOptions, ExclusionRule, Observations, Stats } from '../action/src/core/types.js'
import { hostUnderDomain, ipInNetwork } from '../action/src/core/values.js'

const HOUR = 3_600_000
const DAY = 24 * HOUR
const T0 = Date.UTC(2026, 10, 15, 10, 0)
const NOW = T0 + 7 * DAY

function st(sessions: number, devices: number, users = devices, firstSeen = T0, lastSeen = T0 + HOUR): Stats {
  return { sessions, devices, users, firstSeen, lastSeen }
}

type ObsParts = {
  hostFailures?: Record<string, Stats>
  ipFailures?: Record<string, Stats>
  bypassedHosts?: Record<string, Stats>
  hostIps?: Record<string, string[]>
  ipHosts?: Record<string, string[]>
  records?: Observations['stats']['records']
  warnings?: string[]
}

function obs(p: ObsParts = {}): Observations {
  const m = (r: Record<string, Stats> = {}) => new Map(Object.entries(r))
  const s = (r: Record<string, string[]> = {}) => new Map(Object.entries(r).map(([k, v]) => [k, new Set(v)]))
  return {
    window: { from: T0 - DAY, to: NOW },
    hostFailures: m(p.hostFailures),
    ipFailures: m(p.ipFailures),
    bypassedHosts: m(p.bypassedHosts),
    hostIps: s(p.hostIps),
    ipHosts: s(p.ipHosts),
    stats: {
      source: 'logpush',
      records: p.records ?? { zero_trust_network_sessions: 100 },
      inWindow: 100,
      malformedLines: 0,
      filesRead: 1,
      filesSkipped: 0,
      filesCorrupt: 0,
      warnings: p.warnings ?? []
    }
  }
}

const OPTS: CollectOptions = { minSessions: 1, minDevices: 1, maxNewEntries: Infinity, now: NOW }

function plan(p: ObsParts, extra: Partial<Omit<CollectInput, 'options'>> & { options?: Partial<CollectOptions> } = {}) {
  return buildCollectPlan({
    observations: obs(p),
    current: extra.current ?? { ips: [], hosts: [] },
    rules: extra.rules ?? [],
    expiredRules: extra.expiredRules ?? [],
    options: { ...OPTS, ...extra.options },
    ...(extra.carried ? { carried: extra.carried } : {}),
    ...(extra.imports ? { imports: extra.imports } : {})
  })
}

function rule(value: string, reason = 'must stay inspected', line = 1, expires?: string): ExclusionRule {
  const kind = /^[0-9.:a-f/]+$/.test(value) && /[.:]/.test(value) && !/[g-z]/.test(value) ? 'ip' : 'host'
  return { value, kind, reason, line, ...(expires ? { expires } : {}) }
}

const values = (cs: { value: string }[]) => cs.map((c) => c.value)

describe('rule 1: canonicalisation and merging', () => {
  it('merges keys that canonicalise alike: sessions add, devices/users max, first min, last max', () => {
    const p = plan({
      hostFailures: {
        'API.Example.com': st(3, 2, 5, T0 + 2 * HOUR, T0 + 3 * HOUR),
        'api.example.com.': st(4, 6, 1, T0, T0 + HOUR),
        'api.example.com': st(1, 1, 1, T0 + HOUR, T0 + 9 * HOUR)
      }
    })
    expect(p.additions).toHaveLength(1)
    expect(p.additions[0]?.value).toBe('api.example.com')
    expect(p.additions[0]?.stats).toEqual({ sessions: 8, devices: 6, users: 5, firstSeen: T0, lastSeen: T0 + 9 * HOUR })
  })

  it('merges IP keys that canonicalise alike (IPv4-mapped IPv6, zero compression)', () => {
    const p = plan({
      ipFailures: { '::ffff:192.0.2.1': st(2, 1), '192.0.2.1': st(3, 2), '2001:DB8:0:0::1': st(1, 1), '2001:db8::1': st(1, 1) }
    })
    expect(p.additions.map((c) => [c.value, c.stats.sessions])).toEqual([
      ['192.0.2.1', 5],
      ['2001:db8::1', 2]
    ])
  })

  it.each([
    ['<script>alert(1)</script>.example', 'host'],
    ['*.example.com', 'host'],
    ['https://evil.example/x', 'host'],
    ['a..example', 'host'],
    ['x'.repeat(10_000), 'host']
  ])('an invalid host key never becomes a candidate: %s', (raw) => {
    const p = plan({ hostFailures: { [raw]: st(50, 50) } })
    expect(p.additions).toEqual([])
    expect(p.belowThreshold).toEqual([])
    expect(p.invalid).toHaveLength(1)
    expect(p.invalid[0]).toMatchObject({ kind: 'host', sessions: 50 })
    expect(p.invalid[0]?.raw.length).toBeLessThanOrEqual(INVALID_RAW_MAX)
    expect(p.invalid[0]?.reason).not.toBe('')
  })

  it('truncates raw invalid values to 300 characters and merges the same raw key from two sources', () => {
    const raw = `${'y'.repeat(5_000)}<`
    const p = plan({ hostFailures: { [raw]: st(2, 1) }, bypassedHosts: { [raw]: st(3, 1) } })
    expect(p.invalid).toHaveLength(1)
    expect(p.invalid[0]?.raw).toHaveLength(INVALID_RAW_MAX)
    expect(p.invalid[0]?.raw.startsWith('yyyy')).toBe(true)
    expect(p.invalid[0]?.sessions).toBe(5)
  })

  it.each(['192.0.2.9', '2001:db8::9', '[2001:db8::9]'])('an IP literal as SNI (%s) is invalid and NEVER an IP candidate', (sni) => {
    const p = plan({ hostFailures: { [sni]: st(99, 99) }, bypassedHosts: { [sni]: st(1, 1) } })
    expect(p.additions).toEqual([])
    expect(p.invalid.map((v) => [v.kind, v.reason, v.sessions])).toEqual([['host', 'an IP literal in SNI is not a hostname', 100]])
    expect(p.next.ips).toEqual([])
  })

  it.each([
    ['1.2.3', 'ip'],
    ['10.0.0.0/8', 'ip'],
    ['010.1.1.1', 'ip'],
    ['example.com', 'ip']
  ])('an invalid ipFailures key is reported, not proposed: %s', (raw) => {
    const p = plan({ ipFailures: { [raw]: st(9, 9) } })
    expect(p.additions).toEqual([])
    expect(p.invalid.map((v) => [v.kind, v.raw])).toEqual([['ip', raw]])
  })

  it('other side: canonical, sorted, capped; invalid values dropped but counted in the total', () => {
    const ips = ['192.0.2.1', '::ffff:192.0.2.1', 'not-an-ip', '2001:db8::1', '10.0.0.10', '10.0.0.2']
    const p = plan({ hostFailures: { 'a.example': st(1, 1) }, hostIps: { 'A.example': ips } })
    expect(p.additions[0]?.otherSide).toEqual(['10.0.0.2', '10.0.0.10', '192.0.2.1', '2001:db8::1'])
    expect(p.additions[0]?.otherSideTotal).toBe(5)
  })

  it(`caps the other side at ${OTHER_SIDE_CAP} and keeps the true total`, () => {
    const hosts = Array.from({ length: 25 }, (_, i) => `h${String(i).padStart(2, '0')}.example`)
    const p = plan({ ipFailures: { '198.51.100.7': st(1, 1) }, ipHosts: { '198.51.100.7': [...hosts, '192.0.2.1'] } })
    expect(p.additions[0]?.otherSide).toEqual(hosts.slice(0, OTHER_SIDE_CAP))
    expect(p.additions[0]?.otherSideTotal).toBe(26) // the IP literal is dropped but counted
  })
})

describe('rule 2: candidate sources', () => {
  it('a host in hostFailures and bypassedHosts is one tls-error candidate with merged stats', () => {
    const p = plan({ hostFailures: { 'a.example': st(2, 3) }, bypassedHosts: { 'a.example': st(5, 1), 'b.example': st(1, 1) } })
    expect(p.additions.map((c) => [c.value, c.source, c.stats.sessions, c.stats.devices])).toEqual([
      ['a.example', 'tls-error', 7, 3],
      ['b.example', 'bypass-log', 1, 1]
    ])
  })

  it('IP candidates come only from ipFailures; ipHosts alone proposes nothing', () => {
    const p = plan({ ipHosts: { '192.0.2.1': ['a.example'] }, hostIps: { 'a.example': ['192.0.2.2'] } })
    expect(p.additions).toEqual([])
  })
})

describe('rule 3: thresholds', () => {
  it.each([
    [5, 2, true],
    [4, 2, false],
    [5, 1, false],
    [100, 1, false],
    [1, 100, false],
    [6, 3, true]
  ])('sessions=%i devices=%i with min 5/2 → proposed: %s', (sessions, devices, proposed) => {
    const p = plan({ hostFailures: { 'a.example': st(sessions, devices) } }, { options: { minSessions: 5, minDevices: 2 } })
    expect(p.additions.length).toBe(proposed ? 1 : 0)
    expect(p.belowThreshold.length).toBe(proposed ? 0 : 1)
  })

  it('dashboard imports skip thresholds, keep logged evidence, but not exclusions; bad imports are invalid', () => {
    const p = plan(
      { hostFailures: { 'seen.example': st(1, 1) } },
      {
        options: { minSessions: 10, minDevices: 10 },
        rules: [rule('blocked.example')],
        imports: [
          { kind: 'host', value: 'Manual.Example' },
          { kind: 'host', value: 'seen.example' },
          { kind: 'host', value: 'x.blocked.example' },
          { kind: 'ip', value: '203.0.113.0/24' },
          { kind: 'ip', value: '203.0.113.1/24' }
        ]
      }
    )
    expect(p.additions.map((c) => [c.kind, c.value, c.source, c.stats.sessions])).toEqual([
      ['host', 'seen.example', 'dashboard', 1],
      ['host', 'manual.example', 'dashboard', 0],
      ['ip', '203.0.113.0/24', 'dashboard', 0]
    ])
    expect(p.suppressed.map((s) => s.candidate.value)).toEqual(['x.blocked.example'])
    expect(p.invalid.map((v) => v.raw)).toEqual(['203.0.113.1/24'])
    expect(p.invalid[0]?.reason).toMatch(/^dashboard item: host bits are set/)
    expect(p.belowThreshold).toEqual([])
  })
})

describe('rule 4: already listed', () => {
  it('counts exact matches and IPs inside a listed CIDR; proposes the rest', () => {
    const p = plan(
      {
        hostFailures: { 'listed.example': st(1, 1), 'sub.listed.example': st(1, 1) },
        ipFailures: { '192.0.2.77': st(1, 1), '192.0.3.1': st(1, 1), '2001:db8::5': st(1, 1) }
      },
      { current: { ips: ['192.0.2.0/24', '2001:db8::5'], hosts: ['listed.example'] } }
    )
    expect(p.alreadyListed).toBe(3)
    expect(values(p.additions).sort()).toEqual(['192.0.3.1', 'sub.listed.example'])
    expect(p.next).toEqual({ ips: ['192.0.2.0/24', '192.0.3.1', '2001:db8::5'], hosts: ['listed.example', 'sub.listed.example'] })
  })
})

describe('rule 5: exclusions', () => {
  const rules = [rule('google.com', 'tenant restrictions', 3), rule('203.0.113.0/24', 'shared CDN range', 4), rule('2001:db8:1::/48', 'v6 range', 5)]

  it.each([
    ['host', 'google.com', 'google.com', undefined],
    ['host', 'accounts.google.com', 'google.com', undefined],
    ['ip', '203.0.113.7', '203.0.113.0/24', undefined],
    ['ip', '2001:db8:1::9', '2001:db8:1::/48', undefined],
    ['ip', '198.51.100.1', 'google.com', 'mail.google.com']
  ] as const)('%s %s is suppressed by %s (via %s)', (kind, value, ruleValue, via) => {
    const p = plan(
      {
        hostFailures: kind === 'host' ? { [value]: st(5, 5) } : {},
        ipFailures: kind === 'ip' ? { [value]: st(5, 5) } : {},
        ipHosts: { '198.51.100.1': ['zzz.example', 'mail.google.com', 'www.google.com'] }
      },
      { rules }
    )
    expect(p.additions).toEqual([])
    expect(p.suppressed).toHaveLength(1)
    expect(p.suppressed[0]?.rule.value).toBe(ruleValue)
    expect(p.suppressed[0]?.via).toBe(via)
  })

  it('an excluded hostname learned from hostIps (the other direction) also suppresses the IP', () => {
    const p = plan({ ipFailures: { '198.51.100.2': st(5, 5) }, hostIps: { 'login.google.com': ['198.51.100.2'] } }, { rules })
    expect(p.suppressed.map((s) => [s.candidate.value, s.via])).toEqual([['198.51.100.2', 'login.google.com']])
  })

  it('label boundaries: notgoogle.com and an IP outside the range are proposed', () => {
    const p = plan({ hostFailures: { 'notgoogle.com': st(5, 5) }, ipFailures: { '203.0.114.1': st(5, 5) } }, { rules })
    expect(values(p.additions)).toEqual(['notgoogle.com', '203.0.114.1'])
    expect(p.suppressed).toEqual([])
  })

  it('expired rules do not apply (given as expired, or still in rules but past their day) and are warned about', () => {
    const p = plan(
      { hostFailures: { 'a.old.example': st(5, 5), 'b.older.example': st(5, 5), 'c.today.example': st(5, 5) } },
      {
        rules: [rule('older.example', 'r', 7, '2026-11-21'), rule('today.example', 'r', 8, '2026-11-22')],
        expiredRules: [rule('old.example', 'r', 2, '2026-01-01')]
      }
    )
    // NOW is 2026-11-22 10:00 UTC: a rule expiring "2026-11-22" still applies through that day.
    expect(values(p.additions)).toEqual(['a.old.example', 'b.older.example'])
    expect(values(p.suppressed.map((s) => s.candidate))).toEqual(['c.today.example'])
    expect(p.expiredRules.map((r) => r.value)).toEqual(['old.example', 'older.example'])
    expect(p.warnings).toEqual([
      'exclusion old.example (line 2) expired on 2026-01-01; it no longer applies',
      'exclusion older.example (line 7) expired on 2026-11-21; it no longer applies'
    ])
  })

  it('decision: suppression is reported only for candidates that would otherwise be proposed', () => {
    const p = plan(
      { hostFailures: { 'quiet.google.com': st(1, 1), 'loud.google.com': st(10, 5), 'quiet.example': st(1, 1) } },
      { rules, options: { minSessions: 5, minDevices: 2 } }
    )
    expect(values(p.suppressed.map((s) => s.candidate))).toEqual(['loud.google.com'])
    // An excluded value is never "below threshold" either: it will never be proposed.
    expect(values(p.belowThreshold)).toEqual(['quiet.example'])
  })
})

describe('rule 6: removals', () => {
  it('listed entries matching an active exclusion are removed, citing the rule (and via)', () => {
    const p = plan(
      { ipHosts: { '198.51.100.9': ['drive.google.com'], '192.0.2.130': ['meet.google.com'] } },
      {
        rules: [rule('google.com', 'tenant', 3), rule('203.0.113.0/24', 'cdn', 4), rule('10.1.2.3', 'one host', 5)],
        current: {
          hosts: ['google.com', 'mail.google.com', 'pinned.example'],
          ips: ['10.0.0.0/16', '10.1.0.0/16', '192.0.2.128/25', '198.51.100.9', '203.0.113.8', '2001:db8::1']
        }
      }
    )
    expect(p.removals.map((r) => [r.kind, r.value, r.rule.value, r.via])).toEqual([
      ['host', 'google.com', 'google.com', undefined],
      ['host', 'mail.google.com', 'google.com', undefined],
      ['ip', '10.1.0.0/16', '10.1.2.3', undefined], // a listed network containing an excluded IP
      ['ip', '192.0.2.128/25', 'google.com', 'meet.google.com'], // an excluded name seen inside a listed network
      ['ip', '198.51.100.9', 'google.com', 'drive.google.com'],
      ['ip', '203.0.113.8', '203.0.113.0/24', undefined]
    ])
    expect(p.next).toEqual({ ips: ['10.0.0.0/16', '2001:db8::1'], hosts: ['pinned.example'] })
  })

  it('expired rules remove nothing', () => {
    const p = plan({}, { expiredRules: [rule('google.com', 'r', 1, '2020-01-01')], current: { hosts: ['google.com'], ips: [] } })
    expect(p.removals).toEqual([])
    expect(p.next.hosts).toEqual(['google.com'])
  })
})

describe('rule 7: ranking and cap', () => {
  const hf = {
    'd5.example': st(1, 5),
    'd3s9.example': st(9, 3),
    'd3s2new.example': st(2, 3, 1, T0, T0 + 5 * HOUR),
    'd3s2old.example': st(2, 3, 1, T0, T0 + HOUR),
    'b-tie.example': st(1, 1),
    'a-tie.example': st(1, 1)
  }
  const ipf = { '192.0.2.1': st(1, 1), '192.0.2.0': st(2, 3, 1, T0, T0 + HOUR) }

  it('ranks by devices, sessions, last seen, host before ip, then value', () => {
    const p = plan({ hostFailures: hf, ipFailures: ipf })
    expect(values(p.additions)).toEqual([
      'd5.example',
      'd3s9.example',
      'd3s2new.example',
      'd3s2old.example',
      '192.0.2.0',
      'a-tie.example',
      'b-tie.example',
      '192.0.2.1'
    ])
  })

  it.each([
    [0, 0, 8],
    [1, 1, 7],
    [3, 3, 5],
    [8, 8, 0],
    [100, 8, 0],
    [Infinity, 8, 0]
  ])('max-new-entries %s → %i additions, %i held back (strongest kept)', (cap, added, held) => {
    const p = plan({ hostFailures: hf, ipFailures: ipf }, { options: { maxNewEntries: cap } })
    expect(p.additions).toHaveLength(added)
    expect(p.heldBack).toHaveLength(held)
    if (added) expect(p.additions[0]?.value).toBe('d5.example')
    if (held) expect(p.heldBack.at(-1)?.value).toBe('192.0.2.1')
    expect(p.next.hosts.length + p.next.ips.length).toBe(added)
  })

  it('compareStrength is a total order', () => {
    const c = (kind: 'ip' | 'host', value: string): Candidate => ({ kind, value, source: 'tls-error', stats: st(1, 1), otherSide: [], otherSideTotal: 0 })
    expect(compareStrength(c('host', 'a.example'), c('host', 'a.example'))).toBe(0)
    expect(Math.sign(compareStrength(c('ip', '10.0.0.2'), c('ip', '10.0.0.10')))).toBe(-1) // numeric, not string order
  })
})

describe('rule 8: carried proposals', () => {
  const carriedHost = (value: string, s: Stats): Candidate => ({ kind: 'host', value, source: 'tls-error', stats: s, otherSide: ['192.0.2.1'], otherSideTotal: 1 })

  it('still valid and not observed: kept with its recorded evidence, and counts toward the cap', () => {
    const old = carriedHost('old.example', st(50, 20, 20, T0 - 30 * DAY, T0 - 20 * DAY))
    const p = plan({ hostFailures: { 'new.example': st(5, 5) } }, { carried: { additions: [old] }, options: { maxNewEntries: 1 } })
    expect(p.additions).toEqual([old]) // stronger (20 devices) than the new one
    expect(values(p.heldBack)).toEqual(['new.example'])
  })

  it('observed again: this run\u2019s counts win, the earliest first sighting is kept, thresholds do not drop it', () => {
    const old = carriedHost('again.example', st(50, 20, 20, T0 - 30 * DAY, T0 - 20 * DAY))
    const p = plan(
      { hostFailures: { 'again.example': st(2, 1, 1, T0, T0 + 2 * HOUR) }, hostIps: { 'again.example': ['198.51.100.1'] } },
      { carried: { additions: [old] }, options: { minSessions: 10 } }
    )
    expect(p.additions).toHaveLength(1)
    expect(p.additions[0]?.stats).toEqual({ sessions: 2, devices: 1, users: 1, firstSeen: T0 - 30 * DAY, lastSeen: T0 + 2 * HOUR })
    expect(p.additions[0]?.otherSide).toEqual(['198.51.100.1'])
    expect(p.belowThreshold).toEqual([])
  })

  it.each([
    ['now excluded', { rules: [rule('example.org')] }, '1 earlier proposal is now excluded and no longer proposed'],
    ['now listed', { current: { ips: [], hosts: ['x.example.org'] } }, '1 earlier proposal is now listed and no longer proposed']
  ])('dropped when %s, with a warning', (_name, extra, warning) => {
    const p = plan({}, { ...extra, carried: { additions: [carriedHost('x.example.org', st(9, 9))] } })
    expect(p.additions).toEqual([])
    expect(p.warnings).toContain(warning)
  })

  it('an excluded carried proposal is reported as suppressed, observed or not', () => {
    const p = plan(
      { hostFailures: { 'b.example.org': st(1, 1) } },
      { rules: [rule('example.org')], options: { minSessions: 9 }, carried: { additions: [carriedHost('a.example.org', st(1, 1)), carriedHost('b.example.org', st(1, 1))] } }
    )
    expect(values(p.suppressed.map((s) => s.candidate))).toEqual(['a.example.org', 'b.example.org'])
    expect(p.warnings).toContain('2 earlier proposals are now excluded and no longer proposed')
  })

  it('malformed carried proposals are re-canonicalised, or dropped with a warning; junk stats do not meet the thresholds', () => {
    const bad = [
      carriedHost('<img src=x>', st(1, 1)),
      { ...carriedHost('192.0.2.1', st(1, 1)), kind: 'ip' as const, otherSide: ['ok.example', '-->'], otherSideTotal: -5 },
      carriedHost('UPPER.Example', { sessions: Number.NaN, devices: -1, users: 1, firstSeen: 0, lastSeen: 0 })
    ]
    const p = plan({}, { carried: { additions: bad as Candidate[] } })
    expect(p.additions.map((c) => [c.kind, c.value, c.otherSide, c.otherSideTotal, c.stats.sessions, c.stats.devices])).toEqual([['ip', '192.0.2.1', ['ok.example'], 1, 1, 1]])
    expect(values(p.belowThreshold)).toEqual(['upper.example'])
    expect(p.warnings).toContain('1 earlier proposal was not a valid value and dropped')
    expect(p.warnings).toContain('1 earlier proposal is below the current thresholds and no longer proposed')
  })

  it.each([
    ['not observed, recorded evidence below the raised thresholds', {}, st(4, 2), false],
    ['not observed, recorded evidence meets them', {}, st(10, 3), true],
    ['observed weakly again, recorded evidence below them', { hostFailures: { 'c.example': st(1, 1) } }, st(4, 2), false],
    ['observed weakly again, recorded evidence meets them', { hostFailures: { 'c.example': st(1, 1) } }, st(10, 3), true],
    ['observed strongly again, recorded evidence below them', { hostFailures: { 'c.example': st(12, 4) } }, st(1, 1), true]
  ])('a carried proposal must still meet the current thresholds: %s', (_name, obsParts, recorded, kept) => {
    const p = plan(obsParts, { carried: { additions: [carriedHost('c.example', recorded)] }, options: { minSessions: 10, minDevices: 3 } })
    expect(values(p.additions)).toEqual(kept ? ['c.example'] : [])
    expect(values(p.belowThreshold)).toEqual(kept ? [] : ['c.example'])
  })
})

describe('rule 9: next and determinism', () => {
  it('next is current ∪ additions − removals, IPv4 before IPv6 numerically, hosts in byte order', () => {
    const p = plan(
      { ipFailures: { '10.0.0.10': st(1, 1), '2001:db8::2': st(1, 1), '9.9.9.9': st(1, 1) }, hostFailures: { 'b.example': st(1, 1), 'a-b.example': st(1, 1) } },
      { current: { ips: ['2001:db8::1', '10.0.0.2', '10.0.0.0/31'], hosts: ['c.example', 'a.example'] } }
    )
    expect(p.next.ips).toEqual(['9.9.9.9', '10.0.0.0/31', '10.0.0.2', '10.0.0.10', '2001:db8::1', '2001:db8::2'])
    expect(p.next.hosts).toEqual(['a-b.example', 'a.example', 'b.example', 'c.example'])
    expect(p.alreadyListed).toBe(0) // 10.0.0.2 was listed, not observed
  })

  it('the plan does not depend on the order of the observations', () => {
    const base: ObsParts = {
      hostFailures: { 'a.example': st(1, 1), 'B.example': st(2, 1), 'b.example': st(2, 1), 'bad host': st(1, 1), '1.1.1.1': st(1, 1) },
      ipFailures: { '192.0.2.1': st(1, 1), '::ffff:192.0.2.1': st(1, 1), 'bogus': st(3, 1), '2001:db8::1': st(1, 1) },
      ipHosts: { '192.0.2.1': ['z.example', 'y.example'], '::ffff:192.0.2.1': ['x.example'] }
    }
    const reversed: ObsParts = Object.fromEntries(
      Object.entries(base).map(([k, v]) => [k, Object.fromEntries(Object.entries(v as object).reverse())])
    )
    expect(JSON.stringify(plan(reversed, { options: { maxNewEntries: 3 } }))).toBe(JSON.stringify(plan(base, { options: { maxNewEntries: 3 } })))
  })
})

describe('rule 10: warnings', () => {
  it('copies source warnings and warns when there were no records at all', () => {
    const p = plan({ records: {}, warnings: ['dataset gateway_http returned no rows'] })
    expect(p.warnings).toEqual(['dataset gateway_http returned no rows', 'no records in the window — is the dataset enabled / is Logpush writing to the bucket?'])
    expect(plan({}).warnings).toEqual([])
  })
})

describe('invariants (property)', () => {
  const host = fc.constantFrom('a.example', 'b.example', 'x.google.com', 'google.com', 'c.cdn.example', '1.2.3.4', 'bad host', 'A.EXAMPLE')
  const ip = fc.constantFrom('192.0.2.1', '192.0.2.2', '203.0.113.5', '2001:db8::1', '::ffff:192.0.2.1', 'bogus', '10.0.0.0/8')
  const stats = fc.record({ sessions: fc.nat(20), devices: fc.nat(10), users: fc.nat(10), firstSeen: fc.constant(T0), lastSeen: fc.integer({ min: T0, max: NOW }) })
  const rules = [rule('google.com'), rule('203.0.113.0/24'), rule('cdn.example')]

  it('no addition is excluded, listed, invalid or under the thresholds; next never holds an excluded value', () => {
    fc.assert(
      fc.property(
        fc.dictionary(host, stats),
        fc.dictionary(ip, stats),
        fc.dictionary(ip, fc.array(host, { maxLength: 3 })),
        fc.nat(5),
        (hf, ipf, ipHosts, cap) => {
          const p = plan({ hostFailures: hf, ipFailures: ipf, ipHosts }, { rules, options: { minSessions: 3, minDevices: 2, maxNewEntries: cap }, current: { ips: ['192.0.2.2'], hosts: ['b.example'] } })
          expect(p.additions.length).toBeLessThanOrEqual(cap)
          for (const c of p.additions) {
            expect(c.stats.sessions >= 3 && c.stats.devices >= 2).toBe(true)
            expect(['192.0.2.2', 'b.example', '1.2.3.4']).not.toContain(c.value)
          }
          for (const h of p.next.hosts) expect(rules.some((r) => r.kind === 'host' && hostUnderDomain(h, r.value))).toBe(false)
          for (const i of p.next.ips) expect(ipInNetwork(i, '203.0.113.0/24')).toBe(false)
          const keys = [...p.additions, ...p.heldBack, ...p.belowThreshold, ...p.suppressed.map((s) => s.candidate)].map((c) => `${c.kind} ${c.value}`)
          expect(new Set(keys).size).toBe(keys.length)
        }
      ),
      { numRuns: 200 }
    )
  })
})

describe('rule 11: certificate-less devices', () => {
  type Report = NonNullable<Observations['certless']>
  const m = (r: Record<string, Stats>) => new Map(Object.entries(r))
  function withCertless(p: ObsParts, report: Partial<Report>, extra: Parameters<typeof plan>[1] = {}) {
    const o = obs(p)
    o.certless = { devices: [], devicesSeen: 0, sessionsExcluded: 0, onlyCertless: { hosts: new Map(), ips: new Map() }, ...report }
    return buildCollectPlan({
      observations: o,
      current: extra.current ?? { ips: [], hosts: [] },
      rules: extra.rules ?? [],
      expiredRules: [],
      options: { ...OPTS, minSessions: 2, minDevices: 1, maxNewEntries: 25, ...extra.options },
      ...(extra.certlessRule ? { certlessRule: extra.certlessRule } : {})
    })
  }
  // The issue's fleet: one device without the certificate failed on 120 ordinary sites, three
  // sessions each; the source left those out, so only the pinned app on 4 healthy devices remains.
  const sites = Object.fromEntries(Array.from({ length: 120 }, (_, i) => [`site${i}.example`, st(3, 1, 1)]))
  const issueFleet = (): ObsParts => ({ hostFailures: { 'api.pinned.example': st(8, 4) } })
  const issueReport = (): Partial<Report> => ({
    devices: [{ failedDestinations: 120, failedSessions: 360, tlsSessions: 360 }],
    devicesSeen: 6,
    sessionsExcluded: 360,
    onlyCertless: { hosts: m(sites), ips: m({ '192.0.2.7': st(3, 1, 1) }) }
  })

  it('at the default thresholds only the pinned app is proposed; the 121 destinations are reported, never candidates', () => {
    const p = withCertless(issueFleet(), issueReport())
    expect(values(p.additions)).toEqual(['api.pinned.example'])
    expect(p.heldBack).toEqual([])
    expect(p.belowThreshold).toEqual([])
    expect(p.next.hosts).toEqual(['api.pinned.example'])
    expect(p.next.ips).toEqual([])
    expect(p.certless?.onlyCertless).toHaveLength(121)
    expect(p.certless?.devices).toEqual([{ failedDestinations: 120, failedSessions: 360, tlsSessions: 360 }])
    expect(p.certless).toMatchObject({ devicesSeen: 6, sessionsExcluded: 360, notShown: { listed: 0, excluded: 0, elsewhere: 0, invalid: 0 } })
  })

  it('even with no thresholds and no cap, nothing of onlyCertless becomes a candidate', () => {
    const p = withCertless({}, issueReport(), { options: { minSessions: 0, minDevices: 0, maxNewEntries: Infinity } })
    expect([...p.additions, ...p.heldBack, ...p.belowThreshold, ...p.suppressed.map((s) => s.candidate)]).toEqual([])
    expect(p.next).toEqual({ ips: [], hosts: [] })
  })

  it('merges spellings of one destination (sessions add, devices take the max) and ranks strongest first', () => {
    const p = withCertless({}, {
      onlyCertless: {
        hosts: m({ 'Site.Example': st(3, 1), 'site.example.': st(4, 2), ' SITE.example ': st(1, 1), 'other.example': st(9, 1) }),
        ips: m({ '::ffff:192.0.2.1': st(2, 1), '192.0.2.1': st(2, 1), '2001:DB8::1': st(1, 1) })
      }
    })
    expect(p.certless?.onlyCertless.map((d) => [d.kind, d.value, d.stats.sessions, d.stats.devices])).toEqual([
      ['host', 'site.example', 7, 2],
      ['host', 'other.example', 9, 1],
      ['ip', '192.0.2.1', 4, 1],
      ['ip', '2001:db8::1', 1, 1]
    ])
    // Keys arrive trimmed from the sources; one with spaces is not a destination, as for candidates.
    expect(p.certless?.notShown.invalid).toBe(1)
  })

  it('counts, and does not show, what is listed, excluded, a candidate anyway, or not a destination', () => {
    const p = withCertless(
      { hostFailures: { 'shared.example': st(5, 3) } },
      {
        onlyCertless: {
          hosts: m({
            'listed.example': st(3, 1), 'mail.google.com': st(3, 1), 'shared.example': st(3, 1), 'kept.example': st(3, 1),
            '<script>alert(1)</script>': st(3, 1), '10.0.0.1': st(3, 1), 'a\u0000b': st(1, 1)
          }),
          ips: m({ '192.0.2.9': st(3, 1), '203.0.113.5': st(3, 1), '10.0.0.0/8': st(3, 1), 'bogus': st(1, 1) })
        }
      },
      { current: { ips: ['192.0.2.0/24'], hosts: ['listed.example'] }, rules: [rule('google.com'), rule('203.0.113.0/24')] }
    )
    expect(p.certless?.onlyCertless.map((d) => d.value)).toEqual(['kept.example'])
    expect(p.certless?.notShown).toEqual({ listed: 2, excluded: 2, elsewhere: 1, invalid: 5 })
    // Invalid values from this map are counted only: they do not join the hostile-value table either.
    expect(p.invalid).toEqual([])
    expect(values(p.additions)).toEqual(['shared.example'])
  })

  it('carries the rule the source applied, or safe defaults', () => {
    const rule11 = { thresholds: { minDestinations: 20, minFailedPercent: 80 }, ports: [8443, 443] }
    expect(withCertless({}, {}, { certlessRule: rule11 }).certless).toMatchObject({ thresholds: rule11.thresholds, ports: [443, 8443] })
    expect(withCertless({}, {}).certless).toMatchObject({ thresholds: { minDestinations: 10, minFailedPercent: 50 }, ports: [443] })
    const bogus = { thresholds: { minDestinations: Number.NaN, minFailedPercent: 500 }, ports: [] }
    expect(withCertless({}, {}, { certlessRule: bogus }).certless).toMatchObject({ thresholds: { minDestinations: 10, minFailedPercent: 50 }, ports: [443] })
  })

  it('cleans and ranks tallies; devicesSeen is at least the devices classified', () => {
    const p = withCertless({}, {
      devices: [{ failedDestinations: 12, failedSessions: 30, tlsSessions: 40 }, { failedDestinations: 120, failedSessions: -5, tlsSessions: Number.NaN }],
      devicesSeen: 1,
      sessionsExcluded: Number.POSITIVE_INFINITY
    })
    expect(p.certless?.devices).toEqual([{ failedDestinations: 120, failedSessions: 0, tlsSessions: 0 }, { failedDestinations: 12, failedSessions: 30, tlsSessions: 40 }])
    expect(p.certless?.devicesSeen).toBe(2)
    expect(p.certless?.sessionsExcluded).toBe(0)
  })

  it('is absent when the source did not tally devices', () => {
    expect(plan({ hostFailures: { 'a.example': st(3, 2) } }).certless).toBeUndefined()
  })
})
