/**
 * Issue 10's rules in the planner: idle entries leave, a reviewer's no is remembered,
 * listed values still failing are reported. Tables through `buildCollectPlan`, plus the
 * stage functions where a rule has edges of its own.
 */
import { describe, expect, it } from 'vitest'
import { buildCollectPlan, type CollectInput } from '../action/src/core/plan.js'
import { entriesHolding, canonicalListedSince } from '../action/src/core/plan/listed-since.js'
import { guardedRemovalBudget, usageCoverage } from '../action/src/core/plan/idle.js'
import { rejectionsInForce } from '../action/src/core/plan/rejections.js'
import { GUARD_MAX_REMOVAL_RATIO, GUARD_MIN_OWNED } from '../action/src/core/sync-plan.js'
import type { BypassUsage, ListedSince, Observations, Rejection, Stats } from '../action/src/core/types.js'

const DAY = 86_400_000
const NOW = Date.UTC(2026, 11, 6, 12)
const ago = (days: number): number => NOW - days * DAY
const st = (sessions: number, devices: number, lastSeen = ago(1)): Stats => ({ sessions, devices, users: devices, firstSeen: ago(2), lastSeen })
const git = (days: number): ListedSince => ({ at: ago(days), from: 'git' })

function obs(p: { hostFailures?: Record<string, Stats>; ipFailures?: Record<string, Stats>; usage?: BypassUsage } = {}): Observations {
  return {
    window: { from: ago(1), to: NOW },
    hostFailures: new Map(Object.entries(p.hostFailures ?? {})),
    ipFailures: new Map(Object.entries(p.ipFailures ?? {})),
    hostIps: new Map(),
    ipHosts: new Map(),
    bypassedHosts: new Map(),
    ...(p.usage ? { usage: p.usage } : {}),
    stats: { source: 'log-explorer', records: { zero_trust_network_sessions: 10 }, inWindow: 10, malformedLines: 0, filesRead: 0, filesSkipped: 0, filesCorrupt: 0, warnings: [] }
  }
}

function usage(hosts: Record<string, number> = {}, ips: Record<string, number> = {}, coversDays = 30): BypassUsage {
  return { covers: { from: ago(coversDays), to: NOW }, hosts: new Map(Object.entries(hosts)), ips: new Map(Object.entries(ips)) }
}

type Extra = Partial<Pick<CollectInput, 'carried' | 'rejected' | 'rules'>> & { current?: CollectInput['current']; since?: Record<string, ListedSince>; idleDays?: number; rejectDays?: number; note?: string; usage?: BypassUsage; o?: Parameters<typeof obs>[0] }

function plan(x: Extra) {
  return buildCollectPlan({
    observations: obs({ ...x.o, ...(x.usage ? { usage: x.usage } : {}) }),
    current: x.current ?? { ips: [], hosts: [] },
    rules: x.rules ?? [],
    expiredRules: [],
    options: { minSessions: 1, minDevices: 1, maxNewEntries: Infinity, now: NOW },
    lifecycle: { idleDays: x.idleDays ?? 30, rejectDays: x.rejectDays ?? 90, listedSince: new Map(Object.entries(x.since ?? {})), ...(x.note ? { listedSinceNote: x.note } : {}) },
    ...(x.carried ? { carried: x.carried } : {}),
    ...(x.rejected ? { rejected: x.rejected } : {})
  })
}

const idleValues = (p: ReturnType<typeof plan>) => p.lifecycle?.idle.removals.map((r) => r.value)

describe('idle entries leave', () => {
  const current = { ips: ['192.0.2.7', '198.51.100.0/24', '203.0.113.9'], hosts: ['old.example.com', 'used.example.com', 'new.example.com', 'undated.example.com'] }
  const since = { 'host:old.example.com': git(90), 'host:used.example.com': git(90), 'host:new.example.com': git(10), 'ip:192.0.2.7': git(60), 'ip:198.51.100.0/24': git(60), 'ip:203.0.113.9': git(60) }

  it.each([
    ['old and unused: leaves', 'old.example.com', usage(), true],
    ['used within the window: stays', 'used.example.com', usage({ 'used.example.com': ago(3) }), false],
    ['used by another spelling of the name: stays', 'used.example.com', usage({ 'USED.example.com.': ago(3) }), false],
    ['last used before the window: leaves', 'used.example.com', usage({ 'used.example.com': ago(31) }), true],
    ['used exactly at the window start: stays', 'used.example.com', usage({ 'used.example.com': ago(30) }), false],
    ['listed 10 days ago: stays (recent)', 'new.example.com', usage(), false],
    ['no listed-since date: stays', 'undated.example.com', usage(), false],
    ['a bare IP used by its IPv4-mapped spelling: stays', '192.0.2.7', usage({}, { '::ffff:192.0.2.7': ago(2) }), false],
    ['a network used by an address inside it: stays', '198.51.100.0/24', usage({}, { '198.51.100.200': ago(2) }), false],
    ['a network with traffic only next to it: leaves', '198.51.100.0/24', usage({}, { '198.51.101.1': ago(2) }), true],
    ['an IP whose hostname was used (host usage is not IP usage): leaves', '203.0.113.9', usage({ '203.0.113.9': ago(1) }), true]
  ])('%s', (_, value, u, leaves) => {
    const p = plan({ current, since, usage: u })
    expect(p.lifecycle?.idle.judged).toBe(true)
    // Idle: proposed now, or held back by the removal guard for a later PR.
    const idle = [...(p.lifecycle?.idle.removals ?? []), ...(p.lifecycle?.idle.heldBack ?? [])].map((r) => r.value)
    expect(idle.includes(value)).toBe(leaves)
    expect(p.next.hosts.includes(value) || p.next.ips.includes(value)).toBe(!idleValues(p)?.includes(value))
  })

  it('the reason data names the listed-since date and the last use; the undated entry is noted once, with the caller\'s why', () => {
    const p = plan({ current, since, usage: usage({ 'used.example.com': ago(40) }), note: 'the collect token cannot read the Gateway lists and the checkout is shallow' })
    expect(p.lifecycle?.idle.removals.find((r) => r.value === 'used.example.com')).toEqual({ kind: 'host', value: 'used.example.com', listedSince: git(90), lastUsed: ago(40) })
    expect(p.lifecycle?.notes).toEqual(['1 listed entry has no listed-since date and is never called idle: the collect token cannot read the Gateway lists and the checkout is shallow.'])
  })

  it.each([
    ['no usage data', undefined, /could not read the traffic the managed policy bypassed/],
    ['5 days of gateway_http', usage({}, {}, 5), /covers 5 days \(since 2026-12-01\) and idle-days is 30, so idleness can be judged in 25 more days/],
    ['29.5 days', { ...usage(), covers: { from: NOW - 29.5 * DAY, to: NOW } }, /in 1 more day;/],
    ['data ending 3 days ago', { ...usage(), covers: { from: ago(40), to: ago(3) } }, /ends on 2026-12-03, more than a day before this run/],
    ['a span that is not a span', { ...usage(), covers: { from: NOW, to: ago(40) } }, /span of the bypass log is unknown/]
  ])('%s: nothing is idle, and a note says why', (_, u, note) => {
    const p = plan({ current, since, ...(u ? { usage: u } : {}) })
    expect(p.lifecycle?.idle).toEqual({ removals: [], heldBack: [], judged: false })
    expect(p.lifecycle?.notes.join('\n')).toMatch(note)
    expect(p.next.hosts).toEqual([...current.hosts].sort())
  })

  it('a removal a reviewer refused (a rejection in force on a listed entry) is not proposed again, and a note says so', () => {
    const refused: Rejection = { kind: 'host', value: 'old.example.com', pr: 12, at: ago(5) }
    const p = plan({ current, since, usage: usage(), rejected: [refused] })
    expect(idleValues(p)).not.toContain('old.example.com')
    expect(p.next.hosts).toContain('old.example.com')
    expect(p.lifecycle?.notes).toContain('1 idle entry is kept: a reviewer refused its removal within reject-days.')
    expect(idleValues(plan({ current, since, usage: usage(), rejected: [{ ...refused, at: ago(91) }] }))).toContain('old.example.com')
  })

  it('idle-days 0 turns the rule off without a note', () => {
    const p = plan({ current, since, usage: usage(), idleDays: 0 })
    expect(p.lifecycle?.idle).toEqual({ removals: [], heldBack: [], judged: false })
    expect(p.lifecycle?.notes).toEqual([])
  })

  it('an entry an exclusion removes is not also idle', () => {
    const p = plan({ current: { ips: [], hosts: ['a.google.com', 'b.example.com'] }, since: { 'host:a.google.com': git(90), 'host:b.example.com': git(90) }, usage: usage(), rules: [{ kind: 'host', value: 'google.com', reason: 'tenant control', line: 1 }] })
    expect(p.removals.map((r) => r.value)).toEqual(['a.google.com'])
    expect(p.lifecycle?.idle.removals).toEqual([])
    expect(p.lifecycle?.idle.heldBack.map((r) => r.value)).toEqual(['b.example.com'])
  })

  it('listed-since keys in other spellings are canonicalised; junk keys and dates are dropped; the later of two dates wins', () => {
    const m = canonicalListedSince(new Map<string, ListedSince>([
      ['host:OLD.example.com.', git(90)], ['host:old.example.com', git(80)], ['ip:::ffff:192.0.2.7', git(60)],
      ['ip:not-an-ip', git(60)], ['url:x', git(60)], ['host:nan.example.com', { at: Number.NaN, from: 'git' }], ['nocolon', git(1)]
    ]))
    expect([...m.entries()]).toEqual([['host:old.example.com', git(80)], ['ip:192.0.2.7', git(60)]])
  })
})

describe('idle removals stay within sync\'s removal guard', () => {
  it.each([
    [0, 0], [1, 0], [3, 2], [GUARD_MIN_OWNED - 1, GUARD_MIN_OWNED - 2], [GUARD_MIN_OWNED, Math.floor(GUARD_MIN_OWNED * GUARD_MAX_REMOVAL_RATIO)], [100, 30], [70, 21]
  ])('%i listed → at most %i removed', (listed, budget) => {
    expect(guardedRemovalBudget(listed)).toBe(budget)
    // The budget is exactly what the guard lets through: one more is refused.
    if (listed >= GUARD_MIN_OWNED) expect(budget + 1 > GUARD_MAX_REMOVAL_RATIO * listed && budget <= GUARD_MAX_REMOVAL_RATIO * listed).toBe(true)
  })

  it('20 idle hostnames of 20: the 6 listed longest leave, 14 are held back; exclusion removals use the budget first', () => {
    const hosts = Array.from({ length: 20 }, (_, i) => `h${String(i).padStart(2, '0')}.example.com`)
    const since = Object.fromEntries(hosts.map((h, i) => [`host:${h}`, git(100 - i)]))
    const p = plan({ current: { ips: [], hosts }, since, usage: usage() })
    expect(idleValues(p)).toEqual(hosts.slice(0, 6))
    expect(p.lifecycle?.idle.heldBack).toHaveLength(14)
    expect(p.next.hosts).toEqual(hosts.slice(6))
    const withRule = plan({ current: { ips: [], hosts }, since, usage: usage(), rules: [{ kind: 'host', value: 'h19.example.com', reason: 'r', line: 1 }] })
    expect(withRule.removals).toHaveLength(1)
    expect(idleValues(withRule)).toEqual(hosts.slice(0, 5))
  })

  it('every idle IP of a 3-entry file but one leaves (never an emptied file)', () => {
    const ips = ['192.0.2.1', '192.0.2.2', '192.0.2.3']
    const p = plan({ current: { ips, hosts: [] }, since: Object.fromEntries(ips.map((ip) => [`ip:${ip}`, git(60)])), usage: usage() })
    expect(p.lifecycle?.idle.removals).toHaveLength(2)
    expect(p.next.ips).toHaveLength(1)
  })
})

describe('a reviewer\'s no is remembered', () => {
  const rej = (value: string, days: number, pr = 7, kind: 'ip' | 'host' = 'host'): Rejection => ({ kind, value, pr, at: ago(days) })
  const fails = { hostFailures: { 'a.example.com': st(5, 2), 'b.example.com': st(5, 2) } }

  it.each([
    ['rejected 10 days ago: not proposed', [rej('a.example.com', 10)], ['b.example.com'], [['a.example.com', 7]]],
    ['rejected 89.9 days ago: not proposed', [rej('a.example.com', 89.9)], ['b.example.com'], [['a.example.com', 7]]],
    ['rejected 90 days ago: proposed again', [rej('a.example.com', 90)], ['a.example.com', 'b.example.com'], []],
    ['rejected in another spelling', [rej('A.Example.COM.', 1)], ['b.example.com'], [['a.example.com', 7]]],
    ['rejected twice: the latest PR is named', [rej('a.example.com', 50, 3), rej('a.example.com', 5, 9)], ['b.example.com'], [['a.example.com', 9]]],
    ['a date in the future counts as now', [rej('a.example.com', -400)], ['b.example.com'], [['a.example.com', 7]]],
    ['junk rejections are ignored', [{ ...rej('a.example.com', 1), pr: 0 }, { ...rej('a.example.com', 1), at: Number.NaN }, rej('*.example.com', 1), { ...rej('a.example.com', 1), kind: 'url' as 'host' }], ['a.example.com', 'b.example.com'], []],
    ['an IP rejection does not stop a hostname', [rej('192.0.2.1', 1, 7, 'ip')], ['a.example.com', 'b.example.com'], []]
  ])('%s', (_, rejected, proposed, shown) => {
    const p = plan({ o: fails, rejected })
    expect(p.additions.map((c) => c.value)).toEqual(proposed)
    expect(p.lifecycle?.rejected.map((r) => [r.candidate.value, r.pr])).toEqual(shown)
    if (shown.length) expect(p.next.hosts).not.toContain('a.example.com')
  })

  it('reject-days 0 turns remembering off', () => {
    expect(plan({ o: fails, rejected: [rej('a.example.com', 1)], rejectDays: 0 }).additions).toHaveLength(2)
  })

  it('a carried proposal that was rejected is dropped too, and shown with its PR and date', () => {
    const carried = { additions: [{ kind: 'host' as const, value: 'c.example.com', source: 'tls-error' as const, stats: st(9, 3), otherSide: [], otherSideTotal: 0 }] }
    const p = plan({ carried, rejected: [rej('c.example.com', 2, 41)] })
    expect(p.additions).toEqual([])
    expect(p.lifecycle?.rejected).toMatchObject([{ candidate: { value: 'c.example.com' }, pr: 41, at: ago(2) }])
  })

  it('a rejected value below the thresholds or excluded is reported where it was before, not as rejected', () => {
    const p = plan({ o: { hostFailures: { 'a.google.com': st(5, 2) } }, rejected: [rej('a.google.com', 1)], rules: [{ kind: 'host', value: 'google.com', reason: 'r', line: 1 }] })
    expect(p.suppressed).toHaveLength(1)
    expect(p.lifecycle?.rejected).toEqual([])
  })

  it('rejectionsInForce: only reject-days back', () => {
    expect([...rejectionsInForce([rej('a.example.com', 3)], NOW, 2).keys()]).toEqual([])
    expect([...rejectionsInForce([rej('a.example.com', 1)], NOW, 2).keys()]).toEqual(['host a.example.com'])
  })
})

describe('listed, and still failing', () => {
  const current = { ips: ['192.0.2.7', '198.51.100.0/24'], hosts: ['pinned.example.com', 'undated.example.com', 'fixed.example.com'] }
  const since = { 'host:pinned.example.com': git(5), 'host:fixed.example.com': git(5), 'ip:192.0.2.7': git(5), 'ip:198.51.100.0/24': git(5) }

  it.each([
    ['a host failing after it was listed', { hostFailures: { 'pinned.example.com': st(7, 3, ago(1)) } }, [['pinned.example.com', 'pinned.example.com', 7]]],
    ['a host whose last failure predates the listing', { hostFailures: { 'fixed.example.com': st(7, 3, ago(6)) } }, []],
    ['a host without a listed-since date: not claimed', { hostFailures: { 'undated.example.com': st(7, 3) } }, []],
    ['an IP in its IPv4-mapped spelling', { ipFailures: { '::ffff:192.0.2.7': st(4, 1) } }, [['192.0.2.7', '192.0.2.7', 4]]],
    ['an IP inside a listed network', { ipFailures: { '198.51.100.9': st(2, 1) } }, [['198.51.100.9', '198.51.100.0/24', 2]]],
    ['an unlisted value (a candidate, not this)', { hostFailures: { 'other.example.com': st(7, 3) } }, []]
  ])('%s', (_, o, want) => {
    const p = plan({ current, since, o, usage: usage({ 'pinned.example.com': ago(1), 'fixed.example.com': ago(1), 'undated.example.com': ago(1) }, { '192.0.2.7': ago(1), '198.51.100.1': ago(1) }) })
    expect(p.lifecycle?.stillFailing.map((s) => [s.value, s.entry, s.stats.sessions])).toEqual(want)
    // Report only: nothing is removed for it.
    for (const v of current.ips) expect(p.next.ips).toContain(v)
    for (const v of current.hosts) expect(p.next.hosts).toContain(v)
  })

  it('bypassed requests are not failures', () => {
    const o = obs({})
    o.bypassedHosts.set('pinned.example.com', st(50, 9))
    const p = buildCollectPlan({ observations: o, current, rules: [], expiredRules: [], options: { minSessions: 1, minDevices: 1, maxNewEntries: 5, now: NOW }, lifecycle: { idleDays: 0, rejectDays: 90, listedSince: new Map(Object.entries(since)) } })
    expect(p.lifecycle?.stillFailing).toEqual([])
  })
})

describe('stages', () => {
  it('entriesHolding: every listed entry holding an address, narrowest first; junk holds nothing', () => {
    const holding = entriesHolding(['10.0.0.0/8', '10.1.0.0/16', '10.1.2.3', '2001:db8::/32', 'junk'])
    expect(holding('10.1.2.3')).toEqual(['10.1.2.3', '10.1.0.0/16', '10.0.0.0/8'])
    expect(holding('::ffff:10.9.9.9')).toEqual(['10.0.0.0/8'])
    expect(holding('2001:db8:ffff::1')).toEqual(['2001:db8::/32'])
    expect(holding('11.0.0.1')).toEqual([])
    expect(holding('x')).toEqual([])
  })

  it('usageCoverage: exactly the idle window is enough', () => {
    expect(usageCoverage(usage({}, {}, 30), NOW, 30)).toEqual({ ok: true })
    expect(usageCoverage(usage({}, {}, 29), NOW, 30).ok).toBe(false)
  })

  it('without a lifecycle input there is no lifecycle section and rejections are not applied', () => {
    const p = buildCollectPlan({ observations: obs({ hostFailures: { 'a.example.com': st(1, 1) } }), current: { ips: [], hosts: [] }, rules: [], expiredRules: [], options: { minSessions: 1, minDevices: 1, maxNewEntries: 5, now: NOW }, rejected: [rej1()] })
    expect(p.lifecycle).toBeUndefined()
    expect(p.additions).toHaveLength(1)
  })
})

function rej1(): Rejection {
  return { kind: 'host', value: 'a.example.com', pr: 1, at: NOW }
}
