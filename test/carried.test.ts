// What a run carries from the bot's own commit (core/carried.ts): message lines in the
// exact `renderCommitMessage` format, and only for values the commit's list files add.
import { describe, expect, it } from 'vitest'
import { carriedFromCommit, parseCommitEvidence } from '../action/src/core/carried.js'

const LINE = '+ ip 192.0.2.1  tls-error sessions=5 devices=2 users=3 first=2026-11-15T10:00Z last=2026-11-15T12:30Z hosts=4'

describe('parseCommitEvidence', () => {
  it('reads a line as renderCommitMessage writes it', () => {
    expect(parseCommitEvidence(`TLS bypass: add 1\n\n${LINE}\n`)).toEqual([
      { kind: 'ip', value: '192.0.2.1', source: 'tls-error', stats: { sessions: 5, devices: 2, users: 3, firstSeen: Date.UTC(2026, 10, 15, 10, 0), lastSeen: Date.UTC(2026, 10, 15, 12, 30) }, otherSide: [], otherSideTotal: 4 }
    ])
  })

  it.each([
    ['one space before the evidence', LINE.replace('  ', ' ')],
    ['an unknown source', LINE.replace('tls-error', 'trust-me')],
    ['a negative count', LINE.replace('sessions=5', 'sessions=-5')],
    ['a fractional count', LINE.replace('devices=2', 'devices=2.5')],
    ['an absurd count (16 digits)', LINE.replace('sessions=5', 'sessions=9999999999999999')],
    ['the wrong other side for the kind', LINE.replace('hosts=4', 'ips=4')],
    ['trailing text', `${LINE} and more`],
    ['a removal line', '- ip 192.0.2.1  excluded by 192.0.2.0/24 (line 3): shared'],
    ['indented', ` ${LINE}`],
    ['a value with a space', LINE.replace('192.0.2.1', '192.0.2.1 x')]
  ])('ignores %s', (_name, line) => {
    expect(parseCommitEvidence(line)).toEqual([])
  })

  it('reads CRLF lines, unknown times as 0, and keeps the first line for a repeated value', () => {
    const msg = `${LINE.replace(/first=\S+/, 'first=-').replace(/last=\S+/, 'last=2026-13-45T99:99Z')}\r\n${LINE.replace('sessions=5', 'sessions=99')}\r\n`
    const [c, ...rest] = parseCommitEvidence(msg)
    expect(rest).toEqual([])
    expect(c?.stats).toMatchObject({ sessions: 5, firstSeen: 0, lastSeen: 0 })
  })
})

describe('carriedFromCommit', () => {
  const message = [LINE, '+ host app.example  tls-error sessions=9 devices=3 users=3 first=- last=- ips=0', '+ host listed.example  tls-error sessions=9 devices=3 users=3 first=- last=- ips=0', '+ ip 198.51.100.7  tls-error sessions=9 devices=3 users=3 first=- last=- hosts=0'].join('\n')
  const files = { ips: '# ips\n192.0.2.1\n', hosts: '# hosts\napp.example\nlisted.example\nunclaimed.example\n' }

  it('keeps only message values that the files add over the current lists', () => {
    const got = carriedFromCommit({ message, files }, { ips: [], hosts: ['listed.example'] })
    // 198.51.100.7 is named but not in the files; unclaimed.example is in the files but has no evidence line.
    expect(got.map((c) => `${c.kind} ${c.value}`)).toEqual(['ip 192.0.2.1', 'host app.example'])
  })

  it('carries nothing from missing files', () => {
    expect(carriedFromCommit({ message, files: { ips: null, hosts: null } }, { ips: [], hosts: [] })).toEqual([])
  })
})
