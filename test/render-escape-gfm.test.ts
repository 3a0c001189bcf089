/**
 * escapeMarkdown against a real GFM renderer: cmark-gfm (GitHub's own renderer, with its
 * table, strikethrough and autolink extensions). Every string, escaped and placed in a
 * paragraph, a list item and a table cell, must render as exactly one text node that reads
 * as the string itself (controls shown as `\uXXXX`, mentions/links broken by zero-width
 * spaces): no tag, no link, no emphasis, no entity that hides another character.
 *
 * Needs `cmark-gfm` on PATH (`apt-get install cmark-gfm`); skipped otherwise, with a note.
 */
import { spawnSync } from 'node:child_process'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { escapeMarkdown, plain } from '../action/src/core/render/escape.js'

const HAVE_CMARK = spawnSync('cmark-gfm', ['--version'], { encoding: 'utf8' }).status === 0
if (!HAVE_CMARK) console.warn('render-escape-gfm: cmark-gfm not found, the GFM differential tests are skipped')

function cmark(md: string): string {
  const r = spawnSync('cmark-gfm', ['-e', 'table', '-e', 'strikethrough', '-e', 'autolink', '-e', 'tasklist'], { input: md, encoding: 'utf8' })
  if (r.status !== 0) throw new Error(r.stderr)
  return r.stdout
}

const decode = (html: string): string => html.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&amp;/g, '&')

/** What a reader must see: the visible, defused text (leading and trailing spaces do not count). */
const expected = (s: string): string => plain(s).trim()

const CONTEXTS: [string, (e: string) => string, RegExp][] = [
  ['paragraph', (e) => `x ${e}\n`, /^<p>x ?([\s\S]*)<\/p>\n$/],
  ['list item', (e) => `- ${e}\n`, /^<ul>\n<li>([\s\S]*)<\/li>\n<\/ul>\n$/],
  ['quoted list item', (e) => `> - ${e}\n`, /^<blockquote>\n<ul>\n<li>([\s\S]*)<\/li>\n<\/ul>\n<\/blockquote>\n$/],
  ['table cell', (e) => `| h | n |\n| --- | --- |\n| ${e} | 1 |\n`, /<tbody>\n<tr>\n<td>([\s\S]*)<\/td>\n<td>1<\/td>\n<\/tr>\n<\/tbody>/]
]

function rendersAsText(s: string): void {
  for (const [name, wrap, shape] of CONTEXTS) {
    const html = cmark(wrap(escapeMarkdown(s)))
    const m = shape.exec(html)
    expect(m, `${name}: ${JSON.stringify(s)} → ${html}`).not.toBeNull()
    const inner = m?.[1] ?? ''
    expect(inner, `${name}: a tag in ${html}`).not.toMatch(/</)
    expect(decode(inner).trim(), `${name}: ${JSON.stringify(s)}`).toBe(expected(s))
  }
}

const HOSTILE = [
  '-->', '<!--', '--!>', '</details>', '</summary><script>alert(1)</script>', '<img src=x onerror=alert(1)>', '![x](http://e)',
  '[a](javascript:alert(1))', '[a]: http://e', '[^1]', '@org/team', 'cc @octocat please', '#123', 'owner/repo#1', 'GH-17 and gh-2',
  'a`b``c```d', '`', '``lead', 'trail``', 'a|b|c', 'x\\|y', '\\', '\\\\|', 'line1\r\nline2', 'bidi \u202eevil\u202c', 'nul\u0000byte',
  'esc \u001b[2J', 'zero\u200bwidth\ufeff', 'https://evil.example/phish', 'http://x', 'www.evil.example', 'user@evil.example',
  'mailto:a@b.example', '*bold* _it_ ~~s~~ ~s~', '**b**', '__b__', '_x_', 'a _b_ c', 'snake_case_name', '# heading', '## h', '#no',
  '- item', '+ item', '* item', '1. one', '1) one', '---', '***', '___', '> quote', '>', '    indented code', '\tcode', '```js', '~~~',
  '&lt;entity&#64;', '&#x202e;rtl', '&amp;', '&copy;', 'AT&T R&D', 'costs $5 and $x^2$', '$$', '$`x`$', ':smile: :+1:',
  '<http://e>', '<a@b.example>', 'x <b>bold</b>', '<!-- c -->', 'a\\*b', '\\_', '[x]', '- [ ] task', '[ ] no', '=====', '<', '&', '&#;',
  'x'.repeat(2000)
]

describe.skipIf(!HAVE_CMARK)('escapeMarkdown through cmark-gfm', () => {
  it.each(HOSTILE.map((v) => [JSON.stringify(v.length > 40 ? `${v.slice(0, 20)}…` : v), v]))('%s renders as its own text, nothing else', (_n, v) => {
    rendersAsText(v)
  })

  it('ordinary words keep their raw spelling (no needless backslashes)', () => {
    for (const w of ['log-explorer', 'G-17', 'list(s).', '2026-11-30T19:19:40.767Z', 'min-sessions=3', 'e.g. 10.0.0.1:443', 'snake_case', 'a - b', 'Done!', '50% (3/6)', 'x=1, y+2', '{ok}', 'a^b']) {
      expect(escapeMarkdown(w)).toBe(w)
      rendersAsText(w)
    }
  })

  it('random strings over the Markdown alphabet render as their own text (fast-check)', () => {
    const unit = fc.constantFrom(...'\\`*_[]()<>!#|~$&;:/.@-+=^{}"\' \t\nabcwG1H0'.split(''), 'www.', 'http://', '&#x', '<!--', '-->', 'gh-1', '```')
    fc.assert(fc.property(fc.string({ unit, maxLength: 24 }), (s) => rendersAsText(s)), { seed: 11, numRuns: 150 })
  })
})
