// The whole loop, as users run it: the committed bundle (action/dist/index.mjs) started
// like the runner starts it, against the Cloudflare and GitHub emulators, in a real git
// checkout. collect (PR opened) → merge → sync (lists + policy created) → new failures →
// collect (new PR) → exclusion added → collect (same PR updated: removal proposed) →
// merge → sync removes it → check on a PR shows the plan that sync then applies.
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startCloudflareEmulator, type CloudflareEmulator } from './emulators/cloudflare.js'
import { startGitHubEmulator, type GitHubEmulator } from './emulators/github.js'
import { runActionBundle, type ActionRun } from './harness/run-action.js'
import { readFileSync } from 'node:fs'

const bundle = new URL('../action/dist/index.mjs', import.meta.url)
const repoFile = (p: string) => readFileSync(new URL(`../${p}`, import.meta.url), 'utf8')
const ACCOUNT = '0123456789abcdef0123456789abcdef'
const NOW = Date.now()
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')

/** A network-session row as Log Explorer stores it; identity fields are planted to prove they never leak. */
function session(o: { sni?: string; ip: string; device: number; reason?: string; minutesAgo: number }) {
  return {
    SessionStartTime: iso(NOW - o.minutesAgo * 60_000),
    SessionEndTime: iso(NOW - o.minutesAgo * 60_000 + 800),
    ConnectionCloseReason: o.reason ?? 'CLIENT_TLS_ERROR',
    OriginIP: o.ip,
    OriginPort: 443,
    SNI: o.sni ?? '',
    DeviceID: `device-uuid-${o.device}`,
    DeviceName: `LAPTOP-OF-ALICE-${o.device}`,
    UserID: `user-uuid-${o.device}`,
    Email: `alice${o.device}@corp.example`
  }
}
const failing = (sni: string | undefined, ip: string, devices: number[], perDevice = 2) =>
  devices.flatMap((device) => Array.from({ length: perDevice }, (_, i) => session({ sni, ip, device, minutesAgo: 10 + i * 7 + device })))

let cf: CloudflareEmulator
let gh: GitHubEmulator
let rows: Record<string, unknown>[] = []

async function checkout(ref: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'gtb-ws-'))
  execFileSync('git', ['clone', '-q', '--branch', ref, gh.bareRepo, dir])
  return dir
}
const head = (dir: string) => execFileSync('git', ['-C', dir, 'rev-parse', 'HEAD']).toString().trim()

async function run(command: 'collect' | 'sync' | 'check', ref: string, inputs: Record<string, string> = {}): Promise<ActionRun> {
  const ws = await checkout(ref)
  const r = await runActionBundle({
    workspace: ws,
    inputs: { 'command': command, 'cloudflare-account-id': ACCOUNT, 'cloudflare-api-token': cf.token, 'cloudflare-api-url': cf.url, ...inputs },
    github: { repository: `${gh.owner}/${gh.repo}`, apiUrl: gh.url, token: gh.token, sha: head(ws) }
  })
  if (r.code !== 0) throw new Error(`${command} failed (${r.code}):\n${r.stdout}\n${r.stderr}`)
  return r
}
const openPulls = () => gh.pulls.filter((p) => p.state === 'open')
const listItems = (type: 'IP' | 'DOMAIN') => [...cf.lists.values()].filter((l) => l.type === type).flatMap((l) => l.items.map((i) => i.value.replace(/\/32$/, '')))

beforeAll(async () => {
  if (!existsSync(bundle)) throw new Error('action/dist/index.mjs is missing: run `npm run build`')
  cf = await startCloudflareEmulator({ accountId: ACCOUNT })
  gh = await startGitHubEmulator({
    files: {
      'lists/ips.txt': repoFile('lists/ips.txt'),
      'lists/hosts.txt': repoFile('lists/hosts.txt'),
      'exclusions.yaml': repoFile('exclusions.yaml'),
      'README.md': '# my bypass lists\n'
    }
  })
  rows = [
    ...failing('api.pinnedbank.example', '192.0.2.10', [1, 2, 3]),
    ...failing(undefined, '198.51.100.7', [1, 4]),
    ...failing('www.google.com', '142.250.1.1', [1, 2, 3]),
    ...Array.from({ length: 20 }, (_, i) => session({ sni: 'intranet.corp.example', ip: '203.0.113.5', device: i, reason: 'CLIENT_CLOSED', minutesAgo: i }))
  ]
  await cf.setLogRows('zero_trust_network_sessions', rows)
})

afterAll(async () => {
  await cf?.close()
  await gh?.close()
})

describe('the whole loop through the bundled action', () => {
  let firstPr = 0

  it('collect opens one PR with the evidence and no personal data', async () => {
    const r = await run('collect', 'main')
    expect(r.outputs.added).toBe('2')
    expect(openPulls()).toHaveLength(1)
    const pr = openPulls()[0]!
    firstPr = pr.number
    expect(r.outputs['pull-request-number']).toBe(String(pr.number))
    expect(pr.labels).toContain('tls-bypass')
    expect(await gh.readFile(pr.head.ref, 'lists/hosts.txt')).toContain('\napi.pinnedbank.example\n')
    expect(await gh.readFile(pr.head.ref, 'lists/ips.txt')).toContain('\n198.51.100.7\n')
    expect(await gh.readFile(pr.head.ref, 'lists/hosts.txt')).not.toContain('google')
    for (const text of [pr.body, r.summary, r.stdout]) {
      expect(text).not.toMatch(/alice|LAPTOP-OF|device-uuid|user-uuid|corp\.example/)
    }
    expect(pr.body).toContain('google.com') // suppressed, with its rule
    expect(gh.verification(pr.head.sha).verified).toBe(true)
  })

  it('a re-run with nothing new keeps the same PR and makes no new commit', async () => {
    const before = openPulls()[0]!.head.sha
    const r = await run('collect', 'main')
    expect(openPulls()).toHaveLength(1)
    expect(openPulls()[0]!.head.sha).toBe(before)
    expect(r.outputs['pull-request-number']).toBe(String(firstPr))
  })

  it('merge → sync creates the lists and the Do Not Inspect policy', async () => {
    await gh.mergePull(firstPr)
    await run('sync', 'main')
    expect(listItems('IP')).toEqual(['198.51.100.7'])
    expect(listItems('DOMAIN')).toEqual(['api.pinnedbank.example'])
    const rules = [...cf.rules.values()]
    expect(rules).toHaveLength(1)
    const policy = rules[0]!
    expect(policy.name).toBe('gateway-tls-bypass')
    expect(policy.action).toBe('off')
    expect(policy.enabled).toBe(true)
    for (const list of cf.lists.values()) expect(policy.traffic).toContain(list.id.replace(/-/g, ''))
    for (const list of cf.lists.values()) for (const item of list.items) expect(item.description).toContain(`${gh.owner}/${gh.repo}`)
  })

  it('a second sync makes zero write calls', async () => {
    const writes = cf.writes().length
    await run('sync', 'main')
    expect(cf.writes().length).toBe(writes)
  })

  it('new failures → collect opens a new PR after the merge', async () => {
    rows.push(...failing('telemetry.vendor-app.example', '192.0.2.44', [5, 6]))
    await cf.setLogRows('zero_trust_network_sessions', rows)
    await run('collect', 'main')
    expect(openPulls()).toHaveLength(1)
    const pr = openPulls()[0]!
    expect(pr.number).not.toBe(firstPr)
    const hosts = (await gh.readFile(pr.head.ref, 'lists/hosts.txt'))!
    expect(hosts).toContain('\napi.pinnedbank.example\n')
    expect(hosts).toContain('\ntelemetry.vendor-app.example\n')
  })

  it('an exclusion for a listed host → collect updates the same PR and proposes the removal', async () => {
    const pr = openPulls()[0]!
    const exclusions = `${repoFile('exclusions.yaml')}\n  - value: pinnedbank.example\n    reason: The bank app moved to a supported certificate; keep it inspected for DLP\n`
    await gh.commitToDefault({ 'exclusions.yaml': exclusions }, 'Exclude pinnedbank.example')
    const r = await run('collect', 'main')
    expect(r.outputs.removed).toBe('1')
    expect(openPulls()).toHaveLength(1)
    expect(openPulls()[0]!.number).toBe(pr.number)
    const hosts = (await gh.readFile(pr.head.ref, 'lists/hosts.txt'))!
    expect(hosts).not.toContain('pinnedbank')
    expect(hosts).toContain('\ntelemetry.vendor-app.example\n')
    expect(openPulls()[0]!.body).toContain('pinnedbank.example')
  })

  it('merge → sync removes it and keeps an item added by hand (drift)', async () => {
    const ipList = [...cf.lists.values()].find((l) => l.type === 'IP')!
    ipList.items.push({ value: '203.0.113.99', created_at: new Date().toISOString() })
    await gh.mergePull(openPulls()[0]!.number)
    const r = await run('sync', 'main')
    expect(listItems('DOMAIN')).toEqual(['telemetry.vendor-app.example'])
    expect(listItems('IP').sort()).toEqual(['198.51.100.7', '203.0.113.99'])
    expect(r.stdout + r.summary).toContain('203.0.113.99')
  })

  it('the next collect proposes importing the hand-added item for review', async () => {
    const r = await run('collect', 'main')
    const pr = openPulls()[0]!
    expect(r.outputs.added).toBe('1')
    expect(await gh.readFile(pr.head.ref, 'lists/ips.txt')).toContain('\n203.0.113.99\n')
    expect(pr.body).toContain('`203.0.113.99` <sub>hand-added</sub>')
    expect(pr.body).toMatch(/added by hand in the Gateway dashboard/)
  })

  it('check on a PR shows the plan that sync then applies, with zero writes', async () => {
    const ips = (await gh.readFile('main', 'lists/ips.txt'))!.replace('198.51.100.7\n', '198.51.100.7\n203.0.113.77\n')
    await gh.pushAsHuman('human/add-ip', { 'lists/ips.txt': ips }, 'Add a pinned printer service')
    const writes = cf.writes().length
    const check = await run('check', 'human/add-ip')
    expect(cf.writes().length).toBe(writes)
    expect(check.stdout).toContain('203.0.113.77')

    await gh.commitToDefault({ 'lists/ips.txt': ips }, 'Merge the human PR')
    const sync = await run('sync', 'main')
    expect(listItems('IP')).toContain('203.0.113.77')
    const planLines = (out: string) => out.split('\n').filter((l) => /203\.0\.113\.77|198\.51\.100\.7|203\.0\.113\.99/.test(l)).map((l) => l.replace(/[0-9a-f]{7,40}/g, 'SHA'))
    expect(planLines(sync.stdout)).toEqual(planLines(check.stdout))
  })
})
