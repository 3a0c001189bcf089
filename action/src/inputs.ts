/**
 * Every setting of gateway-tls-bypass, defined once.
 *
 * The action reads them as `INPUT_*` (kebab-case names, as `action.yml` declares them);
 * the CLI reads them as `--flags` or environment variables. Both end in `parseInputs`,
 * so a value that the action rejects is rejected locally too, with the same message.
 * A test checks that `action.yml`, `--help` and the README list exactly these inputs.
 */
import { z } from 'zod'
import { visible } from './core/render/escape.js'

export type Command = 'collect' | 'sync' | 'check'

/** One input: its kebab-case name, the default `action.yml` declares, and its help text. */
export interface InputSpec {
  name: string
  default?: string
  /** Environment variable the CLI falls back to (never used by the action). */
  env?: string
  secret?: boolean
  boolean?: boolean
  description: string
}

export const INPUTS: InputSpec[] = [
  { name: 'command', default: 'collect', description: 'What to run: `collect` (find failures, propose a PR), `sync` (apply the committed lists to Cloudflare), `check` (validate the files and show the sync plan read-only).' },
  { name: 'cloudflare-account-id', env: 'CLOUDFLARE_ACCOUNT_ID', description: 'Cloudflare account id (32 hex characters). Required for `source: log-explorer`, `sync`, and `check` with a token.' },
  { name: 'cloudflare-api-token', env: 'CLOUDFLARE_API_TOKEN', secret: true, description: 'Cloudflare API token. collect: Account › Logs › Read. sync: Account › Zero Trust › Edit. check: Account › Zero Trust › Read (optional: without it, check only validates the files).' },
  { name: 'cloudflare-api-url', default: '', env: 'CLOUDFLARE_BASE_URL', description: 'Cloudflare API base URL. Empty: env `CLOUDFLARE_BASE_URL`, else https://api.cloudflare.com/client/v4.' },
  { name: 'github-token', default: '${{ github.token }}', env: 'GITHUB_TOKEN', secret: true, description: 'collect: pushes the proposal branch and opens the PR (contents: write, pull-requests: write); a GitHub App token lets the PR trigger other workflows. sync: comments on the merged PR what was applied (pull-requests: write).' },
  { name: 'source', default: 'log-explorer', description: 'Where collect reads logs: `log-explorer` (SQL, aggregated in Cloudflare) or `logpush` (a folder of Logpush `.log.gz` files).' },
  { name: 'logpush-dir', default: '', description: 'Folder read recursively for `*.log.gz` when `source: logpush`.' },
  { name: 'lookback', default: '24h', description: 'How far back collect looks: a number with `m`, `h` or `d` (`30m`, `6h`, `24h`, `7d`; at most 31d). `all` (no time filter) for `source: logpush` only.' },
  { name: 'min-sessions', default: '2', description: 'A destination needs at least this many failing sessions to be proposed.' },
  { name: 'min-devices', default: '1', description: 'A destination needs failures from at least this many distinct devices to be proposed.' },
  { name: 'ports', default: '443', description: 'Comma-separated destination ports whose TLS failures count.' },
  { name: 'lists-dir', default: 'lists', description: 'Folder holding `ips.txt` and `hosts.txt`.' },
  { name: 'exclusions-file', default: 'exclusions.yaml', description: 'Exclusion rules: destinations that must stay inspected.' },
  { name: 'policy-name', default: 'gateway-tls-bypass', description: 'Name of the managed Do Not Inspect HTTP policy (sync creates it; collect learns hostnames from what it bypassed).' },
  { name: 'list-prefix', default: 'gateway-tls-bypass', description: 'Prefix of the Gateway list names sync manages (`<prefix> IP 1`, `<prefix> hosts 1`, ...).' },
  { name: 'list-capacity', default: '1000', description: 'Entries per Gateway list (1000 on Standard, 5000 on Enterprise). More entries spread over several lists.' },
  { name: 'max-new-entries', default: '25', description: 'Most additions one collect run proposes; the strongest candidates are kept, the rest are reported as held back.' },
  { name: 'pr-branch', default: 'gateway-tls-bypass/proposals', description: 'The one branch collect pushes its proposal to.' },
  { name: 'pr-labels', default: 'tls-bypass', description: 'Comma-separated labels for the proposal PR.' },
  { name: 'dry-run', default: 'false', boolean: true, description: 'Compute and print the plan, change nothing (no files, no PR, no Cloudflare writes).' },
  { name: 'force', default: 'false', boolean: true, description: 'sync: apply even when the plan removes more than 30% of the managed entries, adds more than `max-sync-additions`, or empties a list file.' },
  { name: 'widest-ipv4-prefix', default: '24', description: 'Broadest IPv4 network a list line may be: `24` allows a /24 (256 addresses) and narrower. 8 at the least.' },
  { name: 'widest-ipv6-prefix', default: '48', description: 'Broadest IPv6 network a list line may be: `48` allows a /48 and narrower. 32 at the least.' },
  { name: 'max-sync-additions', default: '5000', description: 'sync: refuse (unless `force`) a run that would add more entries than this to Cloudflare. At least 5000, so that a first import goes through.' },
  { name: 'max-lists', default: '10', description: 'sync: most Gateway lists it will ever manage (IP and hostname lists together); leaves room for the account\'s other lists.' },
  { name: 'certless-min-destinations', default: '10', description: 'A device whose TLS failed on at least this many distinct destinations, with `certless-min-failed-percent` of its TLS sessions failing, is treated as lacking the Gateway certificate: its failures count toward no candidate.' },
  { name: 'certless-min-failed-percent', default: '50', description: 'Share of a device\'s TLS sessions (on `ports`) that must fail, with `certless-min-destinations`, for it to count as lacking the Gateway certificate.' },
  { name: 'idle-days', default: '30', description: 'collect proposes removing a listed entry that the managed policy has not bypassed any traffic for in this many days, when it was listed at least that long ago. `0` turns it off.' },
  { name: 'reject-days', default: '90', description: 'A value a reviewer rejected (proposal PR closed unmerged, or its line deleted before merging) is not proposed again for this many days.' }
]

/** The CLI's commands: the action's three, and `why` (local history; the action has no use for it). */
export type CliCommand = Command | 'why'

/**
 * The inputs each CLI command reads, as `--flags`. The CLI refuses any other flag for that
 * command, so a flag never silently does nothing. A test checks that every input is here
 * or in {@link ACTION_ONLY}.
 */
export const CLI_FLAGS: Record<CliCommand, readonly string[]> = {
  collect: ['cloudflare-account-id', 'cloudflare-api-token', 'cloudflare-api-url', 'source', 'logpush-dir', 'lookback', 'min-sessions', 'min-devices', 'ports', 'lists-dir', 'exclusions-file', 'policy-name', 'list-prefix', 'max-new-entries', 'dry-run', 'widest-ipv4-prefix', 'widest-ipv6-prefix', 'certless-min-destinations', 'certless-min-failed-percent', 'idle-days'],
  sync: ['cloudflare-account-id', 'cloudflare-api-token', 'cloudflare-api-url', 'lists-dir', 'exclusions-file', 'policy-name', 'list-prefix', 'list-capacity', 'dry-run', 'force', 'widest-ipv4-prefix', 'widest-ipv6-prefix', 'max-sync-additions', 'max-lists'],
  // check is read-only whatever dry-run says; force shows whether `sync --force` would pass the guard.
  check: ['cloudflare-account-id', 'cloudflare-api-token', 'cloudflare-api-url', 'lists-dir', 'exclusions-file', 'policy-name', 'list-prefix', 'list-capacity', 'force', 'widest-ipv4-prefix', 'widest-ipv6-prefix', 'max-sync-additions', 'max-lists'],
  why: ['cloudflare-account-id', 'cloudflare-api-token', 'cloudflare-api-url', 'lists-dir', 'exclusions-file', 'policy-name', 'list-prefix', 'idle-days', 'widest-ipv4-prefix', 'widest-ipv6-prefix']
}

/** Inputs only the action uses (they act on pull requests), with why the CLI refuses them. */
export const ACTION_ONLY: Record<string, string> = {
  'command': 'give the command as the first word instead',
  'github-token': 'the CLI never opens pull requests (collect rewrites the list files in place)',
  'pr-branch': 'the CLI never opens pull requests (collect rewrites the list files in place)',
  'pr-labels': 'the CLI never opens pull requests (collect rewrites the list files in place)',
  'reject-days': 'rejections are read from closed proposal pull requests, which only the action sees'
}

const LOOKBACK = /^([1-9][0-9]{0,4})(m|h|d)$/
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const
const MAX_LOOKBACK_MS = 31 * UNIT_MS.d

/** `all` → null (no time filter); `30m` → 1_800_000. Throws with the accepted forms. */
export function parseLookback(raw: string): number | null {
  const s = raw.trim()
  if (s === 'all') return null
  const m = LOOKBACK.exec(s)
  if (!m) throw new Error(`lookback: "${printable(s)}" is not a duration; use e.g. 30m, 6h, 24h, 7d, or all`)
  const ms = Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS]
  if (ms > MAX_LOOKBACK_MS) throw new Error(`lookback: ${s} is longer than 31d`)
  return ms
}

/** Shows an input value in an error, short and with control or invisible characters made visible. */
function printable(s: string): string {
  return visible(s.slice(0, 80))
}

const int = (name: string, min: number, max: number) =>
  z.string().trim().regex(/^[0-9]+$/, `${name}: must be a whole number`).transform(Number)
    .refine((n) => n >= min && n <= max, `${name}: must be between ${min} and ${max}`)

const bool = (name: string) =>
  z.string().trim().refine((s) => /^(true|false|True|False|TRUE|FALSE)$/.test(s), `${name}: must be true or false`)
    .transform((s) => s.toLowerCase() === 'true')

/**
 * Policy and list names are shown in the dashboard and compared with log fields; they
 * never enter SQL or expressions raw (the Log Explorer source escapes them), but a
 * name with control characters or quotes is almost certainly a mistake or an attack.
 */
const displayName = (name: string) =>
  z.string().trim().min(1, `${name}: must not be empty`).max(100, `${name}: at most 100 characters`)
    .regex(/^[\p{L}\p{N} ._:()/+-]+$/u, `${name}: use letters, digits, spaces and . _ : ( ) / + - only`)

/** A branch name that git accepts and that cannot be confused with an option or a path trick. */
const branchName = z.string().trim().regex(/^(?!-)(?!.*\.\.)(?!.*\/\/)(?!.*@\{)[A-Za-z0-9._/-]{1,200}(?<![./])$/, 'pr-branch: not a safe branch name').refine((s) => !s.endsWith('.lock'), 'pr-branch: must not end with .lock')

export const InputsSchema = z.object({
  'command': z.enum(['collect', 'sync', 'check'], { error: 'command: must be collect, sync or check' }),
  'cloudflare-account-id': z.string().trim().regex(/^[0-9a-fA-F]{32}$/, 'cloudflare-account-id: must be 32 hexadecimal characters').optional().or(z.literal('').transform(() => undefined)),
  'cloudflare-api-token': z.string().trim().optional(),
  'cloudflare-api-url': z.string().trim().optional().transform((s) => (s ? s : undefined))
    .refine((s) => s === undefined || /^https?:\/\/[^\s]+$/.test(s), 'cloudflare-api-url: must be an http(s) URL'),
  'github-token': z.string().trim().optional(),
  'source': z.enum(['log-explorer', 'logpush'], { error: 'source: must be log-explorer or logpush' }),
  'logpush-dir': z.string().trim().optional(),
  'lookback': z.string().transform((s, ctx) => {
    try { return { raw: s.trim(), ms: parseLookback(s) } } catch (e) { ctx.addIssue({ code: 'custom', message: (e as Error).message }); return z.NEVER }
  }),
  'min-sessions': int('min-sessions', 1, 1_000_000),
  'min-devices': int('min-devices', 1, 1_000_000),
  'ports': z.string().transform((s, ctx) => {
    const parts = s.split(',').map((p) => p.trim()).filter(Boolean)
    const ports = parts.map(Number)
    if (parts.length === 0 || parts.some((p, i) => !/^[0-9]{1,5}$/.test(p) || ports[i]! < 1 || ports[i]! > 65535)) {
      ctx.addIssue({ code: 'custom', message: `ports: "${printable(s)}" must be comma-separated port numbers 1-65535` })
      return z.NEVER
    }
    return [...new Set(ports)].sort((a, b) => a - b)
  }),
  'lists-dir': z.string().trim().min(1),
  'exclusions-file': z.string().trim().min(1),
  'policy-name': displayName('policy-name'),
  'list-prefix': displayName('list-prefix').refine((s) => s.length <= 60, 'list-prefix: at most 60 characters'),
  'list-capacity': int('list-capacity', 1, 5000),
  'max-new-entries': int('max-new-entries', 0, 100_000),
  'pr-branch': branchName,
  'pr-labels': z.string().transform((s) => s.split(',').map((l) => l.trim()).filter(Boolean)),
  'dry-run': bool('dry-run'),
  'force': bool('force'),
  'widest-ipv4-prefix': int('widest-ipv4-prefix', 8, 32),
  'widest-ipv6-prefix': int('widest-ipv6-prefix', 32, 128),
  'max-sync-additions': int('max-sync-additions', 5000, 10_000_000),
  'max-lists': int('max-lists', 2, 1000),
  'certless-min-destinations': int('certless-min-destinations', 2, 1_000_000),
  'certless-min-failed-percent': int('certless-min-failed-percent', 1, 100),
  'idle-days': int('idle-days', 0, 3650),
  'reject-days': int('reject-days', 0, 3650)
}).superRefine((v, ctx) => {
  if (v.lookback.ms === null && v.source !== 'logpush' && v.command === 'collect') {
    ctx.addIssue({ code: 'custom', message: 'lookback: all is only allowed with source: logpush (Log Explorer queries need a time window)' })
  }
  if (v.command === 'collect' && v.source === 'logpush' && !v['logpush-dir']) {
    ctx.addIssue({ code: 'custom', message: 'logpush-dir: required with source: logpush' })
  }
  if (v.command === 'collect' && v.source === 'log-explorer' && (!v['cloudflare-account-id'] || !v['cloudflare-api-token'])) {
    ctx.addIssue({ code: 'custom', message: 'cloudflare-account-id and cloudflare-api-token: required with source: log-explorer' })
  }
  if (v.command === 'sync' && (!v['cloudflare-account-id'] || !v['cloudflare-api-token'])) {
    ctx.addIssue({ code: 'custom', message: 'cloudflare-account-id and cloudflare-api-token: required for sync' })
  }
})

export type Inputs = z.output<typeof InputsSchema>

/**
 * Validates raw string values (defaults already applied by the caller) and returns typed
 * inputs, or throws one Error listing every problem, one per line. Secrets never appear
 * in messages: no rule echoes a token.
 */
export function parseInputs(raw: Record<string, string | undefined>): Inputs {
  const withDefaults: Record<string, string | undefined> = {}
  for (const spec of INPUTS) {
    const v = raw[spec.name]
    withDefaults[spec.name] = v === undefined || v === '' ? (spec.default?.startsWith('${{') ? undefined : spec.default) : v
  }
  const result = InputsSchema.safeParse(withDefaults)
  if (!result.success) {
    throw new Error(`Invalid inputs:\n${result.error.issues.map((i) => `  ${i.message}`).join('\n')}`)
  }
  return result.data
}
