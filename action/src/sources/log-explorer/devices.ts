/**
 * Certificate-less devices in Log Explorer (issue 9): one grouped query tallies every device
 * in the window in Cloudflare (read whole by key paging), `isCertless` classifies it, and the
 * ids of the devices that look certificate-less are returned for the candidate queries to
 * leave out. Ids stay in memory and inside SQL; only anonymous tallies leave this module.
 */
import { z } from 'zod'
import { isCertless, type CertlessThresholds, type DeviceTally } from '../../core/devices.js'
import { readGrouped } from './paging.js'
import type { TimeWindow } from './sql.js'
import type { Ctx } from './transport.js'

const count = z.union([
  z.number().int().nonnegative().refine(Number.isSafeInteger),
  z.string().trim().regex(/^\d{1,15}$/).transform(Number)
])
const deviceRow = z.object({ device: z.string().min(1), tls: count, failed: count, destinations: count })

/** What the device tally found: ids for SQL only, everything else anonymous. */
export interface DeviceEvidence {
  /** Ids of the certificate-less devices. Never logged, never returned to the caller of the source. */
  certlessIds: string[]
  /** Their tallies, strongest first. */
  tallies: DeviceTally[]
  devicesSeen: number
  sessionsExcluded: number
}

/** Tallies every device's TLS sessions on `ports` in the window and picks the certificate-less ones. */
export async function tallyDevices(ctx: Ctx, window: TimeWindow, ports: readonly number[], th: CertlessThresholds): Promise<DeviceEvidence> {
  const rows = await readGrouped(ctx, { kind: 'devices', window, ports })
  const found: { id: string; tally: DeviceTally }[] = []
  let seen = 0
  let bad = 0
  for (const row of rows) {
    const p = deviceRow.safeParse(row)
    if (!p.success) {
      bad++
      continue
    }
    seen++
    const tally: DeviceTally = { tlsSessions: p.data.tls, failedSessions: p.data.failed, failedDestinations: p.data.destinations }
    if (isCertless(tally, th)) found.push({ id: p.data.device, tally })
  }
  if (bad > 0) ctx.malformed.set('devices', (ctx.malformed.get('devices') ?? 0) + bad)
  found.sort((a, b) => b.tally.failedDestinations - a.tally.failedDestinations || b.tally.failedSessions - a.tally.failedSessions)
  ctx.redact.push(...found.map((f) => f.id))
  const evidence: DeviceEvidence = {
    certlessIds: found.map((f) => f.id),
    tallies: found.map((f) => f.tally),
    devicesSeen: seen,
    sessionsExcluded: found.reduce((n, f) => n + f.tally.failedSessions, 0)
  }
  ctx.log(`Log Explorer: ${seen} device(s) tallied; ${found.length} look(s) like it lacks the Gateway certificate (${evidence.sessionsExcluded} failing session(s) left out of every candidate)`)
  return evidence
}
