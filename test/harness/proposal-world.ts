/**
 * A Cloudflare and a GitHub emulator around a repository holding this project's own list
 * files and exclusions, a person with write access using the API, and collect run in process
 * on the default branch's files as the workflow would. Shared by the suites that attack the
 * proposal PR (forged state, rejections).
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import type { TestContext } from 'vitest'
import { createGitHubClient } from '../../action/src/adapters/github.js'
import { startCloudflareEmulator } from '../emulators/cloudflare.js'
import { NO_WAITS, startGitHubEmulator } from '../emulators/github.js'
import { runCaptured, testRuntime } from './runtime.js'

export const ACCOUNT = 'fedcba9876543210fedcba9876543210'
export const BRANCH = 'gateway-tls-bypass/proposals'
const repoFile = (p: string): string => readFileSync(new URL(`../../${p}`, import.meta.url), 'utf8')

export async function proposalWorld(ctx: TestContext) {
  const cf = await startCloudflareEmulator({ accountId: ACCOUNT })
  const gh = await startGitHubEmulator({
    files: { 'lists/ips.txt': repoFile('lists/ips.txt'), 'lists/hosts.txt': repoFile('lists/hosts.txt'), 'exclusions.yaml': repoFile('exclusions.yaml') }
  })
  ctx.onTestFinished(async () => {
    await cf.close()
    await gh.close()
  })
  const git = (...args: string[]): string => execFileSync('git', ['--git-dir', gh.bareRepo, ...args]).toString().trim()
  // A person with write access, using the API like any client.
  const person = createGitHubClient({ token: gh.token, baseUrl: gh.url, retries: 0, pacing: false })
  const openPull = () => gh.pulls.find((p) => p.state === 'open')

  /** collect on the default branch's files, with the GitHub context the workflow gives it. */
  async function runCollect(o: { now?: number; extra?: Record<string, string> } = {}) {
    const files: Record<string, string> = {}
    for (const p of ['lists/ips.txt', 'lists/hosts.txt', 'exclusions.yaml']) files[p] = (await gh.readFile(gh.defaultBranch, p))!
    const rt = await testRuntime({ files, ...(o.now === undefined ? {} : { now: o.now }), github: { owner: gh.owner, repo: gh.repo, apiUrl: gh.url, sha: git('rev-parse', gh.defaultBranch), timing: NO_WAITS } })
    return runCaptured(rt, { 'command': 'collect', 'cloudflare-account-id': ACCOUNT, 'cloudflare-api-token': cf.token, 'cloudflare-api-url': cf.url, 'github-token': gh.token, ...o.extra })
  }
  return { cf, gh, git, person, openPull, runCollect }
}
