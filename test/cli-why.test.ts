// `gateway-tls-bypass why VALUE` end to end through `cli()`: a real git repository in a temp
// folder (history made with the git command), and with a token the Cloudflare emulator
// (lists and the policy written by the CLI's own sync, bypassed traffic in gateway_http).
import { execFileSync } from 'node:child_process'
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cli } from '../action/src/cli.js'
import { startCloudflareEmulator, type CloudflareEmulator } from './emulators/cloudflare.js'

const ACCOUNT = '0123456789abcdef0123456789abcdef'
const TOKEN = 'cli-why-token-0123456789abcdef'
const EXCLUSIONS = 'exclusions:\n  - value: google.com\n    reason: Workspace tenant control headers\n'
const HEADER = '# one entry a line\n'
const DAY = 86_400_000

interface Commit { ips: string[]; hosts?: string[]; message: string; date: string }

/** A repository whose history is the given commits of lists/ips.txt and lists/hosts.txt. */
async function repo(commits: Commit[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'gtb-cli-why-'))
  await mkdir(join(dir, 'lists'))
  await writeFile(join(dir, 'exclusions.yaml'), EXCLUSIONS)
  const git = (args: string[], date?: string) => execFileSync('git', args, {
    cwd: dir,
    env: { ...process.env, ...(date ? { GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date } : {}) }
  })
  git(['init', '-q', '-b', 'main'])
  for (const c of commits) {
    await writeFile(join(dir, 'lists/ips.txt'), HEADER + c.ips.map((v) => `${v}\n`).join(''))
    await writeFile(join(dir, 'lists/hosts.txt'), HEADER + (c.hosts ?? []).map((v) => `${v}\n`).join(''))
    git(['add', '-A'])
    git(['-c', 'user.name=Some Reviewer', '-c', 'user.email=reviewer@example.invalid', 'commit', '-q', '-m', c.message], c.date)
  }
  return dir
}

async function run(argv: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  const out: string[] = []
  const err: string[] = []
  const code = await cli(argv, env, { out: (s) => out.push(s), err: (s) => err.push(s), cwd, isTTY: false })
  return { code, out: out.join('\n'), err: err.join('\n') }
}

const HISTORY: Commit[] = [
  { ips: ['192.0.2.1'], message: 'Initial lists', date: '2026-10-01T09:00:00Z' },
  { ips: ['192.0.2.1', '203.0.113.7'], message: 'Propose 1 TLS-inspection bypass\n\n+ ip 203.0.113.7  tls-error sessions=12 devices=4', date: '2026-11-02T10:00:00Z' },
  { ips: ['192.0.2.1', '203.0.113.7', '198.51.100.0/24'], hosts: ['api.pinned.example'], message: 'Vendor range\n\n+ ip 198.51.100.0/24  vendor published range\n+ host api.pinned.example  tls-error sessions=3 devices=2', date: '2026-11-05T10:00:00Z' },
  { ips: ['203.0.113.7', '198.51.100.0/24'], hosts: ['api.pinned.example'], message: 'Remove 192.0.2.1\n\n- ip 192.0.2.1  excluded', date: '2026-11-06T10:00:00Z' }
]

describe('why, offline (git history and files)', () => {
  let dir: string
  beforeAll(async () => {
    dir = await repo(HISTORY)
  })

  it('a line added by an earlier commit: its date, commit and evidence line; exit 0; no author', async () => {
    const r = await run(['why', '203.0.113.7'], dir)
    expect(r.code, r.err).toBe(0)
    expect(r.out).toMatch(/^203\.0\.113\.7 \(IP\)\n {2}Listed in lists\/ips\.txt now\./)
    expect(r.out).toMatch(/ {4}2026-11-02 {2}added {4}[0-9a-f]{7} {2}\+ ip 203\.0\.113\.7 {2}tls-error sessions=12 devices=4/)
    expect(r.out).toContain('Gateway: not checked')
    expect(r.out + r.err).not.toMatch(/reviewer@|Some Reviewer/)
  })

  it('a removed line: added then removed, with the removal evidence', async () => {
    const r = await run(['why', '192.0.2.1'], dir)
    expect(r.code, r.err).toBe(0)
    expect(r.out).toContain('Not listed in lists/ips.txt now.')
    expect(r.out).toMatch(/2026-11-06 {2}removed .* - ip 192\.0\.2\.1 {2}excluded/)
  })

  it('an IP inside a listed network names the network and its commit; any spelling of the value works', async () => {
    const r = await run(['why', '::ffff:198.51.100.9'], dir)
    expect(r.code, r.err).toBe(0)
    expect(r.out.split('\n')[0]).toBe('198.51.100.9 (IP)')
    expect(r.out).toContain('Inside the listed network 198.51.100.0/24:')
    expect(r.out).toContain('+ ip 198.51.100.0/24  vendor published range')
  })

  it('a hostname in another case with the root dot; an excluded name says which rule', async () => {
    expect((await run(['why', 'API.Pinned.Example.'], dir)).out).toContain('+ host api.pinned.example  tls-error sessions=3 devices=2')
    const r = await run(['why', 'mail.google.com'], dir)
    expect(r.code).toBe(0)
    expect(r.out).toContain('No commit in this history adds or removes it')
    expect(r.out).toContain('covered by google.com (line 2): Workspace tenant control headers')
  })

  it('--lists-dir and --exclusions-file are honoured', async () => {
    const other = await repo([{ ips: [], hosts: ['x.example'], message: 'x\n\n+ host x.example  hand', date: '2026-10-01T09:00:00Z' }])
    execFileSync('git', ['mv', 'lists', 'bypass'], { cwd: other })
    execFileSync('git', ['mv', 'exclusions.yaml', 'keep.yaml'], { cwd: other })
    const r = await run(['why', 'x.example', '--lists-dir', 'bypass', '--exclusions-file', 'keep.yaml'], other)
    expect(r.code, r.err).toBe(0)
    expect(r.out).toContain('Listed in bypass/hosts.txt now.')
  })

  it('a value that is no IP, network or hostname: exit 2, shown inert', async () => {
    const r = await run(['why', 'bad\u001b[31mhost!'], dir)
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/^error: why: ".*" is neither an IP address, a network nor a hostname/)
    // eslint-disable-next-line no-control-regex -- asserting that control characters are absent
    expect(r.err).not.toMatch(/\u001b/)
  })

  it('a hostile commit message reaches the terminal inert', async () => {
    const hostile = await repo([{ ips: ['192.0.2.9'], message: 'x\n\n+ ip 192.0.2.9  \u001b]0;pwned\u0007 \u001b[2J', date: '2026-10-01T09:00:00Z' }])
    const r = await run(['why', '192.0.2.9'], hostile)
    expect(r.code, r.err).toBe(0)
    // eslint-disable-next-line no-control-regex -- asserting that control characters are absent
    expect(r.out).not.toMatch(/[\u0000-\u0008\u000b-\u001f]/)
  })

  it('outside a git repository: exit 1 with one clear line; a broken list file: exit 1 naming the line', async () => {
    const plain = await mkdtemp(join(tmpdir(), 'gtb-cli-why-nogit-'))
    await mkdir(join(plain, 'lists'))
    await writeFile(join(plain, 'exclusions.yaml'), 'exclusions: []\n')
    const r = await run(['why', '192.0.2.1'], plain)
    expect(r.code).toBe(1)
    expect(r.err).toMatch(/^error: why reads the history of the list files with git, and git could not read it here \(.*not a git repository.*\)\. Run it inside a clone of your repository\.$/)
    await writeFile(join(plain, 'lists/ips.txt'), 'not-an-ip\n')
    const broken = await run(['why', '192.0.2.1'], plain)
    expect(broken.code).toBe(1)
    expect(broken.err).toContain('lists/ips.txt:1:')
  })

  it('a shallow clone says how to fetch the history', async () => {
    const shallow = `${dir}-shallow`
    execFileSync('git', ['clone', '-q', '--depth', '1', `file://${dir}`, shallow])
    const r = await run(['why', '203.0.113.7'], shallow)
    expect(r.code, r.err).toBe(0)
    expect(r.out).toContain('git fetch --unshallow')
  })
})

describe('why with a token (Cloudflare emulator)', () => {
  let cf: CloudflareEmulator
  let dir: string
  let clock = Date.parse('2026-11-02T10:05:00Z')
  const env = { CLOUDFLARE_API_TOKEN: TOKEN, CLOUDFLARE_ACCOUNT_ID: ACCOUNT }
  const flags = () => ['--cloudflare-api-url', cf.url]

  beforeAll(async () => {
    cf = await startCloudflareEmulator({ accountId: ACCOUNT, token: TOKEN, now: () => clock })
    dir = await repo(HISTORY)
    const synced = await run(['sync', ...flags()], dir, env)
    expect(synced.code, synced.err).toBe(0)
    clock = Date.now()
    const policyId = [...cf.rules.values()][0]!.id
    const at = (ms: number) => new Date(ms).toISOString()
    const row = (ms: number, host: string, ip: string, over: Record<string, unknown> = {}) => ({ Datetime: at(ms), Action: 'bypass', PolicyName: 'gateway-tls-bypass', PolicyID: policyId, HTTPHost: host, DestinationIP: ip, ...over })
    const now = Date.now()
    await cf.setLogRows('gateway_http', [
      row(now - 3 * DAY, 'api.pinned.example', '203.0.113.7'),
      row(now - 1 * DAY, 'cdn.vendor.example', '198.51.100.9'),
      row(now - 2 * 3_600_000, 'api.pinned.example', '203.0.113.7', { Action: 'allow' }),
      row(now - 40 * DAY, 'old.example', '203.0.113.7')
    ])
  })
  afterAll(async () => {
    await cf?.close()
  })

  it('the managed list that holds it, since when (created_at), and the last bypass; no write call, no token shown', async () => {
    const writes = cf.writes().length
    const r = await run(['why', '203.0.113.7', ...flags()], dir, env)
    expect(r.code, r.err).toBe(0)
    expect(r.out).toContain('Gateway: in "gateway-tls-bypass IP 1" since 2026-11-02.')
    const last = /Last bypassed: (\S+) \(looked back 30 day\(s\)\)\./.exec(r.out)
    expect(last, r.out).not.toBeNull()
    expect(Math.abs(Date.parse(last![1]!) - (Date.now() - 3 * DAY))).toBeLessThan(60_000)
    expect(cf.writes().filter((w) => !w.path.endsWith('/logs/explorer/query/sql'))).toHaveLength(writes)
    expect(r.out + r.err).not.toContain(TOKEN)
  })

  it('an IP held through a listed network names the network; its last bypass counts any address inside', async () => {
    const r = await run(['why', '198.51.100.9', ...flags()], dir, env)
    expect(r.code, r.err).toBe(0)
    expect(r.out).toContain('Gateway: in "gateway-tls-bypass IP 1" through the network 198.51.100.0/24 since 2026-11-02.')
    expect(r.out).toMatch(/Last bypassed: \S+Z \(looked back 30 day\(s\)\)\./)
  })

  it('not in the managed lists; --idle-days bounds the look-back (0: Log Explorer is not asked)', async () => {
    const r = await run(['why', '192.0.2.1', ...flags(), '--idle-days', '7'], dir, env)
    expect(r.code, r.err).toBe(0)
    expect(r.out).toContain('Gateway: not in the managed lists.')
    expect(r.out).toContain('Last bypassed: no request bypassed by the managed policy in the last 7 day(s).')
    const queries = cf.sqlQueries.length
    const off = await run(['why', '203.0.113.7', ...flags(), '--idle-days', '0'], dir, env)
    expect(off.code, off.err).toBe(0)
    expect(off.out).not.toContain('Last bypassed')
    expect(cf.sqlQueries.length).toBe(queries)
  })

  it('a token Cloudflare refuses: both answers say so, the rest of the answer stands, exit 0, token hidden', async () => {
    const wrong = 'wrong-why-token-0123456789'
    const r = await run(['why', '203.0.113.7', ...flags()], dir, { ...env, CLOUDFLARE_API_TOKEN: wrong })
    expect(r.code, r.err).toBe(0)
    expect(r.out).toContain('+ ip 203.0.113.7  tls-error sessions=12 devices=4')
    expect(r.out).toMatch(/Gateway: could not read the managed lists \(.+\)\./)
    expect(r.out).toMatch(/Last bypassed: could not read Log Explorer \(.+\)\./)
    expect(r.out + r.err).not.toContain('wrong-why-token')
  })

  it('gateway_http not enabled in Log Explorer: the Gateway answer stands, the bypass line says what to enable', async () => {
    const off = await startCloudflareEmulator({ accountId: ACCOUNT, token: TOKEN, enabledDatasets: ['zero_trust_network_sessions'] })
    try {
      expect((await run(['sync', '--cloudflare-api-url', off.url], dir, env)).code).toBe(0)
      const r = await run(['why', '203.0.113.7', '--cloudflare-api-url', off.url], dir, env)
      expect(r.code, r.err).toBe(0)
      expect(r.out).toMatch(/Gateway: in "gateway-tls-bypass IP 1" since \d{4}-\d\d-\d\d\./)
      expect(r.out).toMatch(/Last bypassed: could not read Log Explorer \(.*Enable gateway_http in Log Explorer.*\)\./)
    } finally {
      await off.close()
    }
  })
})
