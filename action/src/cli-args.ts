/**
 * The CLI's words: its commands, their flags and help, and argument parsing with one-line
 * errors. Each command accepts only the flags it reads (`CLI_FLAGS`), so a flag can never
 * be given and silently ignored; a typo gets a "did you mean".
 */
import { visible } from './core/render/escape.js'
import { ACTION_ONLY, CLI_FLAGS, INPUTS, type CliCommand, type InputSpec } from './inputs.js'

export const BIN = 'gateway-tls-bypass'

interface CommandHelp {
  usage: string
  summary: string
  about: string[]
  examples: string[]
}

export const COMMANDS: Record<CliCommand, CommandHelp> = {
  collect: {
    usage: 'collect [options]',
    summary: 'Find TLS failures in the logs and add them to the list files.',
    about: [
      'Reads Zero Trust logs (Log Explorer with a token, or a folder of Logpush .log.gz files),',
      'finds destinations whose TLS fails under inspection, applies exclusions.yaml and the',
      'evidence thresholds, and rewrites lists/ips.txt and lists/hosts.txt in place (the action',
      'opens a pull request instead). --dry-run prints the plan and writes nothing.'
    ],
    examples: [
      `${BIN} collect --source logpush --logpush-dir ./logs --lookback all --dry-run`,
      `CLOUDFLARE_API_TOKEN=... ${BIN} collect --cloudflare-account-id <id> --lookback 6h --dry-run`
    ]
  },
  sync: {
    usage: 'sync [options]',
    summary: 'Apply the list files to the Gateway lists and the Do Not Inspect policy.',
    about: [
      'Validates the files, reads the managed Gateway lists and policy, and applies the',
      'difference. Refuses large removals or additions unless --force. Needs a token with',
      'Account > Zero Trust > Edit (env CLOUDFLARE_API_TOKEN).'
    ],
    examples: [`CLOUDFLARE_API_TOKEN=... ${BIN} sync --cloudflare-account-id <id> --dry-run`]
  },
  check: {
    usage: 'check [options]',
    summary: "Validate the files and show sync's plan, read-only.",
    about: [
      'Validates the list files and exclusions.yaml. With a read-only token (Account > Zero',
      "Trust > Read) it also shows the plan sync would apply, and makes read calls only."
    ],
    examples: [
      `${BIN} check`,
      `CLOUDFLARE_API_TOKEN=... ${BIN} check --cloudflare-account-id <id> --detailed-exitcode`
    ]
  },
  why: {
    usage: 'why VALUE [options]',
    summary: 'Explain one hostname, IP or network: its commits, exclusions, Gateway.',
    about: [
      'Prints the commits that added and removed VALUE in the list files (from this checkout\'s',
      'git history, with the evidence line of each), the listed network an IP falls in, and the',
      'exclusion that covers it. With a token (env CLOUDFLARE_API_TOKEN) and an account id, also',
      'which managed Gateway list holds it and since when, and when the policy last bypassed',
      'traffic for it (Log Explorer gateway_http; needs Account > Logs > Read as well).'
    ],
    examples: [`${BIN} why api.pinned.example`, `CLOUDFLARE_API_TOKEN=... ${BIN} why 203.0.113.7 --cloudflare-account-id <id>`]
  }
}

/** Flags of the CLI itself (not action inputs). */
const OWN_FLAGS: Record<string, { boolean: true; description: string; commands: readonly CliCommand[] | 'all' }> = {
  'detailed-exitcode': {
    boolean: true,
    description: 'Exit 0 when the plan has no changes, 3 when it has changes (1 on failure, 2 on a usage error), as terraform plan -detailed-exitcode. Needs the token and account.',
    commands: ['check']
  },
  'help': { boolean: true, description: 'Show this help.', commands: 'all' },
  'version': { boolean: true, description: 'Print the version.', commands: 'all' }
}

/** Where a flag's help says something else for one command. */
const FLAG_NOTES: Partial<Record<CliCommand, Record<string, string>>> = {
  why: { 'idle-days': 'How many days back why looks for traffic the managed policy bypassed (Log Explorer). `0`: do not look.' }
}

const INPUT_BY_NAME = new Map(INPUTS.map((s) => [s.name, s]))
export const CLI_COMMAND_NAMES = Object.keys(COMMANDS) as CliCommand[]

export const isCliCommand = (s: string): s is CliCommand => Object.hasOwn(COMMANDS, s)

/** The flags `command` accepts, by name (without `--`). */
export function flagsOf(command: CliCommand): string[] {
  const own = Object.entries(OWN_FLAGS).filter(([, f]) => f.commands === 'all' || f.commands.includes(command)).map(([n]) => n)
  return [...CLI_FLAGS[command], ...own]
}

function takesValue(name: string): boolean | undefined {
  if (Object.hasOwn(OWN_FLAGS, name)) return false
  const spec = INPUT_BY_NAME.get(name)
  return spec ? !spec.boolean : undefined
}

export interface ParsedArgs {
  positionals: string[]
  flags: Map<string, string | true>
  /** Flags that are no input and no flag of the CLI, as typed. */
  unknown: string[]
  /** A missing value, a value given to a switch, a flag given twice. */
  problems: string[]
}

/** Splits argv into flags and positionals; `--` ends the flags. Knows nothing of commands. */
export function tokenize(argv: string[]): ParsedArgs {
  const out: ParsedArgs = { positionals: [], flags: new Map(), unknown: [], problems: [] }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (a === '--') {
      out.positionals.push(...argv.slice(i + 1))
      break
    }
    if (a === '-h') {
      out.flags.set('help', true)
    } else if (a.startsWith('--')) {
      const eq = a.indexOf('=')
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq)
      const inline = eq < 0 ? undefined : a.slice(eq + 1)
      const wantsValue = takesValue(name)
      if (wantsValue === undefined) {
        out.unknown.push(`--${name}`)
        continue
      }
      if (out.flags.has(name)) out.problems.push(`--${name} is given twice`)
      if (!wantsValue) {
        if (inline !== undefined) out.problems.push(`--${name} is a switch and takes no value (leave it out for false)`)
        out.flags.set(name, true)
      } else if (inline !== undefined) {
        out.flags.set(name, inline)
      } else if (i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) {
        out.flags.set(name, argv[++i]!)
      } else {
        out.problems.push(`--${name} needs a value: --${name} <value>`)
      }
    } else if (a.startsWith('-') && a.length > 1) {
      out.unknown.push(a)
    } else {
      out.positionals.push(a)
    }
  }
  return out
}

/** Edit distance (insertions, deletions, substitutions), for "did you mean". */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    prev = row
  }
  return prev[b.length]!
}

/** The closest candidate, when it is close enough to be a typo (ties: the first). */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const w = word.toLowerCase()
  const limit = w.length <= 4 ? 1 : w.length <= 8 ? 2 : 3
  let best: { c: string; d: number } | undefined
  for (const c of candidates) {
    const d = editDistance(w, c)
    if (d <= limit && (best === undefined || d < best.d)) best = { c, d }
  }
  return best?.c
}

/** A value typed by the user, safe and short in a one-line message (its quotes cannot unbalance ours). */
export const shown = (s: string): string => visible(s.slice(0, 40)).replace(/"/g, '\\u0022') + (s.length > 40 ? '…' : '')

export type CliRequest =
  | { kind: 'help'; command?: CliCommand }
  | { kind: 'version' }
  | { kind: 'usage'; message: string; showHelp?: boolean }
  | { kind: 'run'; command: CliCommand; flags: Map<string, string | true>; positionals: string[] }

/** What argv asks for, or the first usage error as one line. */
export function parseCli(argv: string[]): CliRequest {
  const t = tokenize(argv)
  const [first, ...rest] = t.positionals
  if (t.flags.has('version')) return { kind: 'version' }
  if (first === undefined) {
    return t.flags.has('help') ? { kind: 'help' } : { kind: 'usage', message: `a command is needed: ${CLI_COMMAND_NAMES.join(', ')} or help`, showHelp: true }
  }
  if (first === 'help') return helpRequest(rest)
  if (!isCliCommand(first)) return { kind: 'usage', message: unknownCommand(first) }
  if (t.flags.has('help')) return { kind: 'help', command: first }
  const flagProblem = unknownFlag(first, t.unknown[0]) ?? t.problems[0] ?? foreignFlag(first, t.flags)
  if (flagProblem) return { kind: 'usage', message: flagProblem }
  const arity = positionalProblem(first, rest)
  if (arity) return { kind: 'usage', message: arity }
  return { kind: 'run', command: first, flags: t.flags, positionals: rest }
}

function helpRequest(rest: string[]): CliRequest {
  if (rest.length === 0) return { kind: 'help' }
  if (rest.length > 1) return { kind: 'usage', message: `help takes one command, got: ${rest.map(shown).join(' ')}` }
  if (!isCliCommand(rest[0]!)) return { kind: 'usage', message: unknownCommand(rest[0]!) }
  return { kind: 'help', command: rest[0] }
}

function unknownCommand(word: string): string {
  const guess = closest(word, [...CLI_COMMAND_NAMES, 'help'])
  return `unknown command "${shown(word)}"${guess ? `; did you mean ${guess}?` : '.'} Commands: ${CLI_COMMAND_NAMES.join(', ')}, help.`
}

function unknownFlag(command: CliCommand, typed: string | undefined): string | undefined {
  if (typed === undefined) return undefined
  const name = typed.replace(/^-+/, '')
  const guess = typed.startsWith('--') ? closest(name, flagsOf(command)) : undefined
  const hint = guess ? `; did you mean --${guess}?` : '.'
  return `unknown flag ${shown(typed)} for ${command}${hint} See: ${BIN} ${command} --help`
}

/** A real input or flag given to a command that does not read it. */
function foreignFlag(command: CliCommand, flags: Map<string, string | true>): string | undefined {
  const accepted = new Set(flagsOf(command))
  for (const name of flags.keys()) {
    if (accepted.has(name)) continue
    if (Object.hasOwn(ACTION_ONLY, name)) return `--${name} is an action input only: ${ACTION_ONLY[name]}.`
    const users = CLI_COMMAND_NAMES.filter((c) => flagsOf(c).includes(name))
    const where = users.length ? ` (a flag of ${users.join(', ')})` : ''
    return `${command} does not use --${name}${where}. See: ${BIN} ${command} --help`
  }
  return undefined
}

function positionalProblem(command: CliCommand, rest: string[]): string | undefined {
  if (command === 'why') {
    if (rest.length === 0) return `why needs a VALUE: ${BIN} why <hostname|IP|network>`
    if (rest.length > 1) return `why takes one VALUE, got ${rest.length}: ${rest.map(shown).join(' ')}`
    return undefined
  }
  if (rest.length) return `${command} takes no arguments, got: ${rest.map(shown).join(' ')} (flags start with --)`
  return undefined
}

/** The top-level help, or one command's own help. */
export function helpText(command?: CliCommand): string {
  return command ? commandHelp(command) : topHelp()
}

export const EXIT_CODES = [
  '  0  done (why: answered; check: the plan was shown)',
  '  1  failed (bad input value or file, Cloudflare or git error)',
  '  2  usage error (unknown command or flag, missing or extra argument, a why VALUE that is',
  '     no hostname, IP or network, --detailed-exitcode without a token)',
  '  3  check --detailed-exitcode only: the plan has changes'
]

function topHelp(): string {
  const width = Math.max(...CLI_COMMAND_NAMES.map((c) => c.length), 4) + 3
  return [
    `Usage: ${BIN} <command> [options]`,
    '',
    'Find destinations that fail Cloudflare Gateway TLS inspection, propose them for review,',
    'and apply reviewed lists to a Do Not Inspect policy.',
    '',
    'Commands:',
    ...CLI_COMMAND_NAMES.map((c) => `  ${c.padEnd(width)}${COMMANDS[c].summary}`),
    `  ${'help'.padEnd(width)}Show a command's help: help <command>.`,
    '',
    'Options:',
    '  -h, --help     Show help.',
    '  --version      Print the version.',
    '',
    `Run "${BIN} <command> --help" for the options of a command.`,
    'The token and the account can come from the environment: CLOUDFLARE_API_TOKEN,',
    'CLOUDFLARE_ACCOUNT_ID (they stay out of shell history).',
    '',
    'Exit codes:',
    ...EXIT_CODES
  ].join('\n')
}

function flagLines(command: CliCommand, name: string): string[] {
  const own = OWN_FLAGS[name]
  if (own) return [name === 'help' ? '  -h, --help' : `  --${name}`, `      ${own.description}`]
  const s = INPUT_BY_NAME.get(name) as InputSpec
  const flag = s.boolean ? `--${s.name}` : `--${s.name} <value>`
  const dflt = s.default && !s.default.startsWith('${{') ? ` (default: ${s.default || 'empty'})` : ''
  const env = s.env ? ` [env ${s.env}]` : ''
  const text = FLAG_NOTES[command]?.[name] ?? s.description
  return [`  ${flag}`, `      ${text.replace(/`/g, '')}${dflt}${env}`]
}

function commandHelp(command: CliCommand): string {
  const c = COMMANDS[command]
  const names = flagsOf(command).filter((n) => n !== 'version')
  return [
    `Usage: ${BIN} ${c.usage}`,
    '',
    c.summary,
    '',
    ...c.about,
    '',
    'Examples:',
    ...c.examples.map((e) => `  ${e}`),
    '',
    'Options:',
    ...names.flatMap((n) => flagLines(command, n))
  ].join('\n')
}
