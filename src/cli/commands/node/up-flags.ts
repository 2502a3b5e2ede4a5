// What `aurae up` was started with, kept beside the node's data so that a restart needs only `aurae up`.
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/** The daemon's flags `up` remembers: where the mesh listens, whom it joins through, how logs rotate, how long a VM may take to start, where VMs are saved, where the mTLS socket and its certificates are. */
export interface UpFlags {
  listen?: string[]
  bootstrap?: string[]
  logMaxBytes?: string
  logFiles?: string
  vmReadyTimeout?: string
  vmTemplates?: string
  tlsSock?: string
  pki?: string
}

const FILE = 'up-flags.json'

const strings = (v: unknown): string[] | undefined => Array.isArray(v) && v.every(s => typeof s === 'string') ? v : undefined
const text = (v: unknown): string | undefined => typeof v === 'string' ? v : undefined

/** The flags the last successful `up` of the node in `data` used; none when there was none (or the file is not ours). */
export function rememberedFlags (data: string): UpFlags {
  let saved: any
  try {
    saved = JSON.parse(readFileSync(join(data, FILE), 'utf8'))
  } catch {
    return {}
  }
  return { listen: strings(saved?.listen), bootstrap: strings(saved?.bootstrap), logMaxBytes: text(saved?.logMaxBytes), logFiles: text(saved?.logFiles), vmReadyTimeout: text(saved?.vmReadyTimeout), vmTemplates: text(saved?.vmTemplates), tlsSock: text(saved?.tlsSock), pki: text(saved?.pki) }
}

/** Each flag given now, else the one remembered. */
export function withRemembered (given: UpFlags, saved: UpFlags): UpFlags {
  return {
    listen: given.listen ?? saved.listen,
    bootstrap: given.bootstrap ?? saved.bootstrap,
    logMaxBytes: given.logMaxBytes ?? saved.logMaxBytes,
    logFiles: given.logFiles ?? saved.logFiles,
    vmReadyTimeout: given.vmReadyTimeout ?? saved.vmReadyTimeout,
    vmTemplates: given.vmTemplates ?? saved.vmTemplates,
    tlsSock: given.tlsSock ?? saved.tlsSock,
    pki: given.pki ?? saved.pki
  }
}

/** Keeps the flags of an `up` that worked, for the next one. */
export function rememberFlags (data: string, flags: UpFlags): void {
  writeFileSync(join(data, FILE), JSON.stringify(flags, null, 2) + '\n', { mode: 0o600 })
}
