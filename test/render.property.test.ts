/**
 * Property-based tests of the collect renderers under hostile input: plans are built by the
 * real planner from observations full of markup, controls, mentions, IP literals and huge
 * strings, then every rendering is checked the way GitHub (GFM) or a terminal would read it.
 *
 * The Markdown checks use a small GFM-faithful scanner: code spans (backtick runs of equal
 * length, backslash escapes outside code) and table cells (split on `|` unless written `\|`,
 * as cmark-gfm does, also inside code spans). Everything outside code spans must be inert:
 * no HTML other than the renderer's own `<details>/<summary>/<sub>`, no links, images,
 * autolinks, mentions or issue references, and no control characters anywhere.
 *
 * Runs are deterministic and fast: a fixed seed and at most 60 runs per property.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { carriedFromCommit, parseCommitEvidence } from '../action/src/core/carried.js'
import { formatListFile } from '../action/src/core/listfile.js'
import { buildCollectPlan, type CollectInput } from '../action/src/core/plan.js'
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
import type { Candidate, CollectOptions, CollectPlan, EntryKind, ExclusionRule, Observations, Stats } from '../action/src/core/types.js'

const SEED = 20261123
const DAY = 86_400_000
const NOW = Date.UTC(2026, 10, 22, 12)
const T0 = NOW - 7 * DAY

// ---------------------------------------------------------------------------------------
// Arbitraries (hostile observations → real plans)

const HOSTS = ['example.com', 'api.example.com', 'www.example.com', 'google.com', 'mail.google.com', 'pinned.app.example.net', 'xn--bcher-kva.example', 'www.under_score.example.org']
const IPS = ['1.2.3.4', '10.0.0.1', '192.168.1.10', '2001:db8::1', 'fe80::1']

const HOSTILE = [
  '<script>alert(1)</script>',
  '<SCRIPT/src=//e>',
  '<img src=x onerror=alert(1)>',
  '-->',
  '<!--',
  '--!>',
  '</details>',
  '</summary><b>x</b>',
  '![x](http://e)',
  '[a](javascript:alert(1))',
  'JavaScript:alert(1)',
  '<https://evil.example>',
  'www.evil.example',
  'http://evil.example',
  'a|b|c',
  '| x | y |',
  '\\|',
  '\\',
  '`',
  '``x``',
  '` | `',
  '@org/team',
  '@octocat hi',
  '#123',
  '\u0000',
  '\u001b[31mred\u001b[0m',
  '\u001b]8;;http://e\u0007link\u001b]8;;\u0007',
  '\u009b2J',
  'cr\r\nlf',
  '\n| injected | row |',
  'bidi\u202eexample',
  'iso\u2066late\u2069',
  'line\u2028sep\u2029',
  'zw\u200bj\u200dn\u200c',
  '\ufeffbom',
  '\ud800lone',
  'lone\udc00',
  '* list',
  '# heading',
  '> quote',
  '&lt;script&gt;',
  '&#60;script&#62;',
  '<!-- gateway-tls-bypass:state v1 {"version":1,"additions":[{"kind":"ip","value":"0.0.0.0/0"}]} -->',
  '${{ secrets.TOKEN }}',
  '$x^2$',
  '~~strike~~',
  '**bold**'
]

const uuidPlanted = fc.uuid().map((u) => `<dev ${u}>`)

const hostile: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...HOSTILE) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.array(fc.constantFrom(...HOSTILE), { minLength: 2, maxLength: 5 }).map((xs) => xs.join('')) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...HOSTILE), fc.constantFrom(...HOSTS)).map(([x, h]) => `${x}.${h}`) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom(...HOSTILE.filter((h) => h !== '')), fc.integer({ min: 200, max: 10_000 }))
      .map(([x, n]) => x.repeat(Math.ceil(n / x.length)).slice(0, n))
  }
)

/** Log keys may carry planted device/user ids; only in values that can never be list entries. */
const hostileKey = fc.oneof({ weight: 5, arbitrary: hostile }, { weight: 1, arbitrary: fc.tuple(uuidPlanted, hostile).map(([u, x]) => `${u}${x}`) })

const label = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'.split('')), minLength: 1, maxLength: 12 })
const validHost = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...HOSTS) },
  { weight: 2, arbitrary: fc.tuple(label, fc.constantFrom(...HOSTS)).map(([l, h]) => `${l}.${h}`) }
)
const validIp = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...IPS) }, { weight: 1, arbitrary: fc.ipV4() }, { weight: 1, arbitrary: fc.ipV6() })

const sniKey = fc.oneof(
  { weight: 4, arbitrary: validHost },
  { weight: 1, arbitrary: validHost.map((h) => `${h.toUpperCase()}.`) },
  { weight: 1, arbitrary: validIp.map((ip) => (ip.includes(':') ? `[${ip}]` : ip)) },
  { weight: 4, arbitrary: hostileKey }
)
const ipKey = fc.oneof({ weight: 4, arbitrary: validIp }, { weight: 1, arbitrary: validIp.map((ip) => (ip.includes(':') ? ip : `::ffff:${ip}`)) }, { weight: 2, arbitrary: hostileKey })

const time = fc.integer({ min: T0, max: NOW })
const statsArb: fc.Arbitrary<Stats> = fc.record({
  sessions: fc.integer({ min: 0, max: 50 }),
  devices: fc.integer({ min: 0, max: 9 }),
  users: fc.integer({ min: 0, max: 9 }),
  firstSeen: fc.oneof(time, fc.constant(0)),
  lastSeen: time
})

const obsArb: fc.Arbitrary<Observations> = fc
  .record({
    hostFailures: fc.array(fc.tuple(sniKey, statsArb), { maxLength: 12 }),
    ipFailures: fc.array(fc.tuple(ipKey, statsArb), { maxLength: 8 }),
    bypassedHosts: fc.array(fc.tuple(sniKey, statsArb), { maxLength: 4 }),
    hostIps: fc.array(fc.tuple(sniKey, fc.array(ipKey, { maxLength: 8 })), { maxLength: 6 }),
    ipHosts: fc.array(fc.tuple(ipKey, fc.array(sniKey, { maxLength: 8 })), { maxLength: 6 }),
    warnings: fc.array(hostile, { maxLength: 3 }),
    source: fc.constantFrom<'logpush' | 'log-explorer'>('logpush', 'log-explorer'),
    from: fc.oneof(fc.constant(null), fc.constant(T0))
  })
  .map((r) => ({
    window: { from: r.from, to: NOW },
    hostFailures: new Map(r.hostFailures),
    ipFailures: new Map(r.ipFailures),
    bypassedHosts: new Map(r.bypassedHosts),
    hostIps: new Map(r.hostIps.map(([k, vs]) => [k, new Set(vs)])),
    ipHosts: new Map(r.ipHosts.map(([k, vs]) => [k, new Set(vs)])),
    stats: {
      source: r.source,
      records: { zero_trust_network_sessions: 1000, gateway_http: 10 },
      inWindow: 900,
      malformedLines: 3,
      filesRead: 2,
      filesSkipped: 0,
      filesCorrupt: 0,
      ...(r.source === 'log-explorer' ? { queries: 4, splits: 1 } : {}),
      warnings: r.warnings
    }
  }))

const ruleArb = fc.record({
  kind: fc.constantFrom<EntryKind>('host', 'ip'),
  host: fc.constantFrom('google.com', 'example.net', 'example.com', 'mail.google.com'),
  ip: fc.constantFrom('10.0.0.0/8', '1.2.3.4', '2001:db8::/32', '192.168.1.10'),
  reason: fc.oneof(fc.constant('tenant control'), hostile),
  expires: fc.constantFrom(undefined, '2099-12-31', '2020-01-01')
})
const rulesArb: fc.Arbitrary<ExclusionRule[]> = fc.array(ruleArb, { maxLength: 4 }).map((rs) =>
  rs.map((r, i) => ({ kind: r.kind, value: r.kind === 'host' ? r.host : r.ip, reason: r.reason, line: i + 2, ...(r.expires ? { expires: r.expires } : {}) }))
)

const optionsArb: fc.Arbitrary<CollectOptions> = fc.record({
  minSessions: fc.integer({ min: 0, max: 5 }),
  minDevices: fc.integer({ min: 0, max: 2 }),
  maxNewEntries: fc.oneof(fc.integer({ min: 0, max: 6 }), fc.constant(Infinity)),
  now: fc.constant(NOW)
})

const ctxArb: fc.Arbitrary<PrContext> = fc.record({
  runUrl: fc.oneof(fc.constant(undefined), fc.constant('https://github.com/o/r/actions/runs/1'), hostile),
  repository: fc.oneof(fc.constant(undefined), fc.constant('o/r'), hostile),
  lookback: fc.oneof(fc.constant('7d'), hostile),
  source: fc.constantFrom('logpush', 'log-explorer')
})

const inputArb: fc.Arbitrary<CollectInput> = fc
  .record({
    observations: obsArb,
    current: fc.record({ ips: fc.subarray(['1.2.3.4', '10.0.0.0/8', '2001:db8::1']), hosts: fc.subarray(['api.example.com', 'mail.google.com', 'x.example.net']) }),
    rules: rulesArb,
    options: optionsArb,
    imports: fc.array(fc.record({ kind: fc.constantFrom<EntryKind>('host', 'ip'), value: fc.oneof(validHost, validIp, hostileKey) }), { maxLength: 2 })
  })
  .map((r) => ({ ...r, expiredRules: [] }))

const planArb: fc.Arbitrary<CollectPlan> = inputArb.map((input) => buildCollectPlan(input))

// ---------------------------------------------------------------------------------------
// A GFM-faithful scanner

/** Everything `visible()` must have turned into `\uXXXX`, except `\n` (and ZWSP, see below). */
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200c-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/
/** Terminals: not even the zero-width space that defuses GitHub's linkers. */
// eslint-disable-next-line no-control-regex
const TEXT_CONTROLS = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

const ASCII_PUNCT = /[!-/:-@[-`{-~]/

/** One line with its code spans cut out (replaced by a placeholder), per CommonMark. */
function splitCode(line: string): { outside: string; spans: string[] } {
  let outside = ''
  const spans: string[] = []
  let i = 0
  while (i < line.length) {
    const ch = line[i] ?? ''
    if (ch === '\\' && ASCII_PUNCT.test(line[i + 1] ?? '')) {
      outside += line.slice(i, i + 2)
      i += 2
      continue
    }
    if (ch !== '`') {
      outside += ch
      i++
      continue
    }
    let n = 0
    while (line[i + n] === '`') n++
    let j = i + n
    let close = -1
    while (j < line.length) {
      if (line[j] !== '`') {
        j++
        continue
      }
      let m = 0
      while (line[j + m] === '`') m++
      if (m === n) {
        close = j
        break
      }
      j += m
    }
    if (close < 0) {
      outside += '`'.repeat(n)
      i += n
      continue
    }
    spans.push(line.slice(i + n, close))
    outside += '\u0091CODE\u0092'
    i = close + n
  }
  return { outside, spans }
}

/** Table cells of a row, split like cmark-gfm: on `|` unless it is written `\|` (in code spans too). */
function cellCount(row: string): number {
  let pipes = 0
  for (let i = 0; i < row.length; i++) {
    if (row[i] === '\\' && row[i + 1] === '|') i++
    else if (row[i] === '|') pipes++
  }
  return pipes - 1
}

const OWN_TAGS = /<\/?(?:details|summary|sub)>/g
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i

/** Checks a GFM document: returns the text outside code spans, for further checks. */
function checkMarkdown(md: string, opts: { state: boolean; runUrl?: string }): string {
  expect(md, 'control or invisible character').not.toMatch(CONTROLS)
  // No HTML comment at all: nothing may hide text from a reviewer, and nothing in the
  // body is state (the next run reads only the bot's own commit).
  const opens = md.split('<!--').length - 1
  const closes = md.split('-->').length - 1
  expect(md).not.toContain('--!>')
  expect([opens, closes]).toEqual([0, 0])
  const lines = md.split('\n')
  // Tables: every row has exactly as many cells as its header.
  let header = -1
  for (const line of lines) {
    if (!line.startsWith('|')) {
      header = -1
      continue
    }
    expect(line.endsWith('|'), line).toBe(true)
    const n = cellCount(line)
    if (header < 0) header = n
    expect(n, `cells in ${JSON.stringify(line.slice(0, 200))}`).toBe(header)
  }
  let outside = lines.map((l) => splitCode(l).outside).join('\n')
  if (opts.runUrl) outside = outside.split(`[workflow run](${opts.runUrl})`).join('LINK')
  const html = outside.replace(OWN_TAGS, '')
  expect(html, 'raw HTML outside code').not.toMatch(/<[A-Za-z/!?]/)
  expect(outside, 'mention outside code').not.toMatch(/@[A-Za-z0-9_-]/)
  expect(outside, 'issue reference outside code').not.toMatch(/#\d/)
  expect(outside, 'image').not.toContain('![')
  // `\](` is text: an escaped bracket closes no link.
  expect(outside, 'link').not.toMatch(/(?<!\\)\]\(/)
  expect(outside, 'autolink').not.toMatch(/:\/\/|www\./i)
  expect(outside.toLowerCase(), 'javascript: URL').not.toMatch(/(?<!\\)\]\(\s*javascript:/)
  // No line of ours starts with something a value could have injected.
  for (const l of outside.split('\n')) expect(l, 'injected block').not.toMatch(/^(?:\* |> quote|# heading)/)
  return outside
}

/** The body holds no state; the commit message names every addition with its evidence, parseably. */
function checkState(body: string, plan: CollectPlan): void {
  expect(body).not.toContain('<!--')
  const parsed = parseCommitEvidence(renderCommitMessage(plan))
  expect(parsed.map((c) => `${c.kind} ${c.value}`)).toEqual(plan.additions.map((c) => `${c.kind} ${c.value}`))
  // Counts only: a carried candidate has exactly these fields, and its stats are numbers.
  for (const c of parsed) {
    expect(Object.keys(c).sort()).toEqual(['kind', 'otherSide', 'otherSideTotal', 'source', 'stats', 'value'])
    expect(Object.keys(c.stats).sort()).toEqual(['devices', 'firstSeen', 'lastSeen', 'sessions', 'users'])
    for (const v of Object.values(c.stats)) expect(typeof v).toBe('number')
  }
}

const params = (seedOffset: number, numRuns: number) => ({ seed: SEED + seedOffset, numRuns })

// ---------------------------------------------------------------------------------------

describe('PR body, summary, commit message and text under hostile input (fast-check)', () => {
  it('7a. PR body: within the size limit, state round-trips, no HTML/links/mentions/controls outside code, table cells intact', () => {
    fc.assert(
      fc.property(planArb, ctxArb, (plan, ctx) => {
        const body = renderPrBody(plan, ctx)
        expect(body.length).toBeLessThanOrEqual(PR_BODY_LIMIT)
        checkState(body, plan)
        const outside = checkMarkdown(body, { state: true, ...(ctx.runUrl ? { runUrl: ctx.runUrl } : {}) })
        // Planted device/user ids live only in invalid log values: shown escaped inside code, never as prose, never in the state.
        expect(outside).not.toMatch(UUID)
        expect(renderCommitMessage(plan)).not.toMatch(UUID)
        // Additions are listed as code spans (when the table was not shortened).
        if (!/more not shown/.test(body)) for (const a of plan.additions) expect(body).toContain(`\`${a.value}\``)
      }),
      params(1, 60)
    )
  })

  it('7b. job summary: same escaping, no state, within 1 MiB', () => {
    fc.assert(
      fc.property(planArb, (plan) => {
        const md = renderSummary(plan)
        expect(Buffer.byteLength(md, 'utf8')).toBeLessThanOrEqual(SUMMARY_LIMIT)
        expect(checkMarkdown(md, { state: false })).not.toMatch(UUID)
      }),
      params(2, 40)
    )
  })

  it('7c. commit message: no controls, subject ≤ 72, one line per added and removed value', () => {
    fc.assert(
      fc.property(planArb, (plan) => {
        const msg = renderCommitMessage(plan)
        expect(msg, 'control character').not.toMatch(CONTROLS)
        expect(msg).not.toMatch(UUID)
        const lines = msg.split('\n')
        expect((lines[0] ?? '').length).toBeLessThanOrEqual(72)
        expect(lines[0]).toBe(renderPrTitle(plan))
        expect(lines[1]).toBe('')
        // Values verbatim (canonical values are inert text), so `git log --grep <value>` finds the commit.
        for (const a of plan.additions) expect(lines.some((l) => l.startsWith(`+ ${a.kind} ${a.value}  `)), `${a.kind} ${a.value}`).toBe(true)
        for (const r of plan.removals) expect(lines.some((l) => l.startsWith(`- ${r.kind} ${r.value}  `)), `${r.kind} ${r.value}`).toBe(true)
        expect(lines.filter((l) => /^[+-] (?:ip|host) /.test(l))).toHaveLength(plan.additions.length + plan.removals.length)
      }),
      params(3, 60)
    )
  })

  it('7d. terminal text and PR title: no ESC/CSI, no C0/C1, bidi or invisible characters besides \\n', () => {
    fc.assert(
      fc.property(planArb, (plan) => {
        const text = renderText(plan)
        expect(text).not.toMatch(TEXT_CONTROLS)
        const title = renderPrTitle(plan)
        expect(title).not.toMatch(TEXT_CONTROLS)
        expect(title).not.toContain('\n')
        expect(title.length).toBeLessThanOrEqual(72)
      }),
      params(4, 60)
    )
  })

  it('7f. re-run: what the bot\u2019s commit carries (message + list files) proposes the same values again', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const plan = buildCollectPlan(input)
        const files = { ips: formatListFile([], plan.next.ips, 'ip'), hosts: formatListFile([], plan.next.hosts, 'host') }
        const carried = carriedFromCommit({ message: renderCommitMessage(plan), files }, input.current)
        const key = (c: Candidate) => `${c.kind} ${c.value}`
        expect(carried.map(key).sort()).toEqual(plan.additions.map(key).sort())
        const again = buildCollectPlan({ ...input, carried: { additions: carried } })
        expect(again.additions.map(key)).toEqual(plan.additions.map(key))
        expect(again.next).toEqual(plan.next)
      }),
      params(7, 40)
    )
  })

  it('7e. PR body size limit with hundreds of long additions and hostile warnings: the state stays whole and parseable', () => {
    const long = fc.string({ unit: fc.constantFrom(...'abcdefghij0123456789'.split('')), minLength: 40, maxLength: 63 })
    const big = fc
      .record({
        n: fc.integer({ min: 50, max: 900 }),
        l1: long,
        l2: long,
        ips: fc.array(validIp, { minLength: 1, maxLength: 25 }),
        // Sometimes enough expanding warnings (controls become 7 characters each) to leave no room at all.
        warnings: fc.oneof(
          fc.array(hostile, { maxLength: 40 }),
          fc.array(fc.constantFrom('\u0000', '<', '@', '\u202e', '-->').map((x) => x.repeat(600)), { minLength: 25, maxLength: 40 })
        ),
        reason: hostile,
        invalid: fc.array(hostileKey, { maxLength: 60 })
      })
      .map(({ n, l1, l2, ips, warnings, reason, invalid }) => {
        const hostFailures = new Map<string, Stats>()
        const hostIps = new Map<string, Set<string>>()
        for (let i = 0; i < n; i++) {
          const h = `h${i}-${l1}.${l2}.example.com`
          hostFailures.set(h, { sessions: 1 + (i % 17), devices: 1 + (i % 5), users: 1, firstSeen: T0, lastSeen: NOW - i })
          hostIps.set(h, new Set(ips))
        }
        for (const x of invalid) hostFailures.set(x, { sessions: 3, devices: 1, users: 1, firstSeen: T0, lastSeen: NOW })
        for (let i = 0; i < n / 4; i++) hostFailures.set(`x${i}.google.com`, { sessions: 9, devices: 9, users: 1, firstSeen: T0, lastSeen: NOW })
        const observations: Observations = {
          window: { from: T0, to: NOW },
          hostFailures,
          ipFailures: new Map(),
          bypassedHosts: new Map(),
          hostIps,
          ipHosts: new Map(),
          stats: { source: 'logpush', records: { zero_trust_network_sessions: n }, inWindow: n, malformedLines: 0, filesRead: 1, filesSkipped: 0, filesCorrupt: 0, warnings }
        }
        return buildCollectPlan({
          observations,
          current: { ips: [], hosts: [] },
          rules: [{ kind: 'host', value: 'google.com', reason, line: 2 }],
          expiredRules: [],
          options: { minSessions: 1, minDevices: 1, maxNewEntries: Infinity, now: NOW }
        })
      })
    fc.assert(
      fc.property(big, (plan) => {
        const body = renderPrBody(plan, { lookback: '7d', source: 'logpush', runUrl: 'https://github.com/o/r/actions/runs/1' })
        expect(body.length).toBeLessThanOrEqual(PR_BODY_LIMIT)
        checkState(body, plan)
        checkMarkdown(body, { state: true, runUrl: 'https://github.com/o/r/actions/runs/1' })
      }),
      params(5, 8)
    )
  })
})

// ---------------------------------------------------------------------------------------
// Counterexamples found by the properties, kept as plain cases.

function planWith(host: string, stats: Partial<Stats> = {}, extra: { carried?: Candidate[] } = {}): CollectPlan {
  return buildCollectPlan({
    observations: {
      window: { from: T0, to: NOW },
      hostFailures: new Map([[host, { sessions: 5, devices: 2, users: 2, firstSeen: T0, lastSeen: NOW, ...stats }]]),
      ipFailures: new Map(),
      bypassedHosts: new Map(),
      hostIps: new Map(),
      ipHosts: new Map(),
      stats: { source: 'logpush', records: { zero_trust_network_sessions: 1 }, inWindow: 1, malformedLines: 0, filesRead: 1, filesSkipped: 0, filesCorrupt: 0, warnings: [] }
    },
    current: { ips: [], hosts: [] },
    rules: [],
    expiredRules: [],
    options: { minSessions: 1, minDevices: 1, maxNewEntries: Infinity, now: NOW },
    ...(extra.carried ? { carried: { additions: extra.carried } } : {})
  })
}

describe('counterexamples (regressions)', () => {
  // renderCommitMessage wrote values through plain() → defuseLinkers, so `www.` in a
  // canonical hostname became `www\u200b.` and `git log --grep www.example.com` missed it.
  it('7c. the commit message names www. hostnames verbatim (also with an underscore label)', () => {
    for (const host of ['www.example.com', 'www.under_score.example.org']) {
      const plan = planWith(host)
      expect(plan.additions.map((a) => a.value)).toEqual([host])
      expect(renderCommitMessage(plan)).toContain(`+ host ${host}  `)
    }
  })

  // utc()/isoMinute() checked `ms > 0 && isFinite(ms)` but not the Date range (8.64e15 ms),
  // so `new Date(ms).toISOString()` threw. Carried stats come from the editable PR state: a
  // lastSeen of 9e15 there made every collect run crash.
  it('7. a timestamp beyond the Date range does not make the renderers throw', () => {
    const carried: Candidate = {
      kind: 'host',
      value: 'carried.example.com',
      source: 'tls-error',
      stats: { sessions: 1, devices: 1, users: 1, firstSeen: 1, lastSeen: 9e15 },
      otherSide: [],
      otherSideTotal: 0
    }
    const plan = planWith('api.example.com', {}, { carried: [carried] })
    expect(() => renderPrBody(plan, { lookback: '7d', source: 'logpush' })).not.toThrow()
    expect(() => renderCommitMessage(plan)).not.toThrow()
    expect(() => renderText(plan)).not.toThrow()
  })
})
