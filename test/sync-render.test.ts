// Sync summaries, terminal text and the applied comment (issues 10 and 11): exact Markdown
// for small plans, and the rules each rendering must keep.
import { describe, expect, it } from 'vitest'
import { listedSince, ownershipMark, planSync, policyTraffic, type RemoteState, type SyncOptions, type SyncPlan } from '../action/src/core/sync-plan.js'
import { changeParts, renderAppliedComment, renderSyncMarkdown, renderSyncText, syncHeadline } from '../action/src/core/render/sync.js'

const OPTS: SyncOptions = { prefix: 'gtb', policyName: 'gtb', capacity: 1000, force: false, provenance: { repository: 'acme/zt', commit: 'abcdef1234567890' } }
const MARK = ownershipMark(OPTS.provenance)
const IP1 = '11111111-1111-4111-8111-111111111111'
const H1 = '33333333-3333-4333-8333-333333333333'
const SHA = 'a'.repeat(40)
const RUN = 'https://github.com/acme/zt/actions/runs/42'
const FOOT = '<sub>Capacity 1000 entries per list; items written by sync are marked `gateway-tls-bypass: from acme/zt@abcdef1`.</sub>\n'

type Item = [string, string?]
function remote(ips: Item[], hosts: Item[], enabled = true): RemoteState {
  const traffic = policyTraffic([{ type: 'IP', id: IP1 }, { type: 'DOMAIN', id: H1 }]).replace(/\$([0-9a-f-]+)/g, (_m, id: string) => `$${id.replace(/-/g, '')}`)
  const items = (xs: Item[]) => xs.map(([value, description]) => description === undefined ? { value } : { value, description })
  return {
    lists: [{ id: IP1, name: 'gtb IP 1', type: 'IP', items: items(ips) }, { id: H1, name: 'gtb hosts 1', type: 'DOMAIN', items: items(hosts) }],
    policy: { id: 'r1', name: 'gtb', action: 'off', enabled, filters: ['http'], traffic }
  }
}

/** One IP to add to an existing list. */
const addOne = (): SyncPlan => planSync({ ips: ['203.0.113.7'], hosts: [] }, remote([], []), OPTS)

describe('summary: exact Markdown for small plans', () => {
  it('check: a plan, read-only', () => {
    expect(renderSyncMarkdown(addOne(), { kind: 'plan' })).toBe(`### Cloudflare Gateway sync: plan (read-only)

**Plan:** 1 entry will be added (1 change). Read-only: sync applies it after the merge.

IP entries cover 1 IPv4 and 0 IPv6 addresses; this run adds 1 IPv4 and 0 IPv6.

| IP added | List |
| --- | --- |
| \`203.0.113.7\` | \`gtb IP 1\` |

${FOOT}`)
  })

  it('sync applied: the result in the past tense with the write calls', () => {
    expect(renderSyncMarkdown(addOne(), { kind: 'applied', writes: 1 })).toBe(`### Cloudflare Gateway sync: applied

**Applied:** 1 added (1 change, 1 write call).

IP entries cover 1 IPv4 and 0 IPv6 addresses; this run adds 1 IPv4 and 0 IPv6.

| IP added | List |
| --- | --- |
| \`203.0.113.7\` | \`gtb IP 1\` |

${FOOT}`)
  })

  it('dry run: says so at the top', () => {
    expect(renderSyncMarkdown(addOne(), { kind: 'dry-run' })).toBe(`### Cloudflare Gateway sync: dry run, nothing written

**Dry run: nothing was written.**

**Plan:** 1 entry will be added (1 change). Run sync without dry-run to apply it.

IP entries cover 1 IPv4 and 0 IPv6 addresses; this run adds 1 IPv4 and 0 IPv6.

| IP added | List |
| --- | --- |
| \`203.0.113.7\` | \`gtb IP 1\` |

${FOOT}`)
    expect(renderSyncText(addOne(), { kind: 'dry-run' }).split('\n').slice(0, 2)).toEqual([
      'Dry run: nothing will be written.',
      'Plan: 1 entry will be added (1 change). Run sync without dry-run to apply it.'
    ])
  })

  it('nothing to do: No changes', () => {
    const p = planSync({ ips: ['203.0.113.7'], hosts: [] }, remote([['203.0.113.7', MARK]], []), OPTS)
    expect(renderSyncMarkdown(p, { kind: 'applied', writes: 0 })).toBe(`### Cloudflare Gateway sync: no changes

**No changes:** Cloudflare already matches the list files (no write calls).

IP entries cover 1 IPv4 and 0 IPv6 addresses; this run adds 0 IPv4 and 0 IPv6.

${FOOT}`)
    expect(renderSyncText(p).split('\n')[0]).toBe('No changes: Cloudflare already matches the list files.')
  })

  it('drift: a warning that does not contradict "No changes"', () => {
    const p = planSync({ ips: [], hosts: ['app.example'] }, remote([], [['app.example', MARK], ['hand.example', 'by ops']]), OPTS)
    const md = renderSyncMarkdown(p, { kind: 'applied', writes: 0 })
    expect(md).toBe(`### Cloudflare Gateway sync: no changes

**No changes:** every entry of the list files is in Cloudflare and nothing sync manages needs changing (no write calls).

IP entries cover 0 IPv4 and 0 IPv6 addresses; this run adds 0 IPv4 and 0 IPv6.

> [!WARNING]
> **1 entry in the managed lists is not in the list files** (added by hand in the dashboard). Each one is a TLS-inspection bypass nobody reviewed. sync keeps them (it never removes what it did not add); the next collect proposes importing them for review, or delete them in the dashboard. They are listed below.

| Hostname kept (drift: added by hand, not in the file) | List | Description |
| --- | --- | --- |
| \`hand.example\` | \`gtb hosts 1\` | by ops |

${FOOT}`)
    expect(md).not.toContain('already matches')
  })

  it('guard refused: nothing was written, and how to apply anyway', () => {
    const p = planSync({ ips: [], hosts: [] }, remote([['203.0.113.7', MARK]], []), OPTS)
    expect(renderSyncMarkdown(p, { kind: 'refused' })).toBe(`### Cloudflare Gateway sync: refused, nothing written

> [!CAUTION]
> The IP file is empty but Cloudflare holds 1 IP entry written by sync; emptying it would remove all of them.
> Nothing was applied. If this is intended, run the sync workflow by hand with the \`force\` input (*Run workflow › force: true*).

**Refused: nothing was written.** Planned: 1 to remove (1 change).

IP entries cover 0 IPv4 and 0 IPv6 addresses; this run adds 0 IPv4 and 0 IPv6.

| IP removed | List | Why |
| --- | --- | --- |
| \`203.0.113.7\` | \`gtb IP 1\` | no longer in the file |

${FOOT}`)
  })
})

describe('counts add up', () => {
  // Every kind of change is named, and the named numbers (the policy as one) sum to plan.changes.
  const cases: [string, SyncPlan][] = [
    ['from an empty account', planSync({ ips: ['203.0.113.7', '198.51.100.0/24'], hosts: ['a.example'] }, { lists: [], policy: null }, OPTS)],
    ['removal + policy restore', planSync({ ips: ['203.0.113.7'], hosts: [] }, remote([['203.0.113.7', MARK], ['203.0.113.8', MARK]], [], false), OPTS)],
    ['duplicate in two lists', planSync({ ips: ['203.0.113.7'], hosts: [] }, {
      ...remote([['203.0.113.7', MARK]], []),
      lists: [...remote([['203.0.113.7', MARK]], []).lists, { id: '22222222-2222-4222-8222-222222222222', name: 'gtb IP 2', type: 'IP', items: [{ value: '203.0.113.7/32', description: MARK }] }]
    }, OPTS)],
    ['nothing', planSync({ ips: [], hosts: [] }, remote([], []), OPTS)]
  ]
  it.each(cases)('%s', (_n, p) => {
    for (const tense of ['past', 'future', 'planned'] as const) {
      const parts = changeParts(p, tense)
      const sum = parts.reduce((n, s) => n + (/^(\d+)/.exec(s)?.[1] ? Number(/^(\d+)/.exec(s)![1]) : 1), 0)
      expect(sum, parts.join(', ')).toBe(p.changes)
    }
    if (p.changes > 0) expect(syncHeadline(p, { kind: 'applied', writes: 3 })).toContain(`(${p.changes} change${p.changes === 1 ? '' : 's'}, 3 write calls)`)
  })

  it('names policy and duplicate changes (the log line once omitted "policy updated")', () => {
    expect(changeParts(cases[0]![1], 'past')).toEqual(['3 added', '2 lists created', 'policy created'])
    expect(changeParts(cases[1]![1], 'past')).toEqual(['1 removed', 'policy updated'])
    expect(changeParts(cases[2]![1], 'future')).toEqual(['1 duplicate will be removed', 'the policy will be updated'])
  })
})

describe('big plans stay readable', () => {
  it('12,000 additions: tables capped, the summary says the full list is in the log, the log has every value', () => {
    const ips = Array.from({ length: 12_000 }, (_, i) => `10.${Math.floor(i / 250) % 250}.${Math.floor(i / 62500)}.${(i % 250) + 1}`)
    const p = planSync({ ips, hosts: [] }, { lists: [], policy: null }, { ...OPTS, capacity: 5000, maxAdditions: 20_000, maxLists: 20 })
    const md = renderSyncMarkdown(p, { kind: 'applied', writes: 20 })
    expect(md.length).toBeLessThan(40_000)
    expect(md).toContain("… and 11800 more (the full list is in this run's log).")
    const text = renderSyncText(p)
    for (const v of [ips[0]!, ips[11_999]!]) expect(text).toContain(`+ ${v}`)
  })
})

describe('the applied comment', () => {
  it('applied: exact Markdown, counts and lists only', () => {
    const p = planSync({ ips: ['203.0.113.7'], hosts: ['a.example'] }, remote([['198.51.100.9', MARK]], []), OPTS)
    expect(renderAppliedComment(p, { kind: 'applied', writes: 2 }, { sha: SHA, runUrl: RUN })).toBe(`<!-- gateway-tls-bypass:sync ${SHA} -->
### ✅ Applied to Cloudflare Gateway

**Applied:** 2 added, 1 removed (3 changes, 2 write calls).

| List | Change |
| --- | --- |
| \`gtb IP 1\` | +1 −1 |
| \`gtb hosts 1\` | +1 |

The job summary of the [sync workflow run](${RUN}) lists every value.

<sub>gateway-tls-bypass sync of commit aaaaaaa.</sub>
`)
  })

  it('refused and failed: what to do next', () => {
    const p = planSync({ ips: [], hosts: [] }, remote([['203.0.113.7', MARK]], []), OPTS)
    expect(renderAppliedComment(p, { kind: 'refused' }, { sha: SHA, runUrl: RUN })).toBe(`<!-- gateway-tls-bypass:sync ${SHA} -->
### ⛔ Not applied: sync refused this change

> [!CAUTION]
> The IP file is empty but Cloudflare holds 1 IP entry written by sync; emptying it would remove all of them.
> Nothing was applied. If this is intended, run the sync workflow by hand with the \`force\` input (*Run workflow › force: true*).

Planned: 1 to remove (1 change). Details: the [sync workflow run](${RUN}).

<sub>gateway-tls-bypass sync of commit aaaaaaa.</sub>
`)
    expect(renderAppliedComment(undefined, { kind: 'failed', stage: 'read', message: 'Reading /gateway/lists failed: HTTP 502' }, { sha: SHA })).toBe(`<!-- gateway-tls-bypass:sync ${SHA} -->
### ❌ Sync failed while reading the managed lists and policy from Cloudflare

> Reading /gateway/lists failed: HTTP 502

Nothing was written. The next sync run retries (the next merge, the daily schedule, or *Run workflow*).

Details: the sync workflow run.

<sub>gateway-tls-bypass sync of commit aaaaaaa.</sub>
`)
  })

  it.each([
    ['a hostile error message', { kind: 'failed', stage: 'apply', message: '<!-- x --> @admin [link](https://evil.example) |row|\n'.repeat(10) }, undefined],
    ['a hostile run URL', { kind: 'applied', writes: 1 }, 'javascript:alert(1)'],
    ['a run URL that closes the link', { kind: 'applied', writes: 1 }, 'https://x.example/a)(b'],
    ['a forged SHA', { kind: 'applied', writes: 1 }, RUN]
  ] as const)('stays inert: %s', (n, outcome, runUrl) => {
    const sha = n === 'a forged SHA' ? `${SHA} --> <img src=x>` : SHA
    const c = renderAppliedComment(addOne(), outcome, { sha, runUrl })
    expect(c.split('\n')[0]).toBe(`<!-- gateway-tls-bypass:sync ${SHA} -->`)
    expect(c.slice(1)).not.toContain('<!--')
    expect(c).not.toMatch(/(?<!\\)\]\((?!https:\/\/github\.com\/acme\/zt\/actions\/runs\/42\))/)
    expect(c).not.toMatch(/(^|[^\u200b])@admin/)
    expect(c).not.toContain('<img')
    expect(c.split('\n').filter((l) => l.startsWith('> ')).length).toBeLessThanOrEqual(6)
  })

  it('says nothing for check and dry runs', () => {
    expect(renderAppliedComment(addOne(), { kind: 'plan' }, { sha: SHA })).toBe('')
    expect(renderAppliedComment(addOne(), { kind: 'dry-run' }, { sha: SHA })).toBe('')
  })
})

describe('listed since (Gateway item created_at)', () => {
  it.each([
    ['earliest of two copies, canonical value', [['203.0.113.7/32', '2026-09-02T10:00:00Z'], ['203.0.113.7', '2026-10-01T00:00:00Z']], { '203.0.113.7': '2026-09-02T10:00:00.000Z' }],
    ['no created_at: absent, never guessed', [['203.0.113.8', undefined]], {}],
    ['unparsable created_at: absent', [['203.0.113.9', 'yesterday']], {}],
    ['unparsable value: absent', [['not an ip', '2026-09-02T10:00:00Z']], {}]
  ] as const)('%s', (_n, items, expected) => {
    const r: RemoteState = { lists: [{ id: IP1, name: 'gtb IP 1', type: 'IP', items: items.map(([value, createdAt]) => createdAt === undefined ? { value } : { value, createdAt }) }], policy: null }
    expect(Object.fromEntries(listedSince(r).ips)).toEqual(expected)
  })
})
