// Looking at processes through /proc: what a test needs to see that a workload waits on its output.
import { readFileSync, readdirSync } from 'node:fs'

/** Whether a process named `comm` at or under `pid` is asleep writing into a full pipe. */
export function blockedOnPipe (pid: number, comm: string): boolean {
  const parents = new Map<number, number>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]))
    } catch {}
  }
  const under = (p: number): boolean => {
    for (let at: number | undefined = p; at !== undefined && at > 1; at = parents.get(at)) if (at === pid) return true
    return false
  }
  for (const p of parents.keys()) {
    if (!under(p)) continue
    try {
      if (readFileSync(`/proc/${p}/comm`, 'utf8').trim() === comm && /pipe_write/.test(readFileSync(`/proc/${p}/wchan`, 'utf8'))) return true
    } catch {}
  }
  return false
}
