import { describe, expect, it } from 'vitest'
import { clip, code, escapeHtml, escapeMarkdown, plain, visible } from '../action/src/core/render/escape.js'

const ZWSP = '\u200b'

/** Values an attacker can put in an SNI, a reason, or a warning. */
const HOSTILE = [
  '-->',
  '<!--',
  '--!>',
  '</details>',
  '</summary><script>alert(1)</script>',
  '<img src=x onerror=alert(1)>',
  '![x](http://e)',
  '[a](javascript:alert(1))',
  '@org/team',
  'cc @octocat please',
  '#123',
  'owner/repo#1',
  'a`b``c```d',
  '`',
  '``lead',
  'trail``',
  'a|b|c',
  'x\\|y',
  'line1\r\nline2',
  'bidi \u202eevil\u202c',
  'nul\u0000byte',
  'esc \u001b[2J\u001b[H',
  'bell\u0007',
  'c1 \u0085 \u009b',
  'zero\u200bwidth\ufeff',
  'sep\u2028\u2029',
  'lone \ud800 surrogate',
  'https://evil.example/phish',
  'www.evil.example',
  'user@evil.example',
  '*bold* _it_ ~~s~~',
  '# heading',
  '&lt;entity&#64;',
  'x'.repeat(10_000)
]

/** Short, printable test names for the hostile values. */
const NAMED: [string, string][] = HOSTILE.map((v) => [JSON.stringify(v.length > 40 ? `${v.slice(0, 20)}… (${v.length} chars)` : v), v])

// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]/

describe('visible', () => {
  it.each([
    ['bell\u0007', 'bell\\u0007'],
    ['a\r\nb', 'a\\u000d\\u000ab'],
    ['\u202eabc', '\\u202eabc'],
    ['nul\u0000', 'nul\\u0000'],
    ['esc\u001b[2J', 'esc\\u001b[2J'],
    ['lone\ud800x', 'lone\\ud800x'],
    ['ok 😀 é', 'ok 😀 é']
  ])('%j → %s', (input, out) => {
    expect(visible(input)).toBe(out)
  })
})

describe('clip', () => {
  it.each([
    ['abcdef', 4, 'abc…'],
    ['abc', 3, 'abc'],
    ['ab😀cd', 4, 'ab…'] // never splits a surrogate pair
  ])('clip(%j, %i) = %j', (s, n, out) => {
    expect(clip(s, n)).toBe(out)
  })
})

describe('code', () => {
  it.each(NAMED)('cannot be broken out of: %s', (_name, v) => {
    const c = code(v)
    // Only the zero-width spaces code() inserts into comment delimiters may stay invisible.
    expect(c.replace(/<\u200b!--|--\u200b!?>/g, '')).not.toMatch(RAW_CONTROL)
    expect(c).not.toMatch(/[\r\n]/)
    // Every pipe is escaped, so a table cell cannot be split.
    expect(c).not.toMatch(/(^|[^\\])\|/)
    expect(c).not.toContain('<!--')
    expect(c).not.toMatch(/--!?>/)
    // The fence is longer than any backtick run inside.
    const fence = /^`+/.exec(c)?.[0] ?? ''
    expect(fence.length).toBeGreaterThan(0)
    expect(c.endsWith(fence)).toBe(true)
    const inner = c.slice(fence.length, c.length - fence.length)
    const longestInside = Math.max(0, ...(inner.match(/`+/g) ?? []).map((r) => r.length))
    expect(longestInside).toBeLessThan(fence.length)
  })

  it.each([
    ['api.example.com', '`api.example.com`'],
    ['a`b', '``a`b``'],
    ['`x', '`` `x ``'],
    ['a|b', '`a\\|b`'],
    ['', '*(empty)*']
  ])('code(%j) = %s', (v, out) => {
    expect(code(v)).toBe(out)
  })
})

describe('escapeMarkdown', () => {
  it.each(NAMED)('neutralises markup, mentions, references, links and controls: %s', (_name, v) => {
    const e = escapeMarkdown(v)
    // Only the zero-width spaces we insert ourselves may remain invisible.
    expect(e.replace(/@\u200b|#\u200b|:\u200b\/\/|www\u200b/g, '')).not.toMatch(RAW_CONTROL)
    expect(e).not.toMatch(/[<>]/)
    // What can open markup is escaped; ( ) ! . : - are inert once [ ] and < are (render-escape-gfm proves it on cmark-gfm).
    expect(e).not.toMatch(/(^|[^\\])[[\]|`*~$]/)
    expect(e).not.toMatch(/(?<!\\)_(?![A-Za-z0-9])|(?<![A-Za-z0-9\\])_/)
    expect(e).not.toMatch(/@(?!\u200b)/)
    expect(e).not.toMatch(/#(?!\u200b)/)
    expect(e).not.toMatch(/:\/\//)
    // No entity but ours: `&#x202e;` could smuggle a control character.
    expect(e).not.toMatch(/&(?!amp;|lt;|gt;)#?[A-Za-z0-9]+;/)
  })

  it.each([
    ['@org/team', `@${ZWSP}org/team`],
    ['#123', `\\#${ZWSP}123`],
    ['a|b', 'a\\|b'],
    ['<b>', '&lt;b&gt;'],
    ['[a](javascript:x)', '\\[a\\](javascript:x)'],
    ['tenant control', 'tenant control'],
    // Ordinary words keep their spelling (issue 11): the raw text is read in e-mails and the edit box.
    ['log-explorer', 'log-explorer'],
    ['G-17', 'G-17'],
    ['list(s).', 'list(s).'],
    ['2026-11-30T19:19:40.767Z', '2026-11-30T19:19:40.767Z'],
    ['snake_case', 'snake_case'],
    ['_x_ *y*', '\\_x\\_ \\*y\\*'],
    ['GH-17', `GH-${ZWSP}17`],
    ['- item', '\\- item'],
    ['1. one', '1\\. one'],
    ['&#x202e;', `&#${ZWSP}x202e;`],
    ['&copy;', '&amp;copy;'],
    ['AT&T', 'AT&T'],
    ['a -> b', 'a -&gt; b'],
    ['   indented', 'indented']
  ])('escapeMarkdown(%j) = %j', (v, out) => {
    expect(escapeMarkdown(v)).toBe(out)
  })
})

describe('escapeHtml and plain', () => {
  it('escapeHtml escapes the five HTML characters and controls', () => {
    expect(escapeHtml(`<a href="x" title='y'>&\u0007`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;\\u0007')
  })

  it('plain keeps text readable, shows controls and defuses mentions (commit messages are rendered too)', () => {
    expect(plain('ask @sec-team\n+ host evil.example')).toBe(`ask @${ZWSP}sec-team\\u000a+ host evil.example`)
  })
})
