// Issue 5, Cloudflare side, at the COMMAND level: `runCommand` (real SDK client built from
// the inputs, real retries; the harness runtime makes their waits zero) against the Cloudflare emulator with faults injected.
// Each scenario checks four things: the outcome, what a person reads (logs, printed plan,
// summary, the thrown message), the remote state (lists + policy consistent), and that the
// next run converges (reaches the files' state, then makes zero writes). No scenario may
// print a token. The adapter-level fault tests (sync-apply, log-explorer, emulators/*) cover
// the retry mechanics with instant sleeps; these cover what the commands make of them.
import { readFileSync } from 'node:fs'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { runCommand, type RunResult } from '../action/src/run.js'
import { formatListFile } from '../action/src/core/listfile.js'
import { startCloudflareEmulator, type CloudflareEmulator, type CloudflareEmulatorOptions } from './emulators/cloudflare.js'
import { startGitHubEmulator, type GitHubEmulator } from './emulators/github.js'
import { inputsFor, runCaptured, testRuntime, type CapturedRuntime } from './harness/runtime.js'
import { failingSessions } from './harness/log-rows.js'

const ACCOUNT = 'abcdef0123456789abcdef0123456789'
const TOKEN = 'cf-secret-token-5e8d1c0ffee7a11ce'
const PREFIX = 'gateway-tls-bypass'
const POLICY = 'gateway-tls-bypass'
const SHA = '0123456789abcdef0123456789abcdef01234567'
const repoFile = (p: string): string => readFileSync(new URL(`../${p}`, import.meta.url), 'utf8')
const header = (p: string): string[] => repoFile(p).split('\n').slice(0, -1)

interface Desired { ips: string[]; hosts: string[] }

function listFiles(d: Desired): Record<string, string> {
  return {
    'lists/ips.txt': formatListFile(header('lists/ips.txt'), d.ips, 'ip'),
    'lists/hosts.txt': formatListFile(header('lists/hosts.txt'), d.hosts, 'host')
  }
}

let cf: CloudflareEmulator

async function startCf(o: CloudflareEmulatorOptions = {}): Promise<void> {
  cf = await startCloudflareEmulator({ accountId: ACCOUNT, token: TOKEN, ...o })
}

afterEach(async () => {
  await cf?.close()
})

interface Outcome {
  rt: CapturedRuntime
  result?: RunResult
  error?: Error
  /** Write requests this run sent (non-GET, as the emulator saw them). */
  writes: number
  /** Everything a person reads: logs, plan, summary, outputs and the failure message. */
  text: string
}

/** Asserts that no token reached anything a person or a log could read. */
function expectNoSecret(o: { text: string }, secrets: string[]): void {
  for (const s of secrets) expect(o.text).not.toContain(s)
  expect(o.text).not.toMatch(/bearer\s+[A-Za-z0-9]/i)
}

async function run(command: 'sync' | 'check', d: Desired, extra: Record<string, string> = {}): Promise<Outcome> {
  const rt = await testRuntime({ files: listFiles(d), github: { owner: 'acme', repo: 'bypass', apiUrl: 'http://127.0.0.1:9', sha: SHA } })
  const before = cf.writes().length
  let result: RunResult | undefined
  let error: Error | undefined
  try {
    result = await runCommand(rt, inputsFor({
      'command': command,
      'cloudflare-account-id': ACCOUNT,
      'cloudflare-api-token': cf.token,
      'cloudflare-api-url': cf.url,
      ...extra
    }))
  } catch (e) {
    error = e as Error
  }
  const text = [rt.all(), error?.message ?? ''].join('\n')
  const o = { rt, result, error, writes: cf.writes().length - before, text }
  expectNoSecret(o, [cf.token])
  return o
}

/** A sync that must succeed. */
async function sync(d: Desired, extra: Record<string, string> = {}): Promise<Outcome> {
  const o = await run('sync', d, extra)
  if (o.error !== undefined) throw new Error(`sync failed unexpectedly: ${o.error.message}\n${o.text}`)
  return o
}

/** Values of the managed lists of a type, without the API's /32 echo, sorted. */
function values(type: 'IP' | 'DOMAIN'): string[] {
  return managedLists().filter((l) => l.type === type).flatMap((l) => l.items.map((i) => i.value.replace(/\/32$/, ''))).sort()
}

const managedLists = () => [...cf.lists.values()].filter((l) => l.name.startsWith(`${PREFIX} `))
const sorted = (xs: string[]): string[] => [...xs].sort()
const idsIn = (traffic: string): Set<string> => new Set([...traffic.matchAll(/\$([0-9a-fA-F-]{32,36})/g)].map((m) => m[1]!.replace(/-/g, '').toLowerCase()))

/**
 * Both sides consistent: the lists hold exactly the files' values (each once, in one list),
 * no two lists share a name, and ONE policy named POLICY is Do Not Inspect, enabled, HTTP,
 * and references exactly the managed lists that exist.
 */
function expectConverged(d: Desired): void {
  expect(values('IP')).toEqual(sorted(d.ips))
  expect(values('DOMAIN')).toEqual(sorted(d.hosts))
  const names = managedLists().map((l) => l.name)
  expect(new Set(names).size).toBe(names.length)
  expectPolicyConsistent()
}

/** One managed policy, referencing only lists that exist, and every managed list. */
function expectPolicyConsistent(): void {
  const rules = [...cf.rules.values()].filter((r) => r.name === POLICY)
  expect(rules).toHaveLength(1)
  const p = rules[0]!
  expect(p).toMatchObject({ action: 'off', enabled: true, filters: ['http'] })
  const existing = new Set([...cf.lists.keys()].map((id) => id.replace(/-/g, '').toLowerCase()))
  const refs = idsIn(p.traffic)
  for (const id of refs) expect(existing, `policy references missing list ${id}`).toContain(id)
  for (const l of managedLists()) expect(refs, `policy does not reference ${l.name}`).toContain(l.id.replace(/-/g, '').toLowerCase())
}

/** The next two runs: the first reaches `d`, the second makes zero writes and says so. */
async function expectNextRunsConverge(d: Desired, extra: Record<string, string> = {}): Promise<void> {
  await sync(d, extra)
  expectConverged(d)
  const quiet = await sync(d, extra)
  expect(quiet.writes).toBe(0)
  expect(quiet.text).toMatch(/No changes: .* \(no write calls\)\./)
}

const statuses = (method: string, path: RegExp): number[] => cf.requests.filter((r) => r.method === method && path.test(r.path)).map((r) => r.status)

const BASE: Desired = { ips: ['192.0.2.10', '198.51.100.7'], hosts: ['api.pinnedbank.example'] }
const MORE: Desired = { ips: [...BASE.ips, '203.0.113.5'], hosts: [...BASE.hosts, 'telemetry.vendor-app.example'] }

describe('sync under Cloudflare faults', () => {
  beforeEach(async () => {
    await startCf()
  })

  it('waits out a 429 with Retry-After on the lists read and on a PATCH, then converges', { timeout: 30_000 }, async () => {
    await sync(BASE)
    cf.inject({ method: 'GET', path: /\/gateway\/lists$/, status: 429, headers: { 'Retry-After': '1' } })
    cf.inject({ method: 'PATCH', path: /\/gateway\/lists\/[^/]+$/, status: 429, headers: { 'retry-after-ms': '50' } })
    const o = await sync(MORE)
    expect(cf.pendingFaults()).toBe(0)
    expect(statuses('GET', /\/gateway\/lists$/)).toContain(429)
    expect(statuses('PATCH', /\/gateway\/lists\/[^/]+$/)).toContain(429)
    expectConverged(MORE)
    // Two lists got one append each; the refused PATCH is counted as a sent write.
    expect(o.text).toMatch(/Applied: .*, 3 write calls\)\./)
    const quiet = await sync(MORE)
    expect(quiet.writes).toBe(0)
  })

  it('fails clearly when a 429 outlasts the retries on a read, writes nothing, and the next run converges', { timeout: 30_000 }, async () => {
    await sync(BASE)
    cf.inject({ method: 'GET', path: /\/gateway\/rules$/, status: 429, headers: { 'retry-after-ms': '20' }, times: 3 })
    const o = await run('sync', MORE)
    expect(o.error?.message).toMatch(/Reading \/gateway\/rules failed: Cloudflare API error: HTTP 429.*rate limited/)
    expect(o.writes).toBe(0)
    await expectNextRunsConverge(MORE)
  })

  it('recovers from 500/502/503 across a multi-call apply at list capacity, without duplicates', { timeout: 40_000 }, async () => {
    await cf.close()
    await startCf({ listCapacity: 2 })
    const cap = { 'list-capacity': '2' }
    const first: Desired = { ips: ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4'], hosts: ['a.example.com'] }
    await sync(first, cap)
    expect(managedLists().filter((l) => l.type === 'IP')).toHaveLength(2)
    // Next: one removal (frees a slot), three additions (one fills it, two need a new list),
    // a second hosts list, the policy must reference both new lists.
    const next: Desired = { ips: ['192.0.2.2', '192.0.2.3', '192.0.2.4', '192.0.2.5', '192.0.2.6', '192.0.2.7'], hosts: ['a.example.com', 'b.example.com', 'c.example.com'] }
    cf.inject({ method: 'GET', path: /\/items$/, status: 503 }) // SDK retry on a read
    cf.inject({ method: 'POST', path: /\/gateway\/lists$/, status: 500 }) // not applied
    cf.inject({ method: 'POST', path: /\/gateway\/lists$/, status: 502, afterApply: true }) // applied, answer lost
    cf.inject({ method: 'PUT', path: /\/gateway\/rules\/[^/]+$/, status: 503 })
    cf.inject({ method: 'PATCH', path: /\/gateway\/lists\/[^/]+$/, status: 502, afterApply: true })
    const o = await sync(next, cap)
    expect(cf.pendingFaults()).toBe(0)
    expectConverged(next)
    expect(managedLists().filter((l) => l.type === 'IP')).toHaveLength(3)
    expect(managedLists().filter((l) => l.type === 'DOMAIN')).toHaveLength(2)
    expect(o.text).toMatch(/Applied: .*, \d+ write calls\)\./)
    // The retries that absorbed the faults are visible in the log, not silent.
    expect(o.text).toMatch(/re-reading the state before retrying \(attempt 2 of \d+\)/)
    const quiet = await sync(next, cap)
    expect(quiet.writes).toBe(0)
  })

  it('success:false with HTTP 200 on every PATCH: clear error naming the list, nothing removed early, next run converges', { timeout: 40_000 }, async () => {
    await sync(BASE)
    const next: Desired = { ips: ['198.51.100.7', '203.0.113.5'], hosts: BASE.hosts }
    cf.inject({ method: 'PATCH', status: 200, envelope: { success: false, errors: [{ code: 7001, message: 'Internal list service error' }] }, times: 5 })
    const o = await run('sync', next)
    expect(o.error?.message).toMatch(/Updating list "gateway-tls-bypass IP 1" failed after 5 attempts: .*success:false: \[7001\] Internal list service error/)
    expect(cf.pendingFaults()).toBe(0)
    // The failed PATCH carried the removal: nothing left half-done, the old state is intact.
    expect(values('IP')).toEqual(BASE.ips)
    expectPolicyConsistent()
    await expectNextRunsConverge(next)
  })

  it('survives dropped connections (the timeout stand-in) on a read and on an applied PATCH', { timeout: 30_000 }, async () => {
    await sync(BASE)
    cf.inject({ method: 'GET', path: /\/gateway\/rules$/, dropConnection: true })
    cf.inject({ method: 'PATCH', dropConnection: true, afterApply: true })
    const o = await sync(MORE)
    expect(cf.pendingFaults()).toBe(0)
    expectConverged(MORE)
    // Recovered: no step is reported as failed, and the retry that absorbed the drop is logged.
    expect(o.text).not.toMatch(/failed after \d+ attempts/)
    expect(o.text).toMatch(/Applied: .*, \d+ write calls?\)\./)
    expect(o.text).toMatch(/re-reading the state before retrying/)
    const quiet = await sync(MORE)
    expect(quiet.writes).toBe(0)
  })

  it('malformed JSON (HTTP 200) on the items read: clear error, zero writes; next run converges', { timeout: 30_000 }, async () => {
    await sync(BASE)
    cf.inject({ method: 'GET', path: /\/items$/, status: 200, body: '{"result": [{"value": "192.0.2.10"', times: 3 })
    const o = await run('sync', MORE)
    expect(o.error?.message).toMatch(/Reading \/gateway\/lists\/[0-9a-f-]+\/items failed: Cloudflare returned malformed JSON/)
    expect(o.writes).toBe(0)
    expect(o.rt.printed).toHaveLength(0) // no plan was made from a partial read
    await expectNextRunsConverge(MORE)
  })

  it('a managed list deleted behind its back (policy still referencing it) is recreated and the policy re-pointed', async () => {
    await sync(BASE)
    const ipList = managedLists().find((l) => l.type === 'IP')!
    const oldId = ipList.id.replace(/-/g, '')
    cf.lists.delete(ipList.id)
    expect(cf.rules.size).toBe(1)
    expect([...cf.rules.values()][0]!.traffic).toContain(oldId)
    const o = await sync(BASE)
    expect(o.text).toContain(`create list ${PREFIX} IP 1`)
    expect(o.text).toMatch(/references list\(s\) that are not managed lists/)
    expectConverged(BASE)
    expect([...cf.rules.values()][0]!.traffic).not.toContain(oldId)
    const quiet = await sync(BASE)
    expect(quiet.writes).toBe(0)
  })

  it('a managed list deleted during the run: clear error naming it, policy untouched; next run recreates it', { timeout: 30_000 }, async () => {
    await sync(BASE)
    const ipList = managedLists().find((l) => l.type === 'IP')!
    const policyBefore = JSON.stringify([...cf.rules.values()][0])
    // The rules read is the last read before the writes: delete the list while it is in flight.
    cf.inject({ method: 'GET', path: /\/gateway\/rules$/, delayMs: 300 })
    setTimeout(() => cf.lists.delete(ipList.id), 100)
    const o = await run('sync', MORE)
    expect(o.error?.message).toMatch(/Updating list "gateway-tls-bypass IP 1" failed: Cloudflare API error: HTTP 404/)
    expect(o.error?.message).toContain('no longer exists in Cloudflare')
    expect(o.error?.message).toContain('The next sync run recreates it')
    expect(JSON.stringify([...cf.rules.values()][0])).toBe(policyBefore)
    await expectNextRunsConverge(MORE)
  })

  it('restores a policy edited by hand (disabled, traffic rewritten, action changed), keeping other fields', async () => {
    await sync(BASE)
    const rule = [...cf.rules.values()][0]!
    rule.enabled = false
    rule.action = 'allow'
    rule.traffic = 'http.request.uri.path == "/nothing"'
    rule.precedence = 4242
    rule.description = 'hand-written note'
    const o = await sync(BASE)
    expect(o.writes).toBe(1)
    expect(o.text).toContain('(edited outside this repository; reverting)')
    expect(o.text).toContain('It is disabled.')
    expect(o.text).toContain('Its action is "allow", not "off" (Do Not Inspect).')
    expect(o.text).toMatch(/It does not reference gateway-tls-bypass IP 1, gateway-tls-bypass hosts 1\./)
    expectConverged(BASE)
    expect([...cf.rules.values()]).toHaveLength(1)
    expect([...cf.rules.values()][0]).toMatchObject({ id: rule.id, precedence: 4242, description: 'hand-written note' })
    const quiet = await sync(BASE)
    expect(quiet.writes).toBe(0)
  })

  it('refuses to empty a list file without force: message names force, zero writes; forced run converges', async () => {
    await sync(BASE)
    const emptied: Desired = { ips: BASE.ips, hosts: [] }
    const o = await run('sync', emptied)
    expect(o.error?.message).toMatch(/Refusing to sync: .*force: true/)
    expect(o.text).toMatch(/GUARD: /)
    expect(o.writes).toBe(0)
    expect(values('DOMAIN')).toEqual(BASE.hosts)
    await expectNextRunsConverge(emptied, { force: 'true' })
  })
})

describe('check under Cloudflare faults: read-only, always', () => {
  beforeEach(async () => {
    await startCf()
    await sync(BASE)
  })

  it.each([
    ['a 500 that outlasts the SDK retries on the rules read', { method: 'GET', path: /\/gateway\/rules$/, status: 500, times: 3 }, /Reading \/gateway\/rules failed: Cloudflare API error: HTTP 500/],
    ['malformed JSON on the lists read', { method: 'GET', path: /\/gateway\/lists$/, status: 200, body: '<html>oops', times: 3 }, /Reading \/gateway\/lists failed: Cloudflare returned malformed JSON/],
    ['success:false with HTTP 200 on the items read', { method: 'GET', path: /\/items$/, status: 200, envelope: { success: false as const, errors: [{ code: 1000, message: 'backend busy' }] }, times: 3 }, /Reading \/gateway\/lists\/[0-9a-f-]+\/items failed: .*success:false: \[1000\] backend busy/],
    ['dropped connections on every attempt', { method: 'GET', path: /\/gateway\/rules$/, dropConnection: true, times: 3 }, /Reading \/gateway\/rules failed: Cloudflare API connection failed/]
  ])('%s: fails clearly with zero writes', { timeout: 30_000 }, async (_name, fault, message) => {
    cf.inject(fault)
    const o = await run('check', MORE)
    expect(o.error?.message).toMatch(message)
    expect(o.writes).toBe(0)
    expect(cf.writes()).toHaveLength(cf.requests.filter((r) => r.method !== 'GET').length)
    // Then a clean check shows the plan, still read-only.
    const again = await run('check', MORE)
    expect(again.error).toBeUndefined()
    expect(again.writes).toBe(0)
    expect(again.text).toContain('check: plan shown, nothing written.')
    expect(again.text).toContain('203.0.113.5')
  })

  it('a garbled body that echoes the token (a proxy reflecting the request) never shows even a fragment of it', { timeout: 30_000 }, async () => {
    cf.inject({ method: 'GET', path: /\/gateway\/rules$/, status: 200, body: `${TOKEN} reflected by a proxy`, times: 3 })
    const o = await run('check', MORE)
    expect(o.error?.message).toMatch(/Reading \/gateway\/rules failed: Cloudflare returned malformed JSON/)
    expect(o.text).not.toContain(TOKEN.slice(0, 8))
    expect(o.writes).toBe(0)
  })

  it('a transient 503 and a 429 on reads are absorbed: plan shown, zero writes', { timeout: 30_000 }, async () => {
    const writes = cf.writes().length
    cf.inject({ method: 'GET', path: /\/gateway\/lists$/, status: 503 })
    cf.inject({ method: 'GET', path: /\/gateway\/rules$/, status: 429, headers: { 'retry-after-ms': '50' } })
    const o = await run('check', MORE)
    expect(o.error).toBeUndefined()
    expect(cf.pendingFaults()).toBe(0)
    expect(o.text).toContain('Plan: 2 entries will be added (2 changes)')
    expect(cf.writes().length).toBe(writes)
  })
})

// ---- collect with the Log Explorer source -------------------------------------------

const NOW = Date.now()
const failing = (sni: string, ip: string, devices: number[]): Record<string, unknown>[] => failingSessions(sni, ip, devices, NOW)

describe('collect (Log Explorer) under Cloudflare faults', () => {
  let gh: GitHubEmulator

  beforeEach(async () => {
    await startCf()
    await cf.setLogRows('zero_trust_network_sessions', failing('api.pinnedbank.example', '192.0.2.10', [1, 2]))
    gh = await startGitHubEmulator({
      files: { 'lists/ips.txt': repoFile('lists/ips.txt'), 'lists/hosts.txt': repoFile('lists/hosts.txt'), 'exclusions.yaml': repoFile('exclusions.yaml') }
    })
  })
  afterEach(async () => {
    await gh?.close()
  })

  async function collect(): Promise<Outcome> {
    const rt = await testRuntime({ github: { owner: gh.owner, repo: gh.repo, apiUrl: gh.url, sha: SHA } })
    const { result, error, text } = await runCaptured(rt, {
      'command': 'collect',
      'cloudflare-account-id': ACCOUNT,
      'cloudflare-api-token': cf.token,
      'cloudflare-api-url': cf.url,
      'github-token': gh.token
    })
    const o = { rt, result, error, writes: 0, text }
      expectNoSecret(o, [cf.token, gh.token])
    return o
  }
  const ghWrites = () => gh.requests.filter((r) => r.method !== 'GET')
  const sqlStatuses = () => statuses('POST', /\/logs\/explorer\/query\/sql$/)

  it('a 500 on the SQL query is retried once, deliberately and visibly, then the PR is opened', { timeout: 40_000 }, async () => {
    cf.inject({ method: 'POST', path: /\/logs\/explorer\/query\/sql$/, status: 500 })
    const o = await collect()
    expect(o.error).toBeUndefined()
    expect(sqlStatuses()[0]).toBe(500)
    expect(o.rt.logs.filter((l) => /Log Explorer: query on zero_trust_network_sessions failed \(Cloudflare API error: HTTP 500.*\); retrying once/.test(l.message))).toHaveLength(1)
    expect(gh.pulls.filter((p) => p.state === 'open')).toHaveLength(1)
    expect(await gh.readFile(gh.pulls[0]!.head.ref, 'lists/hosts.txt')).toContain('\napi.pinnedbank.example\n')
    expect(o.rt.outputs['pull-request-number']).toBe('1')
  })

  it('403: the message names the Logs permission; no PR, no GitHub write', async () => {
    cf.inject({ method: 'POST', path: /\/logs\/explorer\/query\/sql$/, status: 403, envelope: { success: false, errors: [{ code: 10000, message: 'Authentication error' }] } })
    const o = await collect()
    expect(o.error?.message).toMatch(/Log Explorer query on zero_trust_network_sessions failed: Cloudflare API error: HTTP 403.*"Account › Logs › Read"/)
    expect(sqlStatuses()).toEqual([403]) // a refusal is not retried
    expect(ghWrites()).toHaveLength(0)
    expect(gh.pulls).toHaveLength(0)
  })

  it('a 503 twice (past the one retry): clear error, no PR, no GitHub write', { timeout: 20_000 }, async () => {
    cf.inject({ method: 'POST', path: /\/logs\/explorer\/query\/sql$/, status: 503, headers: { 'Retry-After': '1' }, times: 2 })
    const o = await collect()
    expect(o.error?.message).toMatch(/Log Explorer query on zero_trust_network_sessions failed \(also after one retry\): Cloudflare API error: HTTP 503/)
    expect(ghWrites()).toHaveLength(0)
    expect(gh.pulls).toHaveLength(0)
  })

  // Regression: the SDK's bare SyntaxError used to escape runSql unwrapped, so the run failed
  // with only "Expected ',' or '}' after property value in JSON at position 24" (no Log
  // Explorer, no dataset, and a quote of the body). Now: one retry, then a named failure.
  it('malformed JSON (HTTP 200) from the SQL endpoint: clear error naming Log Explorer, no PR, no GitHub write', async () => {
    cf.inject({ method: 'POST', path: /\/logs\/explorer\/query\/sql$/, status: 200, body: '{"result": [{"host": "x"', times: 2 })
    const o = await collect()
    expect(ghWrites()).toHaveLength(0)
    expect(gh.pulls).toHaveLength(0)
    expect(o.error?.message).toMatch(/Log Explorer query on zero_trust_network_sessions .*malformed JSON/i)
    expect(o.error?.message).not.toContain('{"result"')
    expect(sqlStatuses()).toEqual([200, 200]) // the one deliberate retry
  })

  it('a garbled SQL answer that echoes the token: no fragment of it in what a person reads', async () => {
    cf.inject({ method: 'POST', path: /\/logs\/explorer\/query\/sql$/, status: 200, body: `${TOKEN} reflected by a proxy`, times: 2 })
    const o = await collect()
    expect(o.error?.message).toMatch(/Log Explorer query on zero_trust_network_sessions .*malformed JSON/)
    expect(o.text).not.toContain(TOKEN.slice(0, 8))
    expect(gh.pulls).toHaveLength(0)
  })

  it('success:false (HTTP 200) from the SQL endpoint is an error, not "no failures": no PR', async () => {
    cf.inject({ method: 'POST', path: /\/logs\/explorer\/query\/sql$/, status: 200, envelope: { success: false, errors: [{ code: 1000, message: 'query failed' }] } })
    const o = await collect()
    expect(o.error?.message).toMatch(/Log Explorer query on zero_trust_network_sessions returned an unexpected response/)
    expect(ghWrites()).toHaveLength(0)
    expect(gh.pulls).toHaveLength(0)
  })
})
