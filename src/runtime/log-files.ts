// Which files make up a workload's log: `<name>.log` is written now; the monitor renames it to
// `<name>.log.<N>` when it rotates, N counting up and never reused, so N orders the files.
import { readdirSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'

export { LOG_FILES, LOG_MAX_BYTES } from '../common/log-defaults.ts'

/** N when `file` is `<base>.<N>` (digits only), else undefined: `x.log.log` is not a rotation of `x.log`. */
function rotatedNumber (file: string, base: string): number | undefined {
  if (file.length <= base.length + 1 || !file.startsWith(base) || file[base.length] !== '.') return undefined
  const digits = file.slice(base.length + 1)
  return /^\d+$/.test(digits) ? Number(digits) : undefined
}

/** True for the live log of the workload and its rotated files, and nothing of any other workload's. */
export function isLogFileOf (file: string, logBase: string): boolean {
  return file === logBase || rotatedNumber(file, logBase) !== undefined
}

/** The numbers of the rotated files of the log at `path` that exist now, oldest first. */
export function rotatedFiles (path: string): number[] {
  const base = basename(path)
  let names: string[]
  try {
    names = readdirSync(dirname(path))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw err
  }
  const out: number[] = []
  for (const name of names) {
    const n = rotatedNumber(name, base)
    if (n !== undefined) out.push(n)
  }
  return out.sort((a, b) => a - b)
}

/** The path of rotated file `n` of the log at `path`. */
export function rotatedPath (path: string, n: number): string {
  return join(dirname(path), `${basename(path)}.${n}`)
}
