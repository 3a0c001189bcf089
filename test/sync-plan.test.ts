import { describe, expect, it } from 'vitest'
import {
  assertPlanAllowed,
  driftValues,
  isOwned,
  ownershipMark,
  parseManagedListName,
  planSync,
  policyTraffic,
  referencedListIds,
  TooMuchChangeError,
  type RemoteList,
  type RemoteRule,
  type RemoteState,
  type SyncOptions
} from '../action/src/core/sync-plan.js'
import { renderSyncMarkdown, renderSyncText } from '../action/src/core/render/sync.js'

const OPTS: SyncOptions = {
  prefix: 'TLS bypass',
  policyName: 'TLS bypass: Do Not Inspect',
  capacity: 1000,
  force: false,
  provenance: { repository: 'acme/bypass', commit: 'abcdef1234567890' }
}
const MARK = ownershipMark(OPTS.provenance)

const ID = {
  ip1: '11111111-1111-4111-8111-111111111111',
  ip2: '22222222-2222-4222-8222-222222222222',
  h1: '33333333-3333-4333-8333-333333333333',
  h2: '44444444-4444-4444-8444-444444444444'
}

function list(id: string, name: string, type: 'IP' | 'DOMAIN', values: Val[]): RemoteList {
  return {
    id, name, type,
    items: values.map((v) => typeof v === 'string' ? { value: v, description: MARK } : v[1] === undefined ? { value: v[0] } : { value: v[0], description: v[1] })
  }
}

function rule(lists: { type: 'IP' | 'DOMAIN'; id: string }[], over: Partial<RemoteRule> = {}): RemoteRule {
  // As the API returns it: hyphen-less ids.
  const traffic = policyTraffic(lists).replace(/\$([0-9a-f-]+)/g, (_m, id: string) => `$${id.replace(/-/g, '')}`)
  return { id: 'rule-1', name: OPTS.policyName, action: 'off', enabled: true, filters: ['http'], traffic, precedence: 5, ...over }
}

type Val = string | [string, string | undefined]

function state(ips: Val[], hosts: Val[], extra: Partial<RemoteState> = {}): RemoteState {
  const lists = [list(ID.ip1, 'TLS bypass IP 1', 'IP', ips), list(ID.h1, 'TLS bypass hosts 1', 'DOMAIN', hosts)]
  return { lists, policy: rule([{ type: 'IP', id: ID.ip1 }, { type: 'DOMAIN', id: ID.h1 }]), ...extra }
}

const ips = (n: number, base = 1): string[] => Array.from({ length: n }, (_, i) => `10.0.${Math.floor((i + base) / 250)}.${(i + base) % 250 + 1}`)

describe('ownership', () => {
  it('marks items with repository and short commit, nothing personal', () => {
    expect(MARK).toBe('gateway-tls-bypass: from acme/bypass@abcdef1')
    expect(isOwned(MARK)).toBe(true)
    expect(isOwned(undefined)).toBe(false)
    expect(isOwned('added by Alice')).toBe(false)
    expect(ownershipMark({ repository: 'a/b<script>', commit: 'not-a-sha' })).toBe('gateway-tls-bypass: from a/bscript')
    expect(ownershipMark({ repository: 'o/r', commit: 'x'.repeat(500) }).length).toBeLessThan(140)
  })

  it('parses managed names only', () => {
    expect(parseManagedListName('TLS bypass', 'TLS bypass IP 12')).toEqual({ type: 'IP', number: 12 })
    expect(parseManagedListName('TLS bypass', 'TLS bypass hosts 1')).toEqual({ type: 'DOMAIN', number: 1 })
    expect(parseManagedListName('TLS bypass', 'TLS bypass IP 0')).toBeNull()
    expect(parseManagedListName('TLS bypass', 'TLS bypass IPs 1')).toBeNull()
    expect(parseManagedListName('TLS bypass', 'Other IP 1')).toBeNull()
  })

  it('reads referenced list ids with or without hyphens', () => {
    expect(referencedListIds(`any(http.conn.dst_ip[*] in $${ID.ip1}) or http.conn.hostname in $${ID.h1.replace(/-/g, '').toUpperCase()}`))
      .toEqual(new Set([ID.ip1.replace(/-/g, ''), ID.h1.replace(/-/g, '')]))
  })
})

describe('planSync from empty state', () => {
  it('creates one list of each type (even empty) and the policy', () => {
    const plan = planSync({ ips: ['1.2.3.4'], hosts: [] }, { lists: [], policy: null }, OPTS)
    expect(plan.ips.creates).toEqual([{ name: 'TLS bypass IP 1', type: 'IP', number: 1, items: ['1.2.3.4'] }])
    expect(plan.hosts.creates).toEqual([{ name: 'TLS bypass hosts 1', type: 'DOMAIN', number: 1, items: [] }])
    expect(plan.policy.action).toBe('create')
    expect(plan.policy.lists.map((l) => l.name)).toEqual(['TLS bypass IP 1', 'TLS bypass hosts 1'])
    expect(plan.changes).toBe(1 + 2 + 1)
    expect(plan.guard).toMatchObject({ safe: true, allowed: true })
  })

  it('shards across lists at capacity, deterministically', () => {
    const o = { ...OPTS, capacity: 5 }
    const values = ips(12)
    const plan = planSync({ ips: [...values].reverse(), hosts: [] }, { lists: [], policy: null }, o)
    expect(plan.ips.creates.map((c) => [c.name, c.items.length])).toEqual([['TLS bypass IP 1', 5], ['TLS bypass IP 2', 5], ['TLS bypass IP 3', 2]])
    expect(plan.ips.creates.flatMap((c) => c.items)).toEqual(values)
    expect(planSync({ ips: values, hosts: [] }, { lists: [], policy: null }, o)).toEqual(plan)
  })
})

describe('planSync against existing state', () => {
  it('has zero changes when in sync, even when the API echoes /32, upper case and trailing dots', () => {
    const remote = state(['1.2.3.4/32', '10.0.0.0/8'], ['Example.COM.', 'b.example.org'])
    const plan = planSync({ ips: ['1.2.3.4', '10.0.0.0/8'], hosts: ['example.com', 'b.example.org'] }, remote, OPTS)
    expect(plan.changes).toBe(0)
    expect(plan.policy.action).toBe('none')
    expect(plan.ips.unchanged).toBe(2)
  })

  it('does not compare the traffic string: reformatted expression with hyphen-less ids is fine', () => {
    const remote = state([], [])
    remote.policy = rule([{ type: 'DOMAIN', id: ID.h1 }, { type: 'IP', id: ID.ip1 }], { traffic: `http.conn.hostname in $${ID.h1.replace(/-/g, '')}   or any(http.conn.dst_ip[*] in $${ID.ip1.replace(/-/g, '')})` })
    expect(planSync({ ips: [], hosts: [] }, remote, OPTS).changes).toBe(0)
  })

  it('fills free slots of existing lists first, lowest number first, removals free slots', () => {
    const o = { ...OPTS, capacity: 5 }
    const remote: RemoteState = {
      lists: [
        list(ID.ip2, 'TLS bypass IP 2', 'IP', ['10.9.0.1']),
        list(ID.ip1, 'TLS bypass IP 1', 'IP', ['10.8.0.1', '10.8.0.2', '10.8.0.3', '10.8.0.4', '10.8.0.5']),
        list(ID.h1, 'TLS bypass hosts 1', 'DOMAIN', [])
      ],
      policy: rule([{ type: 'IP', id: ID.ip1 }, { type: 'IP', id: ID.ip2 }, { type: 'DOMAIN', id: ID.h1 }])
    }
    const desired = ['10.8.0.1', '10.8.0.2', '10.8.0.3', '10.8.0.4', '10.9.0.1', '10.7.0.1', '10.7.0.2', '10.7.0.3', '10.7.0.4', '10.7.0.5', '10.7.0.6']
    const plan = planSync({ ips: desired, hosts: [] }, remote, o)
    // 10.8.0.5 removed from list 1 → one free slot there; list 2 has four; then a new list 3.
    expect(plan.ips.updates).toEqual([
      { id: ID.ip1, name: 'TLS bypass IP 1', type: 'IP', append: ['10.7.0.1'], remove: ['10.8.0.5'], countBefore: 5 },
      { id: ID.ip2, name: 'TLS bypass IP 2', type: 'IP', append: ['10.7.0.2', '10.7.0.3', '10.7.0.4', '10.7.0.5'], remove: [], countBefore: 1 }
    ])
    expect(plan.ips.creates).toEqual([{ name: 'TLS bypass IP 3', type: 'IP', number: 3, items: ['10.7.0.6'] }])
    expect(plan.policy).toMatchObject({ action: 'update', handEdited: false })
    expect(plan.policy.lists.map((l) => l.name)).toEqual(['TLS bypass IP 1', 'TLS bypass IP 2', 'TLS bypass IP 3', 'TLS bypass hosts 1'])
  })

  it('reuses the lowest free list number', () => {
    const o = { ...OPTS, capacity: 1 }
    const remote: RemoteState = { lists: [list(ID.ip2, 'TLS bypass IP 2', 'IP', ['10.0.0.1']), list(ID.h1, 'TLS bypass hosts 1', 'DOMAIN', [])], policy: null }
    const plan = planSync({ ips: ['10.0.0.1', '10.0.0.2', '10.0.0.3'], hosts: [] }, remote, o)
    expect(plan.ips.creates.map((c) => c.name)).toEqual(['TLS bypass IP 1', 'TLS bypass IP 3'])
  })

  it('keeps hand-made items not in the files as drift, removes only owned ones', () => {
    const remote = state(['1.1.1.1', ['2.2.2.2', undefined], ['3.3.3.3', 'added by the network team']], [['pinned.example.com', undefined]])
    const plan = planSync({ ips: [], hosts: [] }, remote, { ...OPTS, force: true })
    expect(plan.ips.removed.map((r) => [r.raw, r.reason])).toEqual([['1.1.1.1', 'not-in-files']])
    expect(plan.ips.drift.map((d) => d.value)).toEqual(['2.2.2.2', '3.3.3.3'])
    expect(driftValues(plan)).toEqual({ ips: ['2.2.2.2', '3.3.3.3'], hosts: ['pinned.example.com'] })
    expect(plan.ips.updates).toEqual([{ id: ID.ip1, name: 'TLS bypass IP 1', type: 'IP', append: [], remove: ['1.1.1.1'], countBefore: 3 }])
    expect(plan.hosts.updates).toEqual([])
  })

  it('a hand-made item that is also in the files is left alone (no mark added, no duplicate)', () => {
    const plan = planSync({ ips: ['2.2.2.2'], hosts: [] }, state([['2.2.2.2', undefined]], []), OPTS)
    expect(plan.changes).toBe(0)
    expect(plan.ips.drift).toEqual([])
  })

  it('reports remote values that do not canonicalise and never touches them', () => {
    const plan = planSync({ ips: [], hosts: [] }, state(['10.0.0.1/8'], ['*.example.com']), OPTS)
    expect(plan.ips.unparsable.map((u) => u.raw)).toEqual(['10.0.0.1/8'])
    expect(plan.hosts.unparsable.map((u) => u.raw)).toEqual(['*.example.com'])
    expect(plan.changes).toBe(0)
  })

  it('removes a value that a past partial run left in two lists', () => {
    const remote = state(['1.1.1.1'], [])
    remote.lists.push(list(ID.ip2, 'TLS bypass IP 2', 'IP', ['1.1.1.1/32', '5.5.5.5']))
    remote.policy = rule([{ type: 'IP', id: ID.ip1 }, { type: 'IP', id: ID.ip2 }, { type: 'DOMAIN', id: ID.h1 }])
    const plan = planSync({ ips: ['1.1.1.1', '5.5.5.5'], hosts: [] }, remote, OPTS)
    expect(plan.ips.removed).toEqual([{ value: '1.1.1.1', raw: '1.1.1.1/32', listId: ID.ip2, listName: 'TLS bypass IP 2', reason: 'duplicate' }])
    expect(plan.counts).toMatchObject({ removed: 0, duplicates: 1 })
    expect(plan.guard.safe).toBe(true)
  })

  it('removes our copy when a hand-made copy of the same value exists', () => {
    const remote = state(['1.1.1.1'], [])
    remote.lists.push(list(ID.ip2, 'TLS bypass IP 2', 'IP', [['1.1.1.1', 'manual']]))
    remote.policy = rule([{ type: 'IP', id: ID.ip1 }, { type: 'IP', id: ID.ip2 }, { type: 'DOMAIN', id: ID.h1 }])
    const plan = planSync({ ips: ['1.1.1.1'], hosts: [] }, remote, OPTS)
    expect(plan.ips.removed.map((r) => [r.listId, r.reason])).toEqual([[ID.ip1, 'duplicate']])
  })

  it('ignores lists whose type does not match their name, with a warning', () => {
    const remote = state([], [])
    remote.lists.push(list(ID.ip2, 'TLS bypass IP 2', 'DOMAIN', ['x.example.com']))
    const plan = planSync({ ips: [], hosts: [] }, remote, OPTS)
    expect(plan.changes).toBe(0)
    expect(plan.warnings.join('\n')).toContain('TLS bypass IP 2')
  })
})

describe('policy', () => {
  const desired = { ips: [], hosts: [] }
  it.each([
    ['disabled', { enabled: false }, 'It is disabled.'],
    ['action changed', { action: 'allow' }, 'Its action is "allow"'],
    ['filters changed', { filters: ['dns'] }, 'Its filters are'],
    ['extra list', { traffic: `any(http.conn.dst_ip[*] in $${ID.ip1}) or http.conn.hostname in $${ID.h1} or http.conn.hostname in $${ID.h2}` }, 'not managed lists'],
  ] as const)('restores a hand edit: %s', (_name, over, reason) => {
    const remote = state([], [])
    remote.policy = { ...rule([{ type: 'IP', id: ID.ip1 }, { type: 'DOMAIN', id: ID.h1 }]), ...over } as RemoteRule
    const plan = planSync(desired, remote, OPTS)
    expect(plan.policy).toMatchObject({ action: 'update', id: 'rule-1', handEdited: true })
    expect(plan.policy.reasons.join(' ')).toContain(reason)
    expect(plan.changes).toBe(1)
  })

  it('adds a missing list reference', () => {
    const remote = state([], [])
    remote.policy = rule([{ type: 'IP', id: ID.ip1 }])
    const plan = planSync(desired, remote, OPTS)
    expect(plan.policy.action).toBe('update')
    expect(plan.policy.reasons.join(' ')).toContain('TLS bypass hosts 1')
  })
})

describe('guard', () => {
  const owned = ips(20)
  it('allows removing up to 30% of owned entries', () => {
    const plan = planSync({ ips: owned.slice(6), hosts: [] }, state(owned, []), OPTS)
    expect(plan.guard).toEqual({ safe: true, allowed: true, forced: false, violations: [], limits: [] })
    expect(() => assertPlanAllowed(plan)).not.toThrow()
  })

  it('refuses removing more than 30% of at least 10 owned entries, unless forced', () => {
    const plan = planSync({ ips: owned.slice(7), hosts: [] }, state(owned, []), OPTS)
    expect(plan.guard).toMatchObject({ safe: false, allowed: false, forced: false })
    expect(() => assertPlanAllowed(plan)).toThrow(TooMuchChangeError)
    expect(() => assertPlanAllowed(plan)).toThrow(/removes 7 of 20 IP entries.*force: true/)
    const forced = planSync({ ips: owned.slice(7), hosts: [] }, state(owned, []), { ...OPTS, force: true })
    expect(forced.guard).toMatchObject({ safe: false, allowed: true, forced: true })
    expect(() => assertPlanAllowed(forced)).not.toThrow()
  })

  it('does not count drift or duplicates and ignores small sets', () => {
    const plan = planSync({ ips: owned.slice(5, 6), hosts: [] }, state(owned.slice(0, 9), []), OPTS)
    expect(plan.guard.safe).toBe(true)
  })

  it('an emptied file needs force regardless of counts', () => {
    const plan = planSync({ ips: ['9.9.9.9'], hosts: [] }, state(['9.9.9.9'], ['one.example.com']), OPTS)
    expect(plan.guard.safe).toBe(false)
    expect(plan.guard.violations.join(' ')).toMatch(/hostname file is empty.*1 hostname entry/)
    expect(planSync({ ips: ['9.9.9.9'], hosts: [] }, state(['9.9.9.9'], [['one.example.com', undefined]]), OPTS).guard.safe).toBe(true)
  })
})

describe('renderers', () => {
  it('escape hostile values and show every section', () => {
    const remote = state([['6.6.6.6', undefined]], ['old.example.com', ['weird`|<b>.example.com', undefined]])
    remote.policy = { ...remote.policy, enabled: false } as RemoteRule
    const plan = planSync({ ips: ['1.2.3.4'], hosts: [] }, remote, { ...OPTS, force: true })
    const md = renderSyncMarkdown(plan)
    expect(md).toContain('1.2.3.4')
    expect(md).toContain('old.example.com')
    expect(md).toContain('6.6.6.6')
    expect(md).toContain('It is disabled')
    expect(md).toMatch(/force/i)
    expect(md).toContain('| ``weird`\\|<b>.example.com`` |')
    expect(md).toMatch(/WARNING[\s\S]*hostname file is empty/)
    const text = renderSyncText(plan)
    expect(text).toContain('+ 1.2.3.4')
    expect(text).toContain('- old.example.com')
  })

  it('says when there is nothing to do', () => {
    const plan = planSync({ ips: [], hosts: [] }, state([], []), OPTS)
    expect(renderSyncMarkdown(plan)).toMatch(/no changes/i)
    expect(renderSyncText(plan)).toMatch(/no changes/i)
  })
})
