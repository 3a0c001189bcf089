// Issue 11, the CLI: per-command help, -h, --version, help [command]; one clear line with
// "did you mean" for a typo; inputs that do nothing locally refused; paths in messages
// relative to the working directory; exit codes 0 / 1 / 2 / 3 (check --detailed-exitcode).
// Everything runs in process through `cli()`, against the Cloudflare emulator where a
// token is needed.
import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { closest, editDistance, flagsOf, helpText, parseCli, tokenize } from '../action/src/cli-args.js'
import { cli, plainPaths } from '../action/src/cli.js'
import { ACTION_ONLY, CLI_FLAGS, INPUTS, type CliCommand } from '../action/src/inputs.js'
import { startCloudflareEmulator, type CloudflareEmulator } from './emulators/cloudflare.js'

const repoRoot = fileURLToPath(new URL('../', import.meta.url))
const ACCOUNT = '0123456789abcdef0123456789abcdef'
const TOKEN = 'cli-usage-token-0123456789'
const COMMANDS: CliCommand[] = ['collect', 'sync', 'check', 'why']

async function workspace(files: Record<string, string> = {}): Promise<string> {
  const ws = await mkdtemp(join(tmpdir(), 'gtb-cli-usage-'))
  await cp(join(repoRoot, 'lists'), join(ws, 'lists'), { recursive: true })
  await cp(join(repoRoot, 'exclusions.yaml'), join(ws, 'exclusions.yaml'))
  for (const [p, c] of Object.entries(files)) await writeFile(join(ws, p), c)
  return ws
}

async function run(argv: string[], o: { env?: NodeJS.ProcessEnv; cwd?: string } = {}) {
  const out: string[] = []
  const err: string[] = []
  const code = await cli(argv, o.env ?? {}, { out: (s) => out.push(s), err: (s) => err.push(s), cwd: o.cwd ?? (await workspace()), isTTY: false })
  return { code, out: out.join('\n'), err: err.join('\n') }
}

/** The `--flag` names a help text lists under Options. */
const listedFlags = (help: string): string[] =>
  [...help.slice(help.indexOf('\nOptions:')).matchAll(/^ {2}(?:-h, )?--([a-z0-9-]+)/gm)].map((m) => m[1]!)

describe('help', () => {
  it.each(COMMANDS)('%s --help, -h and help %s print that command\'s description and exactly its flags', async (c) => {
    const help = helpText(c)
    expect(help.split('\n')[0]).toBe(`Usage: gateway-tls-bypass ${c === 'why' ? 'why VALUE' : c} [options]`)
    expect(listedFlags(help).sort()).toEqual(flagsOf(c).filter((f) => f !== 'version').sort())
    for (const argv of [[c, '--help'], [c, '-h'], ['help', c], ['-h', c], [c, '--dry-run', '--help']]) {
      const r = await run(argv)
      expect(r.code, argv.join(' ')).toBe(0)
      expect(r.out).toBe(help)
      expect(r.err).toBe('')
    }
  })

  it('each command lists only its own flags: collect has no --force, sync no --source, check no --dry-run, why no --lookback', () => {
    expect(listedFlags(helpText('collect'))).not.toContain('force')
    expect(listedFlags(helpText('sync'))).not.toContain('source')
    expect(listedFlags(helpText('check'))).not.toContain('dry-run')
    expect(listedFlags(helpText('check'))).toContain('detailed-exitcode')
    expect(listedFlags(helpText('why'))).not.toContain('lookback')
    for (const c of COMMANDS) expect(helpText(c)).not.toMatch(/--github-token|--pr-branch|--pr-labels|--reject-days|--command\b/)
  })

  it.each([[['--help']], [['-h']], [['help']]])('%j: the top-level help lists the commands, points to <command> --help, exit 0', async (argv) => {
    const r = await run(argv)
    expect(r.code).toBe(0)
    expect(r.out).toBe(helpText())
    for (const c of [...COMMANDS, 'help']) expect(r.out).toMatch(new RegExp(`^  ${c} +\\S`, 'm'))
    expect(r.out).toContain('gateway-tls-bypass <command> --help')
    expect(r.out).toMatch(/Exit codes:\n {2}0 .*\n {2}1 .*\n {2}2 .*\n {5}.*\n {2}3 .*detailed-exitcode/)
  })

  it('every input is a flag of some command or refused as action-only, never both, never neither', () => {
    for (const s of INPUTS) {
      const commands = COMMANDS.filter((c) => CLI_FLAGS[c].includes(s.name))
      const actionOnly = Object.hasOwn(ACTION_ONLY, s.name)
      expect(commands.length > 0 !== actionOnly, s.name).toBe(true)
    }
    for (const c of COMMANDS) for (const f of CLI_FLAGS[c]) expect(INPUTS.some((s) => s.name === f), `${c} --${f}`).toBe(true)
  })
})

describe('--version', () => {
  it.each([[['--version']], [['check', '--version']], [['why', '--version']]])('%j prints the package version, exit 0', async (argv) => {
    const pkg = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { version: string }
    const r = await run(argv)
    expect(r.code).toBe(0)
    expect(r.out).toBe(`gateway-tls-bypass ${pkg.version}`)
  })
})

describe('usage errors: one clear line, exit 2', () => {
  it.each([
    [['colect'], 'error: unknown command "colect"; did you mean collect? Commands: collect, sync, check, why, help.'],
    [['synk'], 'error: unknown command "synk"; did you mean sync? Commands: collect, sync, check, why, help.'],
    [['chek', '--help'], 'error: unknown command "chek"; did you mean check? Commands: collect, sync, check, why, help.'],
    [['help', 'whyy'], 'error: unknown command "whyy"; did you mean why? Commands: collect, sync, check, why, help.'],
    [['deploy'], 'error: unknown command "deploy". Commands: collect, sync, check, why, help.'],
    [['check', '--forse'], 'error: unknown flag --forse for check; did you mean --force? See: gateway-tls-bypass check --help'],
    [['collect', '--dryrun'], 'error: unknown flag --dryrun for collect; did you mean --dry-run? See: gateway-tls-bypass collect --help'],
    [['sync', '--list-dir', 'x'], 'error: unknown flag --list-dir for sync; did you mean --lists-dir? See: gateway-tls-bypass sync --help'],
    [['check', '--no-such-flag'], 'error: unknown flag --no-such-flag for check. See: gateway-tls-bypass check --help'],
    [['check', '-x'], 'error: unknown flag -x for check. See: gateway-tls-bypass check --help'],
    [['check', '--min-sessions', '3'], 'error: check does not use --min-sessions (a flag of collect). See: gateway-tls-bypass check --help'],
    [['check', '--dry-run'], 'error: check does not use --dry-run (a flag of collect, sync). See: gateway-tls-bypass check --help'],
    [['collect', '--detailed-exitcode'], 'error: collect does not use --detailed-exitcode (a flag of check). See: gateway-tls-bypass collect --help'],
    [['collect', '--github-token', 'ghp_x'], 'error: --github-token is an action input only: the CLI never opens pull requests (collect rewrites the list files in place).'],
    [['collect', '--pr-branch', 'b'], 'error: --pr-branch is an action input only: the CLI never opens pull requests (collect rewrites the list files in place).'],
    [['collect', '--command', 'sync'], 'error: --command is an action input only: give the command as the first word instead.'],
    [['check', '--lists-dir'], 'error: --lists-dir needs a value: --lists-dir <value>'],
    [['check', '--lists-dir', '--force'], 'error: --lists-dir needs a value: --lists-dir <value>'],
    [['check', '--force=true'], 'error: --force is a switch and takes no value (leave it out for false)'],
    [['check', '--lists-dir', 'a', '--lists-dir', 'b'], 'error: --lists-dir is given twice'],
    [['check', 'sync'], 'error: check takes no arguments, got: sync (flags start with --)'],
    [['why'], 'error: why needs a VALUE: gateway-tls-bypass why <hostname|IP|network>'],
    [['why', 'a.example', 'b.example'], 'error: why takes one VALUE, got 2: a.example b.example'],
    [['help', 'check', 'sync'], 'error: help takes one command, got: check sync']
  ])('%j → %s', async (argv, line) => {
    const r = await run(argv)
    expect(r.code).toBe(2)
    expect(r.err).toBe(line)
    expect(r.out).toBe('')
  })

  it('no command: the reason, then the help, on stderr', async () => {
    const r = await run([])
    expect(r.code).toBe(2)
    expect(r.out).toBe('')
    expect(r.err.split('\n')[0]).toBe('error: a command is needed: collect, sync, check, why or help')
    expect(r.err).toContain(helpText())
  })

  it('hostile words are shown inert and short; quotes stay balanced; no Node wording', async () => {
    for (const argv of [['col\u001b[31mlect'], ['check', `--${'x'.repeat(500)}`], ['check', '--a"b'], ['why', 'a\u0000b', 'c']]) {
      const r = await run(argv)
      expect(r.code).toBe(2)
      expect(r.err.split('\n')).toHaveLength(1)
      // eslint-disable-next-line no-control-regex -- asserting that control characters are absent
      expect(r.err).not.toMatch(/[\u0000-\u001f]/)
      expect(r.err.length).toBeLessThan(200)
      expect(r.err).not.toMatch(/ERR_PARSE_ARGS|positional|Unknown option/)
      expect((r.err.match(/"/g) ?? []).length % 2).toBe(0)
    }
  })

  it('a flag value may start with a single dash; -- ends the flags', async () => {
    expect(tokenize(['check', '--lists-dir', '-odd']).flags.get('lists-dir')).toBe('-odd')
    expect(tokenize(['why', '--', '--not-a-flag']).positionals).toEqual(['why', '--not-a-flag'])
    expect(tokenize(['why', '--lists-dir=x=y']).flags.get('lists-dir')).toBe('x=y')
  })

  it('a GITHUB_TOKEN in the environment is ignored, not refused (only the flag is)', async () => {
    const r = await run(['check'], { env: { GITHUB_TOKEN: 'ghp_from_env' } })
    expect(r.code, r.err).toBe(0)
  })
})

describe('did you mean', () => {
  it.each([
    ['kitten', 'sitting', 3],
    ['', 'abc', 3],
    ['force', 'force', 0],
    ['dryrun', 'dry-run', 1]
  ])('editDistance(%s, %s) = %i', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d)
    expect(editDistance(b, a)).toBe(d)
  })

  it.each([
    ['colect', ['collect', 'check'], 'collect'],
    ['CHECK', ['collect', 'check'], 'check'],
    ['xyz', ['collect', 'sync'], undefined],
    ['why', ['why', 'sync'], 'why'],
    ['lookbak', ['lookback', 'lists-dir'], 'lookback'],
    ['ab', ['why'], undefined]
  ])('closest(%s) = %s', (w, cs, expected) => {
    expect(closest(w, cs)).toBe(expected)
  })

  it('parseCli: the first problem wins, in a stable order (command, flag, value, arguments)', () => {
    expect(parseCli(['colect', '--nope'])).toMatchObject({ kind: 'usage', message: expect.stringContaining('unknown command') })
    expect(parseCli(['check', '--nope', 'extra'])).toMatchObject({ kind: 'usage', message: expect.stringContaining('unknown flag --nope') })
    expect(parseCli(['check', '--lists-dir', 'x'])).toMatchObject({ kind: 'run', command: 'check' })
  })
})

describe('paths in messages', () => {
  const cwd = '/home/u/repo'
  it.each([
    ['cannot read the Logpush directory /home/u/repo/./nope: ENOENT: no such file or directory, stat \'/home/u/repo/./nope\'', 'cannot read the Logpush directory ./nope: no such file or directory'],
    ['/home/u/repo/lists/ips.txt:3: bad', './lists/ips.txt:3: bad'],
    ['at /home/u/repo.', 'at ..'],
    ['/home/u/other/../repo/x', './x'],
    ['/etc/hosts and /tmp/a/../b', '/etc/hosts and /tmp/b'],
    ['https://api.cloudflare.com/client/v4/accounts/x failed', 'https://api.cloudflare.com/client/v4/accounts/x failed'],
    ['a /24 network, IPv4/IPv6', 'a /24 network, IPv4/IPv6'],
    ['EACCES: permission denied, open \'/home/u/repo/lists/ips.txt\'', 'permission denied']
  ])('%s → %s', (text, expected) => {
    expect(plainPaths(text, cwd)).toBe(expected)
  })

  it('a missing --logpush-dir is named as typed relative to the working directory, without Node errno wording', async () => {
    const ws = await workspace()
    const r = await run(['collect', '--source', 'logpush', '--logpush-dir', './nope', '--lookback', 'all', '--dry-run'], { cwd: ws })
    expect(r.code).toBe(1)
    expect(r.err).toBe('error: cannot read the Logpush directory ./nope: no such file or directory')
    expect(r.err).not.toContain(ws)
  })

  it('an absolute path inside the working directory is shown relative', async () => {
    const ws = await workspace()
    const r = await run(['check', '--exclusions-file', join(ws, 'gone.yaml')], { cwd: ws })
    expect(r.code).toBe(1)
    expect(r.err).toContain('./gone.yaml:0: file is missing')
    expect(r.err).not.toContain(ws)
  })
})

describe('exit codes: 0 ok, 1 failed, check --detailed-exitcode 0 / 3', () => {
  let cf: CloudflareEmulator
  const env = { CLOUDFLARE_API_TOKEN: TOKEN, CLOUDFLARE_ACCOUNT_ID: ACCOUNT }

  beforeAll(async () => {
    cf = await startCloudflareEmulator({ accountId: ACCOUNT, token: TOKEN })
  })
  afterAll(async () => {
    await cf?.close()
  })

  it('check with changes: 0 without the flag, 3 with it; after sync: 0 with it; a broken file: 1', async () => {
    const ws = await workspace({ 'lists/hosts.txt': `${await readFile(join(repoRoot, 'lists/hosts.txt'), 'utf8')}exit.pinned.example\n` })
    const argv = ['check', '--cloudflare-api-url', cf.url]
    expect((await run(argv, { env, cwd: ws })).code).toBe(0)
    const changes = await run([...argv, '--detailed-exitcode'], { env, cwd: ws })
    expect(changes.code, changes.err).toBe(3)
    expect(changes.out).toContain('exit.pinned.example')
    const synced = await run(['sync', '--cloudflare-api-url', cf.url], { env, cwd: ws })
    expect(synced.code, synced.err).toBe(0)
    const writes = cf.writes().length
    const none = await run([...argv, '--detailed-exitcode'], { env, cwd: ws })
    expect(none.code, none.err).toBe(0)
    expect(cf.writes().length).toBe(writes)
    await writeFile(join(ws, 'lists/ips.txt'), 'not-an-ip\n')
    expect((await run([...argv, '--detailed-exitcode'], { env, cwd: ws })).code).toBe(1)
  })

  it('check --detailed-exitcode without a token cannot know the plan: usage error, never a false 0', async () => {
    const r = await run(['check', '--detailed-exitcode'], { env: {} })
    expect(r.code).toBe(2)
    expect(r.err).toContain('needs the plan, so a token and the account')
  })

  it('Cloudflare refusing the token: 1, with the token nowhere in the output', async () => {
    const r = await run(['check', '--detailed-exitcode', '--cloudflare-api-url', cf.url], { env: { ...env, CLOUDFLARE_API_TOKEN: 'wrong-token-0123456789' } })
    expect(r.code).toBe(1)
    expect(r.out + r.err).not.toContain('wrong-token')
  })
})
