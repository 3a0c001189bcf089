/**
 * Escaping for everything the renderers print. Logged values are attacker-controlled (any
 * device on the network can send any SNI), and they end up in PR bodies that security
 * reviewers read and in terminals. So escaping here is a security feature:
 *
 * - no value can inject Markdown/HTML (links, images, `<details>` breakouts, scripts),
 * - no value can ping people or teams (`@org/team`) or link issues (`#123`),
 * - no value can move a terminal cursor or reorder text (C0/C1 controls, bidi overrides),
 * - no value can open or close an HTML comment (which would hide text from a reviewer).
 *
 * Approach: values go into inline code spans (GitHub does not autolink, mention or
 * reference inside code) whose fence is longer than any backtick run in the value; free
 * text (exclusion reasons, warnings) is backslash/entity-escaped with zero-width spaces
 * breaking mentions, references and autolinks. Control and invisible characters are shown
 * as `\uXXXX` everywhere.
 */

/** U+200B ZERO WIDTH SPACE: invisible, but splits `@team`, `#123` and `http://` for GitHub's linkers. */
const ZWSP = '\u200b'

// C0 (incl. \t \r \n), DEL, C1, zero-width and bidi controls, line/paragraph separators,
// word joiners, BOM, interlinear annotations, and lone surrogates: anything that is
// invisible, breaks a line/table row, moves the cursor, or reorders the text around it.
const INVISIBLE =
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g

function hex4(ch: string): string {
  return `\\u${(ch.charCodeAt(0)).toString(16).padStart(4, '0')}`
}

/**
 * Replaces control, invisible and bidi characters with a visible `\uXXXX`, so a value
 * shows exactly what it is and stays on one line. Safe for terminals and plain text.
 */
export function visible(s: string): string {
  return String(s).replace(INVISIBLE, hex4)
}

/**
 * Shortens `s` to at most `max` characters (UTF-16 units), ending with `…` when cut, and
 * never splitting a surrogate pair.
 */
export function clip(s: string, max: number): string {
  if (s.length <= max) return s
  if (max <= 0) return ''
  let end = max - 1
  const last = s.charCodeAt(end - 1)
  if (last >= 0xd800 && last <= 0xdbff) end--
  return `${s.slice(0, end)}…`
}

/** Breaks GitHub's mention, issue-reference and autolink recognisers without visible change. */
function defuseLinkers(s: string): string {
  return s
    .replace(/([@#])/g, `$1${ZWSP}`)
    .replace(/:\/\//g, `:${ZWSP}//`)
    .replace(/www\./gi, (m) => `${m.slice(0, 3)}${ZWSP}.`)
    // GitHub links `GH-123` to issue 123 after Markdown is rendered: a backslash cannot stop it.
    .replace(/\b(gh)-(?=\d)/gi, `$1-${ZWSP}`)
}

const ALNUM = /[A-Za-z0-9]/

/**
 * Escapes free text for GitHub-flavoured Markdown, in a paragraph, a list item or a table
 * cell, escaping only what could change the rendering, so the raw text (edit box, e-mail
 * notifications, API) still reads as written (`log-explorer`, `list(s).`, `19:19:40`):
 *
 * - always: `\` `` ` `` `*` `[` `]` `|` `~` `$` (escapes, code, emphasis, links and images,
 *   table cells, strikethrough, math); `<` and `>` as entities (HTML, autolinks, quotes,
 *   comment delimiters); `&` where it would start an entity (`&#x202e;` could smuggle a
 *   control character);
 * - `_` only where it can open or close emphasis (not between two letters or digits);
 * - at the start only: what opens a block in a list item (`#`, `-`, `+`, `1.`, `1)`), and
 *   leading spaces (indented code);
 * - mentions, issue references and autolinks are broken by zero-width spaces; controls
 *   become `\uXXXX`. `(`, `)`, `!`, `.`, `:`, `-` and `#` elsewhere are inert once `[`/`]`
 *   and `<` are escaped.
 */
export function escapeMarkdown(s: string): string {
  // Defuse first (on the visible text), then escape: the zero-width spaces are inert.
  const t = defuseLinkers(visible(s)).replace(/^\s+/, '')
  let out = ''
  for (let i = 0; i < t.length; i++) {
    const c = t[i] as string
    if ('\\`*[]|~$'.includes(c)) out += `\\${c}`
    else if (c === '<') out += '&lt;'
    else if (c === '>') out += '&gt;'
    else if (c === '&') out += /^&#?[A-Za-z0-9]+;/.test(t.slice(i, i + 34)) ? '&amp;' : '&'
    else if (c === '_') out += ALNUM.test(t[i - 1] ?? '') && ALNUM.test(t[i + 1] ?? '') ? '_' : '\\_'
    else out += c
  }
  // Block starts: a heading, a bullet or an ordered list marker at the start of a list item.
  return out.replace(/^([#+-])/, '\\$1').replace(/^(\d{1,9})([.)])/, '$1\\$2')
}

/** Escapes text for HTML element content or a quoted attribute; controls become `\uXXXX`. */
export function escapeHtml(s: string): string {
  return visible(s)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;')
}

/**
 * Inline code that the value cannot break out of: the backtick fence is longer than any
 * backtick run in the value, padded with spaces when the value starts or ends with a
 * backtick. Controls become `\uXXXX` (a newline would end a table row). Pipes are escaped
 * (GFM splits table cells on `|` even inside code spans; `\|` renders as `|`). HTML
 * comment delimiters get a zero-width space so no value can open or close a comment and
 * hide the text after it. Meant for table cells: outside a table a `|` would show as `\|`
 * (canonical values never contain one).
 */
export function code(s: string): string {
  let v = visible(s)
  if (v === '') return '*(empty)*'
  v = v
    .replace(/\|/g, '\\|')
    .replace(/<!--/g, `<${ZWSP}!--`)
    .replace(/--!?>/g, (m) => `--${ZWSP}${m.slice(2)}`)
  const runs = v.match(/`+/g) ?? []
  const longest = runs.reduce((n, r) => Math.max(n, r.length), 0)
  const fence = '`'.repeat(longest + 1)
  const pad = v.startsWith('`') || v.endsWith('`') || (v.startsWith(' ') && v.endsWith(' ')) ? ' ' : ''
  return `${fence}${pad}${v}${pad}${fence}`
}

/**
 * Plain text for commit messages and terminals: controls shown as `\uXXXX`, mentions and
 * references defused (GitHub renders commit messages too).
 */
export function plain(s: string): string {
  return defuseLinkers(visible(s))
}
