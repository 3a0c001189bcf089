// Issue 12 item 8: a credential quoted by an error must reach no output. An optional Log
// Explorer query (gateway_http) fails with a message that quotes the request's credentials
// (both tokens, whole and as fragments, with `_` and `-`, which Markdown escaping used to
// turn into `\_` and `\-`, out of reach of exact-match masking). The action runs from
// source as the runner starts it (INPUT_*, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY files), and
// every surface is searched: the PR title, body and commit message in the GitHub emulator,
// the job summary, the outputs, stdout (logs and annotations) and stderr.
import { spawn } from 'node:child_process'
import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { createRequire } from 'node:module'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cli } from '../action/src/cli.js'
import { escapeHtml, escapeMarkdown } from '../action/src/core/render/escape.js'
import { redactor } from '../action/src/runtime.js'
import { startCloudflareEmulator, type CloudflareEmulator } from './emulators/cloudflare.js'
import { startGitHubEmulator, type GitHubEmulator } from './emulators/github.js'
import { actionDefaults, parseOutputFile, runNode } from './harness/run-action.js'
import { failingSessions } from './harness/log-rows.js'

const repoRoot = fileURLToPath(new URL('../', import.meta.url))
const ACCOUNT = '0123456789abcdef0123456789abcdef'
// Both contain `_` and `-`; neither contains anything else the product prints.
const CF_TOKEN = 'cfut_Q9x-Zk2_Lm7-Pw4_Rt8-Vb1_Nc6-Hy3_Jd5'
const GH_TOKEN = 'ghs_A1b-C2d_E3f-G4h_I5j-K6l_M7n-O8p_Q9r'
const SECRETS = [CF_TOKEN, GH_TOKEN]

/** What the upstream error quotes: each token whole, and a prefix, a middle and a suffix fragment. */
function quoted(t: string): string[] {
  return [t, t.slice(0, 12), t.slice(9, 23), t.slice(-10)]
}

/** Spellings a leak could take, computed independently of the product's redactor. */
function spellings(t: string): string[] {
  return [t, t.replace(/[_-]/g, '\\$&'), encodeURIComponent(t).replace(/-/g, '%2D'), encodeURIComponent(t), JSON.stringify(t).slice(1, -1), t.replace(/[_-]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`)]
}

/** Every 8-character window of every spelling of every secret found in `text`, as `surface: …`. */
function leaks(surface: string, text: string, secrets: string[] = SECRETS): string[] {
  const out: string[] = []
  for (const t of secrets) {
    for (const form of spellings(t)) {
      for (let i = 0; i + 8 <= form.length; i++) {
        const w = form.slice(i, i + 8)
        const at = text.indexOf(w)
        if (at >= 0) {
          out.push(`${surface}: ${JSON.stringify(w)} in …${text.slice(Math.max(0, at - 60), at + 60)}…`)
          break
        }
      }
    }
  }
  return out
}

describe('redactor: whole tokens and 8+ character fragments, in every escaping form', () => {
  const redact = redactor(SECRETS)
  const forms: [string, (s: string) => string][] = [
    ['raw', (s) => s],
    ['Markdown-escaped', escapeMarkdown],
    ['HTML-escaped', escapeHtml],
    ['URL-encoded', encodeURIComponent],
    ['JSON-escaped', (s) => JSON.stringify(s).slice(1, -1)],
    ['JSON \\u-escaped punctuation', (s) => s.replace(/[^A-Za-z0-9]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)]
  ]
  const cases = SECRETS.flatMap((t, n) =>
    forms.flatMap(([form, f]) =>
      [
        ['whole', t],
        ['prefix', t.slice(0, 10)],
        ['middle', t.slice(11, 20)],
        ['suffix', t.slice(-8)]
      ].map(([part, text]) => [`${n === 0 ? 'cloudflare-api-token' : 'github-token'} ${part}, ${form}`, f(text!)] as const)
    )
  )
  it.each(cases)('%s', (_name, shown) => {
    const out = redact(`failed: "${shown}" was sent`)
    expect(out).toContain('***')
    expect(leaks('out', out)).toEqual([])
    expect(out.startsWith('failed: "')).toBe(true)
    expect(out.endsWith('" was sent')).toBe(true)
  })

  it('leaves ordinary text, short fragments (< 8) and text around a secret alone', () => {
    expect(redact('cfut_Q9 and ghs_A1b are 7 characters each')).toBe('cfut_Q9 and ghs_A1b are 7 characters each')
    expect(redact('cfut_Q9x is 8')).toBe('*** is 8')
    expect(redact('nothing to see here')).toBe('nothing to see here')
    expect(redact(`a ${CF_TOKEN} b ${GH_TOKEN} c`)).toBe('a *** b *** c')
  })

  it('a 1 MB text is redacted in one pass', () => {
    const big = `${'x'.repeat(500_000)}${escapeMarkdown(GH_TOKEN)}${'y'.repeat(500_000)}`
    expect(redact(big)).toBe(`${'x'.repeat(500_000)}***${'y'.repeat(500_000)}`)
  })
})

// --- End to end: the action from source, as the runner starts it ----------------------

let cf: CloudflareEmulator
let gh: GitHubEmulator
let proxy: Server
let proxyUrl: string

/**
 * Forwards to the Cloudflare emulator, except gateway_http queries: those get the 404 an
 * upstream returns for a dataset that is not enabled, quoting the credentials it received.
 */
function startProxy(target: string): Promise<Server> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      if (body.toString('utf8').includes('gateway_http')) {
        const auth = String(req.headers['authorization'] ?? '')
        const message = `dataset gateway_http is not enabled for this account; request had "${auth}" and x-github "${quoted(GH_TOKEN).join('", "')}" and "${quoted(CF_TOKEN).slice(1).join('", "')}"`
        res.writeHead(404, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ result: null, success: false, errors: [{ code: 1000, message }], messages: [] }))
        return
      }
      const url = new URL(req.url ?? '/', target)
      const fwd = request(url, { method: req.method, headers: { ...req.headers, host: url.host } }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers)
        up.pipe(res)
      })
      fwd.on('error', () => res.destroy())
      fwd.end(body)
    })
  })
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)))
}

interface Run {
  code: number
  stdout: string
  stderr: string
  outputs: Record<string, string>
  summary: string
}

/** `node --import tsx action/src/index.ts`, with the environment the runner gives the bundle. */
async function runActionFromSource(inputs: Record<string, string>): Promise<Run> {
  const ws = await mkdtemp(join(tmpdir(), 'gtb-secret-ws-'))
  await cp(join(repoRoot, 'lists'), join(ws, 'lists'), { recursive: true })
  await cp(join(repoRoot, 'exclusions.yaml'), join(ws, 'exclusions.yaml'))
  const tmp = await mkdtemp(join(tmpdir(), 'gtb-secret-runner-'))
  const outputFile = join(tmp, 'output')
  const summaryFile = join(tmp, 'summary')
  await writeFile(outputFile, '')
  await writeFile(summaryFile, '')
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: tmp,
    GITHUB_ACTIONS: 'true',
    GITHUB_WORKSPACE: ws,
    GITHUB_REPOSITORY: `${gh.owner}/${gh.repo}`,
    GITHUB_API_URL: gh.url,
    GITHUB_SERVER_URL: 'https://github.example',
    GITHUB_SHA: '0'.repeat(40),
    GITHUB_RUN_ID: '1',
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    RUNNER_TEMP: tmp,
    // Same retries and pacing, zero waits (README, Development).
    GATEWAY_TLS_BYPASS_WAIT_SCALE: '0'
  }
  for (const [name, value] of Object.entries({ ...(await actionDefaults(GH_TOKEN)), ...inputs })) env[`INPUT_${name.toUpperCase()}`] = value
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href
  const { code, stdout, stderr } = await runNode(['--import', tsx, join(repoRoot, 'action/src/index.ts')], { cwd: ws, env })
  return { code, stdout, stderr, outputs: parseOutputFile(await readFile(outputFile, 'utf8')), summary: await readFile(summaryFile, 'utf8') }
}

beforeAll(async () => {
  cf = await startCloudflareEmulator({ accountId: ACCOUNT, token: CF_TOKEN })
  await cf.setLogRows('zero_trust_network_sessions', failingSessions('api.pinnedbank.example', '192.0.2.10', [1, 2, 3], Date.now()))
  gh = await startGitHubEmulator({
    token: GH_TOKEN,
    files: { 'lists/ips.txt': '# ips\n', 'lists/hosts.txt': '# hosts\n', 'exclusions.yaml': 'exclusions: []\n' }
  })
  proxy = await startProxy(cf.url)
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`
})

afterAll(async () => {
  proxy?.closeAllConnections()
  await new Promise<void>((resolve) => (proxy ? proxy.close(() => resolve()) : resolve()))
  await cf?.close()
  await gh?.close()
})

describe('a gateway_http failure quoting both tokens reaches no output', () => {
  it('action: PR title, body, commit message, summary, outputs, logs, annotations and stderr are clean; the warning is still there', { timeout: 120_000 }, async () => {
    const r = await runActionFromSource({ 'command': 'collect', 'cloudflare-account-id': ACCOUNT, 'cloudflare-api-token': CF_TOKEN, 'cloudflare-api-url': proxyUrl })
    expect(r.code, r.stdout + r.stderr).toBe(0)
    const pr = gh.pulls.find((p) => p.state === 'open')
    expect(pr, 'a PR was opened').toBeDefined()
    const message = (await new Promise<string>((resolve, reject) => {
      const git = spawn('git', ['--git-dir', gh.bareRepo, 'log', '-1', '--format=%B', pr!.head.sha])
      let out = ''
      git.stdout.on('data', (d: Buffer) => (out += d.toString()))
      git.on('error', reject)
      git.on('close', () => resolve(out))
    }))
    // The runner must see each secret once, in its own mask command; nowhere else.
    const stdout = r.stdout.split('\n').filter((l) => !SECRETS.some((s) => l === `::add-mask::${s}`)).join('\n')
    const found = [
      ...leaks('PR title', pr!.title),
      ...leaks('PR body', pr!.body),
      ...leaks('PR comments', pr!.comments.join('\n')),
      ...leaks('commit message', message),
      ...leaks('summary', r.summary),
      ...leaks('outputs', Object.entries(r.outputs).map(([k, v]) => `${k}=${v}`).join('\n')),
      ...leaks('stdout (logs, annotations)', stdout),
      ...leaks('stderr', r.stderr)
    ]
    expect(found).toEqual([])
    // The failure is still reported, redacted, where a person reads it.
    expect(pr!.body).toMatch(/dataset gateway_http is not available/)
    expect(r.summary).toMatch(/dataset gateway_http is not available/)
    expect(stdout).toMatch(/::warning::.*dataset gateway_http is not available/)
    expect(pr!.body).toContain('\\*\\*\\*')
  })

  it('CLI (dry run): stdout and stderr are clean', { timeout: 60_000 }, async () => {
    const ws = await mkdtemp(join(tmpdir(), 'gtb-secret-cli-'))
    await cp(join(repoRoot, 'lists'), join(ws, 'lists'), { recursive: true })
    await cp(join(repoRoot, 'exclusions.yaml'), join(ws, 'exclusions.yaml'))
    const out: string[] = []
    const err: string[] = []
    const code = await cli(['collect', '--cloudflare-account-id', ACCOUNT, '--cloudflare-api-url', proxyUrl, '--lookback', '6h', '--dry-run'], { CLOUDFLARE_API_TOKEN: CF_TOKEN, GATEWAY_TLS_BYPASS_WAIT_SCALE: '0' }, { out: (s) => out.push(s), err: (s) => err.push(s), cwd: ws, isTTY: false })
    expect(code, err.join('\n')).toBe(0)
    // The CLI knows only the Cloudflare token (a PR needs the action and its GitHub token).
    expect([...leaks('stdout', out.join('\n'), [CF_TOKEN]), ...leaks('stderr', err.join('\n'), [CF_TOKEN])]).toEqual([])
    expect(out.join('\n')).toMatch(/dataset gateway_http is not available/)
  })
})
