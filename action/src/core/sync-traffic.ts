/**
 * Normalising a Gateway policy expression (`traffic`) so that sync compares what it means,
 * not how the API spelled it back.
 *
 * The API rewrites what it stores (whitespace collapsed, list ids without hyphens and in
 * lower case, reference Gotcha 20), so comparing raw strings would churn; comparing only the
 * set of list ids (what sync did before) misses a widened expression such as
 * `… or http.conn.dst_port == 443`. So both sides are reduced to the same normal form, like
 * wrangler's config diff: the top-level `or` clauses, each without whitespace outside string
 * literals and with list ids normalised, as a sorted set (sync writes its clauses in list
 * order, but their order does not change what the policy matches).
 */

/** A list id as the rules API writes it in `traffic`: no hyphens, lower case. */
export function normaliseListId(id: string): string {
  return id.replace(/-/g, '').toLowerCase()
}

/** Where `text[i]` starts an `or` / `||` operator at the top level (caller tracks depth and strings). */
function orAt(text: string, i: number): number {
  if (text.startsWith('||', i)) return 2
  const before = i === 0 ? ' ' : text[i - 1] ?? ' '
  if (!/[\s)]/.test(before)) return 0
  const m = /^or(?=[\s(])/i.exec(text.slice(i, i + 3))
  return m === null ? 0 : 2
}

/** Splits at top-level `or` / `||`, outside parentheses and string literals. */
function splitTopLevelOr(text: string): string[] {
  const parts: string[] = []
  let depth = 0
  let quote = false
  let start = 0
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (quote) {
      if (c === '\\') i++
      else if (c === '"') quote = false
      continue
    }
    if (c === '"') quote = true
    else if (c === '(' || c === '{' || c === '[') depth++
    else if (c === ')' || c === '}' || c === ']') depth = Math.max(0, depth - 1)
    else if (depth === 0) {
      const len = orAt(text, i)
      if (len > 0) {
        parts.push(text.slice(start, i))
        i += len - 1
        start = i + 1
      }
    }
  }
  parts.push(text.slice(start))
  return parts
}

/** One clause without whitespace outside string literals, list ids normalised. */
function normaliseClause(clause: string): string {
  return clause
    .split(/("(?:[^"\\]|\\.)*")/)
    .map((part, i) => i % 2 === 1
      ? part
      : part.replace(/\s+/g, '').replace(/\$([0-9A-Fa-f-]{32,36})(?![0-9A-Za-z_-])/g, (_m, id: string) => `$${normaliseListId(id)}`))
    .join('')
}

/**
 * The normal form of an expression: its distinct top-level `or` clauses, normalised and
 * sorted. Two expressions with equal normal forms match the same traffic; the converse need
 * not hold (a false difference only costs one idempotent PUT that restores sync's form).
 */
export function normaliseTraffic(traffic: string): string[] {
  const clauses = splitTopLevelOr(traffic).map(normaliseClause).filter((c) => c !== '')
  return [...new Set(clauses)].sort()
}

/** The list ids an expression references, normalised (hyphens stripped, lower case). */
export function referencedListIds(traffic: string): Set<string> {
  const out = new Set<string>()
  for (const m of traffic.matchAll(/\$([0-9a-fA-F-]{32,36})\b/g)) out.add(normaliseListId(m[1] ?? ''))
  return out
}
