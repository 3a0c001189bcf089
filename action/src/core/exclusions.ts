/**
 * `exclusions.yaml`: destinations that must stay inspected even when they fail TLS
 * inspection, because a Do Not Inspect bypass overrides every HTTP policy (tenant-control
 * headers, DLP, blocks) for that traffic.
 *
 * Every problem carries the line and column of the offending YAML node. The file is
 * reviewed like code, so it is parsed strictly: unknown keys, aliases, wrong types and
 * duplicate values are errors, never guesses.
 */
import { isMap, isNode, isScalar, LineCounter, parseDocument, visit } from 'yaml'
import type { Document } from 'yaml'
import { z } from 'zod'
import type { ExclusionRule, FileProblem } from './types.js'
import { canonicalHost, canonicalIp } from './values.js'

export { matchHost, matchIp, ruleCovering } from './rule-match.js'

/** Parsed exclusions: active rules, rules past their `expires` day, and problems. */
export interface ParsedExclusions {
  rules: ExclusionRule[]
  expired: ExclusionRule[]
  problems: FileProblem[]
}

// A real exclusions file is a few kB; anything near this is not one.
const MAX_FILE_CHARS = 1_000_000
const ITEM_KEYS = ['value', 'reason', 'expires'] as const

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/

/** Epoch ms of the first instant after the given `YYYY-MM-DD` day (UTC), or undefined if no such day. */
function endOfDay(date: string): number | undefined {
  const m = DATE.exec(date)
  if (!m) return undefined
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])]
  const start = new Date(Date.UTC(y, mo - 1, d))
  // Date.UTC rolls 2027-02-30 over into March; a real date survives the round trip.
  if (start.getUTCFullYear() !== y || start.getUTCMonth() !== mo - 1 || start.getUTCDate() !== d) return undefined
  return Date.UTC(y, mo - 1, d + 1)
}

const ItemSchema = z.strictObject({
  value: z.string(),
  reason: z.string().trim().min(1),
  expires: z
    .string()
    .refine((s) => endOfDay(s) !== undefined, { message: '"expires" must be a real date written as YYYY-MM-DD' })
    .optional()
})

const FileSchema = z.strictObject({
  exclusions: z.array(ItemSchema).nullable().optional()
})

type Path = ReadonlyArray<PropertyKey>

function keyName(path: Path): string {
  const last = path[path.length - 1]
  return typeof last === 'string' ? last : 'exclusions'
}

const EXPECTED: Record<string, string> = { string: 'a string', array: 'a list', object: 'a map' }

function describeIssue(issue: z.core.$ZodIssue, present: boolean, path: Path): string[] {
  const key = keyName(path)
  switch (issue.code) {
    case 'unrecognized_keys': {
      const allowed = path.length === 0 ? '"exclusions"' : ITEM_KEYS.map((k) => `"${k}"`).join(', ')
      return issue.keys.map((k) => `unknown key ${JSON.stringify(k.slice(0, 60))} (allowed: ${allowed})`)
    }
    case 'invalid_type': {
      if (!present) {
        if (key === 'reason') return ['missing "reason": every exclusion must say why the destination has to stay inspected']
        return [`missing "${key}"`]
      }
      if (path.length === 0) return ['the top level must be a map with an "exclusions:" list']
      if (key === 'expires') return ['"expires" must be a date written as YYYY-MM-DD (e.g. 2027-06-30)']
      const what = typeof path[path.length - 1] === 'number' ? 'each exclusion' : `"${key}"`
      return [`${what} must be ${EXPECTED[issue.expected] ?? issue.expected}`]
    }
    case 'too_small':
      return [`"${key}" must not be empty`]
    default:
      return [issue.message]
  }
}

/**
 * Parses `exclusions.yaml`. An empty file or `exclusions:` with no items means no rules.
 * `now` (epoch ms) decides expiry: a rule applies through the end of its `expires` day
 * (UTC) and is returned in `expired` afterwards. Never throws.
 */
export function parseExclusions(text: string, file: string, now: number): ParsedExclusions {
  const rules: ExclusionRule[] = []
  const expired: ExclusionRule[] = []
  const problems: FileProblem[] = []
  const out = (): ParsedExclusions => ({ rules, expired, problems })
  if (text.length > MAX_FILE_CHARS) {
    problems.push({ file, line: 1, message: `file is ${text.length} characters long; an exclusions file is never this large` })
    return out()
  }

  const lineCounter = new LineCounter()
  const at = (offset: number, message: string): void => {
    const pos = lineCounter.linePos(offset)
    problems.push({ file, line: pos.line, column: pos.col, message })
  }
  let doc: Document.Parsed
  try {
    doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true })
  } catch (err) {
    problems.push({ file, line: 1, message: `could not parse YAML: ${err instanceof Error ? err.message : String(err)}` })
    return out()
  }
  for (const err of doc.errors) {
    const message =
      err.code === 'DUPLICATE_KEY'
        ? 'duplicate key in a map'
        : err.code === 'MULTIPLE_DOCS'
          ? 'only one YAML document is allowed (remove the "---" separator)'
          : (err.message.split('\n')[0] ?? err.message)
    at(err.pos[0], message)
  }
  if (problems.length > 0) return out()

  // Aliases are never needed here and are how YAML "billion laughs" files expand.
  // One problem (with the count) is enough: a bomb has thousands of aliases.
  let firstAlias: number | undefined
  let aliases = 0
  visit(doc, {
    Alias(_, node) {
      aliases++
      firstAlias ??= node.range?.[0] ?? 0
    }
  })
  if (firstAlias !== undefined) {
    const more = aliases > 1 ? ` (${aliases} aliases in this file)` : ''
    at(firstAlias, `YAML aliases (*name) are not allowed in this file; write the value out${more}`)
    return out()
  }

  if (doc.contents === null) return out()
  let data: unknown
  try {
    data = doc.toJS({ maxAliasCount: 0 })
  } catch (err) {
    problems.push({ file, line: 1, message: `could not read YAML: ${err instanceof Error ? err.message : String(err)}` })
    return out()
  }

  const nodeAt = (path: Path): unknown => (path.length === 0 ? doc.contents : doc.getIn(path as unknown[], true))
  const offsetOf = (node: unknown): number | undefined => (isNode(node) ? node.range?.[0] : undefined)

  const parsed = FileSchema.safeParse(data)
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const path = issue.path
      const node = nodeAt(path)
      const present = node !== undefined
      if (issue.code === 'unrecognized_keys' && isMap(node)) {
        const messages = describeIssue(issue, true, path)
        issue.keys.forEach((k, i) => {
          const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === k)
          at(offsetOf(pair?.key) ?? offsetOf(node) ?? 0, messages[i] ?? issue.message)
        })
        continue
      }
      // A missing key has no node: point at the map that lacks it.
      let offset = offsetOf(node)
      for (let up = path.length - 1; offset === undefined && up >= 0; up--) offset = offsetOf(nodeAt(path.slice(0, up)))
      for (const message of describeIssue(issue, present, path)) at(offset ?? 0, message)
    }
    return out()
  }

  const items = parsed.data.exclusions ?? []
  const firstLine = new Map<string, number>()
  items.forEach((item, index) => {
    const valueNode = nodeAt(['exclusions', index, 'value'])
    const offset = offsetOf(valueNode) ?? 0
    const line = lineCounter.linePos(offset).line
    const raw = item.value
    if (raw.startsWith('*.')) {
      at(offset, `wildcards are not allowed; a hostname already matches all its subdomains, so write ${canonicalHost(raw.slice(2)).ok ? raw.slice(2) : 'the domain itself'}`)
      return
    }
    const looksIp = raw.includes(':') || raw.includes('/') || /^[0-9.]+$/.test(raw)
    const canon = looksIp ? canonicalIp(raw) : canonicalHost(raw)
    if (!canon.ok) {
      at(offset, `"value": ${canon.reason}`)
      return
    }
    const kind: ExclusionRule['kind'] = looksIp ? 'ip' : 'host'
    const value = canon.value
    const first = firstLine.get(value)
    if (first !== undefined) {
      at(offset, `duplicate exclusion: ${value} is already excluded at line ${first}`)
      return
    }
    firstLine.set(value, line)
    const rule: ExclusionRule = { value, kind, reason: item.reason.trim(), line }
    if (item.expires !== undefined) rule.expires = item.expires
    const end = item.expires === undefined ? undefined : endOfDay(item.expires)
    if (end !== undefined && now >= end) expired.push(rule)
    else rules.push(rule)
  })
  return out()
}
