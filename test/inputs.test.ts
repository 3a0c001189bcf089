// Inputs: one table drives action.yml, the CLI and the README; every value is validated
// before anything runs, and hostile values are rejected rather than passed on.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { INPUTS, parseInputs, parseLookback } from '../action/src/inputs.js'

const logpush = { 'command': 'collect', 'source': 'logpush', 'logpush-dir': 'logs' }
const problems = (raw: Record<string, string>) => {
  try {
    parseInputs(raw)
    return ''
  } catch (e) {
    return (e as Error).message
  }
}

describe('parseLookback', () => {
  it.each([
    ['30m', 1_800_000],
    ['6h', 21_600_000],
    ['24h', 86_400_000],
    ['7d', 604_800_000],
    ['31d', 31 * 86_400_000],
    [' 2h ', 7_200_000],
    ['all', null]
  ])('%s → %s', (raw, ms) => expect(parseLookback(raw)).toBe(ms))

  it.each(['', '0m', '24', 'h', '1w', '-1h', '1.5h', '32d', '99999d', "1h'; DROP", '1h\n2h'])('rejects %j', (raw) => {
    expect(() => parseLookback(raw)).toThrow(/lookback/)
  })
})

describe('parseInputs', () => {
  it('applies the action.yml defaults', () => {
    const i = parseInputs(logpush)
    expect(i['min-sessions']).toBe(2)
    expect(i['min-devices']).toBe(1)
    expect(i.ports).toEqual([443])
    expect(i.lookback).toEqual({ raw: '24h', ms: 86_400_000 })
    expect(i['list-capacity']).toBe(1000)
    expect(i['dry-run']).toBe(false)
    expect(i['pr-labels']).toEqual(['tls-bypass'])
  })

  it('parses ports as a sorted, de-duplicated list', () => {
    expect(parseInputs({ ...logpush, ports: '8443, 443,443' }).ports).toEqual([443, 8443])
  })

  it.each([
    [{ ports: '0' }, 'ports'],
    [{ ports: '65536' }, 'ports'],
    [{ ports: '443;8443' }, 'ports'],
    [{ ports: '443) OR (1=1' }, 'ports'],
    [{ 'min-sessions': '0' }, 'min-sessions'],
    [{ 'min-sessions': '2.5' }, 'min-sessions'],
    [{ 'min-devices': '-1' }, 'min-devices'],
    [{ 'max-new-entries': 'lots' }, 'max-new-entries'],
    [{ 'list-capacity': '5001' }, 'list-capacity'],
    [{ 'policy-name': "x' OR '1'='1" }, 'policy-name'],
    [{ 'policy-name': 'a"b' }, 'policy-name'],
    [{ 'policy-name': 'line\nbreak' }, 'policy-name'],
    [{ 'policy-name': 'ok) or any(http.conn.dst_ip[*] in {0.0.0.0/0}' }, 'policy-name'],
    [{ 'pr-branch': '-x' }, 'pr-branch'],
    [{ 'pr-branch': 'a..b' }, 'pr-branch'],
    [{ 'pr-branch': 'a b' }, 'pr-branch'],
    [{ 'dry-run': 'yes' }, 'dry-run'],
    [{ 'cloudflare-account-id': 'not-an-id' }, 'cloudflare-account-id'],
    [{ 'cloudflare-api-url': 'ftp://x' }, 'cloudflare-api-url'],
    [{ command: 'deploy' }, 'command']
  ])('rejects %j naming %s', (bad, name) => {
    expect(problems({ ...logpush, ...bad })).toContain(`${name}:`)
  })

  it('lists every problem at once', () => {
    const msg = problems({ ...logpush, 'ports': 'x', 'min-sessions': '0', 'lookback': 'soon' })
    expect(msg).toContain('ports:')
    expect(msg).toContain('min-sessions:')
    expect(msg).toContain('lookback:')
  })

  it('allows lookback all only with logpush', () => {
    expect(problems({ ...logpush, lookback: 'all' })).toBe('')
    const le = { 'command': 'collect', 'source': 'log-explorer', 'lookback': 'all', 'cloudflare-account-id': 'a'.repeat(32), 'cloudflare-api-token': 'tok' }
    expect(problems(le)).toContain('only allowed with source: logpush')
  })

  it('requires credentials where they are needed, and never echoes a token', () => {
    expect(problems({ command: 'collect', source: 'log-explorer' })).toContain('required with source: log-explorer')
    expect(problems({ command: 'sync' })).toContain('required for sync')
    expect(problems({ command: 'check' })).toBe('')
    const secret = 'cf-secret-token-value-123'
    expect(problems({ 'command': 'sync', 'cloudflare-api-token': secret, 'cloudflare-account-id': 'zz' })).not.toContain(secret)
  })
})

describe('action.yml', () => {
  const action = parse(readFileSync(new URL('../action/action.yml', import.meta.url), 'utf8')) as {
    inputs: Record<string, { default?: string; description: string }>
    outputs: Record<string, unknown>
    runs: { using: string; main: string }
  }

  it('declares exactly the inputs of the table, with the same defaults', () => {
    expect(Object.keys(action.inputs)).toEqual(INPUTS.map((i) => i.name))
    for (const spec of INPUTS) expect(action.inputs[spec.name]!.default, spec.name).toBe(spec.default)
  })

  it('gives every boolean input a default (core.getBooleanInput throws on empty)', () => {
    for (const spec of INPUTS.filter((s) => s.boolean)) expect(action.inputs[spec.name]!.default).toMatch(/^(true|false)$/)
  })

  it('runs the committed bundle on node24 and declares the outputs', () => {
    expect(action.runs).toEqual({ using: 'node24', main: 'dist/index.mjs' })
    expect(Object.keys(action.outputs).sort()).toEqual(['added', 'pull-request-number', 'pull-request-url', 'removed'])
  })
})

describe('README', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
  const table = readme.slice(readme.indexOf('## Inputs'), readme.indexOf('## Threat model'))

  it('documents every input in the inputs table, with its default, and no input that does not exist', () => {
    const rows = [...table.matchAll(/^\| `([a-z0-9-]+)` \|([^|]*)\|/gm)].map((m) => ({ name: m[1]!, dflt: m[2]!.trim() }))
    expect(rows.map((r) => r.name)).toEqual(INPUTS.map((i) => i.name))
    for (const spec of INPUTS) {
      const row = rows.find((r) => r.name === spec.name)!
      if (spec.default) expect(row.dflt, spec.name).toBe(`\`${spec.default}\``)
    }
  })

  it('gives the two quick-start commands', () => {
    expect(readme).toContain('npm ci && npm run demo')
    expect(readme).toContain('npm test')
  })
})
