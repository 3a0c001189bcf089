// Issue 5: secrets are never printed. The committed bundle (started like the runner starts
// it) and the CLI (in process) are run against emulators that fail in every way that could
// echo a credential back: 401/403 envelopes, a 500 or an HTML 502 whose body reflects the
// Authorization header, a dropped connection, malformed JSON, GitHub errors quoting the
// token. Every surface a person can read (stdout, stderr, the outputs file, the job
// summary) is searched for the token and for its distinctive middle part; the only place
// allowed to hold it is the runner's own `::add-mask::` command, once per secret input.
import { existsSync } from 'node:fs'
import { cp, mkdtemp } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { networkInterfaces, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { cli } from '../action/src/cli.js'
import { redactor } from '../action/src/main.js'
import { startCloudflareEmulator, type CloudflareEmulator, type Fault } from './emulators/cloudflare.js'
import { startGitHubEmulator, type GitHubEmulator, type Injection } from './emulators/github.js'
import { runActionBundle, type ActionRun } from './harness/run-action.js'

const repoRoot = fileURLToPath(new URL('../', import.meta.url))
const bundle = join(repoRoot, 'action/dist/index.mjs')
const ACCOUNT = '0123456789abcdef0123456789abcdef'
const CF_TOKEN = 'cf-SECRET-abc123def456'
const GH_TOKEN = 'ghs_SECRETsecret123'
/** Both tokens carry it; nothing else the product prints does. Finding it means a (partial) leak. */
const MARK = 'SECRET'
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')

/** Failing sessions for one destination, a few minutes old (inside any lookback). */
function failing(sni: string, ip: string, devices: number[]) {
  return devices.map((d) => ({
    SessionStartTime: iso(Date.now() - (5 + d) * 60_000),
    SessionEndTime: iso(Date.now() - (5 + d) * 60_000 + 500),
    ConnectionCloseReason: 'CLIENT_TLS_ERROR',
    OriginIP: ip,
    OriginPort: 443,
    SNI: sni,
    DeviceID: `device-${d}`,
    UserID: `user-${d}`,
    Email: `user${d}@corp.example`
  }))
}
const ROWS = [...failing('api.pinned.example', '192.0.2.10', [1, 2, 3]), ...failing('api.pinned.example', '192.0.2.10', [1, 2])]

async function workspace(): Promise<string> {
  const ws = await mkdtemp(join(tmpdir(), 'gtb-secrets-'))
  await cp(join(repoRoot, 'lists'), join(ws, 'lists'), { recursive: true })
  await cp(join(repoRoot, 'exclusions.yaml'), join(ws, 'exclusions.yaml'))
  return ws
}

/** Where a secret (or its distinctive part) shows up in `text`, as `surface: …line…`. */
function findings(surface: string, text: string, secrets: string[]): string[] {
  const out: string[] = []
  for (const line of text.split('\n')) {
    if ([...secrets, MARK].some((s) => line.includes(s))) out.push(`${surface}: ${line.slice(0, 300)}`)
  }
  return out
}

/**
 * Every place a bundle run exposes a secret, except the one `::add-mask::<secret>` line per
 * secret input that masking needs. Empty means clean.
 */
function bundleLeaks(r: ActionRun, secrets: string[]): string[] {
  const lines = r.stdout.split('\n')
  const masks = lines.filter((l) => l.startsWith('::add-mask::'))
  const out: string[] = []
  for (const s of secrets) {
    const n = masks.filter((l) => l === `::add-mask::${s}`).length
    if (n !== 1) out.push(`add-mask: ${n} lines for ${s} (want exactly 1)`)
  }
  for (const m of masks) if (!secrets.some((s) => m === `::add-mask::${s}`)) out.push(`add-mask: unexpected ${m}`)
  out.push(...findings('stdout', lines.filter((l) => !l.startsWith('::add-mask::')).join('\n'), secrets))
  out.push(...findings('stderr', r.stderr, secrets))
  out.push(...findings('outputs', Object.entries(r.outputs).map(([k, v]) => `${k}=${v}`).join('\n'), secrets))
  out.push(...findings('summary', r.summary, secrets))
  return out
}

/** The step's failure message (`::error::…`), unescaped as the runner shows it. */
function failure(r: ActionRun): string {
  return r.stdout.split('\n').filter((l) => l.startsWith('::error')).map((l) => l.replace(/%0A/g, '\n').replace(/%0D/g, '\r').replace(/%25/g, '%')).join('\n')
}

interface Scenario {
  cf: CloudflareEmulator
  gh: GitHubEmulator
  close(): Promise<void>
}

async function emulators(o: { cfFaults?: Fault[]; ghFaults?: Injection[]; rows?: boolean } = {}): Promise<Scenario> {
  const cf = await startCloudflareEmulator({ accountId: ACCOUNT, token: CF_TOKEN })
  if (o.rows) await cf.setLogRows('zero_trust_network_sessions', ROWS)
  const gh = await startGitHubEmulator({
    token: GH_TOKEN,
    files: {
      'lists/ips.txt': '# ips\n',
      'lists/hosts.txt': '# hosts\n',
      'exclusions.yaml': 'exclusions: []\n'
    }
  })
  for (const f of o.cfFaults ?? []) cf.inject(f)
  for (const f of o.ghFaults ?? []) gh.inject(f)
  return { cf, gh, close: async () => { await cf.close(); await gh.close() } }
}

async function runBundle(s: Scenario, command: 'collect' | 'sync' | 'check', inputs: Record<string, string> = {}, env: Record<string, string> = {}): Promise<ActionRun> {
  if (!existsSync(bundle)) throw new Error('action/dist/index.mjs is missing: run `npm run build`')
  return runActionBundle({
    workspace: await workspace(),
    inputs: { 'command': command, 'cloudflare-account-id': ACCOUNT, 'cloudflare-api-token': CF_TOKEN, 'cloudflare-api-url': s.cf.url, ...inputs },
    github: { repository: `${s.gh.owner}/${s.gh.repo}`, apiUrl: s.gh.url, token: GH_TOKEN, sha: '0'.repeat(40) },
    env
  })
}

async function runCli(argv: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = []
  const err: string[] = []
  // Same retries, zero waits between them (README, Development).
  const code = await cli(argv, { GATEWAY_TLS_BYPASS_WAIT_SCALE: '0', ...env }, { out: (s) => out.push(s), err: (s) => err.push(s), cwd: await workspace(), isTTY: false })
  return { code, out: out.join('\n'), err: err.join('\n') }
}

const always = { times: Infinity }
const envelope = (code: number, message: string) => ({ success: false as const, errors: [{ code, message }] })

/** Cloudflare answers that could carry the token back; each is served to every request. */
const CF_FAULTS: [string, Fault][] = [
  ['401 envelope quoting the token', { ...always, status: 401, envelope: envelope(10000, `Authentication error: token ${CF_TOKEN} is not valid`) }],
  ['403 envelope', { ...always, status: 403, envelope: envelope(10000, 'Authentication error') }],
  ['500 reflecting the Authorization header', { ...always, status: 500, headers: { 'Content-Type': 'text/plain' }, body: `upstream said: Bearer ${CF_TOKEN}` }],
  ['500 JSON reflecting the raw token', { ...always, status: 500, body: JSON.stringify({ success: false, errors: [{ code: 1, message: `upstream saw ${CF_TOKEN}` }] }) }],
  ['HTML 502 from a proxy quoting headers', { ...always, status: 502, headers: { 'Content-Type': 'text/html' }, body: `<html><body><h1>502 Bad Gateway</h1><pre>authorization: Bearer ${CF_TOKEN}\ntoken=${CF_TOKEN}</pre></body></html>` }],
  ['dropped connection', { ...always, dropConnection: true }],
  ['malformed JSON containing the token', { ...always, status: 200, body: `{"result": ["${CF_TOKEN}"` }],
  // JSON.parse quotes the first ten characters of what it could not parse ("cf-SECRET-"...);
  // that SyntaxError text once reached the failure message (a partial leak no exact-match mask catches).
  ['a non-JSON body that starts with the token', { ...always, status: 200, body: `${CF_TOKEN} is not allowed here, check the request headers` }],
  ['200 success:false quoting the token', { ...always, status: 200, envelope: envelope(9109, `Invalid access token ${CF_TOKEN}`) }]
]

/** GitHub errors quoting the token (collect opens the proposal PR with it). */
const GH_FAULTS: [string, Injection][] = [
  ['401 quoting the token', { ...always, status: 401, body: { message: `Bad credentials: ${GH_TOKEN}`, documentation_url: 'https://docs.github.com/rest' } }],
  ['403 quoting the token', { ...always, status: 403, body: { message: `Resource not accessible by integration (token ${GH_TOKEN})` } }],
  ['422 on the write quoting the token', { ...always, method: 'POST', status: 422, body: { message: `Validation Failed for token ${GH_TOKEN}`, errors: [{ message: `authorization: token ${GH_TOKEN}` }] } }],
  ['500 quoting the token', { ...always, status: 500, body: `internal error, request had Authorization: token ${GH_TOKEN}` }]
]

/** Writes retry ambiguous failures five times with back-off; these cover every message path of the write adapter. */
const WRITE_FAULTS = CF_FAULTS.filter(([n]) => /^(401|403|500 reflecting|200 success|a non-JSON)/.test(n))

describe('redactor', () => {
  const redact = redactor([CF_TOKEN, ` ${GH_TOKEN}\r\n`, undefined, '', 'abc'])

  it.each([
    [`token ${CF_TOKEN}.`, 'token ***.'],
    [`Bearer ${GH_TOKEN}`, 'Bearer ***'],
    [`"${CF_TOKEN.slice(0, 10)}"... is not valid JSON`, '"***"... is not valid JSON'],
    [`…${CF_TOKEN.slice(-9)}`, '…***'],
    ['abc and 401 Unauthorized stay', 'abc and 401 Unauthorized stay']
  ])('%j → %j', (input, output) => expect(redact(input)).toBe(output))

  it('leaves short fragments (under 8 characters) alone, so ordinary words survive', () => {
    expect(redact('cf-SECR')).toBe('cf-SECR')
  })
})

describe('the bundled action never prints a secret', () => {
  // One concurrent group, slowest first (GitHub 5xx and write retries back off for seconds).
  describe.concurrent('under failures', () => {
    it.each(GH_FAULTS.slice().reverse())('GitHub during collect: %s', async (_name, fault) => {
      const s = await emulators({ ghFaults: [fault], rows: true })
      try {
        const r = await runBundle(s, 'collect')
        expect(r.code).not.toBe(0)
        expect(failure(r)).not.toBe('')
        expect(bundleLeaks(r, [CF_TOKEN, GH_TOKEN])).toEqual([])
      } finally {
        await s.close()
      }
    }, 60_000)

    for (const [name, fault] of WRITE_FAULTS) {
      it(`Cloudflare during sync (writes): ${name}`, async () => {
        const s = await emulators({ cfFaults: [{ ...fault, method: 'POST' }] })
        try {
          const r = await runBundle(s, 'sync')
          expect(r.code).not.toBe(0)
          expect(s.cf.writes().length).toBeGreaterThan(0)
          expect(bundleLeaks(r, [CF_TOKEN, GH_TOKEN])).toEqual([])
        } finally {
          await s.close()
        }
      })
    }

    for (const [name, fault] of CF_FAULTS) {
      it(`Cloudflare during check (reads): ${name}`, async () => {
        const s = await emulators({ cfFaults: [fault] })
        try {
          const r = await runBundle(s, 'check')
          expect(r.code).not.toBe(0)
          expect(failure(r)).not.toBe('')
          expect(bundleLeaks(r, [CF_TOKEN, GH_TOKEN])).toEqual([])
        } finally {
          await s.close()
        }
      })
    }

    for (const [name, fault] of CF_FAULTS.filter(([n]) => !n.startsWith('dropped'))) {
      it(`Cloudflare during collect (Log Explorer SQL): ${name}`, async () => {
        const s = await emulators({ cfFaults: [{ ...fault, path: /logs\/explorer/ }], rows: true })
        try {
          const r = await runBundle(s, 'collect')
          expect(r.code).not.toBe(0)
          expect(bundleLeaks(r, [CF_TOKEN, GH_TOKEN])).toEqual([])
        } finally {
          await s.close()
        }
      })
    }
  })

  it('a successful collect that opens a PR masks both tokens once and prints neither', async () => {
    const s = await emulators({ rows: true })
    try {
      const r = await runBundle(s, 'collect')
      expect(r.code, r.stdout + r.stderr).toBe(0)
      expect(r.outputs['pull-request-number']).toMatch(/^\d+$/)
      expect(bundleLeaks(r, [CF_TOKEN, GH_TOKEN])).toEqual([])
      for (const req of s.gh.requests) expect(JSON.stringify(req.body ?? '')).not.toContain(MARK)
      // Each token goes only to its own service.
      for (const req of s.cf.requests) expect(JSON.stringify(req.headers) + req.body).not.toContain(GH_TOKEN)
    } finally {
      await s.close()
    }
  })

  it('a 403 on a read names the read permission; on a write, the edit permission', async () => {
    const forbidden = { status: 403, envelope: envelope(10000, 'Authentication error') }
    const read = await emulators({ cfFaults: [{ ...always, ...forbidden }] })
    const write = await emulators({ cfFaults: [{ ...always, ...forbidden, method: 'POST' }] })
    const logs = await emulators({ cfFaults: [{ ...always, ...forbidden, path: /logs\/explorer/ }], rows: true })
    try {
      const [r, w, l] = await Promise.all([runBundle(read, 'check'), runBundle(write, 'sync'), runBundle(logs, 'collect')])
      expect(failure(r)).toContain('HTTP 403')
      expect(failure(r)).toContain('Account › Zero Trust › Read')
      expect(failure(w)).toContain('HTTP 403')
      expect(failure(w)).toContain('Account › Zero Trust › Edit')
      expect(failure(l)).toContain('HTTP 403')
      expect(failure(l)).toContain('Account › Logs › Read')
      for (const x of [r, w, l]) expect(bundleLeaks(x, [CF_TOKEN, GH_TOKEN])).toEqual([])
    } finally {
      await Promise.all([read.close(), write.close(), logs.close()])
    }
  })

  it('stray CLOUDFLARE_API_KEY / CLOUDFLARE_EMAIL / CLOUDFLARE_CUSTOM_HEADERS are never sent', async () => {
    const s = await emulators()
    try {
      const r = await runBundle(s, 'sync', {}, {
        CLOUDFLARE_API_KEY: 'stray-global-api-key-0001',
        CLOUDFLARE_EMAIL: 'stray@corp.example',
        CLOUDFLARE_API_EMAIL: 'stray@corp.example',
        CLOUDFLARE_CUSTOM_HEADERS: 'Authorization: Bearer stolen\nX-Auth-Key: stray-global-api-key-0001\nX-Stray: stolen'
      })
      expect(r.code, r.stdout + r.stderr).toBe(0)
      expect(s.cf.requests.length).toBeGreaterThan(0)
      for (const req of s.cf.requests) {
        expect(req.headers['authorization']).toBe(`Bearer ${CF_TOKEN}`)
        expect(req.headers['x-auth-key']).toBeUndefined()
        expect(req.headers['x-auth-email']).toBeUndefined()
        expect(req.headers['x-auth-user-service-key']).toBeUndefined()
        expect(JSON.stringify(req.headers)).not.toMatch(/stolen|stray/)
      }
      expect(bundleLeaks(r, [CF_TOKEN, GH_TOKEN])).toEqual([])
    } finally {
      await s.close()
    }
  })
})

describe('the CLI never prints the token', () => {
  afterEach(() => {
    vi.unstubAllEnvs()
  })

  const cases: [string, 'check' | 'sync' | 'collect', Fault][] = [
    ...CF_FAULTS.map(([n, f]): [string, 'check', Fault] => [n, 'check', f]),
    ...WRITE_FAULTS.filter(([n]) => /^40[13]/.test(n)).map(([n, f]): [string, 'sync', Fault] => [n, 'sync', { ...f, method: 'POST' }]),
    ...CF_FAULTS.filter(([n]) => !n.startsWith('dropped')).map(([n, f]): [string, 'collect', Fault] => [n, 'collect', { ...f, path: /logs\/explorer/ }])
  ]

  describe.concurrent('Cloudflare failures', () => {
    for (const [name, command, fault] of cases) {
      it(`${command}: ${name}`, async () => {
        const s = await emulators({ cfFaults: [fault], rows: command === 'collect' })
        try {
          const extra = command === 'collect' ? ['--source', 'log-explorer', '--lookback', '1h'] : []
          const r = await runCli([command, '--cloudflare-api-url', s.cf.url, ...extra], { CLOUDFLARE_API_TOKEN: CF_TOKEN, CLOUDFLARE_ACCOUNT_ID: ACCOUNT })
          expect(r.code).toBe(1)
          expect(r.err).toMatch(/error: /)
          expect([...findings('out', r.out, [CF_TOKEN]), ...findings('err', r.err, [CF_TOKEN])]).toEqual([])
        } finally {
          await s.close()
        }
      })
    }
  })

  it('the token given as a flag is not printed either', async () => {
    const s = await emulators({ cfFaults: CF_FAULTS.slice(0, 1).map(([, f]) => f) })
    try {
      const r = await runCli(['check', '--cloudflare-api-url', s.cf.url, '--cloudflare-api-token', CF_TOKEN, '--cloudflare-account-id', ACCOUNT], {})
      expect(r.code).toBe(1)
      expect([...findings('out', r.out, [CF_TOKEN]), ...findings('err', r.err, [CF_TOKEN])]).toEqual([])
    } finally {
      await s.close()
    }
  })

  // Regression: the CLI once built its redactor from the untrimmed value while the trimmed
  // token was sent, so a token with surrounding whitespace (a CRLF .env file, a pasted
  // value) quoted back by the upstream was printed verbatim.
  it('a token with surrounding whitespace (CRLF .env file) is still redacted', async () => {
    const s = await emulators({ cfFaults: CF_FAULTS.slice(0, 1).map(([, f]) => f) })
    try {
      const r = await runCli(['check', '--cloudflare-api-url', s.cf.url], { CLOUDFLARE_API_TOKEN: `${CF_TOKEN}\r`, CLOUDFLARE_ACCOUNT_ID: ACCOUNT })
      expect(r.code).toBe(1)
      expect([...findings('out', r.out, [CF_TOKEN]), ...findings('err', r.err, [CF_TOKEN])]).toEqual([])
    } finally {
      await s.close()
    }
  })

  it('a 403 names the missing permission', async () => {
    const s = await emulators({ cfFaults: [{ ...always, status: 403, envelope: envelope(10000, 'Authentication error') }] })
    try {
      const r = await runCli(['check', '--cloudflare-api-url', s.cf.url], { CLOUDFLARE_API_TOKEN: CF_TOKEN, CLOUDFLARE_ACCOUNT_ID: ACCOUNT })
      expect(r.code).toBe(1)
      expect(r.err).toContain('HTTP 403')
      expect(r.err).toContain('Account › Zero Trust › Read')
    } finally {
      await s.close()
    }
  })

  it('stray CLOUDFLARE_API_KEY / CLOUDFLARE_EMAIL / CLOUDFLARE_CUSTOM_HEADERS in the environment are never sent', async () => {
    vi.stubEnv('CLOUDFLARE_API_KEY', 'stray-global-api-key-0001')
    vi.stubEnv('CLOUDFLARE_EMAIL', 'stray@corp.example')
    vi.stubEnv('CLOUDFLARE_API_EMAIL', 'stray@corp.example')
    vi.stubEnv('CLOUDFLARE_CUSTOM_HEADERS', 'Authorization: Bearer stolen')
    const s = await emulators()
    try {
      const r = await runCli(['sync', '--cloudflare-api-url', s.cf.url], { ...process.env, CLOUDFLARE_API_TOKEN: CF_TOKEN, CLOUDFLARE_ACCOUNT_ID: ACCOUNT })
      expect(r.code, r.err).toBe(0)
      expect(s.cf.requests.length).toBeGreaterThan(0)
      for (const req of s.cf.requests) {
        expect(req.headers['authorization']).toBe(`Bearer ${CF_TOKEN}`)
        expect(req.headers['x-auth-key']).toBeUndefined()
        expect(req.headers['x-auth-email']).toBeUndefined()
        expect(JSON.stringify(req.headers)).not.toMatch(/stolen|stray/)
      }
    } finally {
      await s.close()
    }
  })
})

describe('a plain-http Cloudflare URL that is not loopback is refused before any request', () => {
  /** A server reachable on a non-loopback address, counting what reaches it. */
  async function trap(): Promise<{ url: string; hits: string[]; server: Server }> {
    const hits: string[] = []
    const server = createServer((req, res) => {
      hits.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''}`)
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"success":true,"result":[],"errors":[],"messages":[]}')
    })
    await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve))
    const { port } = server.address() as AddressInfo
    // A real interface address when there is one; 127.0.0.2 routes to lo on Linux but is not a loopback name the client allows.
    const ip = Object.values(networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal)?.address ?? '127.0.0.2'
    return { url: `http://${ip}:${port}`, hits, server }
  }

  it('bundle: cloudflare-api-url input and CLOUDFLARE_BASE_URL env', async () => {
    const t = await trap()
    const s = await emulators()
    try {
      const viaInput = await runBundle(s, 'check', { 'cloudflare-api-url': t.url })
      const viaEnv = await runBundle(s, 'check', { 'cloudflare-api-url': '' }, { CLOUDFLARE_BASE_URL: t.url })
      for (const r of [viaInput, viaEnv]) {
        expect(r.code).not.toBe(0)
        expect(failure(r)).toMatch(/must be https/)
        expect(bundleLeaks(r, [CF_TOKEN, GH_TOKEN])).toEqual([])
      }
      expect(t.hits).toEqual([])
    } finally {
      t.server.close()
      await s.close()
    }
  })

  it('CLI: --cloudflare-api-url flag and CLOUDFLARE_BASE_URL env, for check, sync and collect', async () => {
    const t = await trap()
    try {
      const env = { CLOUDFLARE_API_TOKEN: CF_TOKEN, CLOUDFLARE_ACCOUNT_ID: ACCOUNT }
      const runs = await Promise.all([
        runCli(['check', '--cloudflare-api-url', t.url], env),
        runCli(['sync', '--cloudflare-api-url', t.url], env),
        runCli(['collect', '--lookback', '1h', '--dry-run', '--cloudflare-api-url', t.url], env),
        runCli(['check'], { ...env, CLOUDFLARE_BASE_URL: t.url })
      ])
      for (const r of runs) {
        expect(r.code).toBe(1)
        expect(r.err).toMatch(/must be https/)
        expect(findings('err', r.err + r.out, [CF_TOKEN])).toEqual([])
      }
      expect(t.hits).toEqual([])
    } finally {
      t.server.close()
    }
  })
})
