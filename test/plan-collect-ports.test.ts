/**
 * collect hands issue 10's inputs to the planner: listed-since dates and rejections from
 * optional ports (the GitHub/git/Cloudflare adapters), idle-days and reject-days from the
 * inputs. A failing port costs its rule, never the run, and its message is redacted.
 */
import { describe, expect, it } from 'vitest'
import { collect, type ObservationSource } from '../action/src/commands/collect.js'
import type { ListedSince, Observations } from '../action/src/core/types.js'
import { inputsFor, testRuntime } from './harness/runtime.js'

const DAY = 86_400_000
const NOW = Date.UTC(2026, 11, 6, 12)
const HEADER = '# gateway-tls-bypass list\n'

const source = (usage: Observations['usage']): ObservationSource => async (window) => ({
  window,
  hostFailures: new Map([['again.example.com', { sessions: 5, devices: 2, users: 2, firstSeen: NOW - DAY, lastSeen: NOW - 1000 }]]),
  ipFailures: new Map(),
  hostIps: new Map(),
  ipHosts: new Map(),
  bypassedHosts: new Map(),
  ...(usage ? { usage } : {}),
  stats: { source: 'log-explorer', records: { zero_trust_network_sessions: 5, gateway_http: 5 }, inWindow: 5, malformedLines: 0, filesRead: 0, filesSkipped: 0, filesCorrupt: 0, warnings: [] }
})

async function run(deps: Partial<Parameters<typeof collect>[2]>, raw: Record<string, string> = {}) {
  const rt = await testRuntime({ now: NOW, withRepoFiles: false, files: { 'lists/hosts.txt': `${HEADER}old.example.com\nused.example.com\n`, 'lists/ips.txt': HEADER, 'exclusions.yaml': 'exclusions: []\n' } })
  const usage = { covers: { from: NOW - 40 * DAY, to: NOW }, hosts: new Map([['used.example.com', NOW - DAY]]), ips: new Map() }
  const result = await collect(rt, inputsFor({ 'dry-run': 'true', source: 'logpush', 'logpush-dir': '.', ...raw }), { source: source(usage), ...deps })
  return { rt, plan: result.plan }
}

const dates = async (): Promise<{ listedSince: Map<string, ListedSince> }> => ({ listedSince: new Map([['host:old.example.com', { at: NOW - 90 * DAY, from: 'git' }], ['host:used.example.com', { at: NOW - 90 * DAY, from: 'git' }]]) })

describe('collect passes lifecycle and rejections to the planner', () => {
  it('without ports the plan has no lifecycle (nothing changes for existing setups)', async () => {
    const { plan } = await run({})
    expect(plan.lifecycle).toBeUndefined()
    expect(plan.additions.map((c) => c.value)).toEqual(['again.example.com'])
  })

  it('with both ports: the unused entry leaves, the used one stays, the rejected value is not proposed; outputs count the idle removal', async () => {
    const { rt, plan } = await run({ lifecycle: dates, rejected: async () => [{ kind: 'host', value: 'again.example.com', pr: 12, at: NOW - DAY }] })
    expect(plan.lifecycle?.idle.removals.map((r) => r.value)).toEqual(['old.example.com'])
    expect(plan.next.hosts).toEqual(['used.example.com'])
    expect(plan.additions).toEqual([])
    expect(plan.lifecycle?.rejected.map((r) => r.pr)).toEqual([12])
    expect(rt.outputs.removed).toBe('1')
    expect(rt.all()).toContain('idle: no bypassed traffic in 30 days; listed since 2026-09-07')
  })

  it('idle-days 0 and reject-days 0 from the inputs turn both rules off', async () => {
    const { plan } = await run({ lifecycle: dates, rejected: async () => [{ kind: 'host', value: 'again.example.com', pr: 12, at: NOW - DAY }] }, { 'idle-days': '0', 'reject-days': '0' })
    expect(plan.lifecycle?.idle.removals).toEqual([])
    expect(plan.additions.map((c) => c.value)).toEqual(['again.example.com'])
  })

  it('a failing port is a warning and a note, never fatal; a token in its message is redacted', async () => {
    const rt0 = await testRuntime({ now: NOW, withRepoFiles: false, files: { 'lists/hosts.txt': `${HEADER}old.example.com\n`, 'lists/ips.txt': HEADER, 'exclusions.yaml': 'exclusions: []\n' } })
    const rt = { ...rt0, redact: (t: string) => t.replaceAll('s3cr3t-token', '***') }
    const result = await collect(rt, inputsFor({ 'dry-run': 'true', source: 'logpush', 'logpush-dir': '.' }), {
      source: source(undefined),
      lifecycle: async () => {
        throw new Error('401 for token s3cr3t-token')
      },
      rejected: async () => {
        throw new Error('boom s3cr3t-token')
      }
    })
    expect(result.plan.lifecycle?.idle.removals).toEqual([])
    expect(result.plan.lifecycle?.notes.join(' ')).toContain('Listed-since dates could not be read (401 for token ***)')
    expect(rt0.logs.filter((l) => l.level === 'warning').map((l) => l.message)).toEqual(expect.arrayContaining(['Listed-since dates could not be read: 401 for token ***', 'Rejected proposals could not be read: boom ***']))
    expect(rt0.all()).not.toContain('s3cr3t-token')
  })
})
