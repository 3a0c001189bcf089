// Issue 5, CLI parity: every command runs locally with the same options as flags or
// environment variables, and `--help` lists them. The CLI runs in process through
// `cli(argv, env, io)` over a temp copy of the repository's files; the installed bin is
// spawned once, as a user would run it.
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { cp, mkdir, mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cli, helpText } from '../action/src/cli.js'
import { parseListFile } from '../action/src/core/listfile.js'
import { CLI_FLAGS, INPUTS } from '../action/src/inputs.js'
import { startCloudflareEmulator, type CloudflareEmulator } from './emulators/cloudflare.js'
import { runActionBundle } from './harness/run-action.js'

const repoRoot = fileURLToPath(new URL('../', import.meta.url))
const ACCOUNT = '0123456789abcdef0123456789abcdef'
const TOKEN = 'cli-test-token-0123456789'
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')

interface CliRun { code: number; out: string; err: string }

async function run(argv: string[], o: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<CliRun> {
  const out: string[] = []
  const err: string[] = []
  const code = await cli(argv, o.env ?? {}, { out: (s) => out.push(s), err: (s) => err.push(s), cwd: o.cwd ?? (await workspace()), isTTY: false })
  return { code, out: out.join('\n'), err: err.join('\n') }
}

/** A temp folder with copies of the repository's `lists/` and `exclusions.yaml`, plus `files`. */
async function workspace(files: Record<string, string> = {}): Promise<string> {
  const ws = await mkdtemp(join(tmpdir(), 'gtb-cli-'))
  await cp(join(repoRoot, 'lists'), join(ws, 'lists'), { recursive: true })
  await cp(join(repoRoot, 'exclusions.yaml'), join(ws, 'exclusions.yaml'))
  for (const [p, c] of Object.entries(files)) await writeFile(join(ws, p), c)
  return ws
}

/** Every file under `dir` with its bytes, to prove that a run wrote nothing. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue
    const p = join(e.parentPath, e.name)
    out[p.slice(dir.length + 1)] = (await readFile(p)).toString('base64')
  }
  return out
}

const repoFile = (p: string) => readFile(join(repoRoot, p), 'utf8')

/** A network-session record as Logpush writes it (NDJSON, one per line). */
function session(o: { sni?: string; ip: string; device: number; minutesAgo: number; reason?: string }) {
  const start = Date.now() - o.minutesAgo * 60_000
  return {
    SessionStartTime: iso(start),
    SessionEndTime: iso(start + 700),
    ConnectionCloseReason: o.reason ?? 'CLIENT_TLS_ERROR',
    OriginIP: o.ip,
    OriginPort: 443,
    SNI: o.sni ?? '',
    DeviceID: `device-${o.device}`,
    UserID: `user-${o.device}`,
    Email: `user${o.device}@corp.example`
  }
}

const PINNED = 'api.pinned.example'
const NO_SNI_IP = '198.51.100.7'

/** Three gzip NDJSON files: a host failing on 3 devices, an IP without SNI failing twice, a google.com failure, some noise. */
async function logpushDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'gtb-logpush-'))
  const files: Record<string, object[]> = {
    '20260101/a.log.gz': [1, 2, 3].map((device) => session({ sni: PINNED, ip: '192.0.2.10', device, minutesAgo: 10 + device })),
    '20260101/b.log.gz': [session({ ip: NO_SNI_IP, device: 1, minutesAgo: 5 }), session({ ip: NO_SNI_IP, device: 2, minutesAgo: 6 })],
    '20260102/c.log.gz': [
      ...[1, 2, 3].map((device) => session({ sni: 'www.google.com', ip: '142.250.1.1', device, minutesAgo: 3 })),
      ...[1, 2, 3].map((device) => session({ sni: 'intranet.corp.example', ip: '203.0.113.5', device, minutesAgo: 2, reason: 'CLIENT_CLOSED' }))
    ]
  }
  for (const [name, records] of Object.entries(files)) {
    await mkdir(join(dir, name, '..'), { recursive: true })
    await writeFile(join(dir, name), gzipSync(records.map((r) => JSON.stringify(r)).join('\n') + '\n'))
  }
  return dir
}

/** One block of the printed plan, from its title (e.g. `Add (`) to the next blank line. */
function section(out: string, title: string): string {
  const i = out.indexOf(`\n${title}`)
  if (i < 0) return ''
  const end = out.indexOf('\n\n', i + 1)
  return out.slice(i + 1, end < 0 ? undefined : end)
}

/** The entries (non-comment lines) of a list file. */
const entries = (text: string) => text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'))

describe('--help and argument errors', () => {
  // Per-command help, typos and exit codes in detail: test/cli-usage.test.ts.
  it('the help of each command lists its inputs as flags (never github-token or command), with their env variables', () => {
    for (const c of ['collect', 'sync', 'check', 'why'] as const) {
      const help = helpText(c)
      for (const name of CLI_FLAGS[c]) {
        const s = INPUTS.find((i) => i.name === name)!
        expect(help).toMatch(new RegExp(`^  --${s.name}${s.boolean ? '$' : ' <value>$'}`, 'm'))
        if (s.env) expect(help).toContain(`[env ${s.env}]`)
      }
      expect(help).not.toMatch(/--github-token|--command\b/)
      expect(help).toContain('--help')
    }
  })

  it('--help prints the help on stdout and exits 0', async () => {
    const r = await run(['--help'])
    expect(r.code).toBe(0)
    expect(r.out).toBe(helpText())
    expect(r.err).toBe('')
    expect((await run(['collect', '--help'])).code).toBe(0)
  })

  it('no command: help and exit 2', async () => {
    const r = await run([])
    expect(r.code).toBe(2)
    expect(r.err).toContain('Usage: gateway-tls-bypass')
  })

  it('an unknown flag: exit 2 with a message naming it', async () => {
    const r = await run(['check', '--no-such-flag'])
    expect(r.code).toBe(2)
    expect(r.err).toContain('--no-such-flag')
    expect(r.err).toContain('--help')
  })

  it('an unknown command is a usage error (exit 2) naming the accepted commands', async () => {
    const r = await run(['colect'])
    expect(r.code).toBe(2)
    expect(r.err).toContain('unknown command "colect"; did you mean collect? Commands: collect, sync, check, why, help.')
  })

  it('two commands: exit 2', async () => {
    const r = await run(['check', 'sync'])
    expect(r.code).toBe(2)
    expect(r.err).toContain('check takes no arguments')
  })

  it('every flag of check is accepted (a bad value is a validation error, exit 1, never an unknown flag)', async () => {
    for (const name of CLI_FLAGS.check) {
      const s = INPUTS.find((i) => i.name === name)!
      const r = await run(['check', ...(s.boolean ? [`--${s.name}`] : [`--${s.name}`, s.default || 'x'])])
      expect(r.err, s.name).not.toMatch(/unknown flag|does not use/)
      expect([0, 1], `${s.name}: ${r.err}`).toContain(r.code)
    }
  })

  it('an invalid value gets the same message as in the action', async () => {
    const r = await run(['collect', '--source', 'logpush', '--logpush-dir', 'logs', '--min-sessions', '0', '--ports', '99999'])
    expect(r.code).toBe(1)
    expect(r.err).toContain('min-sessions: must be between 1 and 1000000')
    expect(r.err).toContain('ports: "99999" must be comma-separated port numbers 1-65535')
    if (!existsSync(join(repoRoot, 'action/dist/index.mjs'))) throw new Error('action/dist/index.mjs is missing: run `npm run build`')
    const action = await runActionBundle({
      workspace: await workspace(),
      inputs: { 'command': 'collect', 'source': 'logpush', 'logpush-dir': 'logs', 'min-sessions': '0', 'ports': '99999' },
      github: { repository: 'acme/repo', apiUrl: 'http://127.0.0.1:9', token: 'unused-token' }
    })
    expect(action.code).not.toBe(0)
    const failed = action.stdout.split('\n').find((l) => l.startsWith('::error::'))!.replace(/%0A/g, '\n')
    expect(r.err).toBe(`error: ${failed.slice('::error::'.length)}`)
  })
})

describe('collect --source logpush (offline)', () => {
  let logs: string

  beforeAll(async () => {
    logs = await logpushDir()
  })

  it('--dry-run prints the plan and writes nothing', async () => {
    const ws = await workspace()
    const before = await snapshot(ws)
    const r = await run(['collect', '--source', 'logpush', '--logpush-dir', logs, '--lookback', 'all', '--dry-run'], { cwd: ws })
    expect(r.code, r.err).toBe(0)
    expect(section(r.out, 'Add (')).toContain(PINNED)
    expect(section(r.out, 'Add (')).toContain(NO_SNI_IP)
    expect(section(r.out, 'Add (')).not.toContain('google')
    expect(section(r.out, 'Suppressed by exclusions')).toContain('www.google.com')
    expect(r.out + r.err).not.toMatch(/device-|user-\d|corp\.example/)
    expect(await snapshot(ws)).toEqual(before)
  })

  it('a relative --logpush-dir is read from the working directory', async () => {
    const ws = await workspace()
    await cp(logs, join(ws, 'logs'), { recursive: true })
    const r = await run(['collect', '--source', 'logpush', '--logpush-dir', 'logs', '--lookback', 'all', '--dry-run'], { cwd: ws })
    expect(r.code, r.err).toBe(0)
    expect(r.out).toContain(PINNED)
  })

  it('without --dry-run rewrites the list files canonically, header kept; a second run changes nothing', async () => {
    const ws = await workspace()
    const argv = ['collect', '--source', 'logpush', '--logpush-dir', logs, '--lookback', 'all']
    const first = await run(argv, { cwd: ws })
    expect(first.code, first.err).toBe(0)
    const hosts = await readFile(join(ws, 'lists/hosts.txt'), 'utf8')
    const ips = await readFile(join(ws, 'lists/ips.txt'), 'utf8')
    expect(hosts).toBe(`${await repoFile('lists/hosts.txt')}${PINNED}\n`)
    expect(ips).toBe(`${await repoFile('lists/ips.txt')}${NO_SNI_IP}\n`)
    for (const [text, kind, file] of [[hosts, 'host', 'hosts.txt'], [ips, 'ip', 'ips.txt']] as const) {
      const parsed = parseListFile(text, { kind, file })
      expect(parsed.problems).toEqual([])
      expect(parsed.notices).toEqual([])
    }
    expect(entries(hosts)).not.toContain('www.google.com')

    const after = await snapshot(ws)
    const mtimes = await Promise.all(['lists/hosts.txt', 'lists/ips.txt'].map(async (p) => (await stat(join(ws, p))).mtimeMs))
    const second = await run(argv, { cwd: ws })
    expect(second.code, second.err).toBe(0)
    expect(second.err).toContain('already up to date')
    expect(await snapshot(ws)).toEqual(after)
    expect(await Promise.all(['lists/hosts.txt', 'lists/ips.txt'].map(async (p) => (await stat(join(ws, p))).mtimeMs))).toEqual(mtimes)
  })

  it('--min-sessions and --min-devices are honoured like the action inputs', async () => {
    const r = await run(['collect', '--source', 'logpush', '--logpush-dir', logs, '--lookback', 'all', '--dry-run', '--min-devices', '3'])
    expect(r.code, r.err).toBe(0)
    expect(section(r.out, 'Add (')).toContain(PINNED)
    expect(section(r.out, 'Add (')).not.toContain(NO_SNI_IP)
    expect(section(r.out, 'Below threshold')).toContain(NO_SNI_IP)
    expect(r.out).toContain('min-devices 3')
  })
})

describe('check and sync', () => {
  let cf: CloudflareEmulator
  const env = { CLOUDFLARE_API_TOKEN: TOKEN, CLOUDFLARE_ACCOUNT_ID: ACCOUNT }
  /** Lists with entries; `extra` is one more IP, so the plan has something to show after a sync. */
  const withEntries = async (extra = '') => workspace({
    'lists/ips.txt': `${await repoFile('lists/ips.txt')}192.0.2.10\n${extra}`,
    'lists/hosts.txt': `${await repoFile('lists/hosts.txt')}${PINNED}\n`
  })

  beforeAll(async () => {
    cf = await startCloudflareEmulator({ accountId: ACCOUNT, token: TOKEN })
  })
  afterAll(async () => {
    await cf?.close()
  })

  it('check without a token validates the files and exits 0', async () => {
    const r = await run(['check'], { env: {} })
    expect(r.code, r.err).toBe(0)
    expect(r.err).toMatch(/Files valid/)
    expect(r.err).toMatch(/validated the files only/)
  })

  it('check with an invalid list line exits 1 naming file and line', async () => {
    const ips = await repoFile('lists/ips.txt')
    const line = ips.split('\n').length // the line after the existing ones
    const ws = await workspace({ 'lists/ips.txt': `${ips}not-an-ip\n` })
    const r = await run(['check'], { cwd: ws })
    expect(r.code).toBe(1)
    expect(r.err).toContain(`lists/ips.txt:${line}:`)
  })

  it('check with a token shows the plan and makes no write call', async () => {
    const writes = cf.writes().length
    const r = await run(['check', '--cloudflare-api-url', cf.url], { env, cwd: await withEntries() })
    expect(r.code, r.err).toBe(0)
    expect(r.out).toContain('192.0.2.10')
    expect(r.out).toContain(PINNED)
    expect(cf.writes().length).toBe(writes)
    expect(cf.requests.length).toBeGreaterThan(0)
  })

  it('sync --dry-run shows the plan and makes no write call', async () => {
    const writes = cf.writes().length
    const r = await run(['sync', '--dry-run', '--cloudflare-api-url', cf.url], { env, cwd: await withEntries() })
    expect(r.code, r.err).toBe(0)
    expect(r.out).toContain(PINNED)
    expect(cf.writes().length).toBe(writes)
    expect(cf.lists.size).toBe(0)
  })

  it('sync applies the lists; a second sync makes zero write calls', async () => {
    const ws = await withEntries()
    const first = await run(['sync', '--cloudflare-api-url', cf.url], { env, cwd: ws })
    expect(first.code, first.err).toBe(0)
    const items = [...cf.lists.values()].flatMap((l) => l.items.map((i) => i.value.replace(/\/32$/, '')))
    expect(items.sort()).toEqual(['192.0.2.10', PINNED].sort())
    expect([...cf.rules.values()].map((r) => r.name)).toEqual(['gateway-tls-bypass'])
    const writes = cf.writes().length
    const second = await run(['sync', '--cloudflare-api-url', cf.url], { env, cwd: ws })
    expect(second.code, second.err).toBe(0)
    expect(cf.writes().length).toBe(writes)
  })

  it('env fallbacks: CLOUDFLARE_API_TOKEN, CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_BASE_URL', async () => {
    const n = cf.requests.length
    const r = await run(['check'], { env: { ...env, CLOUDFLARE_BASE_URL: cf.url }, cwd: await withEntries('192.0.2.77\n') })
    expect(r.code, r.err).toBe(0)
    expect(r.out).toContain('192.0.2.77')
    const mine = cf.requests.slice(n)
    expect(mine.length).toBeGreaterThan(0)
    for (const q of mine) {
      expect(q.headers['authorization']).toBe(`Bearer ${TOKEN}`)
      expect(q.path.startsWith(`/accounts/${ACCOUNT}/`)).toBe(true)
    }
  })

  it('flags override the environment', async () => {
    const n = cf.requests.length
    const r = await run(
      ['check', '--cloudflare-api-token', TOKEN, '--cloudflare-account-id', ACCOUNT, '--cloudflare-api-url', cf.url],
      { env: { CLOUDFLARE_API_TOKEN: 'wrong-token-from-env', CLOUDFLARE_ACCOUNT_ID: 'f'.repeat(32), CLOUDFLARE_BASE_URL: 'http://127.0.0.1:9' }, cwd: await withEntries('192.0.2.77\n') }
    )
    expect(r.code, r.err).toBe(0)
    expect(r.out).toContain('192.0.2.77')
    for (const q of cf.requests.slice(n)) {
      expect(q.headers['authorization']).toBe(`Bearer ${TOKEN}`)
      expect(q.path.startsWith(`/accounts/${ACCOUNT}/`)).toBe(true)
    }
  })

  it('sync without a token exits 1 and says what is missing', async () => {
    const r = await run(['sync'], { env: {} })
    expect(r.code).toBe(1)
    expect(r.err).toMatch(/cloudflare-account-id and cloudflare-api-token: required for sync/)
  })
})

describe('collect --source log-explorer', () => {
  let cf: CloudflareEmulator

  beforeAll(async () => {
    cf = await startCloudflareEmulator({ accountId: ACCOUNT, token: TOKEN })
    await cf.setLogRows('zero_trust_network_sessions', [
      ...[1, 2, 3].map((device) => session({ sni: PINNED, ip: '192.0.2.10', device, minutesAgo: 10 + device })),
      ...[1, 2].map((device) => session({ ip: NO_SNI_IP, device, minutesAgo: 20 + device })),
      ...[1, 2, 3].map((device) => session({ sni: 'www.google.com', ip: '142.250.1.1', device, minutesAgo: 30 }))
    ])
  })
  afterAll(async () => {
    await cf?.close()
  })

  it('--dry-run shows the plan from the emulator and writes nothing', async () => {
    const ws = await workspace()
    const before = await snapshot(ws)
    const r = await run(['collect', '--source', 'log-explorer', '--lookback', '1h', '--dry-run', '--cloudflare-api-url', cf.url], {
      env: { CLOUDFLARE_API_TOKEN: TOKEN, CLOUDFLARE_ACCOUNT_ID: ACCOUNT },
      cwd: ws
    })
    expect(r.code, r.err).toBe(0)
    expect(section(r.out, 'Add (')).toContain(PINNED)
    expect(section(r.out, 'Add (')).toContain(NO_SNI_IP)
    expect(section(r.out, 'Suppressed by exclusions')).toContain('www.google.com')
    expect(cf.sqlQueries.length).toBeGreaterThan(0)
    expect(cf.writes().filter((w) => !w.path.endsWith('/logs/explorer/query/sql'))).toEqual([])
    expect(await snapshot(ws)).toEqual(before)
    expect(r.out + r.err).not.toMatch(/device-|user-\d|corp\.example/)
  })

  it('is the default source and needs the account and token', async () => {
    const r = await run(['collect', '--lookback', '1h', '--dry-run'], { env: {} })
    expect(r.code).toBe(1)
    expect(r.err).toContain('cloudflare-account-id and cloudflare-api-token: required with source: log-explorer')
  })
})

describe('the bin', () => {
  const exec = promisify(execFile)

  it('npx --offline gateway-tls-bypass --help works in the repository without a build step to remember', async () => {
    const pkg = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { bin: Record<string, string> }
    const bin = join(repoRoot, pkg.bin['gateway-tls-bypass']!)
    expect(existsSync(bin)).toBe(true)
    expect((await readFile(bin, 'utf8')).startsWith('#!/usr/bin/env node')).toBe(true)
    const { stdout } = await exec('npx', ['--offline', 'gateway-tls-bypass', 'collect', '--help'], { cwd: repoRoot, timeout: 25_000 })
    expect(stdout).toContain('--min-sessions')
    expect(stdout).toContain('Usage: gateway-tls-bypass collect')
  })

  it('node action/dist/cli.mjs: exit codes as in process', async () => {
    const cliPath = join(repoRoot, 'action/dist/cli.mjs')
    const help = await exec(process.execPath, [cliPath, '--help'], { cwd: repoRoot })
    expect(help.stdout.trimEnd()).toBe(helpText())
    const pkg = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { version: string }
    expect((await exec(process.execPath, [cliPath, '--version'], { cwd: repoRoot })).stdout.trim()).toBe(`gateway-tls-bypass ${pkg.version}`)
    const bad = await exec(process.execPath, [cliPath, 'check', '--nope'], { cwd: repoRoot }).then(() => 0, (e: { code: number }) => e.code)
    expect(bad).toBe(2)
  })
})
