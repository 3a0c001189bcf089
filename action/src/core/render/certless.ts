/**
 * The words about certificate-less devices (issue 9), shared by the PR body, the job summary
 * and the terminal. Counts only: no device id, name, user or email ever reaches this module
 * (the plan holds none), and every sentence is built from numbers this module formats.
 * `collect.ts` places these pieces and renders the destinations table with its own helpers.
 */
import { findCertlessShell, findCertlessSql, safeRule, type DeviceTally } from '../devices.js'
import type { CertlessPlan, CollectPlan } from '../types.js'

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`
}

/** Share of a device's TLS sessions that failed, floored (failures are the floor of its sessions). */
function failedPercent(t: DeviceTally): number {
  const total = Math.max(t.tlsSessions, t.failedSessions)
  return total > 0 ? Math.floor((t.failedSessions * 100) / total) : 0
}

function range(values: number[], unit: string): string {
  const lo = Math.min(...values)
  const hi = Math.max(...values)
  return lo === hi ? `${lo.toLocaleString('en-US')}${unit}` : `${lo.toLocaleString('en-US')}–${hi.toLocaleString('en-US')}${unit}`
}

function safeCount(n: unknown): number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 ? n : 0
}

/**
 * The headline: "1 device looks like it lacks the Gateway certificate: its TLS failed on 120
 * destinations (360 of its 360 TLS sessions). Its failures were not counted." Several devices
 * are aggregated as ranges. Empty when no device matched.
 */
export function certlessHeadline(c: CertlessPlan): string {
  const ds = c.devices
  if (!ds.length) return ''
  const seen = safeCount(c.devicesSeen) > ds.length ? ` (of ${plural(safeCount(c.devicesSeen), 'device')} seen)` : ''
  if (ds.length === 1) {
    const d = ds[0] as DeviceTally
    const total = Math.max(d.tlsSessions, d.failedSessions)
    return (
      `1 device${seen} looks like it lacks the Gateway certificate: its TLS failed on ${plural(d.failedDestinations, 'destination')} ` +
      `(${d.failedSessions.toLocaleString('en-US')} of its ${plural(total, 'TLS session')}). Its failures were not counted.`
    )
  }
  return (
    `${plural(ds.length, 'device')}${seen} look like they lack the Gateway certificate: their TLS failed on ` +
    `${range(ds.map((d) => d.failedDestinations), '')} destinations each (${range(ds.map(failedPercent), '%')} of their TLS sessions). ` +
    `Their ${plural(safeCount(c.sessionsExcluded), 'failing session')} were not counted.`
  )
}

/** What follows the headline: what to do, and what was left out of the proposal. */
export function certlessDetail(c: CertlessPlan): string {
  const it = c.devices.length === 1 ? 'it' : 'them'
  const parts = [`Installing the certificate on ${it} should fix those failures; no bypass is proposed for them.`]
  const only = c.onlyCertless.length
  if (only) parts.push(`${plural(only, 'destination')} failed only on ${c.devices.length === 1 ? 'this device' : 'these devices'} and ${only === 1 ? 'is' : 'are'} not proposed.`)
  // Most of the fleet at once is not a few stray laptops: the rollout itself is in question.
  if (c.devices.length >= 3 && c.devices.length * 2 >= safeCount(c.devicesSeen)) {
    parts.push('That is most of the devices seen: check that the certificate is deployed before reviewing anything here.')
  }
  return parts.join(' ')
}

/** The rule in words, for the "what was read" lines. */
export function certlessRuleText(c: CertlessPlan): string {
  const { thresholds } = safeRule(c.thresholds, c.ports)
  return `TLS failing on ≥ ${thresholds.minDestinations} destinations with ≥ ${thresholds.minFailedPercent}% of its TLS sessions failing`
}

/**
 * How an admin finds the devices without this tool naming them: a Log Explorer query for
 * that source, a jq pipeline over the files for Logpush. Both return ids, names and users,
 * in the admin's own console, never here.
 */
export function certlessHowToFind(plan: CollectPlan): { intro: string; lang: 'sql' | 'sh'; code: string } | undefined {
  const c = plan.certless
  if (!c?.devices.length) return undefined
  if (plan.observed.source === 'logpush') {
    return {
      intro: 'Run this where the Logpush files are, with LOGPUSH_DIR replaced by their folder (it reads every file, whatever the window). It applies the same rule and prints destinations, failing sessions, TLS sessions and the device id, which the device list of the Zero Trust dashboard maps to a name and user.',
      lang: 'sh',
      code: findCertlessShell(c.thresholds, c.ports)
    }
  }
  return {
    intro: 'Paste this into Log Explorer › Log Search (custom SQL) in the Cloudflare dashboard. It applies the same rule to the same window and names the devices and their users: there, for you, never here.',
    lang: 'sql',
    code: findCertlessSql(plan.observed.window, c.thresholds, c.ports)
  }
}

/**
 * The checklist used to ask whether installing the certificate fixes the failure. The device
 * side is now measured; an app with its own trust store on a healthy device is not, so that
 * part stays a question.
 */
export function certlessChecklist(c: CertlessPlan | undefined): string[] {
  const trustStore = '- [ ] No app here merely lacks the certificate in its own trust store (Firefox, Java, Python, containers): installing it there fixes that, without a bypass.'
  if (!c) return ['- [ ] Each app really pins its certificate (the failure is not fixed by installing the Cloudflare root certificate on the device or in the app).']
  const rule = certlessRuleText(c)
  const measured = c.devices.length
    ? `- Measured: ${plural(c.devices.length, 'device')} without the Gateway certificate ${c.devices.length === 1 ? 'was' : 'were'} detected (${rule}) and ${c.devices.length === 1 ? 'its' : 'their'} ${plural(safeCount(c.sessionsExcluded), 'failing session')} left out; every proposal from TLS errors failed on devices that do not look certificate-less.`
    : `- Measured: none of the ${plural(safeCount(c.devicesSeen), 'device')} seen looks like it lacks the Gateway certificate (${rule}).`
  return [measured, trustStore]
}
