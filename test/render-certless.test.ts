// Renderings of certificate-less devices (issue 9): the PR body, the job summary and the terminal
// say it by counts only, tell the admin how to find the device, and list what failed only there.
import { describe, expect, it } from 'vitest'
import { buildCollectPlan } from '../action/src/core/plan.js'
import { PR_BODY_LIMIT, SUMMARY_LIMIT, renderCommitMessage, renderPrBody, renderSummary, renderText, type PrContext } from '../action/src/core/render/collect.js'
import type { CertlessPlan, CollectPlan, Observations, Stats } from '../action/src/core/types.js'

const HOUR = 3_600_000
const TO = Date.UTC(2026, 10, 15, 12, 0)
const FROM = TO - 24 * HOUR
const CTX: PrContext = { lookback: '24h', source: 'log-explorer', repository: 'acme/bypass' }

// Strings a careless source could smuggle into the report; none may ever be printed.
const DEVICE_ID = '3f9c1a2b-7d4e-4f60-9a1b-c2d3e4f5a6b7'
const EMAIL = 'alice.secret@corp.example'
const DEVICE_NAME = 'LAPTOP-ALICE77'
const USER_ID = '9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b'
const SECRETS = [DEVICE_ID, EMAIL, DEVICE_NAME, USER_ID]

function st(sessions: number, devices: number, users = devices): Stats {
  return { sessions, devices, users, firstSeen: FROM + HOUR, lastSeen: TO - HOUR }
}

/** The issue's fleet as a source reports it: the pinned app on 4 healthy devices remains a candidate. */
function issueObservations(source: 'logpush' | 'log-explorer', report: Partial<NonNullable<Observations['certless']>> = {}): Observations {
  const sites = new Map(Array.from({ length: 120 }, (_, i) => [`site${i}.example`, st(3, 1, 1)] as const))
  // Extra fields a source must not send; the planner keeps only counts.
  const tally = { failedDestinations: 120, failedSessions: 360, tlsSessions: 360, deviceId: DEVICE_ID, email: EMAIL, name: DEVICE_NAME, userId: USER_ID }
  return {
    window: { from: FROM, to: TO },
    hostFailures: new Map([['api.pinned.example', st(8, 4)]]),
    ipFailures: new Map(),
    hostIps: new Map([['api.pinned.example', new Set(['203.0.113.10'])]]),
    ipHosts: new Map(),
    bypassedHosts: new Map(),
    certless: { devices: [tally], devicesSeen: 6, sessionsExcluded: 360, onlyCertless: { hosts: sites, ips: new Map() }, ...report },
    stats: { source, records: { zero_trust_network_sessions: 2160 }, inWindow: 2160, malformedLines: 0, filesRead: 4, filesSkipped: 0, filesCorrupt: 0, warnings: [] }
  }
}

function planOf(obs: Observations): CollectPlan {
  return buildCollectPlan({
    observations: obs,
    current: { ips: [], hosts: [] },
    rules: [],
    expiredRules: [],
    options: { minSessions: 2, minDevices: 1, maxNewEntries: 25, now: TO },
    certlessRule: { thresholds: { minDestinations: 10, minFailedPercent: 50 }, ports: [443] }
  })
}

function renderAll(plan: CollectPlan, ctx: PrContext = CTX): string[] {
  return [renderPrBody(plan, ctx), renderSummary(plan), renderText(plan), renderCommitMessage(plan)]
}

const HEADLINE = '1 device (of 6 devices seen) looks like it lacks the Gateway certificate: its TLS failed on 120 destinations (360 of its 360 TLS sessions). Its failures were not counted.'

describe('one certificate-less device and a pinned app (the issue)', () => {
  const plan = planOf(issueObservations('log-explorer'))
  const body = renderPrBody(plan, CTX)

  it('proposes only the pinned app, and says why the rest is missing', () => {
    expect(plan.additions.map((c) => c.value)).toEqual(['api.pinned.example'])
    expect(body).toContain('> **1 device (of 6 devices seen) looks like it lacks the Gateway certificate**: its TLS failed on 120 destinations (360 of its 360 TLS sessions). Its failures were not counted.')
    expect(body).toContain('> Installing the certificate on it should fix those failures; no bypass is proposed for them. 120 destinations failed only on this device and are not proposed.')
    expect(renderSummary(plan)).toContain(HEADLINE.replace(/^([^:]+):/, '**$1**:'))
    expect(renderText(plan)).toContain(`Devices without the certificate: ${HEADLINE}`)
  })

  it('lists the destinations that failed only there in their own collapsed section, with counts', () => {
    expect(body).toContain('<details><summary>Failed only on devices without the certificate (120)</summary>')
    expect(body).toContain('| host | `site0.example` | 3 | 1 | 2026-11-14 13:00 | 2026-11-15 11:00 |')
    // None of them is in the Add table or the commit (the list change).
    const add = body.slice(body.indexOf('### Add'), body.indexOf('<details>'))
    expect(add).not.toContain('site0.example')
    expect(renderCommitMessage(plan)).not.toContain('site')
    expect(renderText(plan)).toMatch(/Failed only on devices without the certificate \(120; not proposed\):\n\s+KIND\s+VALUE/)
  })

  it('gives a Log Explorer query for the run window, and says where the names are', () => {
    expect(body).toContain('<details><summary>How to find the device without the certificate</summary>')
    expect(body).toContain("```sql\nSELECT deviceid, MAX(devicename) AS device_name, MAX(email) AS email,")
    expect(body).toContain("sessionstarttime >= '2026-11-14T12:00:00Z' AND sessionstarttime < '2026-11-15T12:00:00Z'")
    expect(body).toContain('Paste this into Log Explorer › Log Search (custom SQL)')
  })

  it('gives the jq pipeline over the files for Logpush', () => {
    const lp = renderPrBody(planOf(issueObservations('logpush')), { ...CTX, source: 'logpush' })
    expect(lp).toContain("```sh\nfind LOGPUSH_DIR -name '*.log.gz'")
    expect(lp).not.toContain('```sql')
  })

  it('states what was measured instead of asking about the certificate', () => {
    expect(body).not.toContain('the failure is not fixed by installing the Cloudflare root certificate on the device')
    expect(body).toContain(
      '- Measured: 1 device without the Gateway certificate was detected (TLS failing on ≥ 10 destinations with ≥ 50% of its TLS sessions failing) and its 360 failing sessions left out; every proposal from TLS errors failed on devices that do not look certificate-less.'
    )
    expect(body).toContain('- [ ] No app here merely lacks the certificate in its own trust store')
    expect(body).toContain('- Devices without the certificate: 1 of 6 seen (TLS failing on ≥ 10 destinations')
  })

  it('prints no id, name, user or email, whatever the source put next to the counts', () => {
    for (const out of [...renderAll(plan), JSON.stringify(plan)]) {
      for (const s of SECRETS) expect(out).not.toContain(s)
    }
  })
})

describe('aggregates several devices', () => {
  const devices = [
    { failedDestinations: 12, failedSessions: 30, tlsSessions: 50 },
    { failedDestinations: 120, failedSessions: 360, tlsSessions: 360 },
    { failedDestinations: 40, failedSessions: 110, tlsSessions: 120 }
  ]
  it('as ranges, strongest first, with the sessions left out', () => {
    const plan = planOf(issueObservations('log-explorer', { devices, devicesSeen: 40, sessionsExcluded: 500 }))
    expect(renderPrBody(plan, CTX)).toContain(
      '> **3 devices (of 40 devices seen) look like they lack the Gateway certificate**: their TLS failed on 12–120 destinations each (60–100% of their TLS sessions). Their 500 failing sessions were not counted.'
    )
    expect(renderPrBody(plan, CTX)).toContain('<summary>How to find the devices without the certificate</summary>')
    expect(renderPrBody(plan, CTX)).toContain('120 destinations failed only on these devices')
    expect(renderPrBody(plan, CTX)).not.toContain('most of the devices seen')
  })

  it('warns when most of the fleet looks certificate-less (a rollout problem, not stray laptops)', () => {
    const plan = planOf(issueObservations('log-explorer', { devices, devicesSeen: 5, sessionsExcluded: 500 }))
    expect(renderPrBody(plan, CTX)).toContain('That is most of the devices seen: check that the certificate is deployed before reviewing anything here.')
  })
})

describe('without certificate-less devices', () => {
  it('says none was found when the source tallied devices', () => {
    const plan = planOf(issueObservations('log-explorer', { devices: [], devicesSeen: 25, sessionsExcluded: 0, onlyCertless: { hosts: new Map(), ips: new Map() } }))
    const body = renderPrBody(plan, CTX)
    expect(body).not.toContain('[!NOTE]')
    expect(body).not.toContain('How to find')
    expect(body).not.toContain('Failed only on devices')
    expect(body).toContain('- Measured: none of the 25 devices seen looks like it lacks the Gateway certificate (TLS failing on ≥ 10 destinations with ≥ 50% of its TLS sessions failing).')
    expect(renderText(plan)).toContain('Devices without the certificate: none of 25 seen (TLS failing on ≥ 10 destinations')
  })

  it('keeps asking when the source did not tally devices', () => {
    const obs = issueObservations('log-explorer')
    delete obs.certless
    const body = renderPrBody(planOf(obs), CTX)
    expect(body).toContain('- [ ] Each app really pins its certificate (the failure is not fixed by installing the Cloudflare root certificate on the device or in the app).')
    expect(body).not.toContain('Measured')
    expect(renderText(planOf(obs))).not.toContain('without the certificate')
  })
})

const HOSTILE = [
  '</details><script>alert(1)</script>', '-->', '<!--', '[a](javascript:alert(1))', 'cc @octocat', 'a|b|c', 'line1\r\nline2',
  'bidi \u202eevil', 'nul\u0000byte', '`', '$x$', 'x'.repeat(10_000)
]

describe('hostile values in onlyCertless', () => {
  it('through the planner: counted as invalid, never printed', () => {
    const hosts = new Map(HOSTILE.map((h) => [h, st(3, 1)] as const))
    const plan = planOf(issueObservations('log-explorer', { onlyCertless: { hosts, ips: new Map([['10.0.0.0/8', st(3, 1)], ['<img src=x>', st(1, 1)]]) } }))
    expect(plan.certless?.onlyCertless).toEqual([])
    expect(plan.certless?.notShown.invalid).toBe(HOSTILE.length + 2)
    for (const out of renderAll(plan)) {
      for (const h of ['<script>', '<img', '@octocat', 'javascript:', 'x'.repeat(300)]) expect(out).not.toContain(h)
    }
  })

  /** Prose outside code: fenced blocks (our query) first, then inline spans. */
  const prose = (md: string): string =>
    md.replace(/^```[a-z]*\n[\s\S]*?\n```$/gm, 'BLOCK').replace(/(?<![\\`])(`+)(?!`)([\s\S]*?[^`])\1(?!`)/g, 'CODE')

  it('in a hand-made plan: escaped, clipped, one row per value', () => {
    const base = planOf(issueObservations('log-explorer'))
    const certless: CertlessPlan = { ...(base.certless as CertlessPlan), onlyCertless: HOSTILE.map((value) => ({ kind: 'host' as const, value, stats: st(3, 1) })) }
    const plan: CollectPlan = { ...base, certless }
    for (const out of [renderPrBody(plan, CTX), renderSummary(plan)]) {
      const text = prose(out)
      const tags = text.match(/<\/?[a-z][^>]*>/gi) ?? []
      expect([...new Set(tags)].sort()).toEqual(['</details>', '</sub>', '</summary>', '<details>', '<sub>', '<summary>'].filter((t) => out.includes(t)))
      expect(text.match(/<details>/g)?.length).toBe(text.match(/<\/details>/g)?.length)
      // eslint-disable-next-line no-control-regex
      expect(out).not.toMatch(/<!--|--!?>|\r|\u0000|\u202e/)
      expect(text).not.toMatch(/\]\(javascript|@(?!\u200b)/)
      expect(out).not.toContain('x'.repeat(301))
      // Every row stays one table row of 6 cells: no value broke out of its cell or line.
      const rows = out.split('\n').filter((l) => l.startsWith('| host |') && !l.includes('api.pinned.example'))
      expect(rows).toHaveLength(HOSTILE.length)
      for (const r of rows) expect((r.match(/(^|[^\\])\|/g) ?? []).length).toBe(7)
    }
    const text = renderText(plan)
    // eslint-disable-next-line no-control-regex
    expect(text).not.toMatch(/\r|\u0000|\u202e/)
    expect(text).not.toContain('x'.repeat(81))
  })
})

describe('size limits', () => {
  it('a flood of destinations is shortened with a note, within the PR and summary limits', () => {
    const hosts = new Map(Array.from({ length: 20_000 }, (_, i) => [`s${i}.${'long-label.'.repeat(15)}example`, st(3, 1)] as const))
    const plan = planOf(issueObservations('log-explorer', { onlyCertless: { hosts, ips: new Map() } }))
    const body = renderPrBody(plan, CTX)
    expect(body.length).toBeLessThanOrEqual(PR_BODY_LIMIT)
    expect(body).toContain('<summary>Failed only on devices without the certificate (20000)</summary>')
    expect(body).toMatch(/_\d+ more not shown — see the job summary\._/)
    expect(body).toContain('### Add')
    expect(body).toContain('`api.pinned.example`')
    expect(body).toContain('How to find the device')
    expect(Buffer.byteLength(renderSummary(plan))).toBeLessThanOrEqual(SUMMARY_LIMIT)
    expect(renderText(plan)).toContain('… 19980 more')
  })
})
