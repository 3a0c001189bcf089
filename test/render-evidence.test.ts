/**
 * Issue 11: the PR's evidence tables fit 780–900 px, the job summary links the PR and says
 * when it is a dry run, big runs stay readable, and a quiet day raises no false alarm.
 * Exact Markdown for small plans (U+00A0 keeps each date on one line).
 */
import { describe, expect, it } from 'vitest'
import { renderPrBody, renderSummary, renderText, SUMMARY_TABLES_LIMIT } from '../action/src/core/render/collect.js'
import { cellValue, clipMiddle, evidenceRow, seenRange } from '../action/src/core/render/evidence.js'
import { planWarnings } from '../action/src/core/plan/warnings.js'
import type { Candidate, CollectPlan, SourceStats } from '../action/src/core/types.js'

const NB = '\u00a0'
const MIN = 60_000
const HOUR = 60 * MIN
const T0 = Date.UTC(2026, 10, 28, 10, 0)
const TO = T0 + 72 * HOUR

function cand(kind: 'ip' | 'host', value: string, sessions: number, otherSide: string[] = [], otherSideTotal = otherSide.length, source: Candidate['source'] = 'tls-error', last = T0 + 26 * HOUR): Candidate {
  return { kind, value, source, stats: { sessions, devices: 7, users: 5, firstSeen: T0, lastSeen: last }, otherSide, otherSideTotal }
}

function plan(p: Partial<CollectPlan> = {}): CollectPlan {
  return {
    additions: [], removals: [], suppressed: [], heldBack: [], belowThreshold: [], invalid: [], alreadyListed: 0, expiredRules: [], next: { ips: [], hosts: [] },
    options: { minSessions: 3, minDevices: 2, maxNewEntries: 25, now: TO },
    observed: { source: 'logpush', records: { zero_trust_network_sessions: 200 }, inWindow: 200, malformedLines: 0, filesRead: 2, filesSkipped: 0, filesCorrupt: 0, warnings: [], window: { from: T0, to: TO } },
    warnings: [],
    ...p
  }
}

const SMALL = plan({
  additions: [
    cand('host', 'api.pinnedbank.example', 42, ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4'], 9),
    cand('host', 'telemetry.app.example', 88, [], 0, 'bypass-log', T0 + 90 * MIN),
    cand('ip', '198.51.100.77', 31, [], 0, 'tls-error', T0)
  ]
})

describe('the evidence tables (exact Markdown)', () => {
  it('one table per kind, five columns, Seen with early, one Seen range, bypass-log rows count requests, a bare IP stands out; summary links the PR', () => {
    expect(renderSummary(SMALL, { pullRequest: { number: 12, url: 'https://github.com/acme/bypass/pull/12', operation: 'updated' } })).toBe(`## gateway-tls-bypass collect

**Add 3** · 2026-11-28 10:00 → 2026-12-01 10:00 UTC · [pull request #12](https://github.com/acme/bypass/pull/12) updated

### Add hostnames (2)

Strongest evidence first. "Seen with": the IPs a hostname failed on (or, on a *bypass log* row, was bypassed to), or the hostnames seen on an IP. Sessions: failing TLS sessions (rows marked *bypass log* count requests the Do Not Inspect policy let through; rows marked *hand-added* were added by hand in the Gateway dashboard, without review or log evidence). Values longer than 40 characters are shortened in the middle (…); the diff and the commit message have them whole.

| Hostname | Seen with | Sessions | Devices / users | Seen (UTC) |
| --- | --- | --- | --- | --- |
| \`api.pinnedbank.example\` | \`192.0.2.1\`, \`192.0.2.2\`, \`192.0.2.3\`, +6 more | 42 | 7 / 5 | 28${NB}Nov${NB}10:00${NB}→ 29${NB}Nov${NB}12:00 |
| \`telemetry.app.example\` <sub>bypass log</sub> | — | 88 requests | 7 / 5 | 28${NB}Nov${NB}10:00${NB}→ 11:30 |

### Add IPs (1)

⚠️ **This IP has no hostname seen on it**: nothing shows what else it serves, so a bypass may exempt other sites too. Prefer the app's hostname if you know it.

| IP | Seen with | Sessions | Devices / users | Seen (UTC) |
| --- | --- | --- | --- | --- |
| \`198.51.100.77\` | ⚠️ **no hostname seen on this IP** | 31 | 7 / 5 | 28${NB}Nov${NB}10:00 |

### What was read

- Source: logpush · window 2026-11-28 10:00 → 2026-12-01 10:00 UTC
- Records: \`zero_trust_network_sessions\` 200 · in window 200 · malformed lines 0 · files read 2, skipped 0, corrupt 0
- Already listed (no change): 0
- Thresholds: min-sessions 3 · min-devices 2 · max-new-entries 25
`)
  })

  it('no table of the PR body has more than six columns', () => {
    const body = renderPrBody(
      plan({
        additions: SMALL.additions,
        removals: [{ kind: 'ip', value: '203.0.113.7', rule: { value: '203.0.113.0/24', kind: 'ip', reason: 'CDN', line: 4 } }],
        suppressed: [{ candidate: cand('ip', '198.51.100.1', 3), rule: { value: 'google.com', kind: 'host', reason: 'tenant', line: 2 }, via: 'mail.google.com' }],
        heldBack: [cand('host', 'later.example', 3)],
        belowThreshold: [cand('host', 'rare.example', 1)],
        invalid: [{ kind: 'host', raw: '<x>', reason: 'bad', sessions: 1 }]
      }),
      { lookback: '3d', source: 'logpush' }
    )
    const headers = body.split('\n').filter((l, i, all) => l.startsWith('| ') && all[i + 1]?.startsWith('| ---'))
    expect(headers.length).toBe(7)
    for (const h of headers) expect(h.split(' | ').length, h).toBeLessThanOrEqual(6)
  })

  it('a hand-added item says nothing was "not seen"; a bypass-log IP-less host shows —', () => {
    expect(evidenceRow({ ...cand('ip', '192.0.2.9', 0, [], 0, 'dashboard'), stats: { sessions: 0, devices: 0, users: 0, firstSeen: 0, lastSeen: 0 } }, 2026)).toBe(
      '| `192.0.2.9` <sub>hand-added</sub> | — | — | 0 / 0 | — |'
    )
  })

  it('hostile and huge values are clipped in the middle and stay one code span', () => {
    expect(cellValue('a'.repeat(100) + '.example')).toBe(`\`${'a'.repeat(20)}…${'a'.repeat(11)}.example\``)
    expect(cellValue('x|`<!--')).toBe('``x\\|`<\u200b!--``')
  })
})

describe('seenRange', () => {
  it.each([
    ['one moment', T0, T0, `28${NB}Nov${NB}10:00`],
    ['same minute', T0, T0 + 30_000, `28${NB}Nov${NB}10:00`],
    ['one day', T0, T0 + 150 * MIN, `28${NB}Nov${NB}10:00${NB}→ 12:30`],
    ['two days', T0, T0 + 26 * HOUR, `28${NB}Nov${NB}10:00${NB}→ 29${NB}Nov${NB}12:00`],
    ['another year is named', Date.UTC(2025, 11, 31, 23, 0), T0, `31${NB}Dec${NB}2025${NB}23:00${NB}→ 28${NB}Nov${NB}10:00`],
    ['swapped', T0 + HOUR, T0, `28${NB}Nov${NB}10:00${NB}→ 11:00`],
    ['only last known', 0, T0, `28${NB}Nov${NB}10:00`],
    ['unknown', 0, 0, '—'],
    ['impossible', 9e15, Number.NaN, '—']
  ])('%s', (_n, first, last, out) => {
    expect(seenRange(first, last, 2026)).toBe(out)
  })
})

describe('clipMiddle', () => {
  it.each([
    ['abcdef', 6, 'abcdef'],
    ['abcdefgh', 5, 'ab…gh'],
    ['abcdefgh', 1, '…'],
    ['😀😀😀😀', 4, '😀…'], ['a😀😀bc', 5, 'a…bc'] // never splits a surrogate pair
  ])('clipMiddle(%j, %i) = %j', (s, n, out) => {
    expect(clipMiddle(s, n)).toBe(out)
  })
})

describe('dry run and pull request labels', () => {
  it('a dry run says so at the top of the summary and of the terminal text', () => {
    expect(renderSummary(SMALL, { dryRun: true }).split('\n')[0]).toBe('## gateway-tls-bypass collect (dry run: nothing written)')
    expect(renderText(SMALL, { dryRun: true }).split('\n')[0]).toBe('collect (dry run: nothing is written): add 3 (logpush, 2026-11-28 10:00 → 2026-12-01 10:00 UTC)')
    expect(renderSummary(SMALL).split('\n')[0]).toBe('## gateway-tls-bypass collect')
  })

  it.each([
    ['created', ' · [pull request #3](https://github.com/a/b/pull/3) opened'],
    ['blocked-human-commits', ' · [pull request #3](https://github.com/a/b/pull/3) left alone: someone pushed to its branch'],
    ['<b>@x</b>', ' · [pull request #3](https://github.com/a/b/pull/3) &lt;b&gt;@\u200bx&lt;/b&gt;']
  ])('operation %s', (operation, text) => {
    expect(renderSummary(SMALL, { pullRequest: { number: 3, url: 'https://github.com/a/b/pull/3', operation } }).split('\n')[2]).toContain(text)
  })

  it('a hostile PR URL is shown, never linked; a run on GHES over http is still a link', () => {
    expect(renderSummary(SMALL, { pullRequest: { number: 3, url: 'javascript:alert(1)', operation: 'updated' } })).toContain(' · pull request #3: `javascript:alert(1)` updated')
    expect(renderPrBody(SMALL, { lookback: '3d', source: 'logpush', runUrl: 'http://ghes.internal/a/b/actions/runs/7' })).toContain('[workflow run](http://ghes.internal/a/b/actions/runs/7)')
  })

  it('the terminal table labels requests and a bare IP', () => {
    const text = renderText(SMALL)
    expect(text).toMatch(/telemetry\.app\.example +bypass-log +88 requests/)
    expect(text).toMatch(/198\.51\.100\.77 .*! no hostname seen on this IP$/m)
  })
})

describe('big runs stay readable', () => {
  it('12,000 candidates: the summary stays under 100 kB and says the run log lists every addition', () => {
    const many = Array.from({ length: 12_000 }, (_, i) => cand(i % 3 ? 'host' : 'ip', i % 3 ? `app-${i}.pinned.example` : `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, 5, ['192.0.2.1'], 4))
    const md = renderSummary(plan({ additions: many, belowThreshold: many }))
    expect(Buffer.byteLength(md)).toBeLessThanOrEqual(SUMMARY_TABLES_LIMIT)
    expect(md).toMatch(/_\d+ more not shown — the run log and the commit message list every one\._/)
  })
})

describe('a quiet day is not an empty dataset', () => {
  const stats = (source: SourceStats['source'], records: SourceStats['records'], warnings: string[] = []): SourceStats => ({ source, records, inWindow: 0, malformedLines: 0, filesRead: 0, filesSkipped: 0, filesCorrupt: 0, warnings })
  it.each([
    // Log Explorer's records are the sessions its failure queries matched; it counts every session itself when none failed.
    ['log-explorer, 200 sessions, none failing', stats('log-explorer', {}), []],
    ['log-explorer, no sessions at all: its own warning only', stats('log-explorer', {}, ['Log Explorer: zero_trust_network_sessions has no sessions at all']), ['Log Explorer: zero_trust_network_sessions has no sessions at all']],
    ['logpush, nothing read', stats('logpush', {}), ['no records in the window — is the dataset enabled / is Logpush writing to the bucket?']]
  ])('%s', (_n, s, out) => {
    expect(planWarnings(s, [], { excluded: 0, listed: 0, below: 0, malformed: 0 })).toEqual(out)
  })
})
