// The emulator is only worth something if it behaves like GitHub where the adapter
// depends on it: these tests drive it with the real Octokit and check the git objects.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { getOctokit } from '@actions/github'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createGitHubClient, type Octokit } from '../../action/src/adapters/github.js'
import { startGitHubEmulator, type GitHubEmulator } from './github.js'

let emu: GitHubEmulator
let gh: Octokit
let o: { owner: string; repo: string }

beforeEach(async () => {
  emu = await startGitHubEmulator({ files: { 'lists/ips.txt': '192.0.2.1\n', 'lists/hosts.txt': 'a.example\n', 'README.md': '# r\n' } })
  gh = createGitHubClient({ token: emu.token, baseUrl: emu.url, retries: 0, pacing: false })
  o = { owner: emu.owner, repo: emu.repo }
})
afterEach(async () => {
  await emu.close()
})

async function errorOf(p: Promise<unknown>): Promise<{ status: number; message: string }> {
  try {
    await p
  } catch (e) {
    const err = e as { status: number; message: string }
    return { status: err.status, message: err.message }
  }
  throw new Error('expected the request to fail')
}

function cloneFile(branch: string, path: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'gh-emu-clone-'))
  try {
    execFileSync('git', ['clone', '--quiet', '--branch', branch, emu.bareRepo, dir], { stdio: 'pipe' })
    return readFileSync(join(dir, path), 'utf8')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

describe('GitHub emulator', () => {
  it('requires the token', async () => {
    const anon = getOctokit('wrong', { baseUrl: emu.url })
    expect(await errorOf(anon.rest.repos.get(o))).toMatchObject({ status: 401, message: expect.stringContaining('Bad credentials') })
    const repo = await gh.rest.repos.get(o)
    expect(repo.data.default_branch).toBe('main')
  })

  it('builds real trees and commits; API commits without author are verified', async () => {
    const ref = await gh.rest.git.getRef({ ...o, ref: 'heads/main' })
    const base = await gh.rest.git.getCommit({ ...o, commit_sha: ref.data.object.sha })
    const tree = await gh.rest.git.createTree({
      ...o,
      base_tree: base.data.tree.sha,
      tree: [
        { path: 'lists/ips.txt', mode: '100644', type: 'blob', content: '192.0.2.1\n198.51.100.7\n' },
        { path: 'README.md', mode: '100644', type: 'blob', sha: null },
        { path: 'deep/new/file.txt', mode: '100644', type: 'blob', content: 'x' }
      ]
    })
    const signed = await gh.rest.git.createCommit({ ...o, message: 'bot', tree: tree.data.sha, parents: [ref.data.object.sha] })
    expect(signed.data.verification).toMatchObject({ verified: true, reason: 'valid' })
    expect(signed.data.committer.name).toBe('GitHub')
    const custom = await gh.rest.git.createCommit({
      ...o,
      message: 'custom',
      tree: tree.data.sha,
      parents: [ref.data.object.sha],
      author: { name: 'Me', email: 'me@example.com' }
    })
    expect(custom.data.verification).toMatchObject({ verified: false, reason: 'unsigned' })
    expect(custom.data.author.name).toBe('Me')

    await gh.rest.git.createRef({ ...o, ref: 'refs/heads/feature/x', sha: signed.data.sha })
    const got = await gh.rest.git.getRef({ ...o, ref: 'heads/feature/x' })
    expect(got.data.object.sha).toBe(signed.data.sha)
    expect(cloneFile('feature/x', 'lists/ips.txt')).toBe('192.0.2.1\n198.51.100.7\n')
    expect(await emu.readFile('feature/x', 'README.md')).toBeNull()
    expect(await emu.readFile('feature/x', 'deep/new/file.txt')).toBe('x')
    // The SHA is git's own: `git rev-parse` in the bare repository agrees.
    const revParsed = execFileSync('git', ['--git-dir', emu.bareRepo, 'rev-parse', 'feature/x'], { encoding: 'utf8' }).trim()
    expect(revParsed).toBe(signed.data.sha)

    const delMissing = gh.rest.git.createTree({ ...o, base_tree: base.data.tree.sha, tree: [{ path: 'nope.txt', mode: '100644', type: 'blob', sha: null }] })
    expect((await errorOf(delMissing)).status).toBe(422)
  })

  it('refuses non-fast-forward ref updates unless forced', async () => {
    const main = (await gh.rest.git.getRef({ ...o, ref: 'heads/main' })).data.object.sha
    const side = await emu.pushAsHuman('side', { 'a.txt': 'a' }, 'side')
    await emu.commitToDefault({ 'b.txt': 'b' }, 'moves main')
    const nonFf = gh.rest.git.updateRef({ ...o, ref: 'heads/side', sha: main })
    // Moving `side` back to its own ancestor drops a commit: not a fast-forward.
    expect(await errorOf(nonFf)).toMatchObject({ status: 422, message: expect.stringContaining('Update is not a fast forward') })
    await gh.rest.git.updateRef({ ...o, ref: 'heads/side', sha: main, force: true })
    expect((await gh.rest.git.getRef({ ...o, ref: 'heads/side' })).data.object.sha).toBe(main)
    await gh.rest.git.updateRef({ ...o, ref: 'heads/side', sha: side })
    expect(await errorOf(gh.rest.git.createRef({ ...o, ref: 'refs/heads/side', sha: main }))).toMatchObject({ status: 422 })
    await gh.rest.git.deleteRef({ ...o, ref: 'heads/side' })
    expect((await errorOf(gh.rest.git.getRef({ ...o, ref: 'heads/side' }))).status).toBe(404)
  })

  it('serves contents (base64) and compare with commit messages', async () => {
    const c = await gh.rest.repos.getContent({ ...o, path: 'lists/hosts.txt', ref: 'main' })
    const data = c.data as { content: string; encoding: string; sha: string }
    expect(data.encoding).toBe('base64')
    expect(Buffer.from(data.content, 'base64').toString('utf8')).toBe('a.example\n')
    expect((await errorOf(gh.rest.repos.getContent({ ...o, path: 'missing.txt', ref: 'main' }))).status).toBe(404)

    await emu.pushAsHuman('topic', { 'x.txt': '1' }, 'first')
    await emu.pushAsHuman('topic', { 'x.txt': '2' }, 'second')
    await emu.commitToDefault({ 'y.txt': 'y' }, 'base moves')
    const cmp = await gh.rest.repos.compareCommits({ ...o, base: 'main', head: 'topic' })
    expect(cmp.data).toMatchObject({ status: 'diverged', ahead_by: 2, behind_by: 1 })
    expect(cmp.data.commits.map((x) => x.commit.message)).toEqual(['first', 'second'])
    expect(cmp.data.commits[0]?.commit.author?.name).toBe('A Person')
  })

  it('creates pull requests like GitHub: 422 on duplicates and on no commits', async () => {
    await emu.pushAsHuman('p', { 'x.txt': '1' }, 'change')
    const pr = await gh.rest.pulls.create({ ...o, head: `${o.owner}:p`, base: 'main', title: 't', body: 'b' })
    expect(pr.data.number).toBe(1)
    const dup = await errorOf(gh.rest.pulls.create({ ...o, head: 'p', base: 'main', title: 't2' }))
    expect(dup).toMatchObject({ status: 422, message: expect.stringContaining(`A pull request already exists for ${o.owner}:p.`) })
    await gh.rest.git.createRef({ ...o, ref: 'refs/heads/empty', sha: (await gh.rest.git.getRef({ ...o, ref: 'heads/main' })).data.object.sha })
    expect(await errorOf(gh.rest.pulls.create({ ...o, head: 'empty', base: 'main', title: 'e' }))).toMatchObject({
      status: 422,
      message: expect.stringContaining('No commits between main and empty')
    })

    // `head` filters only in the owner:branch form.
    expect((await gh.rest.pulls.list({ ...o, state: 'open', head: `${o.owner}:p` })).data).toHaveLength(1)
    expect((await gh.rest.pulls.list({ ...o, state: 'open', head: `${o.owner}:other` })).data).toHaveLength(0)
    expect((await gh.rest.pulls.list({ ...o, state: 'open', head: 'other' })).data).toHaveLength(1)

    await gh.rest.pulls.update({ ...o, pull_number: 1, title: 'T', body: 'B' })
    await gh.rest.issues.addLabels({ ...o, issue_number: 1, labels: ['tls-bypass', 'automated'] })
    expect(emu.pulls[0]).toMatchObject({ title: 'T', body: 'B', labels: ['tls-bypass', 'automated'], state: 'open' })

    // The PR head follows the branch.
    const moved = await emu.pushAsHuman('p', { 'x.txt': '3' }, 'more')
    expect((await gh.rest.pulls.get({ ...o, pull_number: 1 })).data.head.sha).toBe(moved)

    const merge = await emu.mergePull(1)
    expect(emu.pulls[0]).toMatchObject({ state: 'closed', merged: true })
    expect(await emu.readFile('main', 'x.txt')).toBe('3')
    const parents = execFileSync('git', ['--git-dir', emu.bareRepo, 'rev-list', '--parents', '-n1', merge], { encoding: 'utf8' }).trim().split(' ')
    expect(parents).toHaveLength(3)
  })

  it('injects faults and hooks, and records requests', async () => {
    emu.inject({ method: 'GET', path: /\/repos\/[^/]+\/[^/]+$/, status: 502 })
    expect((await errorOf(gh.rest.repos.get(o))).status).toBe(502)
    expect((await gh.rest.repos.get(o)).status).toBe(200)

    let ran = false
    emu.inject({
      method: 'GET',
      path: /\/git\/ref\//,
      before: async () => {
        ran = true
        await emu.commitToDefault({ 'z.txt': 'z' }, 'moved under you')
      }
    })
    const ref = await gh.rest.git.getRef({ ...o, ref: 'heads/main' })
    expect(ran).toBe(true)
    expect(await emu.readFile(ref.data.object.sha, 'z.txt')).toBe('z')
    expect(emu.requests.map((r) => `${r.method} ${r.status}`)).toEqual(['GET 502', 'GET 200', 'GET 200'])
  })

  it('retries 5xx through the client and honours rate limits via throttling', async () => {
    const client = createGitHubClient({ token: emu.token, baseUrl: emu.url, retries: 2, retryUnitMs: 1 })
    emu.inject({ method: 'GET', status: 503, times: 2 })
    expect((await client.rest.repos.get(o)).status).toBe(200)
    emu.inject({
      method: 'GET',
      status: 403,
      body: { message: 'You have exceeded a secondary rate limit', documentation_url: 'x' },
      headers: { 'retry-after': '1' }
    })
    expect((await client.rest.repos.get(o)).status).toBe(200)
    expect(emu.requests.map((r) => r.status)).toEqual([503, 503, 200, 403, 200])
  })
})
