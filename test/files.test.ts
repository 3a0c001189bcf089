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
  return loadFiles(rt, { listsDir: 'lists', exclusionsFile: 'exclusions.yaml', requireLists })
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

  it('finds nothing in files that no exclusion covers', async () => {
    const files = await load({ 'lists/ips.txt': `${HEADER}10.0.0.1\n`, 'lists/hosts.txt': `${HEADER}api.pinned.example\n` })
    expect(excludedEntries(files)).toEqual([])
  })
})
