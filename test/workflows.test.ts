// Every workflow parses with GitHub's own parser, and the security rules hold on each:
// `permissions: {}` at the top, the least each job needs, actions pinned by full SHA,
// no pull_request_target, secrets only where needed, an environment for sync.
import { readdirSync, readFileSync } from 'node:fs'
import { NoOperationTraceWriter, parseWorkflow } from '@actions/workflow-parser'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'

const dir = new URL('../.github/workflows/', import.meta.url)
const files = readdirSync(dir).filter((f) => f.endsWith('.yml'))

type Step = { uses?: string; run?: string; with?: Record<string, unknown> }
type Job = { permissions?: Record<string, string>; environment?: string; steps: Step[] }
type Workflow = { on: Record<string, unknown>; permissions?: unknown; concurrency?: { 'cancel-in-progress'?: boolean }; jobs: Record<string, Job> }

const load = (f: string) => readFileSync(new URL(f, dir), 'utf8')
const workflow = (f: string) => parse(load(f)) as Workflow

describe('workflow files', () => {
  it('exist: collect, collect-logpush, sync, check, ci', () => {
    expect(files.sort()).toEqual(['check.yml', 'ci.yml', 'collect-logpush.yml', 'collect.yml', 'sync.yml'])
  })

  it.each(files)('%s parses with @actions/workflow-parser without errors', (f) => {
    const result = parseWorkflow({ name: f, content: load(f) }, new NoOperationTraceWriter())
    expect(result.context.errors.getErrors().map((e) => e.message)).toEqual([])
    expect(result.value).toBeDefined()
  })

  it('the parser does report a broken workflow (the check above can fail)', () => {
    const broken = 'on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: ./action\n        bogus-key: 1\n'
    const result = parseWorkflow({ name: 'broken.yml', content: broken }, new NoOperationTraceWriter())
    expect(result.context.errors.getErrors().length).toBeGreaterThan(0)
  })

  it.each(files)('%s starts from permissions: {} and grants per job', (f) => {
    const w = workflow(f)
    expect(w.permissions).toEqual({})
    for (const job of Object.values(w.jobs)) expect(job.permissions).toBeDefined()
  })

  it.each(files)('%s pins every third-party action by a full commit SHA', (f) => {
    for (const job of Object.values(workflow(f).jobs)) {
      for (const step of job.steps) {
        if (!step.uses || step.uses.startsWith('./')) continue
        expect(step.uses).toMatch(/^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/)
      }
    }
  })

  it.each(files)('%s never uses pull_request_target and never persists checkout credentials', (f) => {
    const w = workflow(f)
    expect(Object.keys(w.on)).not.toContain('pull_request_target')
    for (const job of Object.values(w.jobs)) {
      for (const step of job.steps.filter((s) => s.uses?.startsWith('actions/checkout@'))) {
        expect(step.with?.['persist-credentials']).toBe(false)
      }
    }
  })

  it('collect may write contents and pull requests, nothing else, and never races itself', () => {
    const w = workflow('collect.yml')
    expect(w.jobs.collect!.permissions).toEqual({ 'contents': 'write', 'pull-requests': 'write' })
    expect(w.concurrency?.['cancel-in-progress']).toBe(false)
    expect(Object.keys(w.on).sort()).toEqual(['schedule', 'workflow_dispatch'])
  })

  it.each(['collect.yml', 'collect-logpush.yml'])('%s checks out the whole history (listed-since dates come from git blame)', (f) => {
    const checkout = workflow(f).jobs.collect!.steps.find((s) => s.uses?.startsWith('actions/checkout@'))!
    expect(checkout.with?.['fetch-depth']).toBe(0)
  })

  it('sync reads contents and comments on pull requests only, runs in the protected environment, is never cancelled half way', () => {
    const w = workflow('sync.yml')
    expect(w.jobs.sync!.permissions).toEqual({ 'contents': 'read', 'pull-requests': 'write' })
    expect(w.jobs.sync!.environment).toBe('cloudflare')
    expect(w.concurrency?.['cancel-in-progress']).toBe(false)
    const dispatch = w.on.workflow_dispatch as { inputs: Record<string, unknown> }
    expect(Object.keys(dispatch.inputs)).toContain('force')
  })

  it('sync rebuilds the bundle and compares it with action/dist before the step that gets the token', () => {
    const steps = workflow('sync.yml').jobs.sync!.steps
    const verify = steps.findIndex((s) => s.run?.includes('bash scripts/verify-bundle.sh'))
    const action = steps.findIndex((s) => s.uses === './action')
    expect(verify).toBeGreaterThan(-1)
    expect(verify).toBeLessThan(action)
    // Installing must not run dependency scripts in the job that later holds the Edit token.
    expect(steps[verify]!.run).toContain('npm ci --ignore-scripts')
    expect(JSON.stringify(steps.slice(0, action))).not.toContain('secrets.')
    expect(readFileSync(new URL('../.ci/run', import.meta.url), 'utf8')).toContain('bash scripts/verify-bundle.sh')
  })

  it('a change to the bundle is visible in review: action/dist is not marked -diff (binary)', () => {
    const attrs = readFileSync(new URL('../.gitattributes', import.meta.url), 'utf8')
    const dist = attrs.split('\n').find((l) => l.startsWith('action/dist'))
    expect(dist).toBeDefined()
    expect(dist).not.toMatch(/(^|\s)-diff(\s|$)|\bbinary\b/)
  })

  it('check reads contents only and gets the read-only token, not the sync token', () => {
    const w = workflow('check.yml')
    expect(w.jobs.check!.permissions).toEqual({ contents: 'read' })
    const text = load('check.yml')
    expect(text).toContain('secrets.CLOUDFLARE_READ_TOKEN')
    expect(text).not.toMatch(/secrets\.CLOUDFLARE_API_TOKEN/)
  })

  it('secrets appear only in the steps that need them: the action, and the R2 fetch (its read-only key)', () => {
    for (const f of files) {
      for (const job of Object.values(workflow(f).jobs)) {
        for (const step of job.steps) {
          const s = JSON.stringify(step)
          if (!s.includes('secrets.')) continue
          if (step.run?.includes('fetch-logpush-r2.sh')) expect(s.match(/secrets\.[A-Z0-9_]+/g)!.sort()).toEqual(['secrets.R2_ACCESS_KEY_ID', 'secrets.R2_SECRET_ACCESS_KEY'])
          else expect(step.uses).toBe('./action')
        }
      }
    }
  })

  it('collect-logpush is inert until configured, shares collect\'s concurrency group, and gives the action no Cloudflare token', () => {
    const w = workflow('collect-logpush.yml')
    const job = w.jobs.collect! as Job & { if?: string }
    expect(job.if).toContain("vars.LOGPUSH_R2_BUCKET != ''")
    expect(job.permissions).toEqual({ 'contents': 'write', 'pull-requests': 'write' })
    expect((w as unknown as { concurrency: { group: string } }).concurrency.group).toBe((workflow('collect.yml') as unknown as { concurrency: { group: string } }).concurrency.group)
    const action = job.steps.find((s) => s.uses === './action')!
    expect(action.with).toMatchObject({ source: 'logpush', 'logpush-dir': '.logpush' })
    expect(JSON.stringify(action)).not.toContain('secrets.')
  })
})
