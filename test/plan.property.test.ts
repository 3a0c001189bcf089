/**
 * Property-based tests of the collect planner (`buildCollectPlan`) under hostile input.
 *
 * Log values are attacker-influenced (a client chooses its SNI), so the observations mix
 * valid hostnames and IPs (in every spelling that canonicalises alike: upper case, trailing
 * dot, fullwidth, soft hyphen, IPv4-mapped IPv6, expanded IPv6) with hostile strings
 * (markup, controls, IP literals as SNI, 10k-character strings). Every expectation is
 * computed here from the raw input with the public helpers of `values.ts` and
 * `exclusions.ts` (an independent oracle), never by re-reading the planner's own output.
 *
 * Runs are deterministic and fast: a fixed seed and at most 50 runs per property.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { matchHost, matchIp, parseExclusions } from '../action/src/core/exclusions.js'
import { formatListFile, parseListFile } from '../action/src/core/listfile.js'
import { buildCollectPlan, compareStrength, type CollectInput } from '../action/src/core/plan.js'
import { GUARD_MAX_REMOVAL_RATIO, GUARD_MIN_OWNED } from '../action/src/core/sync-plan.js'
import type { Candidate, CollectOptions, CollectPlan, EntryKind, ExclusionRule, Observations, Stats } from '../action/src/core/types.js'
import {
  canonicalHost,
  canonicalIp,
  canonicalValue,
  compareHosts,
  compareIps,
  compareValues,
  hostUnderDomain,
  ipInNetwork,
  ipv6EmbeddingOf,
  isIpLiteral
} from '../action/src/core/values.js'

const SEED = 20261122
const RUNS = 50
const DAY = 86_400_000
const NOW = Date.UTC(2026, 10, 22, 12)
const T0 = NOW - 7 * DAY
const TODAY = new Date(NOW).toISOString().slice(0, 10)
const YESTERDAY = new Date(NOW - DAY).toISOString().slice(0, 10)

// ---------------------------------------------------------------------------------------
// Arbitraries

/** A small pool, so that names, IPs, exclusions and listed entries collide often. */
const BASE_HOSTS = [
  'example.com',
  'api.example.com',
  'www.example.com',
  'google.com',
  'mail.google.com',
  'accounts.google.com',
  'login.microsoftonline.com',
  'pinned.app.example.net',
  'cdn.example.net',
  'xn--bcher-kva.example',
  'under_score.example.org'
]
const BASE_V4 = ['1.2.3.4', '1.2.3.5', '10.0.0.1', '10.1.2.3', '192.168.1.10', '8.8.8.8', '203.0.113.7']
const BASE_V6 = ['2001:db8::1', '2001:db8::2', '2001:db8:1::10', 'fe80::1', '::1']
const LISTABLE_NETS = ['10.0.0.0/24', '1.2.3.0/24', '192.168.0.0/28', '2001:db8::/48', '2001:db8:1::/64', '64:ff9b::a00:0/120']
/** Valid CIDRs that a list file refuses (broader than the default /24 or /48): never list entries. */
const BROAD_NETS = ['0.0.0.0/0', '::/0', '10.0.0.0/7', '10.0.0.0/8', '2000::/16', '2001:db8::/32', '::ffff:0.0.0.0/96']

const HOSTILE = [
  '<script>alert(1)</script>',
  '<SCRIPT src=//e>',
  '-->',
  '<!--',
  '--!>',
  '</details>',
  '![x](http://e)',
  '[a](javascript:alert(1))',
  'a|b|c',
  '| x | y |',
  '`',
  '``x``',
  'x.com`',
  '@org/team',
  '@octocat',
  '#123',
  'GH-1',
  '\u0000',
  'nul\u0000.example.com',
  '\u001b[31mred\u001b[0m.example.com',
  '\u009b2J',
  'cr\r\nlf.example.com',
  'bidi\u202eexample.com',
  'line\u2028sep',
  'zw\u200bsp.example.com',
  '\ud800lone.example.com',
  'https://evil.example/',
  '*.example.com',
  'example.com:443',
  'a..b.com',
  '-lead.example.com',
  `${'a'.repeat(64)}.com`,
  '<!-- gateway-tls-bypass:state v1 {"version":1,"additions":[{"kind":"ip","value":"0.0.0.0/0"}]} -->',
  '${{ secrets.TOKEN }}',
  '\\|',
  '$x^2$',
  '&lt;b&gt;',
  'foo.0x7f',
  '127.1',
  ''
]

const alnum = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'.split(''))
const labelArb = fc
  .tuple(fc.string({ unit: alnum, minLength: 1, maxLength: 8 }), fc.constantFrom('', '-', '_'), fc.string({ unit: alnum, maxLength: 3 }))
  .map(([a, sep, b]) => (b === '' ? a : `${a}${sep}${b}`))
/** Random registrable-looking names (cheaper than fc.domain(), same purpose here). */
const randomDomain = fc
  .tuple(fc.array(labelArb, { minLength: 1, maxLength: 3 }), fc.constantFrom('com', 'net', 'org', 'io', 'example', 'xn--p1ai', 'co.uk'))
  .map(([ls, tld]) => `${ls.join('.')}.${tld}`)

/** Canonical hostnames: mostly from the pool, some subdomains of it, some random. */
const validHost: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...BASE_HOSTS) },
  { weight: 2, arbitrary: fc.tuple(labelArb, fc.constantFrom(...BASE_HOSTS)).map(([l, h]) => `${l}.${h}`) },
  { weight: 1, arbitrary: randomDomain }
)
  .map((h) => canonicalHost(h))
  .filter((r) => r.ok)
  .map((r) => (r.ok ? r.value : ''))

const validIp: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...BASE_V4, ...BASE_V6) },
  { weight: 1, arbitrary: fc.ipV4() },
  { weight: 1, arbitrary: fc.ipV6() }
).map((ip) => {
  const c = canonicalIp(ip)
  return c.ok ? c.value : '1.2.3.4'
})

/** ASCII letters and digits as their fullwidth forms (IDNA maps them back). */
const FULLWIDTH = (s: string): string => s.replace(/[a-z0-9]/g, (c) => String.fromCodePoint(c.charCodeAt(0) - 0x20 + 0xff00))

/** `2001:db8::1` → `2001:0db8:0000:0000:0000:0000:0000:0001` (still the same address). */
function expandV6(ip: string): string {
  const [head = '', tail = ''] = ip.split('::')
  const h = head ? head.split(':') : []
  const t = tail ? tail.split(':') : []
  const groups = ip.includes('::') ? [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t] : h
  return groups.map((g) => g.padStart(4, '0')).join(':')
}

/** Spellings of a canonical hostname that canonicalise back to it. */
function hostSpellings(h: string): fc.Arbitrary<string> {
  const variants = [h, h.toUpperCase(), `${h}.`, `${h.slice(0, 1)}\u00ad${h.slice(1)}`]
  if (h === 'xn--bcher-kva.example') variants.push('bücher.example', 'BÜCHER.example')
  if (/^[a-z.]+$/.test(h)) variants.push(FULLWIDTH(h))
  return fc.oneof(fc.constantFrom(...variants), fc.mixedCase(fc.constant(h)))
}

/** Spellings of a canonical IP that canonicalise back to it. */
function ipSpellings(ip: string): fc.Arbitrary<string> {
  if (!ip.includes(':')) return fc.constantFrom(ip, `::ffff:${ip}`, `::FFFF:${ip}`, `0:0:0:0:0:ffff:${ip}`)
  return fc.oneof(fc.constantFrom(ip, ip.toUpperCase(), expandV6(ip)), fc.mixedCase(fc.constant(ip)))
}

/** An IP literal in any form a client might put in an SNI field. */
const ipLiteralSni: fc.Arbitrary<string> = validIp.chain((ip) =>
  ip.includes(':')
    ? fc.constantFrom(ip, `[${ip}]`, `${ip}%eth0`, `[${ip}%25en0]`, ip.toUpperCase())
    : fc.constantFrom(ip, `::ffff:${ip}`, `[::ffff:${ip}]`, `${ip}.`, FULLWIDTH(ip).replace(/\./g, '\uff0e'), `${ip}:443`, ` ${ip} `)
)

const uuidPlanted = fc.uuid().map((u) => `device-${u}`)

/** Hostile strings: fixed nasties, random (binary) strings, combinations, and huge ones. */
const hostile: fc.Arbitrary<string> = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...HOSTILE) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...HOSTILE), validHost).map(([x, h]) => `${x}.${h}`) },
  { weight: 1, arbitrary: fc.tuple(validHost, fc.constantFrom(...HOSTILE)).map(([h, x]) => `${h}${x}`) },
  { weight: 1, arbitrary: fc.tuple(uuidPlanted, fc.constantFrom(...HOSTILE)).map(([u, x]) => `${u}${x}`) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom(...HOSTILE.filter((h) => h !== '')), fc.integer({ min: 300, max: 10_000 }))
      .map(([x, n]) => x.repeat(Math.ceil(n / x.length)).slice(0, n))
  },
  // Over-long names sharing their first 300 characters: they truncate alike in `invalid`.
  { weight: 1, arbitrary: fc.integer({ min: 298, max: 320 }).map((n) => `a.${'b'.repeat(n)}`) }
)

/** What a source may put in an SNI-keyed map. */
const sniKey: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: validHost.chain(hostSpellings) },
  { weight: 2, arbitrary: ipLiteralSni },
  { weight: 3, arbitrary: hostile }
)

/** What a source may put in an origin-IP-keyed map. */
const ipKey: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: validIp.chain(ipSpellings) },
  { weight: 1, arbitrary: fc.constantFrom(...LISTABLE_NETS, '1.2.3.4/32', '01.2.3.4', '1.2.3.4.', '[2001:db8::1]', 'fe80::1%eth0') },
  { weight: 1, arbitrary: validHost },
  { weight: 2, arbitrary: hostile }
)

const count = (max: number): fc.Arbitrary<number> =>
  fc.oneof({ weight: 12, arbitrary: fc.integer({ min: 0, max }) }, { weight: 1, arbitrary: fc.constantFrom(Number.NaN, -1, Infinity) })
const time = fc.integer({ min: T0, max: NOW })
const statsArb: fc.Arbitrary<Stats> = fc.record({ sessions: count(40), devices: count(8), users: count(8), firstSeen: time, lastSeen: time })

/** Observations as arrays, so that tests can rebuild them in another insertion order. */
interface RawObs {
  hostFailures: [string, Stats][]
  ipFailures: [string, Stats][]
  bypassedHosts: [string, Stats][]
  hostIps: [string, string[]][]
  ipHosts: [string, string[]][]
  warnings: string[]
}

const rawObsArb: fc.Arbitrary<RawObs> = fc.record({
  hostFailures: fc.array(fc.tuple(sniKey, statsArb), { maxLength: 14 }),
  ipFailures: fc.array(fc.tuple(ipKey, statsArb), { maxLength: 10 }),
  bypassedHosts: fc.array(fc.tuple(sniKey, statsArb), { maxLength: 6 }),
  hostIps: fc.array(fc.tuple(sniKey, fc.array(ipKey, { maxLength: 4 })), { maxLength: 8 }),
  ipHosts: fc.array(fc.tuple(ipKey, fc.array(sniKey, { maxLength: 4 })), { maxLength: 8 }),
  warnings: fc.array(hostile, { maxLength: 2 })
})

type Order = <T>(xs: T[]) => T[]
const asIs: Order = (xs) => xs

function toObservations(raw: RawObs, order: Order = asIs): Observations {
  const stats = (xs: [string, Stats][]) => new Map(order(xs.map(([k, s]) => [k, { ...s }] as [string, Stats])))
  const sets = (xs: [string, string[]][]) => {
    // Build with the original order first (so duplicate keys merge the same way), then reorder.
    const m = new Map<string, Set<string>>()
    for (const [k, vs] of xs) {
      const s = m.get(k) ?? new Set<string>()
      for (const v of vs) s.add(v)
      m.set(k, s)
    }
    return new Map(order([...m].map(([k, s]) => [k, new Set(order([...s]))] as [string, Set<string>])))
  }
  // Duplicate keys in a Map keep the last value: resolve that before reordering.
  const dedupe = (xs: [string, Stats][]) => [...new Map(xs)]
  return {
    window: { from: T0, to: NOW },
    hostFailures: stats(dedupe(raw.hostFailures)),
    ipFailures: stats(dedupe(raw.ipFailures)),
    bypassedHosts: stats(dedupe(raw.bypassedHosts)),
    hostIps: sets(raw.hostIps),
    ipHosts: sets(raw.ipHosts),
    stats: {
      source: 'logpush',
      records: { zero_trust_network_sessions: 100, gateway_http: 10 },
      inWindow: 100,
      malformedLines: 0,
      filesRead: 1,
      filesSkipped: 0,
      filesCorrupt: 0,
      warnings: raw.warnings
    }
  }
}

const HOST_RULE_VALUES = ['example.com', 'google.com', 'mail.google.com', 'example.net', 'microsoftonline.com', 'app.example.net', 'example.org']
const IP_RULE_VALUES = [...BASE_V4, ...BASE_V6, '10.0.0.0/8', '1.2.3.0/24', '1.2.3.4/31', '2001:db8::/32', '192.168.0.0/16', '::/0']
  .map((v) => canonicalIp(v))
  .flatMap((r) => (r.ok ? [r.value] : []))

const expiresArb = fc.constantFrom(undefined, undefined, '2099-12-31', TODAY, YESTERDAY, '2020-01-01')
const reasonArb = fc.oneof(fc.constantFrom('tenant control', 'DLP applies here'), hostile)

const ruleSpec = fc.record({
  kind: fc.constantFrom<EntryKind>('host', 'ip'),
  host: fc.oneof(fc.constantFrom(...HOST_RULE_VALUES), validHost),
  ip: fc.oneof(fc.constantFrom(...IP_RULE_VALUES), validIp),
  reason: reasonArb,
  expires: expiresArb
})

/** Rules as objects with canonical values (as the loader returns them). */
const ruleObjects: fc.Arbitrary<{ rules: ExclusionRule[]; expired: ExclusionRule[] }> = fc.array(ruleSpec, { maxLength: 6 }).map((specs) => ({
  rules: specs.map((s, i) => ({
    kind: s.kind,
    value: s.kind === 'host' ? s.host : s.ip,
    reason: s.reason,
    line: i + 2,
    ...(s.expires ? { expires: s.expires } : {})
  })),
  expired: []
}))

/** Rules through the real parser, with non-canonical spellings in the YAML. */
const ruleYaml: fc.Arbitrary<{ rules: ExclusionRule[]; expired: ExclusionRule[] }> = fc
  .array(
    ruleSpec.chain((s) =>
      (s.kind === 'host' ? hostSpellings(s.host).filter((v) => !v.includes('\u00ad')) : s.ip.includes('/') ? fc.constant(s.ip) : ipSpellings(s.ip)).map(
        (value) => ({ ...s, value })
      )
    ),
    { maxLength: 6 }
  )
  .map((specs) => {
    const text = [
      'exclusions:',
      ...specs.flatMap((s) => [
        `  - value: ${JSON.stringify(s.value)}`,
        `    reason: ${JSON.stringify(s.reason.trim() === '' ? 'x' : s.reason)}`,
        ...(s.expires ? [`    expires: "${s.expires}"`] : [])
      ])
    ].join('\n')
    const parsed = parseExclusions(text, 'exclusions.yaml', NOW)
    return { rules: parsed.rules, expired: parsed.expired }
  })

const currentArb = fc.record({
  ips: fc.uniqueArray(fc.oneof(validIp, fc.constantFrom(...LISTABLE_NETS)), { maxLength: 6 }).map((xs) => [...xs].sort(compareIps)),
  hosts: fc.uniqueArray(validHost, { maxLength: 6 }).map((xs) => [...xs].sort(compareHosts))
})

const optionsArb: fc.Arbitrary<CollectOptions> = fc.record({
  minSessions: fc.integer({ min: 0, max: 6 }),
  minDevices: fc.integer({ min: 0, max: 3 }),
  maxNewEntries: fc.oneof(fc.integer({ min: 0, max: 8 }), fc.constant(Infinity)),
  now: fc.constant(NOW)
})

const importsArb = fc.array(
  fc.oneof(
    validHost.chain(hostSpellings).map((value) => ({ kind: 'host' as EntryKind, value })),
    fc.oneof(validIp.chain(ipSpellings), fc.constantFrom(...LISTABLE_NETS, ...BROAD_NETS)).map((value) => ({ kind: 'ip' as EntryKind, value })),
    fc.tuple(fc.constantFrom<EntryKind>('host', 'ip'), hostile).map(([kind, value]) => ({ kind, value }))
  ),
  { maxLength: 3 }
)

/** Proposals carried from an open PR's state: canonical values (some too broad for a list) plus junk. */
const carriedArb = fc.array(
  fc
    .tuple(
      fc.oneof(
        validHost.map((value) => ({ kind: 'host' as EntryKind, value })),
        fc.oneof(validIp, fc.constantFrom(...LISTABLE_NETS, ...BROAD_NETS)).map((value) => ({ kind: 'ip' as EntryKind, value })),
        fc.tuple(fc.constantFrom<EntryKind>('host', 'ip'), hostile).map(([kind, value]) => ({ kind, value }))
      ),
      statsArb,
      fc.constantFrom('tls-error', 'bypass-log', 'dashboard', '<b>x</b>'),
      fc.array(fc.oneof(validIp, validHost, hostile), { maxLength: 3 })
    )
    .map(([kv, stats, source, otherSide]) => ({ ...kv, source, stats, otherSide, otherSideTotal: otherSide.length }) as Candidate),
  { maxLength: 3 }
)

interface Case {
  raw: RawObs
  current: { ips: string[]; hosts: string[] }
  exclusions: { rules: ExclusionRule[]; expired: ExclusionRule[] }
  options: CollectOptions
  imports: { kind: EntryKind; value: string }[]
  carried: Candidate[]
}

const caseArb = (extras: boolean): fc.Arbitrary<Case> =>
  fc.record({
    raw: rawObsArb,
    current: currentArb,
    exclusions: fc.oneof(ruleObjects, ruleYaml),
    options: optionsArb,
    imports: extras ? importsArb : fc.constant([]),
    carried: extras ? carriedArb : fc.constant([])
  })

function inputOf(c: Case, order: Order = asIs): CollectInput {
  return {
    observations: toObservations(c.raw, order),
    current: { ips: order([...c.current.ips]), hosts: order([...c.current.hosts]) },
    rules: c.exclusions.rules,
    expiredRules: c.exclusions.expired,
    options: c.options,
    imports: order([...c.imports]),
    carried: { additions: c.carried }
  }
}

// ---------------------------------------------------------------------------------------
// The oracle: everything recomputed from the raw input with the public helpers.

const num = (x: unknown): number => (typeof x === 'number' && Number.isFinite(x) && x >= 0 ? x : 0)

/** A logged SNI as the planner must read it: IP literals in any form are never hostnames. */
function sniToHost(raw: string): string | undefined {
  if (isIpLiteral(raw.trim())) return undefined
  const c = canonicalHost(raw)
  return c.ok ? c.value : undefined
}

/** A logged origin IP: one address, never a network. */
function toAddress(raw: string): string | undefined {
  const c = canonicalIp(raw)
  return c.ok && !c.value.includes('/') ? c.value : undefined
}

const key = (kind: EntryKind, value: string): string => `${kind} ${value}`

/** What a list file accepts (it refuses networks broader than /8 or /32). */
const listable = (kind: EntryKind, value: string): boolean => parseListFile(`${value}\n`, { kind, file: 'x' }).problems.length === 0

const isExpired = (r: ExclusionRule): boolean => {
  if (r.expires === undefined) return false
  const [y, m, d] = r.expires.split('-').map(Number)
  return NOW >= Date.UTC(y ?? 0, (m ?? 1) - 1, (d ?? 1) + 1)
}

interface Oracle {
  active: ExclusionRule[]
  /** Canonical hostnames seen on each canonical origin IP (both directions of the logs). */
  namesOn: Map<string, Set<string>>
  /** Merged candidates from the logs, imports and carried proposals. */
  /** `carriedMeets`: the carried proposal's recorded evidence meets the thresholds (the last one for a value wins). */
  candidates: Map<string, { kind: EntryKind; value: string; sessions: number; devices: number; imported: boolean; carried: boolean; carriedMeets?: boolean }>
  listed: (kind: EntryKind, value: string) => boolean
  /** The active rules that cover a value (directly, by containment, or via a name seen on it). */
  coveringRules: (kind: EntryKind, value: string) => { rule: ExclusionRule; via?: string }[]
  ipFailureKeys: Set<string>
}

function oracle(input: CollectInput): Oracle {
  const obs = input.observations
  const active = input.rules.filter((r) => !isExpired(r))
  const namesOn = new Map<string, Set<string>>()
  const seen = (ip: string | undefined, host: string | undefined): void => {
    if (ip === undefined || host === undefined) return
    const s = namesOn.get(ip) ?? new Set<string>()
    s.add(host)
    namesOn.set(ip, s)
  }
  for (const [ip, hosts] of obs.ipHosts) for (const h of hosts) seen(toAddress(ip), sniToHost(h))
  for (const [h, ips] of obs.hostIps) for (const ip of ips) seen(toAddress(ip), sniToHost(h))

  const candidates: Oracle['candidates'] = new Map()
  const add = (kind: EntryKind, value: string | undefined, s: Partial<Stats>, flags: { imported?: boolean; carried?: boolean } = {}): void => {
    if (value === undefined) return
    const k = key(kind, value)
    const prev = candidates.get(k) ?? { kind, value, sessions: 0, devices: 0, imported: false, carried: false }
    candidates.set(k, {
      ...prev,
      sessions: prev.sessions + num(s.sessions),
      devices: Math.max(prev.devices, num(s.devices)),
      imported: prev.imported || !!flags.imported,
      carried: prev.carried || !!flags.carried
    })
  }
  for (const [raw, s] of obs.hostFailures) add('host', sniToHost(raw), s)
  for (const [raw, s] of obs.bypassedHosts) add('host', sniToHost(raw), s)
  const ipFailureKeys = new Set<string>()
  for (const [raw, s] of obs.ipFailures) {
    const ip = toAddress(raw)
    if (ip !== undefined) ipFailureKeys.add(ip)
    add('ip', ip, s)
  }
  for (const item of input.imports ?? []) {
    const c = canonicalValue(item.kind, item.value)
    if (c.ok && listable(item.kind, c.value)) add(item.kind, c.value, {}, { imported: true })
  }
  for (const item of input.carried?.additions ?? []) {
    const c = canonicalValue(item.kind, item.value)
    // Carried proposals do not add to this run's counts: only mark them.
    if (c.ok && listable(item.kind, c.value)) {
      const k = key(item.kind, c.value)
      const carriedMeets = num(item.stats?.sessions) >= input.options.minSessions && num(item.stats?.devices) >= input.options.minDevices
      const prev = candidates.get(k)
      if (prev) Object.assign(prev, { carried: true, carriedMeets })
      else candidates.set(k, { kind: item.kind, value: c.value, sessions: 0, devices: 0, imported: false, carried: true, carriedMeets })
    }
  }

  const listedHosts = new Set(input.current.hosts)
  const listed = (kind: EntryKind, value: string): boolean =>
    kind === 'host' ? listedHosts.has(value) : input.current.ips.some((l) => l === value || (l.includes('/') && ipInNetwork(value, l)))

  const coveringRules = (kind: EntryKind, value: string): { rule: ExclusionRule; via?: string }[] => {
    const out: { rule: ExclusionRule; via?: string }[] = []
    for (const r of active) {
      if (kind === 'host') {
        if (r.kind === 'host' && hostUnderDomain(value, r.value)) out.push({ rule: r })
        continue
      }
      // Across versions, an IPv6 spelling (NAT64, 6to4, ...) of an IPv4 range is that range.
      const embeds = ipv6EmbeddingOf(value, r.value) !== undefined || ipv6EmbeddingOf(r.value, value) !== undefined
      if (r.kind === 'ip' && (ipInNetwork(value, r.value) || ipInNetwork(r.value, value) || embeds)) out.push({ rule: r })
      if (r.kind === 'host') {
        for (const [ip, names] of namesOn) {
          if (ip !== value && !ipInNetwork(ip, value)) continue
          for (const n of names) if (hostUnderDomain(n, r.value)) out.push({ rule: r, via: n })
        }
      }
    }
    return out
  }
  return { active, namesOn, candidates, listed, coveringRules, ipFailureKeys }
}

function expectCanonicalSorted(kind: EntryKind, values: string[]): void {
  for (const v of values) expect(canonicalValue(kind, v), `${kind} ${JSON.stringify(v)}`).toEqual({ ok: true, value: v })
  for (let i = 1; i < values.length; i++) {
    expect(compareValues(kind, values[i - 1] ?? '', values[i] ?? ''), `${values[i - 1]} < ${values[i]}`).toBeLessThan(0)
  }
}

const keysOf = (cs: { kind: EntryKind; value: string }[]): string[] => cs.map((c) => key(c.kind, c.value)).sort()

function run(c: Case, order?: Order): { input: CollectInput; plan: CollectPlan } {
  const input = inputOf(c, order)
  return { input, plan: buildCollectPlan(input) }
}

const params = (seedOffset: number, numRuns = RUNS) => ({ seed: SEED + seedOffset, numRuns })

// ---------------------------------------------------------------------------------------

describe('collect plan under hostile input (fast-check)', () => {
  it('1. next lists, additions and every other value are canonical, sorted by values.ts, without duplicates', () => {
    fc.assert(
      fc.property(caseArb(true), (c) => {
        const { plan } = run(c)
        expectCanonicalSorted('ip', plan.next.ips)
        expectCanonicalSorted('host', plan.next.hosts)
        for (const group of [plan.additions, plan.heldBack, plan.belowThreshold, plan.suppressed.map((s) => s.candidate), plan.removals]) {
          for (const x of group) expect(canonicalValue(x.kind, x.value), `${x.kind} ${JSON.stringify(x.value)}`).toEqual({ ok: true, value: x.value })
        }
        const additionsByKind = (k: EntryKind) => plan.additions.filter((a) => a.kind === k).map((a) => a.value)
        expectCanonicalSorted('ip', [...additionsByKind('ip')].sort(compareIps))
        expectCanonicalSorted('host', [...additionsByKind('host')].sort(compareHosts))
        // No value is in two buckets at once.
        const buckets = [plan.additions, plan.heldBack, plan.belowThreshold, plan.suppressed.map((s) => s.candidate)].flatMap(keysOf)
        expect(new Set(buckets).size).toBe(buckets.length)
        // A canonical hostname is a DNS name to every parser: never an IP literal, and WHATWG URL agrees.
        for (const h of plan.next.hosts) {
          expect(isIpLiteral(h)).toBe(false)
          expect(new URL(`https://${h}/`).hostname).toBe(h)
        }
        // Other sides are canonical values of the other kind.
        for (const x of [...plan.additions, ...plan.heldBack, ...plan.belowThreshold]) {
          const other: EntryKind = x.kind === 'host' ? 'ip' : 'host'
          for (const v of x.otherSide) expect(canonicalValue(other, v)).toEqual({ ok: true, value: v })
          expect(x.otherSideTotal).toBeGreaterThanOrEqual(x.otherSide.length)
        }
      }),
      params(1)
    )
  })

  it('1b. the next lists are writable: they round-trip through the list-file format without problems', () => {
    // Carried and imported values include networks broader than a list file allows.
    fc.assert(
      fc.property(caseArb(true), (c) => {
        const { plan } = run(c)
        for (const kind of ['ip', 'host'] as const) {
          const entries = kind === 'ip' ? plan.next.ips : plan.next.hosts
          const parsed = parseListFile(formatListFile(['# header'], entries, kind), { kind, file: 'lists/x.txt' })
          expect(parsed.problems).toEqual([])
          expect(parsed.entries).toEqual(entries)
        }
      }),
      params(2, 50)
    )
  })

  it('2. IP additions come only from ipFailures keys: never from an SNI (IP literal, bracketed, zoned, IPv4-mapped)', () => {
    fc.assert(
      fc.property(caseArb(false), (c) => {
        const { input, plan } = run(c)
        const o = oracle(input)
        for (const x of [...plan.additions, ...plan.heldBack, ...plan.belowThreshold, ...plan.suppressed.map((s) => s.candidate)]) {
          if (x.kind === 'ip') expect(o.ipFailureKeys.has(x.value), `IP ${x.value} not from ipFailures`).toBe(true)
          else expect(isIpLiteral(x.value)).toBe(false)
        }
        // Every IP-literal SNI is reported invalid as a host, with the IP-literal reason.
        for (const [raw] of [...input.observations.hostFailures, ...input.observations.bypassedHosts]) {
          if (!isIpLiteral(raw.trim())) continue
          const inv = plan.invalid.find((v) => v.kind === 'host' && v.raw === raw)
          expect(inv?.reason).toMatch(/IP literal/)
        }
      }),
      params(3)
    )
  })

  it('2b. an IP-literal SNI in every spelling never yields an IP candidate, even with huge counts', () => {
    fc.assert(
      fc.property(fc.array(ipLiteralSni, { minLength: 1, maxLength: 8 }), (snis) => {
        const big: Stats = { sessions: 1e6, devices: 1e4, users: 1e4, firstSeen: T0, lastSeen: NOW }
        const raw: RawObs = {
          hostFailures: snis.map((s) => [s, big]),
          bypassedHosts: snis.map((s) => [s, big]),
          ipFailures: [],
          hostIps: snis.map((s) => [s, [s]]),
          ipHosts: snis.map((s) => [s, [s]]),
          warnings: []
        }
        const plan = buildCollectPlan(inputOf({ raw, current: { ips: [], hosts: [] }, exclusions: { rules: [], expired: [] }, options: { minSessions: 0, minDevices: 0, maxNewEntries: Infinity, now: NOW }, imports: [], carried: [] }))
        expect(plan.additions).toEqual([])
        expect(plan.next).toEqual({ ips: [], hosts: [] })
        expect(plan.invalid.length).toBeGreaterThan(0)
      }),
      params(4, 50)
    )
  })

  it('3. nothing excluded is proposed (directly, by containment, or via an excluded name seen on an IP); stopped candidates are reported with the rule', () => {
    fc.assert(
      fc.property(caseArb(true), (c) => {
        const { input, plan } = run(c)
        const o = oracle(input)
        for (const x of [...plan.additions, ...plan.heldBack]) {
          expect(o.coveringRules(x.kind, x.value), `${x.kind} ${x.value} is excluded`).toEqual([])
          if (x.kind === 'host') expect(matchHost(o.active, x.value)).toBeUndefined()
          else expect(matchIp(o.active, x.value)).toBeUndefined()
        }
        // Every excluded candidate that would otherwise be proposed is in `suppressed`, and
        // everything in `suppressed` is an excluded, unlisted candidate, with an active rule that covers it.
        const mustReport: string[] = []
        const mayReport = new Set<string>()
        for (const [k, cand] of o.candidates) {
          if (o.listed(cand.kind, cand.value) || o.coveringRules(cand.kind, cand.value).length === 0) continue
          mayReport.add(k)
          const passes = cand.imported || (cand.sessions >= input.options.minSessions && cand.devices >= input.options.minDevices)
          if (passes || cand.carried) mustReport.push(k)
        }
        const reported = keysOf(plan.suppressed.map((s) => s.candidate))
        expect(new Set(reported).size).toBe(reported.length)
        for (const k of mustReport) expect(reported).toContain(k)
        for (const k of reported) expect(mayReport.has(k), `${k} suppressed but not an excluded candidate`).toBe(true)
        for (const s of plan.suppressed) {
          expect(o.active).toContain(s.rule)
          const covering = o.coveringRules(s.candidate.kind, s.candidate.value)
          expect(covering.some((r) => r.rule === s.rule && r.via === s.via)).toBe(true)
          if (s.candidate.kind === 'host') expect(s.rule).toBe(matchHost(o.active, s.candidate.value))
          else if (matchIp(o.active, s.candidate.value)) expect(s.rule).toBe(matchIp(o.active, s.candidate.value))
          if (s.via !== undefined) expect(s.rule).toBe(matchHost(o.active, s.via))
        }
        // Expired rules never act.
        const expired = [...input.rules.filter(isExpired), ...input.expiredRules]
        for (const r of [...plan.suppressed.map((s) => s.rule), ...plan.removals.map((x) => x.rule)]) expect(expired).not.toContain(r)
      }),
      params(5)
    )
  })

  it('4. the cap holds; additions ∪ held back are exactly the candidates that passed exclusions and thresholds; strongest first', () => {
    fc.assert(
      fc.property(caseArb(true), (c) => {
        const { input, plan } = run(c)
        const o = oracle(input)
        const { minSessions, minDevices, maxNewEntries } = input.options
        expect(plan.additions.length).toBeLessThanOrEqual(maxNewEntries)
        const eligible: string[] = []
        const below: string[] = []
        for (const [k, cand] of o.candidates) {
          if (o.listed(cand.kind, cand.value) || o.coveringRules(cand.kind, cand.value).length > 0) continue
          const passes = cand.imported || (cand.sessions >= minSessions && cand.devices >= minDevices)
          // A carried proposal stays while this run's or its recorded evidence meets the thresholds.
          if (passes || (cand.carried && cand.carriedMeets)) eligible.push(k)
          else below.push(k)
        }
        expect([...keysOf(plan.additions), ...keysOf(plan.heldBack)].sort()).toEqual(eligible.sort())
        expect(keysOf(plan.belowThreshold)).toEqual(below.sort())
        expect(plan.additions.length).toBe(Math.min(eligible.length, maxNewEntries))
        const carried = new Set([...o.candidates.values()].filter((x) => x.carried).map((x) => key(x.kind, x.value)))
        for (const a of plan.additions) {
          if (a.source === 'dashboard' || carried.has(key(a.kind, a.value))) continue
          expect(a.stats.sessions).toBeGreaterThanOrEqual(minSessions)
          expect(a.stats.devices).toBeGreaterThanOrEqual(minDevices)
        }
        // The strongest are proposed: nothing held back is stronger than any addition.
        const weakest = plan.additions[plan.additions.length - 1]
        for (const h of plan.heldBack) if (weakest) expect(compareStrength(weakest, h)).toBeLessThan(0)
        for (let i = 1; i < plan.additions.length; i++) expect(compareStrength(plan.additions[i - 1]!, plan.additions[i]!)).toBeLessThan(0)
      }),
      params(6)
    )
  })

  it('5. removals are exactly the listed entries an active exclusion covers; next = current ∪ additions − removals', () => {
    fc.assert(
      fc.property(caseArb(true), (c) => {
        const { input, plan } = run(c)
        const o = oracle(input)
        const covered = [
          ...input.current.hosts.filter((h) => o.coveringRules('host', h).length > 0).map((v) => key('host', v)),
          ...input.current.ips.filter((ip) => o.coveringRules('ip', ip).length > 0).map((v) => key('ip', v))
        ].sort()
        expect(keysOf(plan.removals)).toEqual(covered)
        for (const r of plan.removals) {
          const covering = o.coveringRules(r.kind, r.value)
          expect(covering.some((x) => x.rule === r.rule && x.via === r.via)).toBe(true)
        }
        const removed = new Set(keysOf(plan.removals))
        const expectNext = (kind: EntryKind, current: string[]): string[] => {
          const all = new Set([...current, ...plan.additions.filter((a) => a.kind === kind).map((a) => a.value)])
          return [...all].filter((v) => !removed.has(key(kind, v))).sort((a, b) => compareValues(kind, a, b))
        }
        expect(plan.next.hosts).toEqual(expectNext('host', input.current.hosts))
        expect(plan.next.ips).toEqual(expectNext('ip', input.current.ips))
        // Nothing added is also removed.
        for (const a of plan.additions) expect(removed.has(key(a.kind, a.value))).toBe(false)
      }),
      params(7)
    )
  })

  it('6. determinism: the same input in another Map/Set/list insertion order gives a deep-equal plan', () => {
    const shuffle = (salt: number): Order => (xs) => {
      const h = (x: unknown): number => {
        const s = JSON.stringify(x, (_k, v: unknown) => (v instanceof Set ? [...v] : v)) ?? ''
        let a = salt | 0
        for (let i = 0; i < s.length; i++) a = Math.imul(a ^ s.charCodeAt(i), 0x9e3779b1)
        return a >>> 0
      }
      return xs.map((x) => [h(x), x] as const).sort((p, q) => p[0] - q[0]).map(([, x]) => x)
    }
    fc.assert(
      fc.property(caseArb(true), fc.integer(), fc.uniqueArray(fc.integer({ min: 298, max: 330 }), { maxLength: 4 }), (c0, salt, twins) => {
        // Over-long invalid SNIs with equal counts that truncate alike: only their full text orders them.
        const same: Stats = { sessions: 2, devices: 1, users: 1, firstSeen: T0, lastSeen: T0 }
        const c = { ...c0, raw: { ...c0.raw, hostFailures: [...c0.raw.hostFailures, ...twins.map((n) => [`a.${'b'.repeat(n)}`, same] as [string, Stats])] } }
        const a = run(c).plan
        expect(run(c, (xs) => [...xs].reverse()).plan).toEqual(a)
        expect(run(c, shuffle(salt)).plan).toEqual(a)
      }),
      params(8, 35)
    )
  })

  it('never throws, whatever the input (random strings and kinds everywhere)', () => {
    const anyKey = fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), sniKey, ipKey)
    fc.assert(
      fc.property(
        fc.record({
          hostFailures: fc.array(fc.tuple(anyKey, statsArb), { maxLength: 8 }),
          ipFailures: fc.array(fc.tuple(anyKey, statsArb), { maxLength: 8 }),
          bypassedHosts: fc.array(fc.tuple(anyKey, statsArb), { maxLength: 4 }),
          hostIps: fc.array(fc.tuple(anyKey, fc.array(anyKey, { maxLength: 3 })), { maxLength: 4 }),
          ipHosts: fc.array(fc.tuple(anyKey, fc.array(anyKey, { maxLength: 3 })), { maxLength: 4 }),
          warnings: fc.array(hostile, { maxLength: 2 })
        }),
        (raw) => {
          const plan = buildCollectPlan(inputOf({ raw, current: { ips: [], hosts: [] }, exclusions: { rules: [], expired: [] }, options: { minSessions: 1, minDevices: 1, maxNewEntries: 5, now: NOW }, imports: [], carried: [] }))
          for (const v of plan.invalid) expect(v.raw.length).toBeLessThanOrEqual(300)
        }
      ),
      params(9, 60)
    )
  })
})

// ---------------------------------------------------------------------------------------
// Counterexamples found by the properties above (both fixed in c7299c2), kept as plain cases.

function minimalInput(parts: Partial<RawObs>, extra: Partial<CollectInput> = {}): CollectInput {
  const raw: RawObs = { hostFailures: [], ipFailures: [], bypassedHosts: [], hostIps: [], ipHosts: [], warnings: [], ...parts }
  return {
    ...inputOf({ raw, current: { ips: [], hosts: [] }, exclusions: { rules: [], expired: [] }, options: { minSessions: 1, minDevices: 1, maxNewEntries: Infinity, now: NOW }, imports: [], carried: [] }),
    ...extra
  }
}

describe('counterexamples (regressions)', () => {
  const s1: Stats = { sessions: 1, devices: 1, users: 1, firstSeen: T0, lastSeen: T0 }

  // `invalid` was sorted by sessions, kind, then the TRUNCATED raw text. Two over-long SNIs
  // that share their first 299 characters truncate alike but have different reasons
  // ("hostname is 402 …" / "hostname is 502 …"), so their order followed Map insertion order.
  it('6. two long invalid SNIs with a common 299-character prefix keep a deterministic order', () => {
    const a = `a.${'b'.repeat(400)}`
    const b = `a.${'b'.repeat(500)}`
    const p1 = buildCollectPlan(minimalInput({ hostFailures: [[a, s1], [b, s1]] }))
    const p2 = buildCollectPlan(minimalInput({ hostFailures: [[b, s1], [a, s1]] }))
    expect(p2.invalid).toEqual(p1.invalid)
  })

  // Carried proposals (from the editable PR state) and dashboard imports were canonicalised
  // with canonicalValue, which accepts any CIDR, without the list-file guard (no IPv4 prefix
  // shorter than /8, no IPv6 shorter than /32): 0.0.0.0/0 reached next.ips, and the list
  // file collect wrote no longer parsed.
  it('1b. a carried or imported network broader than a list file allows is not written to next.ips', () => {
    const carried: Candidate = { kind: 'ip', value: '0.0.0.0/0', source: 'tls-error', stats: s1, otherSide: [], otherSideTotal: 0 }
    for (const extra of [{ carried: { additions: [carried] } }, { imports: [{ kind: 'ip' as EntryKind, value: '::/0' }] }]) {
      const plan = buildCollectPlan(minimalInput({}, extra))
      const parsed = parseListFile(formatListFile([], plan.next.ips, 'ip'), { kind: 'ip', file: 'lists/ips.txt' })
      expect(parsed.problems).toEqual([])
    }
  })
})

describe('issue 10 lifecycle under random input (fast-check)', () => {
  const IDLE = 30
  const pool = { hosts: BASE_HOSTS.slice(0, 8), ips: [...BASE_V4, ...LISTABLE_NETS.slice(0, 4)] }
  const spellings = (ip: string): string[] => (ip.includes(':') ? [ip, ip.toUpperCase()] : [ip, `::ffff:${ip}`])
  const addresses = [...BASE_V4, '10.0.0.77', '1.2.3.200', '192.168.0.5', '2001:db8::99', '2001:db8:0:0:1::5'].flatMap(spellings)
  const age = fc.integer({ min: -2, max: 120 })
  const caseArb = fc.record({
    hosts: fc.subarray(pool.hosts),
    ips: fc.subarray(pool.ips),
    dated: fc.array(fc.tuple(fc.constantFrom(...pool.hosts.map((h) => `host:${h}`), ...pool.ips.map((ip) => `ip:${ip}`)), age), { maxLength: 20 }),
    usedHosts: fc.array(fc.tuple(fc.constantFrom(...pool.hosts, ...pool.hosts.map((h) => h.toUpperCase())), age), { maxLength: 8 }),
    usedIps: fc.array(fc.tuple(fc.constantFrom(...addresses), age), { maxLength: 8 }),
    failing: fc.array(fc.tuple(fc.constantFrom(...pool.hosts, 'new.example.org', 'other.example.net'), fc.integer({ min: 1, max: 9 })), { maxLength: 8 }),
    rejected: fc.array(fc.tuple(fc.constantFrom(...pool.hosts, 'new.example.org', 'other.example.net'), fc.integer({ min: -5, max: 200 })), { maxLength: 4 }),
    excludeGoogle: fc.boolean()
  })

  it('idle removals are exactly the dated, old, unused entries within the guard; next = current ∪ additions − removals − idle; nothing rejected is proposed', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const stats = (s: number): Stats => ({ sessions: s, devices: 1, users: 1, firstSeen: NOW - DAY, lastSeen: NOW - 1 })
        const o = toObservations({ hostFailures: [], ipFailures: [], bypassedHosts: [], hostIps: [], ipHosts: [], warnings: [] })
        for (const [h, s] of c.failing) o.hostFailures.set(h, stats(s))
        o.usage = { covers: { from: NOW - IDLE * DAY, to: NOW }, hosts: new Map(c.usedHosts.map(([h, a]) => [h, NOW - a * DAY])), ips: new Map(c.usedIps.map(([ip, a]) => [ip, NOW - a * DAY])) }
        const since = new Map(c.dated.map(([k, a]) => [k, { at: NOW - a * DAY, from: 'git' as const }]))
        const input: CollectInput = {
          observations: o,
          current: { hosts: [...c.hosts].sort(compareHosts), ips: [...c.ips].sort(compareIps) },
          rules: c.excludeGoogle ? [{ kind: 'host', value: 'google.com', reason: 'r', line: 1 }] : [],
          expiredRules: [],
          options: { minSessions: 1, minDevices: 1, maxNewEntries: Infinity, now: NOW },
          lifecycle: { idleDays: IDLE, rejectDays: 90, listedSince: since },
          rejected: c.rejected.map(([value, a], i) => ({ kind: 'host' as const, value, pr: i + 1, at: NOW - a * DAY }))
        }
        const plan = buildCollectPlan(input)
        const l = plan.lifecycle
        expect(l?.idle.judged).toBe(true)
        const excluded = new Set(keysOf(plan.removals))
        // The oracle: brute force over every usage record, with values.ts's containment.
        const start = NOW - IDLE * DAY
        const used = (kind: EntryKind, value: string): boolean =>
          kind === 'host'
            ? [...(o.usage?.hosts ?? [])].some(([h, at]) => h.toLowerCase() === value && at >= start)
            : [...(o.usage?.ips ?? [])].some(([ip, at]) => at >= start && ipInNetwork(ip, value))
        const idleWanted = [...input.current.hosts.map((v) => ['host', v] as const), ...input.current.ips.map((v) => ['ip', v] as const)]
          .filter(([kind, v]) => !excluded.has(key(kind, v)))
          .filter(([kind, v]) => {
            const s = since.get(`${kind}:${v}`)
            // A listed value with a rejection in force is a removal a reviewer refused.
            const refused = kind === 'host' && c.rejected.some(([r, a]) => r === v && a < 90)
            return s !== undefined && s.at <= NOW - IDLE * DAY && !used(kind, v) && !refused
          })
          .map(([kind, v]) => key(kind, v))
          .sort()
        const idleGot = [...(l?.idle.removals ?? []), ...(l?.idle.heldBack ?? [])]
        expect(keysOf(idleGot)).toEqual(idleWanted)
        for (const kind of ['host', 'ip'] as const) {
          const n = kind === 'host' ? input.current.hosts.length : input.current.ips.length
          const byExclusion = plan.removals.filter((r) => r.kind === kind).length
          const idle = (l?.idle.removals ?? []).filter((r) => r.kind === kind).length
          const budget = n >= GUARD_MIN_OWNED ? Math.floor(GUARD_MAX_REMOVAL_RATIO * n) : Math.max(0, n - 1)
          expect(byExclusion + idle).toBeLessThanOrEqual(Math.max(budget, byExclusion))
          // Held back only when the budget is spent.
          if ((l?.idle.heldBack ?? []).some((r) => r.kind === kind)) expect(byExclusion + idle).toBeGreaterThanOrEqual(budget)
        }
        const removed = new Set([...keysOf(plan.removals), ...keysOf(l?.idle.removals ?? [])])
        const expectNext = (kind: EntryKind, current: string[]): string[] =>
          [...new Set([...current, ...plan.additions.filter((a) => a.kind === kind).map((a) => a.value)])].filter((v) => !removed.has(key(kind, v))).sort((a, b) => compareValues(kind, a, b))
        expect(plan.next.hosts).toEqual(expectNext('host', input.current.hosts))
        expect(plan.next.ips).toEqual(expectNext('ip', input.current.ips))
        const rejectedNow = new Set(c.rejected.filter(([, a]) => a < 90).map(([v]) => v))
        for (const a of [...plan.additions, ...plan.heldBack]) expect(rejectedNow.has(a.value)).toBe(false)
        for (const r of l?.rejected ?? []) expect(rejectedNow.has(r.candidate.value)).toBe(true)
      }),
      params(40, 200)
    )
  })
})
