// Parsing of resource limits as users write them (`--memory 64M`, `--cpus 0.5`).
import { InvalidArgumentError } from '../errors.ts'

/** Limits of a cell; 0 means unlimited. */
export interface Limits {
  cpus: number
  memoryBytes: number
  pids: number
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }

/** `64M`, `1.5g`, `512k`, `1048576` → bytes (binary units, as Docker reads them). */
export function parseMemory (text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([bkmgt]?)(?:i?b)?$/i.exec(text.trim())
  if (m === null) throw new InvalidArgumentError(`invalid memory size "${text}": expected a number with an optional unit, such as 64M or 1G`)
  const bytes = Math.floor(Number(m[1]) * UNITS[m[2].toLowerCase()])
  if (bytes < 1024 * 1024) throw new InvalidArgumentError(`memory limit "${text}" is too small: the least is 1M`)
  if (!Number.isSafeInteger(bytes)) throw new InvalidArgumentError(`memory limit "${text}" is too large`)
  return bytes
}

/** `0.5`, `2` → cores; must be positive and at most 1024. */
export function parseCpus (text: string): number {
  const n = Number(text)
  if (!/^\d*\.?\d+$/.test(text.trim()) || !Number.isFinite(n) || n <= 0 || n > 1024) {
    throw new InvalidArgumentError(`invalid cpus "${text}": expected a positive number of cores, such as 0.5 or 2`)
  }
  if (n < 0.01) throw new InvalidArgumentError(`cpus "${text}" is too small: the least is 0.01`)
  return n
}

/** A positive whole number of processes. */
export function parsePids (text: string): number {
  const n = Number(text)
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError(`invalid pids limit "${text}": expected a whole number of at least 1`)
  }
  return n
}

/** Checks limits that arrive already typed (over the API) against the same bounds. */
export function validateLimits (limits: Limits): Limits {
  const { cpus, memoryBytes, pids } = limits
  if (!Number.isFinite(cpus) || cpus < 0 || cpus > 1024 || (cpus > 0 && cpus < 0.01)) throw new InvalidArgumentError(`invalid cpus ${cpus}`)
  if (!Number.isSafeInteger(memoryBytes) || memoryBytes < 0 || (memoryBytes > 0 && memoryBytes < 1024 * 1024)) throw new InvalidArgumentError(`invalid memory limit ${memoryBytes}`)
  if (!Number.isSafeInteger(pids) || pids < 0) throw new InvalidArgumentError(`invalid pids limit ${pids}`)
  return { cpus, memoryBytes, pids }
}

/** `67108864` → `64M`, for tables. */
export function formatBytes (bytes: number): string {
  for (const [unit, size] of [['G', 1024 ** 3], ['M', 1024 ** 2], ['K', 1024]] as const) {
    if (bytes >= size) return `${Number((bytes / size).toFixed(1))}${unit}`
  }
  return `${bytes}B`
}
