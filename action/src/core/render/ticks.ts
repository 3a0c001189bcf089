/**
 * A reviewer's ticks survive the hourly rewrite of the PR body (issue 11). The ticks are
 * read from the current, editable body, and that is all that is read from it: they only
 * decorate the checklist of the new body, whose items the renderer alone decides. An item
 * is ticked again when its text matches, exactly, an item ticked in the old body's
 * "Before merging" section; anything a person typed there cannot add an item, change its
 * text, or reach any other part of the new body.
 */

/** The checklist heading, at any level (GitHub's editor keeps it as the renderer wrote it). */
const HEADING = /^#{1,6}[ \t]+Before merging[ \t]*$/
const ANY_HEADING = /^#{1,6}[ \t]/
// A task-list item, with any bullet GFM accepts; group 2 is the box, group 3 the text.
const ITEM = /^([-*+][ \t]+)\[([ xX])\][ \t]+(.*?)[ \t]*$/

/** Lines of the "Before merging" section (heading excluded), as [start, end) indexes. */
function section(lines: string[]): [number, number] | null {
  const start = lines.findIndex((l) => HEADING.test(l))
  if (start === -1) return null
  let end = start + 1
  while (end < lines.length && !ANY_HEADING.test(lines[end]!)) end++
  return [start + 1, end]
}

/** The texts of the items ticked in `body`'s "Before merging" section. */
export function tickedItems(body: string): Set<string> {
  const lines = body.split(/\r?\n/)
  const range = section(lines)
  const out = new Set<string>()
  if (range === null) return out
  for (let i = range[0]; i < range[1]; i++) {
    const m = ITEM.exec(lines[i]!)
    if (m !== null && m[2] !== ' ') out.add(m[3]!)
  }
  return out
}

/**
 * `next` with the checklist items ticked that were ticked in `current` (matched by their
 * text). Only the `[ ]` of an item of `next`'s own "Before merging" section ever changes,
 * so the result has exactly `next`'s length and every other character of it.
 */
export function carryTicks(current: string, next: string): string {
  const ticked = tickedItems(current)
  if (ticked.size === 0) return next
  const lines = next.split('\n')
  const range = section(lines.map((l) => l.replace(/\r$/, '')))
  if (range === null) return next
  for (let i = range[0]; i < range[1]; i++) {
    const line = lines[i]!
    const m = ITEM.exec(line.replace(/\r$/, ''))
    if (m === null || m[2] !== ' ' || !ticked.has(m[3]!)) continue
    const box = m[1]!.length + 1
    lines[i] = `${line.slice(0, box)}x${line.slice(box + 1)}`
  }
  return lines.join('\n')
}
