// `why VALUE`: the commits that added and removed a list line, read from a real git history
// in a temp repository, plus the listed network around an IP and the exclusion over it.
import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { gitPort, parseLogWithPatches } from '../action/src/adapters/git.js'
import { loadFiles } from '../action/src/commands/files.js'
import { canonicalTarget, explain, lineEvents, renderWhy } from '../action/src/commands/why.js'
import { fileEdges } from '../action/src/runtime.js'
import { testRuntime } from './harness/runtime.js'

const EXCLUSIONS = 'exclusions:\n  - value: google.com\n    reason: Workspace tenant control headers\n'
const HEADER = '# header\n'

/** A repository whose history is a list of (ips.txt, hosts.txt, message) commits. */
async function repo(commits: { ips: string[]; hosts?: string[]; message: string; date: string }[]) {
  const rt = await testRuntime({ withRepoFiles: false, files: { 'exclusions.yaml': EXCLUSIONS, 'lists/ips.txt': HEADER, 'lists/hosts.txt': HEADER } })
  const git = (...args: string[]) => execFileSync('git', args, { cwd: rt.cwd, encoding: 'utf8' })
  git('init', '-q', '-b', 'main')
  for (const c of commits) {
    await rt.writeText('lists/ips.txt', HEADER + c.ips.map((v) => `${v}\n`).join(''))
    await rt.writeText('lists/hosts.txt', HEADER + (c.hosts ?? []).map((v) => `${v}\n`).join(''))
    git('add', '-A')
    execFileSync('git', ['-c', 'user.name=bot', '-c', 'user.email=bot@example.invalid', 'commit', '-q', '-m', c.message], {
      cwd: rt.cwd,
      env: { ...process.env, GIT_COMMITTER_DATE: c.date, GIT_AUTHOR_DATE: c.date }
    })
  }
  const files = await loadFiles(rt, { listsDir: 'lists', exclusionsFile: 'exclusions.yaml', requireLists: true })
  return { rt, files, git: gitPort(rt.cwd) }
}

describe('canonicalTarget', () => {
  it.each([
    ['203.0.113.7', { kind: 'ip', value: '203.0.113.7' }],
    ['::ffff:203.0.113.7', { kind: 'ip', value: '203.0.113.7' }],
    ['2001:DB8::/48', { kind: 'ip', value: '2001:db8::/48' }],
    ['API.Pinned.Example.', { kind: 'host', value: 'api.pinned.example' }]
  ])('%s → %j', (raw, expected) => {
    expect(canonicalTarget(raw)).toEqual(expected)
  })

  it('refuses what is neither, showing control characters', () => {
    const r = canonicalTarget('bad\u0000host')
    expect('error' in r && r.error).toContain('\\u0000')
  })
})

describe('lineEvents', () => {
  const commit = (added: string[], removed: string[], message = 'subject') => ({ sha: 'a'.repeat(40), date: '2026-11-02T10:00:00Z', message, added, removed })
  it('matches the exact line only (git -S also finds 10.0.0.10 for 10.0.0.1), oldest first', () => {
    const events = lineEvents(
      [commit([], ['10.0.0.1'], 'Remove\n\n- ip 10.0.0.1  excluded'), commit(['10.0.0.10'], []), commit(['10.0.0.1'], [], 'Propose\n\n+ ip 10.0.0.1  tls-error sessions=4 devices=2')],
      'ip',
      '10.0.0.1'
    )
    expect(events.map((e) => [e.action, e.evidence])).toEqual([
      ['added', '+ ip 10.0.0.1  tls-error sessions=4 devices=2'],
      ['removed', '- ip 10.0.0.1  excluded']
    ])
  })

  it('a re-sort that removes and re-adds the line is not an event; a message without the line gives its subject', () => {
    expect(lineEvents([commit(['x.example'], ['x.example'])], 'host', 'x.example')).toEqual([])
    expect(lineEvents([commit(['x.example'], [], 'Hand edit')], 'host', 'x.example')[0]!.evidence).toBe('Hand edit')
  })

  it('parses git log -p output with patches', () => {
    const out = '\x1eabc\x1f2026-11-02T10:00:00+00:00\x1fSubject\n\n+ ip 1.2.3.4  tls-error\n\x1f\ndiff --git a/l b/l\n--- a/l\n+++ b/l\n@@ -1,0 +2 @@\n+1.2.3.4\n-9.9.9.9\n'
    expect(parseLogWithPatches(out)).toEqual([{ sha: 'abc', date: '2026-11-02T10:00:00+00:00', message: 'Subject\n\n+ ip 1.2.3.4  tls-error', added: ['1.2.3.4'], removed: ['9.9.9.9'] }])
  })
})

describe('explain (real git history)', () => {
  it('a line added by an earlier commit: the commit, its date and its evidence line', async () => {
    const { files, git } = await repo([
      { ips: ['192.0.2.1'], message: 'Initial', date: '2026-10-01T09:00:00Z' },
      { ips: ['192.0.2.1', '203.0.113.7'], message: 'Propose 1 TLS-inspection bypass\n\n+ ip 203.0.113.7  tls-error sessions=12 devices=4 users=3', date: '2026-11-02T10:00:00Z' },
      { ips: ['192.0.2.1', '203.0.113.7', '203.0.113.70'], message: 'Propose 1 more\n\n+ ip 203.0.113.70  tls-error sessions=2 devices=2', date: '2026-11-05T10:00:00Z' }
    ])
    const r = await explain({ kind: 'ip', value: '203.0.113.7' }, files, git)
    expect(r.listed).toBe(true)
    expect(r.history).toHaveLength(1)
    expect(r.history[0]).toMatchObject({ action: 'added', date: expect.stringMatching(/^2026-11-02/), evidence: '+ ip 203.0.113.7  tls-error sessions=12 devices=4 users=3' })
    const text = renderWhy(r)
    expect(text).toContain('added')
    expect(text).toContain('+ ip 203.0.113.7  tls-error sessions=12 devices=4 users=3')
    expect(text).not.toContain('bot@example.invalid')
  })

  it('added then removed; an IP inside a listed network names the network and its commit', async () => {
    const { files, git } = await repo([
      { ips: ['198.51.100.9'], message: 'Propose\n\n+ ip 198.51.100.9  tls-error sessions=3 devices=2', date: '2026-10-01T09:00:00Z' },
      { ips: ['198.51.100.0/24'], message: 'Vendor range\n\n+ ip 198.51.100.0/24  vendor published range', date: '2026-10-10T09:00:00Z' }
    ])
    const r = await explain({ kind: 'ip', value: '198.51.100.9' }, files, git)
    expect(r.listed).toBe(false)
    expect(r.history.map((e) => e.action)).toEqual(['added', 'removed'])
    expect(r.networks).toEqual([{ network: '198.51.100.0/24', history: [expect.objectContaining({ action: 'added', evidence: '+ ip 198.51.100.0/24  vendor published range' })] }])
    expect(renderWhy(r)).toContain('Inside the listed network 198.51.100.0/24')
  })

  it('never listed; an exclusion that covers it is named', async () => {
    const { files, git } = await repo([{ ips: [], hosts: ['api.pinned.example'], message: 'Initial', date: '2026-10-01T09:00:00Z' }])
    const r = await explain({ kind: 'host', value: 'mail.google.com' }, files, git)
    expect(r.history).toEqual([])
    const text = renderWhy(r)
    expect(text).toContain('No commit in this history adds or removes it')
    expect(text).toContain('covered by google.com (line 2): Workspace tenant control headers')
    expect(text).toContain('Gateway: not checked')
  })

  it('a shallow checkout says how to fetch the history', async () => {
    const { rt } = await repo([
      { ips: ['192.0.2.1'], message: 'one', date: '2026-10-01T09:00:00Z' },
      { ips: ['192.0.2.1', '192.0.2.2'], message: 'two\n\n+ ip 192.0.2.2  tls-error', date: '2026-10-02T09:00:00Z' }
    ])
    const shallowDir = `${rt.cwd}-shallow`
    execFileSync('git', ['clone', '-q', '--depth', '1', `file://${rt.cwd}`, shallowDir])
    const shallow = await testRuntime({ withRepoFiles: false })
    const files = await loadFiles({ ...shallow, ...fileEdges(shallowDir) }, { listsDir: 'lists', exclusionsFile: 'exclusions.yaml', requireLists: true })
    const r = await explain({ kind: 'ip', value: '192.0.2.1' }, files, gitPort(shallowDir))
    expect(r.shallow).toBe(true)
    expect(renderWhy(r)).toContain('git fetch --unshallow')
  })

  it('with a Gateway reader: the list and since when; a failing reader is reported, not fatal', async () => {
    const { files, git } = await repo([{ ips: ['192.0.2.1'], message: 'one', date: '2026-10-01T09:00:00Z' }])
    const found = await explain({ kind: 'ip', value: '192.0.2.1' }, files, git, async () => ({ list: 'gateway-tls-bypass IP 1', since: '2026-10-01T09:05:00Z' }))
    expect(renderWhy(found)).toContain('Gateway: in "gateway-tls-bypass IP 1" since 2026-10-01.')
    const failing = await explain({ kind: 'ip', value: '192.0.2.1' }, files, git, async () => {
      throw new Error('HTTP 403 Forbidden')
    })
    expect(renderWhy(failing)).toContain('could not read the managed lists (HTTP 403 Forbidden)')
  })
})
