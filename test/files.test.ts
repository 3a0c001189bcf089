// commands/files: loading the committed files, and sync's refusal of list lines that an
// exclusion covers — by the same rule collect uses to propose their removal.
import { describe, expect, it } from 'vitest'
import { excludedEntries, FileProblemsError, loadFiles } from '../action/src/commands/files.js'
import { testRuntime } from './harness/runtime.js'

const EXCLUSIONS = `exclusions:
  - value: 142.250.0.0/15
    reason: Google front ends
  - value: google.com
    reason: tenant control
`
const HEADER = '# header\n'
const load = async (files: Record<string, string>, requireLists = true) => {
  const rt = await testRuntime({ withRepoFiles: false, files: { 'exclusions.yaml': EXCLUSIONS, ...files } })
  // /8 networks are allowed here so that a network around an excluded one can be listed at all.
  return loadFiles(rt, { listsDir: 'lists', exclusionsFile: 'exclusions.yaml', requireLists, widest: { v4: 8, v6: 32 } })
}

describe('loadFiles', () => {
  it('keeps the texts it read, so later steps never read the files again', async () => {
    const ips = `${HEADER}192.0.2.1\n`
    const files = await load({ 'lists/ips.txt': ips, 'lists/hosts.txt': HEADER })
    expect(files.texts).toEqual({ ips, hosts: HEADER })
  })

  it('a missing list file is an error for sync, null text for collect', async () => {
    await expect(load({ 'lists/ips.txt': HEADER })).rejects.toThrow(FileProblemsError)
    const files = await load({ 'lists/ips.txt': HEADER }, false)
    expect(files.texts.hosts).toBeNull()
  })
})

describe('excludedEntries', () => {
  it('names file:line and the rule for every covered entry, including a network around an excluded one', async () => {
    const files = await load({
      'lists/ips.txt': `${HEADER}10.0.0.1\n142.0.0.0/8\n142.250.3.4\n`,
      'lists/hosts.txt': `${HEADER}api.pinned.example\nmail.google.com\n`
    })
    expect(excludedEntries(files).map((p) => `${p.file}:${p.line}: ${p.message}`)).toEqual([
      'lists/ips.txt:3: 142.0.0.0/8 is excluded by 142.250.0.0/15 (exclusions.yaml:2): Google front ends',
      'lists/ips.txt:4: 142.250.3.4 is excluded by 142.250.0.0/15 (exclusions.yaml:2): Google front ends',
      'lists/hosts.txt:3: mail.google.com is excluded by google.com (exclusions.yaml:4): tenant control'
    ])
  })

  it('refuses IPv6 spellings of an excluded IPv4 range (NAT64, IPv4-compatible, SIIT, 6to4), each with file:line', async () => {
    const files = await load({
      'lists/ips.txt': `${HEADER}2002:8efa::/32\n64:ff9b::8efa:0/111\n::8efa:0/111\n::ffff:0:8efa:0/111\n2001:db8::/48\n`,
      'lists/hosts.txt': HEADER
    })
    expect(excludedEntries(files).map((p) => `${p.file}:${p.line}`)).toEqual(['lists/ips.txt:2', 'lists/ips.txt:3', 'lists/ips.txt:4', 'lists/ips.txt:5'])
  })

  it('with the default widest prefixes, broad lines fail loading with file:line (223 × /8 is not "Files valid")', async () => {
    const rt = await testRuntime({ withRepoFiles: false, files: { 'exclusions.yaml': EXCLUSIONS, 'lists/hosts.txt': HEADER, 'lists/ips.txt': `${HEADER}1.0.0.0/8\n2.0.0.0/8\n192.0.2.0/24\n` } })
    const err = await loadFiles(rt, { listsDir: 'lists', exclusionsFile: 'exclusions.yaml', requireLists: true }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(FileProblemsError)
    expect((err as FileProblemsError).problems.map((p) => `${p.file}:${p.line}`)).toEqual(['lists/ips.txt:2', 'lists/ips.txt:3'])
  })

  it('finds nothing in files that no exclusion covers', async () => {
    const files = await load({ 'lists/ips.txt': `${HEADER}10.0.0.1\n`, 'lists/hosts.txt': `${HEADER}api.pinned.example\n` })
    expect(excludedEntries(files)).toEqual([])
  })
})
