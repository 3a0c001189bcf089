// Listed-since dates for the idle rule: the Gateway item's created_at, else the date the
// line reached the default branch (git blame --first-parent on a real repository), else
// nothing — and a note that says why.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { gitPort, parseBlame } from '../action/src/adapters/git.js'
import { listedSinceSource } from '../action/src/adapters/listed-since.js'
import type { RemoteState } from '../action/src/core/sync-plan.js'

const PATHS = { ips: 'lists/ips.txt', hosts: 'lists/hosts.txt' }
const D1 = '2026-08-01T10:00:00Z'
const D2 = '2026-09-01T10:00:00Z'
const D3 = '2026-09-20T10:00:00Z'

function repo(): { dir: string; commit: (files: Record<string, string>, message: string, date: string) => void; git: (...a: string[]) => string } {
  const dir = mkdtempSync(join(tmpdir(), 'gtb-blame-'))
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, encoding: 'utf8' })
  const dated = (date: string, ...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', ...args], { cwd: dir, env: { ...process.env, GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date } })
  git('init', '-q', '-b', 'main')
  mkdirSync(join(dir, 'lists'))
  return {
    dir,
    git,
    commit: (files, message, date) => {
      for (const [p, c] of Object.entries(files)) writeFileSync(join(dir, p), c)
      git('add', '-A')
      dated(date, 'commit', '-q', '-m', message)
    }
  }
}

describe('parseBlame', () => {
  it('dates each line by its committer time; boundary lines and blank lines are left out', () => {
    const out = [
      'a'.repeat(40) + ' 1 1 1', 'committer-time 1700000000', 'filename lists/ips.txt', '\t192.0.2.1',
      'b'.repeat(40) + ' 2 2 1', 'committer-time 1600000000', 'boundary', 'filename lists/ips.txt', '\t192.0.2.2',
      'a'.repeat(40) + ' 3 3 1', 'committer-time 1700000000', '\t'
    ].join('\n')
    expect(parseBlame(out)).toEqual(new Map([['192.0.2.1', 1_700_000_000_000]]))
  })
})

describe('gitPort.lineDates (real repository)', () => {
  it('a line merged from a proposal branch dates from the merge, not from the proposal commit; the first commit counts', () => {
    const r = repo()
    r.commit({ 'lists/ips.txt': '# h\n192.0.2.1\n' }, 'initial', D1)
    r.git('checkout', '-q', '-b', 'proposals')
    r.commit({ 'lists/ips.txt': '# h\n192.0.2.1\n192.0.2.2\n' }, 'Propose\n\n+ ip 192.0.2.2  tls-error', D2)
    r.git('checkout', '-q', 'main')
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', 'merge', '-q', '--no-ff', '-m', 'Merge #1', 'proposals'], {
      cwd: r.dir,
      env: { ...process.env, GIT_AUTHOR_DATE: D3, GIT_COMMITTER_DATE: D3 }
    })
    return gitPort(r.dir).lineDates('lists/ips.txt').then((dates) => {
      expect(dates.get('192.0.2.1')).toBe(Date.parse(D1))
      expect(dates.get('192.0.2.2')).toBe(Date.parse(D3))
    })
  })

  it('knows nothing in a shallow checkout, or for an untracked file', async () => {
    const r = repo()
    r.commit({ 'lists/ips.txt': '# h\n192.0.2.1\n' }, 'one', D1)
    r.commit({ 'lists/ips.txt': '# h\n192.0.2.1\n192.0.2.2\n' }, 'two', D2)
    const shallow = `${r.dir}-shallow`
    execFileSync('git', ['clone', '-q', '--depth', '1', `file://${r.dir}`, shallow])
    expect(await gitPort(shallow).lineDates('lists/ips.txt')).toEqual(new Map())
    expect(await gitPort(r.dir).lineDates('lists/nope.txt')).toEqual(new Map())
  })
})

describe('listedSinceSource', () => {
  const remote = (items: { value: string; createdAt?: string }[]): RemoteState =>
    ({ lists: [{ id: 'l1', name: 'gateway-tls-bypass IP 1', type: 'IP', items: items.map((i) => ({ ...i, description: 'x' })) }], policy: null, duplicatePolicies: [], warnings: [] }) as unknown as RemoteState

  it('prefers the Gateway created_at, falls back to git for the rest', async () => {
    const r = repo()
    r.commit({ 'lists/ips.txt': '# h\n192.0.2.1\n192.0.2.2\n', 'lists/hosts.txt': '# h\napi.pinned.example\n' }, 'initial', D1)
    const source = listedSinceSource({ remote: async () => remote([{ value: '192.0.2.1', createdAt: D2 }]), git: gitPort(r.dir), paths: PATHS })
    const got = await source({ ips: ['192.0.2.1', '192.0.2.2'], hosts: ['api.pinned.example'] })
    expect(Object.fromEntries(got.listedSince)).toEqual({
      'ip:192.0.2.1': { at: Date.parse(D2), from: 'gateway' },
      'ip:192.0.2.2': { at: Date.parse(D1), from: 'git' },
      'host:api.pinned.example': { at: Date.parse(D1), from: 'git' }
    })
    expect(got.note).toBeUndefined()
  })

  it('a Gateway read that fails is a note, and git still answers', async () => {
    const r = repo()
    r.commit({ 'lists/ips.txt': '# h\n192.0.2.1\n' }, 'initial', D1)
    const source = listedSinceSource({ remote: async () => Promise.reject(new Error('HTTP 403 Forbidden\nmore')), git: gitPort(r.dir), paths: PATHS })
    const got = await source({ ips: ['192.0.2.1'], hosts: [] })
    expect(got.listedSince.get('ip:192.0.2.1')).toEqual({ at: Date.parse(D1), from: 'git' })
    expect(got.note).toContain('the Gateway lists could not be read (HTTP 403 Forbidden)')
    expect(got.note).not.toContain('more')
  })

  it('with neither, nothing is dated and the note says why and how many', async () => {
    const r = repo()
    r.commit({ 'lists/ips.txt': '# h\n192.0.2.1\n' }, 'one', D1)
    r.commit({ 'lists/ips.txt': '# h\n192.0.2.1\n192.0.2.9\n' }, 'two', D2)
    const shallow = `${r.dir}-shallow`
    execFileSync('git', ['clone', '-q', '--depth', '1', `file://${r.dir}`, shallow])
    const got = await listedSinceSource({ git: gitPort(shallow), paths: PATHS })({ ips: ['192.0.2.1', '192.0.2.9'], hosts: [] })
    expect(got.listedSince.size).toBe(0)
    expect(got.note).toContain('fetch-depth: 0')
    expect(got.note).toContain('2 of 2 listed entries have no listed-since date')
  })
})
