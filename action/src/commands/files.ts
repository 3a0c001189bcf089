/**
 * Loading the committed files: `lists/ips.txt`, `lists/hosts.txt`, `exclusions.yaml`.
 *
 * Every command starts here, and every command refuses to go on with a broken file:
 * a bad line is reported as `file:line: why` and nothing is written anywhere.
 */
import { posix } from 'node:path'
import { parseExclusions, ruleCovering } from '../core/exclusions.js'
import { formatProblem, parseListFile, type ParsedList, type WidestPrefix } from '../core/listfile.js'
import type { EntryKind, ExclusionRule, FileProblem } from '../core/types.js'
import { canonicalValue } from '../core/values.js'
import type { Inputs } from '../inputs.js'
import type { Runtime } from '../runtime.js'

export interface LoadedFiles {
  paths: { ips: string; hosts: string; exclusions: string }
  ips: ParsedList
  hosts: ParsedList
  /** The list files as read (null: missing); later steps use these, never a second read. */
  texts: { ips: string | null; hosts: string | null }
  rules: ExclusionRule[]
  expired: ExclusionRule[]
}

/** Thrown when input files have problems; `problems` carry file, line and reason. */
export class FileProblemsError extends Error {
  constructor(readonly problems: FileProblem[]) {
    super(`${problems.length} problem${problems.length === 1 ? '' : 's'} in the input files:\n${problems.map((p) => `  ${formatProblem(p)}`).join('\n')}`)
    this.name = 'FileProblemsError'
  }
}

/** The inputs `widest-ipv4-prefix` and `widest-ipv6-prefix`. */
export function widestOf(inputs: Inputs): WidestPrefix {
  return { v4: inputs['widest-ipv4-prefix'], v6: inputs['widest-ipv6-prefix'] }
}

export const LIST_FILES: Record<EntryKind, string> = { ip: 'ips.txt', host: 'hosts.txt' }

/**
 * Reads and validates the files.
 * @param o.requireLists sync and check: a missing list file is an error ("never remove all").
 */
export async function loadFiles(rt: Runtime, o: { listsDir: string; exclusionsFile: string; requireLists: boolean; widest?: WidestPrefix }): Promise<LoadedFiles> {
  const paths = {
    ips: posix.join(o.listsDir, LIST_FILES.ip),
    hosts: posix.join(o.listsDir, LIST_FILES.host),
    exclusions: o.exclusionsFile
  }
  const problems: FileProblem[] = []
  const [ipsText, hostsText, exclText] = await Promise.all([rt.readText(paths.ips), rt.readText(paths.hosts), rt.readText(paths.exclusions)])

  const list = (kind: EntryKind, file: string, text: string | null): ParsedList => {
    if (text === null && o.requireLists) {
      problems.push({ file, line: 0, message: 'file is missing; sync never treats a missing file as "remove everything" (commit an empty list, and run with force, to empty it on purpose)' })
    }
    const parsed = parseListFile(text ?? '', { kind, file, widest: o.widest })
    problems.push(...parsed.problems)
    return parsed
  }
  const ips = list('ip', paths.ips, ipsText)
  const hosts = list('host', paths.hosts, hostsText)

  if (exclText === null) {
    problems.push({ file: paths.exclusions, line: 0, message: 'file is missing; exclusions keep sensitive destinations inspected, so collect and sync refuse to run without them (an empty `exclusions: []` is allowed)' })
  }
  const excl = parseExclusions(exclText ?? '', paths.exclusions, rt.now())
  problems.push(...excl.problems)
  if (problems.length > 0) throw new FileProblemsError(problems)

  for (const p of [...ips.notices, ...hosts.notices]) rt.log.warning(formatProblem(p), { file: p.file, line: p.line })
  for (const r of excl.expired) {
    rt.log.warning(`exclusion ${r.value} expired on ${r.expires}; it no longer applies`, { file: paths.exclusions, line: r.line })
  }
  return { paths, ips, hosts, texts: { ips: ipsText, hosts: hostsText }, rules: excl.rules, expired: excl.expired }
}

/**
 * Entries of the list files that an active exclusion covers, with the line they are on.
 * sync refuses to apply such a file: an exclusion says "keep this inspected", so a list
 * line that contradicts it is a mistake to fix in review, not something to push.
 */
export function excludedEntries(files: LoadedFiles): FileProblem[] {
  const out: FileProblem[] = []
  for (const kind of ['ip', 'host'] as const) {
    const path = kind === 'ip' ? files.paths.ips : files.paths.hosts
    const text = (kind === 'ip' ? files.texts.ips : files.texts.hosts) ?? ''
    const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/)
    lines.forEach((raw, i) => {
      const line = raw.trim()
      if (!line || line.startsWith('#')) return
      const c = canonicalValue(kind, line)
      if (!c.ok) return
      const rule = ruleCovering(files.rules, kind, c.value)
      if (rule) {
        out.push({ file: path, line: i + 1, message: `${c.value} is excluded by ${rule.value} (${files.paths.exclusions}:${rule.line}): ${rule.reason}` })
      }
    })
  }
  return out
}
