/**
 * Network-session rows as Log Explorer stores them, for command-level tests. Identity
 * fields are filled on purpose: tests assert that none of them ever reaches an output.
 */

/** RFC3339 with whole seconds, as Log Explorer exposes timestamps. */
export const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')

/** Two failing (CLIENT_TLS_ERROR) sessions per device to `sni` on `ip`, minutes before `now`. */
export function failingSessions(sni: string, ip: string, devices: number[], now: number): Record<string, unknown>[] {
  return devices.flatMap((device) => [0, 1].map((i) => ({
    SessionStartTime: iso(now - (10 + i * 7 + device) * 60_000),
    SessionEndTime: iso(now - (10 + i * 7 + device) * 60_000 + 800),
    ConnectionCloseReason: 'CLIENT_TLS_ERROR',
    OriginIP: ip,
    OriginPort: 443,
    SNI: sni,
    DeviceID: `device-uuid-${device}`,
    DeviceName: `LAPTOP-${device}`,
    UserID: `user-uuid-${device}`,
    Email: `person${device}@corp.example`
  })))
}
