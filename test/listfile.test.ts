import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { DEFAULT_HEADER, formatListFile, formatProblem, parseListFile } from '../action/src/core/listfile.js'
import type { EntryKind } from '../action/src/core/types.js'

const ips = (text: string) => parseListFile(text, { kind: 'ip', file: 'lists/ips.txt' })
const hosts = (text: string) => parseListFile(text, { kind: 'host', file: 'lists/hosts.txt' })

describe('parseListFile: a canonical file', () => {
  it('keeps the header verbatim and reports nothing', () => {
    const text = '# IPs\n#   indented note  \n\n  # leading spaces still a comment\n1.2.3.4\n10.0.0.0/24\n'
    const r = ips(text)
    expect(r.header).toEqual(['# IPs', '#   indented note  ', '', '  # leading spaces still a comment'])
    expect(r.entries).toEqual(['1.2.3.4', '10.0.0.0/24'])
    expect(r.problems).toEqual([])
    expect(r.notices).toEqual([])
    expect(r.canonical).toBe(true)
    expect(formatListFile(r.header, r.entries, 'ip')).toBe(text)
  })

  it.each([
    ['', []],
    ['# only a header\n', ['# only a header']],
    ['\n\n', ['', '']]
  ])('an entry-less file %j is canonical', (text, header) => {
    const r = hosts(text)
    expect(r.header).toEqual(header)
    expect(r.entries).toEqual([])
    expect(r.canonical).toBe(true)
  })
})

describe('parseListFile: notices (non-fatal, rewrite fixes them)', () => {
  it.each([
    ['CRLF', 'ip', '# h\r\n1.2.3.4\r\n', ['1.2.3.4'], 1, 'CRLF'],
    ['BOM', 'ip', '\ufeff# h\n1.2.3.4\n', ['1.2.3.4'], 1, 'byte order mark'],
    ['missing final newline', 'ip', '1.2.3.4', ['1.2.3.4'], 1, 'no newline at end of file'],
    ['duplicate', 'ip', '1.2.3.4\n5.6.7.8\n1.2.3.4\n', ['1.2.3.4', '5.6.7.8'], 3, 'duplicate of line 1'],
    ['duplicate after canonicalisation', 'ip', '1.2.3.4\n::ffff:1.2.3.4\n', ['1.2.3.4'], 2, 'duplicate of line 1'],
    ['unsorted (numeric order)', 'ip', '10.0.0.0/24\n9.0.0.0/24\n', ['9.0.0.0/24', '10.0.0.0/24'], 2, 'out of order: 9.0.0.0/24 sorts before 10.0.0.0/24 (line 1)'],
    ['unsorted hosts', 'host', 'b.com\na.com\n', ['a.com', 'b.com'], 2, 'out of order'],
    ['non-canonical IPv6', 'ip', '2001:DB8:0:0:0:0:0:1\n', ['2001:db8::1'], 1, 'rewrite writes it as 2001:db8::1'],
    ['non-canonical host', 'host', 'Example.COM.\n', ['example.com'], 1, 'rewrite writes it as example.com'],
    ['surrounding whitespace', 'host', '  example.com  \n', ['example.com'], 1, 'rewrite writes it as example.com'],
    ['blank line between entries', 'host', 'a.com\n\nb.com\n', ['a.com', 'b.com'], 2, 'blank line between entries']
  ] as const)('%s', (_name, kind, text, entries, line, message) => {
    const r = parseListFile(text, { kind: kind as EntryKind, file: 'f.txt' })
    expect(r.problems).toEqual([])
    expect(r.entries).toEqual(entries)
    expect(r.canonical).toBe(false)
    expect(r.notices).toContainEqual(expect.objectContaining({ file: 'f.txt', line, message: expect.stringContaining(message) }))
  })

  it('strips CR and BOM from the header', () => {
    const r = ips('\ufeff# a\r\n\r\n1.2.3.4\r\n')
    expect(r.header).toEqual(['# a', ''])
    expect(formatListFile(r.header, r.entries, 'ip')).toBe('# a\n\n1.2.3.4\n')
  })
})

describe('parseListFile: problems (fatal, every bad line reported)', () => {
  it.each([
    ['comment after the first entry', 'ip', '# h\n1.2.3.4\n# why 5.6.7.8\n5.6.7.8\n', 3, 1, 'comments are only allowed in the header'],
    ['indented comment after an entry', 'ip', '1.2.3.4\n  # note\n', 2, 3, 'comments are only allowed in the header'],
    ['trailing comment', 'ip', '1.2.3.4 # note\n', 1, 8, 'one value per line'],
    ['trailing text', 'host', 'a.com b.com\n', 1, 6, 'one value per line'],
    ['invalid ip', 'ip', '1.2.3.4\n010.0.0.1\n', 2, 1, 'leading zero'],
    ['host bits', 'ip', '  10.0.0.1/24\n', 1, 3, 'did you mean 10.0.0.0/24?'],
    ['IPv4 broader than /24', 'ip', '10.0.0.0/23\n', 1, 1, 'broader than /24: it would exempt 512 addresses from inspection'],
    ['IPv4 /8 (all of 10/8)', 'ip', '10.0.0.0/8\n', 1, 1, 'raise widest-ipv4-prefix'],
    ['IPv4 /0', 'ip', '0.0.0.0/0\n', 1, 1, 'exempt 4,294,967,296 addresses'],
    ['IPv6 broader than /48', 'ip', '2001:db8::/47\n', 1, 1, 'broader than /48: it would exempt 2^81 addresses'],
    ['mapped network broader than /24', 'ip', '::ffff:10.0.0.0/118\n', 1, 1, '10.0.0.0/22 is broader than /24'],
    ['wildcard host', 'host', '*.example.com\n', 1, 1, 'wildcards are not allowed'],
    ['IP in the host list', 'host', '1.2.3.4\n', 1, 1, 'an IP literal is not a hostname'],
    ['host in the ip list', 'ip', 'example.com\n', 1, 1, 'IPv4']
  ] as const)('%s', (_name, kind, text, line, column, message) => {
    const r = parseListFile(text, { kind: kind as EntryKind, file: 'f.txt' })
    expect(r.canonical).toBe(false)
    expect(r.problems).toEqual([{ file: 'f.txt', line, column, message: expect.stringContaining(message) }])
  })

  it('accepts the broadest networks the defaults allow: a /24 and a /48 (vendors publish ranges that size)', () => {
    const r = ips('10.0.0.0/24\n2001:db8::/48\n')
    expect(r.problems).toEqual([])
    expect(r.entries).toEqual(['10.0.0.0/24', '2001:db8::/48'])
  })

  it('takes the widest prefixes as options (widest-ipv4-prefix, widest-ipv6-prefix)', () => {
    const text = '10.0.0.0/16\n2001:db8::/32\n'
    expect(parseListFile(text, { kind: 'ip', file: 'f', widest: { v4: 16, v6: 32 } }).problems).toEqual([])
    const narrow = parseListFile(text, { kind: 'ip', file: 'f', widest: { v4: 28, v6: 64 } })
    expect(narrow.problems.map((p) => p.line)).toEqual([1, 2])
    expect(parseListFile('10.0.0.0/24\n', { kind: 'ip', file: 'f', widest: { v4: 28, v6: 64 } }).problems[0]!.message).toContain('broader than /28')
  })

  it('refuses all of IPv4 as 223 lines of /8 (the breadth attack): one problem per line', () => {
    const text = Array.from({ length: 223 }, (_, i) => `${i + 1}.0.0.0/8`).join('\n') + '\n'
    const r = ips(text)
    expect(r.problems).toHaveLength(223)
    expect(r.entries).toEqual([])
  })

  it('reports every bad line and keeps the good ones', () => {
    const r = hosts('a.com\nbad host\n*.x.com\nb.com\n# late\n')
    expect(r.problems.map((p) => p.line)).toEqual([2, 3, 5])
    expect(r.entries).toEqual(['a.com', 'b.com'])
  })

  it('does not throw on a hostile 10 kB line', () => {
    const r = hosts(`${'<script>'.repeat(1250)}\n`)
    expect(r.problems).toHaveLength(1)
    expect(r.problems[0]?.message).not.toContain('<script>')
  })
})

describe('formatListFile', () => {
  it('sorts, dedupes, uses LF and a final newline', () => {
    expect(formatListFile(['# h'], ['::1', '10.0.0.0', '9.0.0.0/8', '10.0.0.0'], 'ip')).toBe('# h\n9.0.0.0/8\n10.0.0.0\n::1\n')
  })

  it('writes a non-comment header line as a comment so the file parses back', () => {
    const text = formatListFile(['oops', '# fine'], ['a.com'], 'host')
    expect(text).toBe('# oops\n# fine\na.com\n')
    expect(hosts(text).entries).toEqual(['a.com'])
  })

  it('writes an empty file for no header and no entries', () => {
    expect(formatListFile([], [], 'host')).toBe('')
  })
})

describe('formatProblem', () => {
  it.each([
    [{ file: 'lists/ips.txt', line: 3, message: 'bad' }, 'lists/ips.txt:3: bad'],
    [{ file: 'lists/ips.txt', line: 3, column: 7, message: 'bad' }, 'lists/ips.txt:3:7: bad']
  ])('%j', (p, expected) => {
    expect(formatProblem(p)).toBe(expected)
  })
})

describe('DEFAULT_HEADER and the committed list files', () => {
  it.each([
    ['ip', 'lists/ips.txt'],
    ['host', 'lists/hosts.txt']
  ] as const)('%s: %s is canonical and starts with the default header', (kind, path) => {
    // Entries arrive by merged pull requests, so only the shape is pinned here.
    const text = readFileSync(new URL(`../${path}`, import.meta.url), 'utf8')
    const r = parseListFile(text, { kind, file: path })
    expect(r.problems).toEqual([])
    expect(r.canonical).toBe(true)
    expect(r.header).toEqual(DEFAULT_HEADER[kind])
    expect(text).toBe(formatListFile(DEFAULT_HEADER[kind], r.entries, kind))
  })

  it.each(['ip', 'host'] as const)('%s header lines are all comments or blank', (kind) => {
    for (const line of DEFAULT_HEADER[kind]) expect(line === '' || line.startsWith('#')).toBe(true)
  })
})
