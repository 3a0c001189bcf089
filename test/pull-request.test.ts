// The proposal PR adapter against the GitHub emulator (real HTTP, real git objects, real
// Octokit): each test states a rule of the one-branch/one-PR design and checks it on the
// repository itself, not on mocked calls.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createGitHubClient, type Octokit } from '../action/src/adapters/github.js'
import {
  botCommitProblem,
  COMMIT_TRAILER,
  findOpenProposal,
  gitBlobSha,
  readFiles,
  upsertProposal,
  withTrailer,
  type ProposalRequest
} from '../action/src/adapters/pull-request.js'
import { startGitHubEmulator, type GitHubEmulator } from './emulators/github.js'

const BRANCH = 'gateway-tls-bypass/proposals'
const IPS = 'lists/ips.txt'
const HOSTS = 'lists/hosts.txt'

let emu: GitHubEmulator
let gh: Octokit
let logs: string[]

beforeEach(async () => {
  emu = await startGitHubEmulator({ files: { [IPS]: '192.0.2.1\n', [HOSTS]: 'a.example\n', 'README.md': '# zt\n' } })
  logs = []
  gh = createGitHubClient({ token: emu.token, baseUrl: emu.url, retries: 0, pacing: false, log: (m) => logs.push(m) })
})
afterEach(async () => {
  await emu.close()
})

function request(ips: string, extra: Partial<ProposalRequest> = {}): ProposalRequest {
  return {
    owner: emu.owner,
    repo: emu.repo,
    branch: BRANCH,
    files: [{ path: IPS, content: ips }],
    message: 'Propose TLS-inspection bypass entries',
    title: 'TLS bypass proposals',
    body: `Evidence for ${ips.trim().split('\n').length} entries`,
    labels: ['tls-bypass'],
    ...extra
  }
}

function writes(): { method: string; path: string; body: unknown }[] {
  return emu.requests.filter((r) => r.method !== 'GET')
}

function git(...args: string[]): string {
  return execFileSync('git', ['--git-dir', emu.bareRepo, ...args], { encoding: 'utf8' }).trim()
}

/** Reads a file from a real `git clone` of the branch: what a reviewer would check out. */
function cloned(branch: string, path: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'pr-clone-'))
  try {
    execFileSync('git', ['clone', '--quiet', '--branch', branch, emu.bareRepo, dir], { stdio: 'pipe' })
    return readFileSync(join(dir, path), 'utf8')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

describe('upsertProposal', () => {
  it('creates the branch with one verified bot commit on the base, and opens one labelled PR', async () => {
    const mainSha = git('rev-parse', 'main')
    const r = await upsertProposal(gh, request('192.0.2.1\n198.51.100.7\n'), (m) => logs.push(m))
    expect(r).toMatchObject({ operation: 'created', number: 1, baseSha: mainSha })
    expect(r.url).toMatch(/\/pull\/1$/)

    const head = git('rev-parse', BRANCH)
    expect(r.headSha).toBe(head)
    expect(git('rev-parse', `${head}^`)).toBe(mainSha)
    expect(git('rev-list', '--count', `main..${BRANCH}`)).toBe('1')
    expect(cloned(BRANCH, IPS)).toBe('192.0.2.1\n198.51.100.7\n')
    // Untouched files come from base_tree, not from the request.
    expect(cloned(BRANCH, HOSTS)).toBe('a.example\n')
    expect(cloned(BRANCH, 'README.md')).toBe('# zt\n')

    const commitReq = emu.requests.find((q) => q.method === 'POST' && q.path.endsWith('/git/commits'))
    expect(commitReq?.body).not.toHaveProperty('author')
    expect(commitReq?.body).not.toHaveProperty('committer')
    expect(emu.verification(head).verified).toBe(true)
    expect(git('log', '-1', '--format=%B', head)).toContain(COMMIT_TRAILER)

    expect(emu.pulls).toHaveLength(1)
    expect(emu.pulls[0]).toMatchObject({ state: 'open', head: { ref: BRANCH, sha: head }, base: { ref: 'main' }, labels: ['tls-bypass'] })
    expect(emu.pulls[0]?.body).toBe('Evidence for 2 entries')
    // The lookup used the owner-prefixed head filter.
    expect(emu.requests.some((q) => q.method === 'GET' && q.path.includes(`head=${emu.owner}%3A`))).toBe(true)
  })

  it('is idempotent: the same content again makes no commit and no ref update', async () => {
    await upsertProposal(gh, request('192.0.2.1\n198.51.100.7\n'))
    const head = git('rev-parse', BRANCH)
    const objects = git('count-objects', '-v')
    emu.requests.length = 0

    const r = await upsertProposal(gh, request('192.0.2.1\n198.51.100.7\n'))
    expect(r).toMatchObject({ operation: 'unchanged', number: 1, headSha: head, edited: false })
    expect(git('rev-parse', BRANCH)).toBe(head)
    // The only write is the tree (needed to compare trees): no commit, no ref, no PR edit.
    expect(writes().map((w) => `${w.method} ${w.path.replace(/^\/repos\/[^/]+\/[^/]+/, '')}`)).toEqual(['POST /git/trees'])
    expect(git('count-objects', '-v')).toBe(objects)
  })

  it('still edits title/body when the content is unchanged', async () => {
    await upsertProposal(gh, request('192.0.2.9\n'))
    const r = await upsertProposal(gh, request('192.0.2.9\n', { body: 'new evidence text' }))
    expect(r).toMatchObject({ operation: 'unchanged', edited: true })
    expect(emu.pulls[0]?.body).toBe('new evidence text')
  })

  it('updates the same PR with new content: one open PR, branch rebuilt as one commit', async () => {
    const first = await upsertProposal(gh, request('192.0.2.1\n198.51.100.7\n'))
    const r = await upsertProposal(gh, request('192.0.2.1\n198.51.100.7\n203.0.113.5\n', { labels: ['tls-bypass', 'automated'] }), (m) => logs.push(m))
    expect(r).toMatchObject({ operation: 'updated', number: first.number, edited: true })
    expect(emu.pulls.filter((p) => p.state === 'open')).toHaveLength(1)
    // A label the repository lacks is created only when the PR is opened (that needs issues: write).
    expect(emu.pulls[0]).toMatchObject({ body: 'Evidence for 3 entries', labels: ['tls-bypass'] })
    expect(logs).toContain('Label "automated" does not exist in the repository; not created on an update (see the README\'s GitHub setup).')
    expect(git('rev-list', '--count', `main..${BRANCH}`)).toBe('1')
    expect(cloned(BRANCH, IPS)).toBe('192.0.2.1\n198.51.100.7\n203.0.113.5\n')
    expect(emu.pulls[0]?.head.sha).toBe(r.headSha)
  })

  it('writes nothing and opens nothing when the files equal the base and no PR is open', async () => {
    const r = await upsertProposal(gh, request('192.0.2.1\n', { files: [{ path: IPS, content: '192.0.2.1\n' }, { path: HOSTS, content: 'a.example\n' }] }))
    expect(r).toMatchObject({ operation: 'none', baseSha: git('rev-parse', 'main') })
    expect(r.number).toBeUndefined()
    expect(writes()).toEqual([])
    expect(emu.pulls).toHaveLength(0)
    expect(git('for-each-ref', '--format=%(refname)', 'refs/heads/')).toBe('refs/heads/main')
  })

  it('leaves branch and PR alone when a person pushed to the branch', async () => {
    await upsertProposal(gh, request('192.0.2.1\n198.51.100.7\n'))
    const human = await emu.pushAsHuman(BRANCH, { [IPS]: '192.0.2.1\n' }, 'Drop 198.51.100.7: that is our VPN')
    const before = { ...emu.pulls[0] }
    emu.requests.length = 0

    const r = await upsertProposal(gh, request('192.0.2.1\n198.51.100.7\n203.0.113.5\n', { body: 'would overwrite' }), (m) => logs.push(m))
    expect(r).toMatchObject({ operation: 'blocked-human-commits', number: 1, headSha: human })
    expect(git('rev-parse', BRANCH)).toBe(human)
    expect(writes()).toEqual([])
    expect(emu.pulls[0]?.body).toBe(before.body)
    expect(logs.join('\n')).toContain('a person pushed')

    const existing = await findOpenProposal(gh, { owner: emu.owner, repo: emu.repo, branch: BRANCH })
    expect(existing).toMatchObject({ number: 1, headSha: human, branchExists: true, humanCommits: 1 })
  })

  it('notices a person pushing during the run, just before the forced update', async () => {
    await upsertProposal(gh, request('192.0.2.1\n198.51.100.7\n'))
    let human = ''
    emu.inject({
      method: 'POST',
      path: /\/git\/commits$/,
      before: async () => {
        human = await emu.pushAsHuman(BRANCH, { 'NOTE.md': 'reviewing' }, 'Reviewer note')
      }
    })
    const r = await upsertProposal(gh, request('203.0.113.5\n'))
    expect(r.operation).toBe('blocked-human-commits')
    expect(git('rev-parse', BRANCH)).toBe(human)
    expect(emu.requests.some((q) => q.method === 'PATCH' && q.path.includes('/git/refs/'))).toBe(false)
  })

  it('resolves the create race: 422 "already exists" → updates the PR the other run opened', async () => {
    const other = createGitHubClient({ token: emu.token, baseUrl: emu.url, retries: 0, pacing: false })
    emu.inject({
      method: 'POST',
      path: /\/pulls$/,
      before: async () => {
        await other.rest.pulls.create({ owner: emu.owner, repo: emu.repo, head: `${emu.owner}:${BRANCH}`, base: 'main', title: 'other run', body: 'other body' })
      }
    })
    const r = await upsertProposal(gh, request('198.51.100.7\n'))
    expect(r).toMatchObject({ operation: 'updated', number: 1 })
    expect(emu.requests.find((q) => q.method === 'POST' && q.path.endsWith('/pulls'))?.status).toBe(422)
    expect(emu.pulls).toHaveLength(1)
    expect(emu.pulls[0]).toMatchObject({ title: 'TLS bypass proposals', body: 'Evidence for 1 entries', labels: ['tls-bypass'] })
  })

  it('retries a 5xx through the client, and surfaces it without retries', async () => {
    const retrying = createGitHubClient({ token: emu.token, baseUrl: emu.url, retries: 2, retryUnitMs: 1, pacing: false })
    emu.inject({ method: 'POST', path: /\/git\/trees$/, status: 502, times: 2 })
    const r = await upsertProposal(retrying, request('198.51.100.7\n'))
    expect(r.operation).toBe('created')
    expect(emu.requests.filter((q) => q.path.endsWith('/git/trees')).map((q) => q.status)).toEqual([502, 502, 201])

    emu.inject({ method: 'POST', path: /\/git\/trees$/, status: 500 })
    await expect(upsertProposal(gh, request('203.0.113.5\n'))).rejects.toMatchObject({ status: 500 })
  })

  it('parents the new commit on the new base tip when the base moved between runs', async () => {
    await upsertProposal(gh, request('198.51.100.7\n'))
    const moved = await emu.commitToDefault({ [HOSTS]: 'a.example\nb.example\n' }, 'Someone adds a host by hand')
    const r = await upsertProposal(gh, request('198.51.100.7\n'))
    expect(r).toMatchObject({ operation: 'updated', baseSha: moved, number: 1 })
    expect(git('rev-parse', `${BRANCH}^`)).toBe(moved)
    expect(git('rev-list', '--count', `main..${BRANCH}`)).toBe('1')
    expect(cloned(BRANCH, HOSTS)).toBe('a.example\nb.example\n')
    expect(cloned(BRANCH, IPS)).toBe('198.51.100.7\n')
    expect(emu.verification(git('rev-parse', BRANCH)).verified).toBe(true)
  })

  it('closes an open PR whose content the base already has, with a comment, and keeps the branch', async () => {
    await upsertProposal(gh, request('198.51.100.7\n'))
    await emu.commitToDefault({ [IPS]: '198.51.100.7\n' }, 'Same entry added by hand')
    const r = await upsertProposal(gh, request('198.51.100.7\n'))
    expect(r).toMatchObject({ operation: 'closed', number: 1 })
    expect(emu.pulls[0]).toMatchObject({ state: 'closed', merged: false })
    expect(emu.pulls[0]?.comments[0]).toContain('already contains everything')
    expect(git('rev-parse', '--verify', BRANCH)).toMatch(/^[0-9a-f]{40}$/)

    // Next time there is something new, the kept branch is reused and a new PR opened.
    const again = await upsertProposal(gh, request('198.51.100.7\n203.0.113.5\n'))
    expect(again).toMatchObject({ operation: 'created', number: 2 })
    expect(git('rev-parse', `${BRANCH}^`)).toBe(git('rev-parse', 'main'))
  })

  it('after a merge, the same proposal is a no-op and nothing is reopened', async () => {
    await upsertProposal(gh, request('198.51.100.7\n'))
    await emu.mergePull(1)
    emu.requests.length = 0
    const r = await upsertProposal(gh, request('198.51.100.7\n'))
    expect(r.operation).toBe('none')
    expect(writes()).toEqual([])
    // A new proposal force-replaces the merged branch (its commits are in the base).
    const next = await upsertProposal(gh, request('198.51.100.7\n203.0.113.5\n'))
    expect(next).toMatchObject({ operation: 'created', number: 2 })
    expect(git('rev-list', '--count', `main..${BRANCH}`)).toBe('1')
  })

  it('refuses an over-long body before sending anything', async () => {
    await expect(upsertProposal(gh, request('198.51.100.7\n', { body: 'x'.repeat(65537) }))).rejects.toThrow(/65536/)
    expect(emu.requests).toEqual([])
  })

  it('targets a given base branch', async () => {
    await emu.pushAsHuman('release', { 'R.md': 'r' }, 'release branch')
    const r = await upsertProposal(gh, request('198.51.100.7\n', { base: 'release' }))
    expect(r).toMatchObject({ operation: 'created', baseSha: git('rev-parse', 'release') })
    expect(emu.pulls[0]?.base.ref).toBe('release')
    expect(cloned(BRANCH, 'R.md')).toBe('r')
  })
})

describe('helpers', () => {
  it('readFiles returns text, and null for absent files', async () => {
    expect(await readFiles(gh, { owner: emu.owner, repo: emu.repo, ref: 'main', paths: [IPS, 'lists/none.txt'] })).toEqual({ [IPS]: '192.0.2.1\n', 'lists/none.txt': null })
  })

  it('computes git blob SHAs like git', () => {
    const sha = execFileSync('git', ['hash-object', '--stdin'], { input: 'héllo\n', encoding: 'utf8' }).trim()
    expect(gitBlobSha('héllo\n')).toBe(sha)
  })

  it('appends the trailer once', () => {
    const m = withTrailer('Subject\n\nBody\n')
    expect(m).toBe(`Subject\n\nBody\n\n${COMMIT_TRAILER}\n`)
    expect(withTrailer(m)).toBe(m)
  })

  it('findOpenProposal is null without an open PR', async () => {
    expect(await findOpenProposal(gh, { owner: emu.owner, repo: emu.repo, branch: BRANCH })).toBeNull()
  })
})

describe('what the next run may carry: only the bot\u2019s own commit', () => {
  const VERIFIED = { verified: true, reason: 'valid' }
  const BOT = { login: 'github-actions[bot]', type: 'Bot' }
  const APP = { login: 'my-app[bot]', type: 'Bot' }
  const WEB_FLOW = { login: 'web-flow', type: 'User' }
  const PERSON = { login: 'a-person', type: 'User' }
  const msg = `TLS bypass: add 1\n\n${COMMIT_TRAILER}\n`
  it.each([
    ['GITHUB_TOKEN commit: bot author, GitHub committer, verified', { message: msg, verification: VERIFIED }, BOT, WEB_FLOW, undefined],
    ['GitHub App commit', { message: msg, verification: VERIFIED }, APP, WEB_FLOW, undefined],
    ['bot committer', { message: msg, verification: VERIFIED }, APP, APP, undefined],
    ['no trailer', { message: 'TLS bypass: add 1\n', verification: VERIFIED }, BOT, WEB_FLOW, /lacks/],
    ['trailer only inside a line', { message: `x ${COMMIT_TRAILER}\n`, verification: VERIFIED }, BOT, WEB_FLOW, /lacks/],
    ['unsigned', { message: msg, verification: { verified: false, reason: 'unsigned' } }, BOT, WEB_FLOW, /not report its signature as verified \(unsigned\)/],
    ['no verification object', { message: msg }, BOT, WEB_FLOW, /verified/],
    ['a person as author', { message: msg, verification: VERIFIED }, PERSON, WEB_FLOW, /author is not a Bot/],
    ['author e-mail not linked to any account', { message: msg, verification: VERIFIED }, null, WEB_FLOW, /author is not a Bot/],
    ['the bot as author but a person committed and signed', { message: msg, verification: VERIFIED }, BOT, PERSON, /not committed by GitHub/],
    ['committer not linked to any account', { message: msg, verification: VERIFIED }, BOT, null, /not committed by GitHub/],
    ['a user account named like web-flow is still judged by login', { message: msg, verification: VERIFIED }, BOT, { login: 'web-flow-impostor', type: 'User' }, /not committed by GitHub/]
  ])('%s', (_name, commit, author, committer, problem) => {
    const got = botCommitProblem({ commit, author, committer })
    if (problem === undefined) expect(got).toBeUndefined()
    else expect(got).toMatch(problem)
  })

  it('findOpenProposal returns the bot\u2019s commit with the files at that exact SHA', async () => {
    const r = await upsertProposal(gh, request('192.0.2.1\n198.51.100.7\n', { message: 'TLS bypass: add 1\n\n+ ip 198.51.100.7  tls-error sessions=4 devices=2 users=2 first=- last=- hosts=0\n' }))
    const found = await findOpenProposal(gh, { owner: emu.owner, repo: emu.repo, branch: BRANCH, paths: [IPS, HOSTS, 'missing.txt'] })
    expect(found?.botCommit).toEqual({
      sha: r.headSha,
      message: expect.stringContaining('+ ip 198.51.100.7  tls-error') as unknown as string,
      files: { [IPS]: '192.0.2.1\n198.51.100.7\n', [HOSTS]: 'a.example\n', 'missing.txt': null }
    })
    expect(found?.distrust).toBeUndefined()
  })

  it.each([
    ['a person\u2019s commit on top', async () => emu.pushAsHuman(BRANCH, { [IPS]: '192.0.2.1\n' }, 'hand edit'), /2 commits over the base/],
    ['an impostor commit (bot as author, signed by a person) on top', async () => emu.pushAsImpostor(BRANCH, { [IPS]: '45.1.2.3\n' }, `x\n\n${COMMIT_TRAILER}\n`), /2 commits over the base/]
  ])('nothing is carried after %s', async (_name, push, why) => {
    await upsertProposal(gh, request('192.0.2.1\n198.51.100.7\n'))
    await push()
    const found = await findOpenProposal(gh, { owner: emu.owner, repo: emu.repo, branch: BRANCH, paths: [IPS] })
    expect(found?.botCommit).toBeNull()
    expect(found?.distrust).toMatch(why)
  })

  it('an impostor commit that replaces the bot\u2019s (one commit over the base) is not carried', async () => {
    await upsertProposal(gh, request('192.0.2.1\n198.51.100.7\n'))
    const sha = await emu.pushAsImpostor('scratch', { [IPS]: '192.0.2.1\n45.1.2.3\n' }, `TLS bypass: add 1\n\n+ ip 45.1.2.3  tls-error sessions=48213 devices=1890 users=1890 first=- last=- hosts=0\n\n${COMMIT_TRAILER}\n`)
    await gh.rest.git.updateRef({ owner: emu.owner, repo: emu.repo, ref: `heads/${BRANCH}`, sha, force: true })
    const found = await findOpenProposal(gh, { owner: emu.owner, repo: emu.repo, branch: BRANCH, paths: [IPS] })
    expect(found).toMatchObject({ humanCommits: 0, botCommit: null })
    expect(found?.distrust).toMatch(/not provably the bot's: it was not committed by GitHub or a Bot account/)
  })
})
