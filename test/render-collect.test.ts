import { describe, expect, it } from 'vitest'
import { buildCollectPlan } from '../action/src/core/plan.js'
import {
  PR_BODY_LIMIT,
  SUMMARY_LIMIT,
  renderCommitMessage,
  renderPrBody,
  renderPrTitle,
  renderSummary,
  renderText,
  type PrContext
} from '../action/src/core/render/collect.js'
import { parseCommitEvidence } from '../action/src/core/carried.js'
import type { Candidate, CollectPlan, ExclusionRule, InvalidValue, Stats } from '../action/src/core/types.js'

// What an attacker can put in an SNI, a reason or a warning (render-escape.test.ts has
// the full list; importing a test file would register its tests here too).
const HOSTILE = [
  '-->', '<!--', '</details>', '</summary><script>alert(1)</script>', '![x](http://e)', '[a](javascript:alert(1))',
  '@org/team', 'cc @octocat', '#123', 'a`b``c', '`', 'a|b|c', 'x\\|y', 'line1\r\nline2', 'bidi \u202eevil',
  'nul\u0000byte', 'esc \u001b[2J', 'https://evil.example', 'www.evil.example', '*b* _i_', '# h', 'x'.repeat(10_000)
]

const HOUR = 3_600_000
const T0 = Date.UTC(2026, 10, 15, 10, 0)
const NOW = T0 + 7 * 24 * HOUR
const CTX: PrContext = { lookback: '7d', source: 'logpush', runUrl: 'https://github.com/acme/bypass/actions/runs/1', repository: 'acme/bypass' }

function st(sessions: number, devices: number, users = devices): Stats {
  return { sessions, devices, users, firstSeen: T0, lastSeen: T0 + HOUR }
}

function cand(kind: 'ip' | 'host', value: string, s: Stats = st(42, 7, 5), otherSide: string[] = [], otherSideTotal = otherSide.length): Candidate {
  return { kind, value, source: 'tls-error', stats: s, otherSide, otherSideTotal }
}

function rule(value: string, reason: string, line = 3): ExclusionRule {
  return { value, kind: /^[0-9.:/]+$/.test(value) ? 'ip' : 'host', reason, line }
}

function mkPlan(p: Partial<CollectPlan> = {}): CollectPlan {
  return {
    additions: [],
    removals: [],
    suppressed: [],
    heldBack: [],
    belowThreshold: [],
    invalid: [],
    alreadyListed: 0,
    expiredRules: [],
    next: { ips: [], hosts: [] },
    options: { minSessions: 3, minDevices: 2, maxNewEntries: 25, now: NOW },
    observed: {
      source: 'logpush',
      records: { zero_trust_network_sessions: 1200, gateway_http: 30 },
      inWindow: 1000,
      malformedLines: 2,
      filesRead: 12,
      filesSkipped: 1,
      filesCorrupt: 1,
      warnings: [],
      window: { from: T0, to: NOW }
    },
    warnings: [],
    ...p
  }
}

const PINNED = cand('host', 'api.pinnedbank.example', st(42, 7, 5), ['192.0.2.1', '192.0.2.2', '192.0.2.3'])
const PINNED_IP = cand('ip', '203.0.113.9', st(10, 3, 3), ['a.example', 'b.example'])
const BASIC = mkPlan({
  additions: [PINNED, PINNED_IP],
  removals: [{ kind: 'ip', value: '203.0.113.7', rule: rule('203.0.113.0/24', 'shared CDN range', 4) }],
  suppressed: [{ candidate: cand('ip', '198.51.100.1'), rule: rule('google.com', 'tenant restrictions', 2), via: 'mail.google.com' }],
  heldBack: [cand('host', 'later.example', st(3, 2))],
  belowThreshold: [cand('host', 'rare.example', st(1, 1))],
  invalid: [{ kind: 'host', raw: '<script>', reason: 'contains the character U+003C', sessions: 3 }],
  alreadyListed: 4
})

/** Removes code spans (any fence length) so the rest can be checked as Markdown prose. */
function stripCode(md: string): string {
  // A backslash-escaped backtick is literal text and cannot open a span.
  return md.replace(/(?<![\\`])(`+)(?!`)([\s\S]*?[^`])\1(?!`)/g, 'CODE')
}

/** Every pipe-table block: rows with the number of unescaped pipes on each. */
function tableShapes(md: string): number[][] {
  const blocks: number[][] = []
  let cur: number[] | null = null
  for (const line of md.split('\n')) {
    if (line.startsWith('| ')) {
      const pipes = (line.match(/(^|[^\\])\|/g) ?? []).length
      if (!cur) blocks.push((cur = []))
      cur.push(pipes)
    } else cur = null
  }
  return blocks
}

describe('renderPrTitle', () => {
  it.each([
    [2, 1, 'TLS bypass: add 2, remove 1'],
    [2, 0, 'TLS bypass: add 2'],
    [0, 1, 'TLS bypass: remove 1'],
    [0, 0, 'TLS bypass: no changes'],
    [5000, 12, 'TLS bypass: add 5000, remove 12']
  ])('%i additions, %i removals → %s', (a, r, title) => {
    const plan = mkPlan({
      additions: Array.from({ length: a }, (_, i) => cand('host', `h${i}.example`)),
      removals: Array.from({ length: r }, (_, i) => ({ kind: 'host' as const, value: `r${i}.example`, rule: rule('example', 'x') }))
    })
    expect(renderPrTitle(plan)).toBe(title)
    expect(renderPrTitle(plan).length).toBeLessThanOrEqual(72)
  })
})

describe('renderPrBody', () => {
  const body = renderPrBody(BASIC, CTX)

  it('has every section a reviewer needs', () => {
    expect(body).toContain('### Add hostnames (1)')
    expect(body).toContain('### Add IPs (1)')
    expect(body).toContain('| `api.pinnedbank.example` | `192.0.2.1`, `192.0.2.2`, `192.0.2.3` | 42 | 7 / 5 | 15\u00a0Nov\u00a010:00\u00a0→ 11:00 |')
    expect(body).toContain('| ip | `203.0.113.7` | `203.0.113.0/24` (line 4) | shared CDN range | — |')
    expect(body).toContain('<summary>Suppressed by exclusions (1)</summary>')
    expect(body).toContain('| `198.51.100.1` | `google.com` (line 2) | `mail.google.com` | 42 | 7 | tenant restrictions |')
    expect(body).toContain('<summary>Held back by max-new-entries (1)</summary>')
    expect(body).toContain('<summary>Below threshold (1)</summary>')
    expect(body).toContain('| host | `<script>` | contains the character U+003C | 3 |')
    expect(body).toContain('`gateway_http` 30 · `zero_trust_network_sessions` 1200 · in window 1000 · malformed lines 2 · files read 12, skipped 1, corrupt 1')
    expect(body).toContain('min-sessions 3 · min-devices 2 · max-new-entries 25')
    expect(body).toContain('Already listed (no change): 4')
    expect(body).toContain('- [ ] Each app really pins its certificate')
    expect(body).toContain('[workflow run](https://github.com/acme/bypass/actions/runs/1)')
  })

  it('carries no hidden state: no HTML comment at all, nothing a later run could read back', () => {
    expect(body).not.toContain('<!--')
    expect(body).not.toContain('gateway-tls-bypass:state')
    expect(body.trimEnd().endsWith('</sub>')).toBe(true)
  })

  it('caps the other side and says how many more there were', () => {
    const many = cand('ip', '192.0.2.50', st(5, 5), ['a.example', 'b.example', 'c.example', 'd.example', 'e.example', 'f.example'], 31)
    expect(renderPrBody(mkPlan({ additions: [many] }), CTX)).toContain('`c.example`, +28 more |')
  })

  it('the commit message carries the evidence: its + lines parse back to the additions (minute precision, other side as a count)', () => {
    const parsed = parseCommitEvidence(renderCommitMessage(BASIC))
    const minute = (ms: number) => (ms > 0 ? Math.floor(ms / 60_000) * 60_000 : 0)
    expect(parsed).toEqual(
      BASIC.additions.map((c) => ({ ...c, stats: { ...c.stats, firstSeen: minute(c.stats.firstSeen), lastSeen: minute(c.stats.lastSeen) }, otherSide: [], otherSideTotal: c.otherSideTotal }))
    )
    for (const c of parsed) expect(Object.keys(c.stats).sort()).toEqual(['devices', 'firstSeen', 'lastSeen', 'sessions', 'users'])
  })
})

describe('renderPrBody with hostile values', () => {
  const hostileRule = (i: number) => rule('evil.example', HOSTILE[i % HOSTILE.length] ?? '', i)
  const plan = mkPlan({
    additions: [PINNED],
    removals: HOSTILE.map((_, i) => ({ kind: 'host' as const, value: `r${i}.evil.example`, rule: hostileRule(i), via: HOSTILE[i] })),
    suppressed: HOSTILE.map((v, i) => ({ candidate: cand('host', v), rule: hostileRule(i + 1) })),
    invalid: HOSTILE.map((raw): InvalidValue => ({ kind: 'host', raw, reason: raw, sessions: 1 })),
    warnings: HOSTILE
  })
  const body = renderPrBody(plan, { ...CTX, runUrl: 'javascript:alert(1)//https://x', source: '@org/team <b>', lookback: '`7d`' })
  const prose = stripCode(body)
  it('keeps every table row intact (no value can add or split a cell)', () => {
    const shapes = tableShapes(body)
    expect(shapes.length).toBeGreaterThanOrEqual(4)
    for (const rows of shapes) expect(new Set(rows).size).toBe(1)
  })

  it('keeps the document structure: balanced details, no value opens or closes an HTML comment', () => {
    expect(prose.match(/<details>/g)?.length).toBe(prose.match(/<\/details>/g)?.length)
    expect(body).not.toMatch(/<!--/)
    expect(body).not.toMatch(/--!?>/)
  })

  it('outside code spans: no HTML but our own tags, no links but ours, no mentions, no controls', () => {
    const tags = prose.match(/<\/?[a-z][^>]*>/gi) ?? []
    expect([...new Set(tags)].sort()).toEqual(['</details>', '</sub>', '</summary>', '<details>', '<sub>', '<summary>'])
    expect(prose).not.toMatch(/(?<!\\)\]\(/) // the javascript: run URL is not linked either
    expect(prose).not.toMatch(/@(?!\u200b)/)
    expect(prose).not.toMatch(/#(?!\u200b|#|\s)/)
    // eslint-disable-next-line no-control-regex
    expect(prose).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\ufeff]/)
    expect(prose).not.toContain('x'.repeat(501)) // long values, reasons and warnings are clipped
  })
})

describe('renderPrBody size limit', () => {
  const v6 = (i: number, j: number) => `2001:db8:${i.toString(16)}::${(j + 1).toString(16)}`
  const big = Array.from({ length: 5000 }, (_, i) =>
    cand('host', `app-${String(i).padStart(4, '0')}.pinned.example`, st(5000 - i, 50), Array.from({ length: 20 }, (_, j) => v6(i, j)), 40)
  )

  it('5,000 additions: ≤ 65,536 characters, the table is cut with a note, and the commit message still names all 5,000', () => {
    const plan = mkPlan({ additions: big, options: { minSessions: 1, minDevices: 1, maxNewEntries: Infinity, now: NOW } })
    const body = renderPrBody(plan, CTX)
    expect(body.length).toBeLessThanOrEqual(PR_BODY_LIMIT)
    expect(parseCommitEvidence(renderCommitMessage(plan)).map((c) => c.value)).toEqual(big.map((c) => c.value))
    expect(body).toMatch(/_\d+ more not shown — see the job summary \/ commit message\._/)
    expect(body).toContain('### Before merging')
    expect(body).toContain('### What was read')
  })

  it('informational tables are cut before the additions table', () => {
    const longReason = 'r'.repeat(300)
    const plan = mkPlan({
      additions: [PINNED, PINNED_IP],
      suppressed: Array.from({ length: 3000 }, (_, i) => ({ candidate: cand('host', `s${i}.google.com`), rule: rule('google.com', longReason) })),
      heldBack: big.slice(0, 500)
    })
    const body = renderPrBody(plan, CTX)
    expect(body.length).toBeLessThanOrEqual(PR_BODY_LIMIT)
    expect(body).toMatch(/_\d+ more not shown — see the job summary\._/)
    expect(body).toContain('| `api.pinnedbank.example` |') // the additions table is not the one cut
  })

  it('a flood of huge warnings still fits, with the additions table intact', () => {
    const plan = mkPlan({ additions: [PINNED], warnings: Array.from({ length: 1000 }, (_, i) => `${i} ${'w'.repeat(10_000)}`) })
    const body = renderPrBody(plan, CTX)
    expect(body.length).toBeLessThanOrEqual(PR_BODY_LIMIT)
    expect(Number(/(\d+) more warnings in the run log/.exec(body)?.[1])).toBeGreaterThanOrEqual(970)
    expect(body).toContain('| `api.pinnedbank.example` |')
  })
})

describe('renderCommitMessage', () => {
  it('names every added and removed value with its evidence, one line each', () => {
    const msg = renderCommitMessage(BASIC)
    const lines = msg.split('\n')
    expect(lines[0]).toBe('TLS bypass: add 2, remove 1')
    expect(lines[1]).toBe('')
    expect(lines).toContain('+ host api.pinnedbank.example  tls-error sessions=42 devices=7 users=5 first=2026-11-15T10:00Z last=2026-11-15T11:00Z ips=3')
    expect(lines).toContain('+ ip 203.0.113.9  tls-error sessions=10 devices=3 users=3 first=2026-11-15T10:00Z last=2026-11-15T11:00Z hosts=2')
    expect(lines).toContain('- ip 203.0.113.7  excluded by 203.0.113.0/24 (line 4): shared CDN range')
    expect(msg).toContain('Held back by max-new-entries: 1. Suppressed by exclusions: 1.')
  })

  it('a reason cannot inject lines or terminal controls, and via is named', () => {
    const plan = mkPlan({
      removals: [{ kind: 'ip', value: '198.51.100.1', rule: rule('google.com', 'tenant\n+ host evil.example\u001b[2J @sec'), via: 'mail.google.com' }]
    })
    const lines = renderCommitMessage(plan).split('\n')
    expect(lines.filter((l) => /^[+-] /.test(l))).toEqual(['- ip 198.51.100.1  excluded by google.com via mail.google.com (line 3): tenant\\u000a+ host evil.example\\u001b[2J @\u200bsec'])
  })

  it('lists all 5,000 additions (no truncation) under a ≤ 72-character subject', () => {
    const plan = mkPlan({ additions: Array.from({ length: 5000 }, (_, i) => cand('host', `h${i}.example`)) })
    const msg = renderCommitMessage(plan)
    expect(msg.split('\n')[0]?.length).toBeLessThanOrEqual(72)
    expect(msg.split('\n').filter((l) => l.startsWith('+ host '))).toHaveLength(5000)
  })
})

describe('renderSummary', () => {
  it('is Markdown with the same tables, and no state', () => {
    const md = renderSummary(BASIC)
    expect(md).toContain('## gateway-tls-bypass collect')
    expect(md).toContain('| `api.pinnedbank.example` |')
    expect(md).not.toContain('<!--')
    expect(md).not.toContain('Before merging')
  })

  it('stays ≤ 1 MiB in bytes, even with multi-byte hostile values', () => {
    const plan = mkPlan({
      additions: Array.from({ length: 6000 }, (_, i) => cand('host', `app-${i}.pinned.example`, st(5, 5), ['192.0.2.1'], 90)),
      invalid: Array.from({ length: 20_000 }, (_, i): InvalidValue => ({ kind: 'host', raw: `${i}${'😀'.repeat(150)}`, reason: '漢'.repeat(300), sessions: 1 }))
    })
    const md = renderSummary(plan)
    expect(Buffer.byteLength(md, 'utf8')).toBeLessThanOrEqual(SUMMARY_LIMIT)
    expect(md).toMatch(/more not shown/)
  })
})

describe('renderText', () => {
  const text = renderText(BASIC)

  it('aligns columns and uses no Markdown', () => {
    const lines = text.split('\n')
    const head = lines.findIndex((l) => l.includes('KIND') && l.includes('VALUE'))
    const rows = lines.slice(head, head + 3)
    const valueCol = rows.map((l) => l.indexOf(l.trim().split(/\s+/)[1] ?? ''))
    expect(new Set(valueCol).size).toBe(1)
    // Numbers are right-aligned under SESSIONS.
    const end = (rows[0]?.indexOf('SESSIONS') ?? 0) + 'SESSIONS'.length
    expect(rows[1]?.slice(end - 2, end)).toBe('42')
    expect(rows[2]?.slice(end - 2, end)).toBe('10')
    expect(text).not.toMatch(/[`|]/)
    expect(text).toContain('Already listed: 4')
    expect(text).toContain('  ip  203.0.113.7  excluded by 203.0.113.0/24 (line 4): shared CDN range')
  })

  it('hostile values cannot move the cursor or reorder text', () => {
    const plan = mkPlan({
      invalid: HOSTILE.map((raw): InvalidValue => ({ kind: 'host', raw, reason: 'x', sessions: 1 })),
      warnings: HOSTILE,
      removals: [{ kind: 'host', value: 'a.example', rule: rule('a.example', '\u001b]0;pwned\u0007\u202e') }]
    })
    const out = renderText(plan)
    // eslint-disable-next-line no-control-regex
    expect(out.replace(/\n/g, '')).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]/)
    expect(out).toContain('\\u001b]0;pwned\\u0007\\u202e')
  })
})

describe('end to end: planner output renders', () => {
  it('a planned run renders consistently across all four renderings', () => {
    const plan = buildCollectPlan({
      observations: {
        window: { from: T0, to: NOW },
        hostFailures: new Map([['api.pinnedbank.example', st(42, 7, 5)], ['192.0.2.99', st(9, 9)]]),
        ipFailures: new Map([['203.0.113.9', st(10, 3)]]),
        hostIps: new Map([['api.pinnedbank.example', new Set(['192.0.2.1'])]]),
        ipHosts: new Map(),
        bypassedHosts: new Map(),
        stats: { source: 'logpush', records: { zero_trust_network_sessions: 10 }, inWindow: 10, malformedLines: 0, filesRead: 1, filesSkipped: 0, filesCorrupt: 0, warnings: [] }
      },
      current: { ips: ['203.0.113.7'], hosts: [] },
      rules: [rule('203.0.113.0/24', 'shared CDN range', 4)],
      expiredRules: [],
      options: { minSessions: 3, minDevices: 2, maxNewEntries: 10, now: NOW }
    })
    expect(renderPrTitle(plan)).toBe('TLS bypass: add 1, remove 1')
    expect(renderCommitMessage(plan)).toContain('- ip 203.0.113.7  excluded by 203.0.113.0/24 (line 4): shared CDN range')
    expect(renderPrBody(plan, CTX)).toContain('an IP literal in SNI is not a hostname')
    expect(renderSummary(plan)).toContain('<summary>Suppressed by exclusions (1)</summary>')
    expect(renderText(plan)).toContain('api.pinnedbank.example')
  })
})

describe('warnings never crowd out the additions', () => {
  it('keeps every proposal in the table even with 30 long, escape-heavy warnings', () => {
    const additions = Array.from({ length: 200 }, (_, i) => cand('host', `app${String(i).padStart(3, '0')}.pinned.example`))
    const warnings = Array.from({ length: 30 }, () => '|*_[]()#.-!'.repeat(1000))
    const body = renderPrBody(mkPlan({ additions, warnings }), CTX)
    expect(body.length).toBeLessThanOrEqual(PR_BODY_LIMIT)
    for (const c of additions) expect(body).toContain(`| \`${c.value}\` |`)
    expect(body).toMatch(/more warnings? in the run log/)
  })

  it('escapes $ so GitHub does not render math from a reason or warning', () => {
    const body = renderPrBody(mkPlan({ additions: [PINNED], warnings: ['costs $5 and $x^2$ more'] }), CTX)
    expect(body).not.toMatch(/(^|[^\\])\$x\^2/)
    expect(body).toContain('\\$x')
  })
})

describe('lifecycle (issue 10): idle removals, rejections, still failing', () => {
  const DAY = 24 * HOUR
  const since = (at: number, from: 'git' | 'gateway' = 'git') => ({ at, from })
  const LIFE = mkPlan({
    additions: [PINNED],
    next: { ips: [], hosts: ['api.pinnedbank.example'] },
    lifecycle: {
      idleDays: 30,
      rejectDays: 90,
      idle: {
        removals: [
          { kind: 'host', value: 'retired.example.com', listedSince: since(Date.UTC(2026, 8, 2), 'gateway'), lastUsed: Date.UTC(2026, 9, 1) },
          { kind: 'ip', value: '192.0.2.0/28', listedSince: since(Date.UTC(2026, 7, 20)) }
        ],
        heldBack: [{ kind: 'host', value: 'waiting.example.com', listedSince: since(Date.UTC(2026, 9, 1)) }],
        judged: true
      },
      rejected: [{ candidate: cand('host', 'nope.example.com', st(9, 4)), pr: 41, at: NOW - 3 * DAY }],
      stillFailing: [{ kind: 'ip', value: '198.51.100.9', entry: '198.51.100.0/24', listedSince: since(NOW - 5 * DAY), stats: { ...st(17, 3), lastSeen: NOW - DAY } }],
      notes: ['2 listed entries have no listed-since date and are never called idle: the checkout is shallow <b>@octocat</b>.']
    }
  })

  it('the commit message names each idle removal with both dates, after the additions, and counts what waits', () => {
    const msg = renderCommitMessage(LIFE)
    expect(msg.split('\n')[0]).toBe('TLS bypass: add 1, remove 2')
    expect(msg).toContain('\n- host retired.example.com  idle: no bypassed traffic in 30 days; listed since 2026-09-02; last bypassed 2026-10-01\n')
    expect(msg).toContain('\n- ip 192.0.2.0/28  idle: no bypassed traffic in 30 days; listed since 2026-08-20\n')
    expect(msg).toContain('Idle, held back by the removal guard: 1. Not proposed again (rejected): 1. Listed, and still failing: 1.')
    // The carry-forward parser still reads the additions, and only them.
    expect(parseCommitEvidence(msg).map((c) => c.value)).toEqual(['api.pinnedbank.example'])
  })

  it('the PR body: idle removals open, held back and rejected collapsed with the PR number and date, still failing open with the hint; notes escaped', () => {
    const body = renderPrBody(LIFE, CTX)
    expect(renderPrTitle(LIFE)).toBe('TLS bypass: add 1, remove 2')
    expect(body).toContain('### Remove: idle (2)')
    expect(body).toContain('| host | `retired.example.com` | 2026-09-02 | Gateway list item | 2026-10-01 |')
    expect(body).toContain('| ip | `192.0.2.0/28` | 2026-08-20 | git history | none seen |')
    expect(body).toContain('<details><summary>Idle, held back by the removal guard (1)</summary>')
    expect(body).toContain('<details><summary>Not proposed again: rejected by a reviewer (1)</summary>')
    expect(body).toContain('| host | `nope.example.com` | #41 | 2026-11-19 | 9 | 4 |')
    expect(body).toContain('### Listed, and still failing (1)')
    expect(body).toContain('| ip | `198.51.100.9` | `198.51.100.0/24` | 2026-11-17 | 17 | 3 | 2026-11-21 |')
    expect(body).toContain('Split Tunnel exclude')
    expect(body).toContain('- Lifecycle: idle-days 30 · reject-days 90')
    expect(body).not.toContain('<b>')
    expect(body).not.toMatch(/[^`\\]@octocat/)
    expect(body).toContain('keeps those values out of proposals for 90 days')
    expect(body.indexOf('### Remove: idle')).toBeLessThan(body.indexOf('### Listed, and still failing'))
  })

  it('the summary carries the same tables; the terminal text the same facts', () => {
    const sum = renderSummary(LIFE)
    for (const t of ['### Remove: idle (2)', 'Not proposed again: rejected by a reviewer (1)', '### Listed, and still failing (1)']) expect(sum).toContain(t)
    const text = renderText(LIFE)
    expect(text.split('\n')[0]).toMatch(/^collect: add 1, remove 2 /)
    expect(text).toContain('Remove, idle (2):\n  host  retired.example.com  idle: no bypassed traffic in 30 days; listed since 2026-09-02; last bypassed 2026-10-01')
    expect(text).toContain('Idle, held back by the removal guard (1):')
    expect(text).toContain('  ip  198.51.100.9 (in 198.51.100.0/24)  sessions=17 devices=3 listed since 2026-11-17, last failure 2026-11-21')
    expect(text).toContain('  host  nope.example.com  #41 on 2026-11-19')
    expect(text).toContain('Lifecycle:\n  2 listed entries have no listed-since date')
  })

  it('without a lifecycle nothing changes: no section, no footer sentence', () => {
    const body = renderPrBody(BASIC, CTX)
    expect(body).not.toMatch(/idle|Lifecycle|rejected by a reviewer|still failing/i)
  })

  it('a flood of still-failing and rejected values stays within the PR body and summary limits', () => {
    const many = Array.from({ length: 3000 }, (_, i) => `host-${i}-${'x'.repeat(200)}.example.com`)
    const flood = mkPlan({
      lifecycle: {
        idleDays: 30, rejectDays: 90, idle: { removals: [], heldBack: [], judged: true },
        rejected: many.map((v, i) => ({ candidate: cand('host', v), pr: i + 1, at: NOW })),
        stillFailing: many.map((v) => ({ kind: 'host' as const, value: v, entry: v, listedSince: since(NOW - DAY), stats: st(2, 1) })),
        notes: Array.from({ length: 50 }, () => HOSTILE.join(' '))
      }
    })
    const body = renderPrBody(flood, CTX)
    expect(body.length).toBeLessThanOrEqual(PR_BODY_LIMIT)
    expect(body).toMatch(/more not shown/)
    expect(Buffer.byteLength(renderSummary(flood))).toBeLessThanOrEqual(SUMMARY_LIMIT)
    expect(body).not.toContain('<script>')
  })
})
