// Process identity from /proc, so a recorded PID is never mistaken for a new process that reused it.
import { readFileSync } from 'node:fs'

export { signalNumber } from '../common/signals.ts'

/** The process's start time in clock ticks since boot, or undefined if it is gone. */
export function startTimeOf (pid: number): number | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    if (fields[0] === 'Z' || fields[0] === 'X') return undefined
    return Number(fields[19])
  } catch {
    return undefined
  }
}

/** True while the process that had `pid` at `start` is still the one running. */
export function isSameProcess (pid: number, start: number): boolean {
  return pid > 0 && startTimeOf(pid) === start
}


/** The PIDs of the process's children (none when it is gone). */
export function childrenOf (pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number)
  } catch {
    return []
  }
}
