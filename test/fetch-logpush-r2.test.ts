// scripts/fetch-logpush-r2.sh, run for real with a stand-in `aws` on PATH that records its
// arguments: only the day folders of the window, only *.log.gz, R2's endpoint; bad
// settings refused before any call. No network.
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync, chmodSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

const script = new URL('../scripts/fetch-logpush-r2.sh', import.meta.url).pathname
const ACCOUNT = '0123456789abcdef0123456789abcdef'

function run(env: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'gtb-r2-'))
  const bin = join(dir, 'bin')
  execFileSync('mkdir', ['-p', bin])
  writeFileSync(join(bin, 'aws'), `#!/usr/bin/env bash\necho "$*" >> "${join(dir, 'calls')}"\n`)
  chmodSync(join(bin, 'aws'), 0o755)
  const r = spawnSync('bash', [script], { cwd: dir, encoding: 'utf8', env: { PATH: `${bin}:${process.env.PATH}`, ACCOUNT_ID: ACCOUNT, BUCKET: 'logs', PREFIXES: 'zt/sessions zt/http/', LOOKBACK: '24h', ...env } })
  const calls = existsSync(join(dir, 'calls')) ? readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n') : []
  return { status: r.status, stderr: r.stderr, calls }
}

describe('fetch-logpush-r2.sh', () => {
  it('fetches the day folders the window touches, per prefix, only *.log.gz, from R2', () => {
    const r = run({})
    expect(r.status).toBe(0)
    // 24h spans two or three UTC days (today, yesterday, and the folder of tomorrow if it exists yet).
    const sessions = r.calls.filter((c) => c.includes('s3://logs/zt/sessions/'))
    expect(sessions.length).toBeGreaterThanOrEqual(2)
    expect(sessions.length).toBeLessThanOrEqual(3)
    expect(r.calls.filter((c) => c.includes('s3://logs/zt/http/'))).toHaveLength(sessions.length)
    for (const c of r.calls) {
      expect(c).toContain(`--endpoint-url https://${ACCOUNT}.r2.cloudflarestorage.com`)
      expect(c).toMatch(/--exclude \* --include \*\.log\.gz s3:\/\/logs\/zt\/(sessions|http)\/\d{8}\/ \.logpush\/zt\/(sessions|http)\/\d{8}\/$/)
    }
  })

  it('a 7d lookback fetches eight or nine days', () => {
    const days = run({ LOOKBACK: '7d', PREFIXES: 'p' }).calls.length
    expect(days).toBeGreaterThanOrEqual(8)
    expect(days).toBeLessThanOrEqual(9)
  })

  it.each([
    [{ LOOKBACK: 'all' }, 'lookback: use e.g.'],
    [{ LOOKBACK: '40d' }, 'at most 31d'],
    [{ ACCOUNT_ID: 'x; rm -rf /' }, '32 hex characters'],
    [{ PREFIXES: 'ok ../../etc;x' }, 'characters outside'],
    [{ PREFIXES: 'ok zt/../../../home' }, 'without ..'],
    [{ PREFIXES: '/abs' }, 'without ..'],
    [{ BUCKET: '' }, 'LOGPUSH_R2_BUCKET']
  ])('refuses %j before fetching anything', (env, message) => {
    const r = run(env)
    expect(r.status).not.toBe(0)
    expect(r.stderr).toContain(message)
    expect(r.calls).toEqual([])
  })
})
