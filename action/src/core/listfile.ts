/**
 * The plain-text list files (`lists/ips.txt`, `lists/hosts.txt`): parsing with precise
 * `file:line` problems, and the one canonical way of writing them.
 *
 * Layout: a header of comment and blank lines at the top, kept verbatim; then one
 * canonical value per line, sorted, no duplicates. A line is a comment when its first
 * non-whitespace character is `#`. Comments and notes are refused after the first entry,
 * because a rewrite keeps only the header and must lose nothing: the commit that adds an
 * entry is where its "why" lives (`git blame`).
 */
import type { EntryKind, FileProblem } from './types.js'
import { canonicalValue, compareValues } from './values.js'

/** The result of parsing a list file. */
export interface ParsedList {
  kind: EntryKind
  /** Leading comment and blank lines, verbatim (without CR/BOM), up to the first entry. */
  header: string[]
  /** Canonical, deduplicated, sorted. */
  entries: string[]
  /** Invalid lines: fatal for check/sync; every bad line is reported, nothing dropped silently. */
  problems: FileProblem[]
  /** Non-fatal: duplicates, rewritten non-canonical forms, order, line endings. */
  notices: FileProblem[]
  /** True when formatListFile(header, entries) reproduces the text byte for byte. */
  canonical: boolean
}

/** The header written into a new list file, per kind. */
export const DEFAULT_HEADER: Record<EntryKind, string[]> = {
  ip: [
    '# IP addresses and CIDRs that Cloudflare Gateway must not TLS-inspect (certificate pinning).',
    '# One value per line in canonical form: IPv4, IPv6 (RFC 5952) or network/prefix (no host bits, no',
    '# prefix shorter than /8 for IPv4 or /32 for IPv6), sorted, no duplicates, no trailing comments.',
    '# Managed by gateway-tls-bypass: collect proposes additions as pull requests, humans review and',
    '# merge, sync applies the merged list to Gateway. Comments belong here at the top only;',
    '# `git blame` a line to find the pull request that explains why it is listed.',
    ''
  ],
  host: [
    '# Hostnames (SNI) that Cloudflare Gateway must not TLS-inspect (certificate pinning).',
    '# One exact hostname per line in canonical form: lowercase ASCII, IDN as punycode, no trailing dot,',
    '# no wildcards (a Gateway hostname list matches exact names), sorted, no duplicates.',
    '# Managed by gateway-tls-bypass: collect proposes additions as pull requests, humans review and',
    '# merge, sync applies the merged list to Gateway. Comments belong here at the top only;',
    '# `git blame` a line to find the pull request that explains why it is listed.',
    ''
  ]
}

/**
 * The broadest network a list line may be: the inputs `widest-ipv4-prefix` and
 * `widest-ipv6-prefix`. Exclusions may be broad, list entries may not: one /8 line exempts
 * 16.7 million addresses from inspection. The defaults still admit a /24 and a /48, the
 * sizes vendors publish for their own ranges.
 */
export interface WidestPrefix {
  v4: number
  v6: number
}

export const DEFAULT_WIDEST: WidestPrefix = { v4: 24, v6: 48 }

function isCommentOrBlank(line: string): boolean {
  const t = line.trimStart()
  return t === '' || t.startsWith('#')
}

function sortUnique(entries: string[], kind: EntryKind): string[] {
  const sorted = [...entries].sort((a, b) => compareValues(kind, a, b))
  return sorted.filter((v, i) => i === 0 || v !== sorted[i - 1])
}

/**
 * Writes a list file: header lines, then the entries sorted and deduplicated, `\n` line
 * endings and a final newline. A header line that is neither blank nor a comment (a
 * programming error) is written as a comment, so the file always parses back to `entries`.
 */
export function formatListFile(header: string[], entries: string[], kind: EntryKind): string {
  const head = header
    .flatMap((h) => h.split('\n').map((part) => part.replace(/\r$/, '')))
    .map((h) => (isCommentOrBlank(h) ? h : `# ${h}`))
  return [...head, ...sortUnique(entries, kind)].map((l) => `${l}\n`).join('')
}

/** `file:line: message`, or `file:line:col: message` when the column is known. */
export function formatProblem(p: FileProblem): string {
  const where = p.column === undefined ? `${p.file}:${p.line}` : `${p.file}:${p.line}:${p.column}`
  return `${where}: ${p.message}`
}

/**
 * Why a canonical value may not be written to a list file even though it is a valid
 * IP/CIDR (a network too broad to bypass); undefined when it may. The planner applies
 * the same rule to values that do not come from a list file (carried, imported).
 */
export function listEntryProblem(kind: EntryKind, value: string, widest: WidestPrefix = DEFAULT_WIDEST): string | undefined {
  return kind === 'ip' ? broadNetworkReason(value, widest) : undefined
}

function broadNetworkReason(value: string, widest: WidestPrefix): string | undefined {
  const slash = value.indexOf('/')
  if (slash < 0) return undefined
  const prefix = Number(value.slice(slash + 1))
  const v6 = value.includes(':')
  const min = v6 ? widest.v6 : widest.v4
  if (prefix >= min) return undefined
  const input = v6 ? 'widest-ipv6-prefix' : 'widest-ipv4-prefix'
  return `${value} is broader than /${min}: it would exempt ${addressCount(v6 ? 128 - prefix : 32 - prefix)} addresses from inspection; split it into narrower networks, or raise ${input} if the whole range really must be bypassed`
}

/** 2^bits as a short, exact text: 65,536 or 2^80. */
export function addressCount(bits: number): string {
  return bits <= 48 ? (2 ** bits).toLocaleString('en-US') : `2^${bits}`
}

/**
 * Parses a list file. Never throws: every line that cannot be kept is a problem with its
 * line (and column), everything a rewrite would change is a notice.
 */
export function parseListFile(text: string, opts: { kind: EntryKind; file: string; widest?: WidestPrefix }): ParsedList {
  const { kind, file } = opts
  const widest = opts.widest ?? DEFAULT_WIDEST
  const problems: FileProblem[] = []
  const notices: FileProblem[] = []
  const header: string[] = []
  const firstLine = new Map<string, number>()
  const values: string[] = []

  let body = text
  if (body.startsWith('\ufeff')) {
    body = body.slice(1)
    notices.push({ file, line: 1, message: 'UTF-8 byte order mark removed; a rewrite writes the file without it' })
  }
  const lines = body.split('\n')
  // The newline after the last line terminates it; it does not start an empty line.
  if (lines[lines.length - 1] === '') lines.pop()
  else if (body !== '') notices.push({ file, line: lines.length, message: 'no newline at end of file; a rewrite adds one' })

  let crlfNoticed = false
  let inHeader = true
  let previous: { value: string; line: number } | undefined

  lines.forEach((raw, index) => {
    const line = index + 1
    let content = raw
    if (content.endsWith('\r')) {
      content = content.slice(0, -1)
      if (!crlfNoticed) {
        crlfNoticed = true
        notices.push({ file, line, message: 'Windows line endings (CRLF); a rewrite uses LF' })
      }
    }
    const trimmed = content.trim()
    if (inHeader && isCommentOrBlank(content)) {
      header.push(content)
      return
    }
    if (trimmed === '') {
      notices.push({ file, line, message: 'blank line between entries; a rewrite removes it' })
      return
    }
    const lead = content.length - content.trimStart().length
    if (trimmed.startsWith('#')) {
      problems.push({
        file,
        line,
        column: lead + 1,
        message:
          'comments are only allowed in the header at the top; a rewrite would drop this line — the commit that adds an entry records why'
      })
      return
    }
    inHeader = false
    const gap = /\s/.exec(trimmed)
    if (gap) {
      problems.push({
        file,
        line,
        column: lead + gap.index + 1,
        message: 'one value per line and nothing else; a rewrite would drop the trailing text — put notes in the commit message'
      })
      return
    }
    const canon = canonicalValue(kind, trimmed)
    if (!canon.ok) {
      problems.push({ file, line, column: lead + 1, message: canon.reason })
      return
    }
    const value = canon.value
    if (kind === 'ip') {
      const broad = broadNetworkReason(value, widest)
      if (broad !== undefined) {
        problems.push({ file, line, column: lead + 1, message: broad })
        return
      }
    }
    if (content !== value) {
      notices.push({ file, line, column: lead + 1, message: `not in canonical form; a rewrite writes it as ${value}` })
    }
    const first = firstLine.get(value)
    if (first !== undefined) {
      notices.push({ file, line, column: lead + 1, message: `duplicate of line ${first} (${value}); a rewrite keeps one` })
      return
    }
    firstLine.set(value, line)
    if (previous !== undefined && compareValues(kind, value, previous.value) < 0) {
      notices.push({
        file,
        line,
        column: lead + 1,
        message: `out of order: ${value} sorts before ${previous.value} (line ${previous.line}); a rewrite sorts the list`
      })
    }
    previous = { value, line }
    values.push(value)
  })

  const entries = sortUnique(values, kind)
  const canonical = problems.length === 0 && formatListFile(header, entries, kind) === text
  return { kind, header, entries, problems, notices, canonical }
}
