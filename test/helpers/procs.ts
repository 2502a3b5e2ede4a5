// Looking at processes through /proc: what a test needs to see that a workload waits on its output.
import { spawnSync } from 'node:child_process'
import { readFileSync, readdirSync, readlinkSync } from 'node:fs'

/** Whether a process named `comm` at or under `pid` is asleep writing into a full pipe. */
export function blockedOnPipe (pid: number, comm: string): boolean {
  const parents = new Map<number, number>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      parents.set(Number(entry), parentOf(Number(entry)))
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

/** The process whose child `pid` is. */
export function parentOf (pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
}

/** The processes at the other end of the connections `monitor` accepted on its attach socket. */
export function attachReaders (monitor: number): number[] {
  const ours = socketsOf(monitor)
  const peers = new Set<string>()
  // `u_str ESTAB 0 0 /…/<id>.attach[.tmp] <inode> * <peer inode>`: an accepted socket keeps the listener's name.
  for (const line of spawnSync('ss', ['-xn'], { encoding: 'utf8' }).stdout.split('\n')) {
    const cols = line.trim().split(/\s+/)
    if (cols.length >= 8 && /\.attach(\.tmp)?$/.test(cols[4]) && ours.has(cols[5])) peers.add(cols[7])
  }
  const readers: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === monitor) continue
    for (const inode of socketsOf(Number(entry))) if (peers.has(inode)) readers.push(Number(entry))
  }
  return readers
}

/** The inodes of the sockets a process holds. */
function socketsOf (pid: number): Set<string> {
  const inodes = new Set<string>()
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))
        if (m !== null) inodes.add(m[1])
      } catch {}
    }
  } catch {}
  return inodes
}
