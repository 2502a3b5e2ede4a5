// Cells' cgroups: v2 where the host has a usable unified hierarchy, v1 where it has only v1.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { FailedPreconditionError, InternalError, messageOf } from '../errors.ts'
import { CPU_PERIOD_US, type Limits } from './limits.ts'
import type { CgroupFile } from './original-cell-limits.ts'

export type CgroupVersion = 'v1' | 'v2' | 'none'

const CONTROLLERS = ['cpu', 'memory', 'pids'] as const
type Controller = typeof CONTROLLERS[number]
/** Linux's longest path, and room kept in it for a group's control files (`/memory.soft_limit_in_bytes`). */
const PATH_MAX = 4096
const CONTROL_FILE_ROOM = 64

/** One node's subtree of cgroups (`aurae/<node>/<cell>` under each hierarchy). */
export class Cgroups {
  private constructor (
    readonly version: CgroupVersion,
    private readonly roots: Partial<Record<Controller, string>>,
    readonly reason: string,
    /** v1's cpuacct hierarchy when it is mounted apart from cpu (containers join it; executables do not). */
    private readonly cpuacct = '',
    /** v1's cpuset hierarchy (its mount point), where the original's cells have groups too; empty on v2 or without one. */
    private readonly cpusetMount = ''
  ) {}

  /** Finds the hierarchies from /proc/self/mounts and checks that this process may write them. */
  static detect (nodeKey: string, mounts = readFileSync('/proc/self/mounts', 'utf8')): Cgroups {
    const lines = mounts.split('\n').map(l => l.split(' '))
    const v2 = lines.find(f => f[2] === 'cgroup2')
    if (v2 !== undefined) {
      const have = safeRead(join(v2[1], 'cgroup.controllers')).split(/\s+/)
      if (CONTROLLERS.every(c => have.includes(c))) {
        const base = join(v2[1], 'aurae', nodeKey)
        return Cgroups.usable('v2', { cpu: base, memory: base, pids: base }, () => enableV2(v2[1], nodeKey))
      }
    }
    const roots: Partial<Record<Controller, string>> = {}
    for (const f of lines) {
      if (f[2] !== 'cgroup') continue
      const opts = (f[3] ?? '').split(',')
      for (const c of CONTROLLERS) if (opts.includes(c)) roots[c] = join(f[1], 'aurae', nodeKey)
    }
    const mountOf = (controller: string): string | undefined => lines.find(f => f[2] === 'cgroup' && (f[3] ?? '').split(',').includes(controller))?.[1]
    const cpuacct = mountOf('cpuacct')
    if (CONTROLLERS.every(c => roots[c] !== undefined)) return Cgroups.usable('v1', roots, () => {}, cpuacct === undefined ? '' : join(cpuacct, 'aurae', nodeKey), mountOf('cpuset') ?? '')
    // `ip netns exec` mounts a /sys of its own, without the hierarchies: nothing of them is left to see.
    if (!lines.some(f => f[2] === 'cgroup' || f[2] === 'cgroup2')) {
      return new Cgroups('none', {}, 'no cgroup hierarchy is mounted in this process\'s view of /sys (`ip netns exec` mounts a /sys of its own without them): start auraed with nsenter --net=/run/netns/NAME instead')
    }
    return new Cgroups('none', {}, 'no cgroup hierarchy with the cpu, memory and pids controllers')
  }

  private static usable (version: CgroupVersion, roots: Partial<Record<Controller, string>>, prepare: () => void, cpuacct = '', cpuset = ''): Cgroups {
    try {
      for (const dir of new Set(Object.values(roots))) mkdirSync(dir, { recursive: true })
      prepare()
      return new Cgroups(version, roots, '', cpuacct, cpuset)
    } catch (err) {
      return new Cgroups('none', {}, `cgroups are not writable (${messageOf(err)}); run auraed as root`)
    }
  }

  /** Creates the cell's cgroups with its limits, replacing any left from before. */
  create (cell: string, limits: Limits): void {
    this.assertUsable()
    for (const dir of this.dirs(cell)) mkdirSync(dir, { recursive: true })
    const cpu = this.dir('cpu', cell)
    const mem = this.dir('memory', cell)
    const pids = this.dir('pids', cell)
    if (this.version === 'v2') {
      write(cpu, 'cpu.max', limits.cpus > 0 ? `${Math.round(limits.cpus * CPU_PERIOD_US)} ${CPU_PERIOD_US}` : `max ${CPU_PERIOD_US}`)
      write(mem, 'memory.max', limits.memoryBytes > 0 ? String(limits.memoryBytes) : 'max')
      if (existsSync(join(mem, 'memory.swap.max'))) write(mem, 'memory.swap.max', limits.memoryBytes > 0 ? '0' : 'max')
    } else {
      write(cpu, 'cpu.cfs_period_us', String(CPU_PERIOD_US))
      write(cpu, 'cpu.cfs_quota_us', limits.cpus > 0 ? String(Math.round(limits.cpus * CPU_PERIOD_US)) : '-1')
      const bytes = limits.memoryBytes > 0 ? String(limits.memoryBytes) : '-1'
      const memsw = existsSync(join(mem, 'memory.memsw.limit_in_bytes'))
      // memsw must never be below the plain limit, so the order depends on the direction.
      if (memsw && limits.memoryBytes === 0) write(mem, 'memory.memsw.limit_in_bytes', bytes)
      write(mem, 'memory.limit_in_bytes', bytes)
      if (memsw && limits.memoryBytes > 0) write(mem, 'memory.memsw.limit_in_bytes', bytes)
    }
    write(pids, 'pids.max', limits.pids > 0 ? String(limits.pids) : 'max')
  }

  /**
   * Makes a group nested in its parent's (`aurae.cells.v0/a/b`) in every hierarchy, v1's cpuset included (each new
   * cpuset group gets its parent's CPUs and memory nodes, which a task needs to join it), and writes `files` in order.
   * A value the kernel refuses is the caller's: nothing of the group is left, and the reason is said.
   */
  createNested (group: string, files: CgroupFile[]): void {
    if (this.version === 'none') throw new FailedPreconditionError(`cannot allocate a cell: ${this.reason}`)
    if (this.version === 'v1' && this.cpusetMount === '' && files.some(f => f.controller === 'cpuset')) throw new FailedPreconditionError('cannot set a cpuset: this host mounts no cpuset hierarchy')
    if (Math.max(...this.nestedDirs(group).map(d => d.length)) + CONTROL_FILE_ROOM >= PATH_MAX) throw new FailedPreconditionError('the cell\'s path is too long for a cgroup')
    const made: string[] = []
    try {
      for (const dir of this.nestedDirs(group)) makeDirs(dir, dir === this.cpusetDir(group), made)
      if (this.version === 'v2') enableNested(this.roots.cpu as string, group)
      for (const f of files) {
        // On v2 every controller's files are in the one group.
        const dir = f.controller === 'cpuset' ? this.cpusetDir(group) ?? this.dir('cpu', group) : this.dir(f.controller, group)
        try {
          writeFileSync(join(dir, f.file), f.value)
        } catch (err) {
          throw new FailedPreconditionError(`cannot set ${f.file} to ${f.value}: ${messageOf(err)}`)
        }
      }
    } catch (err) {
      for (const dir of made.reverse()) {
        try { rmdirSync(dir) } catch {}
      }
      throw err
    }
  }

  /** Removes the group wherever it is empty; what still holds a process or a group stays. Only ever rmdir. */
  removeEmpty (group: string): void {
    for (const dir of this.nestedDirs(group)) {
      try { rmdirSync(dir) } catch {}
    }
  }

  /** Whether the group is there in every hierarchy it belongs in. */
  hasGroup (group: string): boolean {
    return this.version !== 'none' && this.nestedDirs(group).every(d => existsSync(d))
  }

  /** The cgroup.procs files a process writes its PID into to join the cell. */
  procsFiles (cell: string): string[] {
    if (this.version === 'none') return []
    return this.dirs(cell).map(d => join(d, 'cgroup.procs'))
  }

  /** PIDs in the cell now. */
  pids (cell: string): number[] {
    if (this.version === 'none') return []
    return safeRead(join(this.dir('pids', cell), 'cgroup.procs')).split('\n').filter(Boolean).map(Number)
  }

  /** How many times the kernel's OOM killer has struck in the cell. */
  oomKills (cell: string): number {
    if (this.version === 'none') return 0
    const file = this.version === 'v2' ? 'memory.events' : 'memory.oom_control'
    const m = /^oom_kill (\d+)$/m.exec(safeRead(join(this.dir('memory', cell), file)))
    return m === null ? 0 : Number(m[1])
  }

  /** What the cell uses now, for `aurae stats`: CPU time so far, memory without the reclaimable page cache, processes. */
  usage (cell: string): CellUsage {
    if (this.version === 'none') return { cpuNs: 0, memoryBytes: 0, memoryLimitBytes: 0, pids: 0 }
    const mem = this.dir('memory', cell)
    const pids = Number(safeRead(join(this.dir('pids', cell), 'pids.current')).trim()) || 0
    const stat = safeRead(join(mem, 'memory.stat'))
    const field = (name: string): number => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(stat)?.[1] ?? 0)
    if (this.version === 'v2') {
      const usec = Number(/^usage_usec (\d+)$/m.exec(safeRead(join(this.dir('cpu', cell), 'cpu.stat')))?.[1] ?? 0)
      const max = safeRead(join(mem, 'memory.max')).trim()
      const current = Number(safeRead(join(mem, 'memory.current')).trim()) || 0
      return { cpuNs: usec * 1000, memoryBytes: Math.max(0, current - field('inactive_file')), memoryLimitBytes: /^\d+$/.test(max) ? Number(max) : 0, pids }
    }
    const acct = [join(this.dir('cpu', cell), 'cpuacct.usage'), ...(this.cpuacct === '' ? [] : [join(this.cpuacct, cell, 'cpuacct.usage')])]
      .map(f => safeRead(f).trim()).find(t => t !== '')
    const limit = Number(safeRead(join(mem, 'memory.limit_in_bytes')).trim()) || 0
    const current = Number(safeRead(join(mem, 'memory.usage_in_bytes')).trim()) || 0
    return {
      cpuNs: acct !== undefined ? Number(acct) : processCpuNs(this.pids(cell)),
      memoryBytes: Math.max(0, current - field('total_inactive_file')),
      // v1 says "unlimited" with the largest page-aligned number it has.
      memoryLimitBytes: limit >= 2 ** 62 ? 0 : limit,
      pids
    }
  }

  /** Kills every process in the cell until none is left (forks racing the kill included). */
  async killAll (cell: string): Promise<void> {
    for (let i = 0; i < 100; i++) {
      const pids = this.pids(cell)
      if (pids.length === 0) return
      for (const pid of pids) {
        try { process.kill(pid, 'SIGKILL') } catch {}
      }
      await sleep(i < 10 ? 5 : 50)
    }
    throw new InternalError(`processes in cell ${cell} survived SIGKILL`)
  }

  /** Kills what is left in the cell and removes its cgroups. */
  async remove (cell: string): Promise<void> {
    if (this.version === 'none') return
    await this.killAll(cell)
    for (const dir of this.dirs(cell)) {
      for (let i = 0; ; i++) {
        try {
          rmdirSync(dir)
          break
        } catch (err: any) {
          if (err.code === 'ENOENT') break
          if (err.code !== 'EBUSY' || i >= 50) throw new InternalError(`cannot remove cgroup ${dir}: ${err.message}`)
          await sleep(10)
        }
      }
    }
  }

  private assertUsable (): void {
    if (this.version === 'none') throw new InternalError(`cannot create a cell: ${this.reason}`)
  }

  private dir (c: Controller, cell: string): string {
    return join(this.roots[c] as string, cell)
  }

  /** The cell's groups: cpu, memory and pids, and v1's cpuset where the cell has a group there (the original's cells). */
  private dirs (cell: string): string[] {
    const cpuset = this.cpusetDir(cell)
    return this.nestedDirs(cell).filter(d => d !== cpuset || existsSync(d))
  }

  /** A nested group's folders in every hierarchy, v1's cpuset included. */
  private nestedDirs (group: string): string[] {
    const cpuset = this.cpusetDir(group)
    return [...new Set([...CONTROLLERS.map(c => this.dir(c, group)), ...cpuset === undefined ? [] : [cpuset]])]
  }

  /** A group's folder in v1's cpuset hierarchy (under `aurae/<node>`, as in the others); none on v2 or without one. */
  private cpusetDir (group: string): string | undefined {
    if (this.cpusetMount === '') return undefined
    const root = this.roots.cpu as string
    return join(this.cpusetMount, relative(dirname(dirname(root)), root), group)
  }
}

/**
 * Makes `dir` and the folders above it that are missing, noting each in `made` (the outermost first) as it is made;
 * with `cpuset`, each one made (or found without them) gets its parent's CPUs and memory nodes.
 */
function makeDirs (dir: string, cpuset: boolean, made: string[]): void {
  const missing: string[] = []
  for (let d = dir; !existsSync(d); d = dirname(d)) missing.unshift(d)
  for (const d of missing) {
    try {
      mkdirSync(d)
      made.push(d)
    } catch (err) {
      throw new InternalError(`cannot make cgroup ${d}: ${messageOf(err)}`)
    }
  }
  if (cpuset) {
    const chain: string[] = []
    for (let d = dir; safeRead(join(d, 'cpuset.cpus')).trim() === '' && existsSync(join(dirname(d), 'cpuset.cpus')); d = dirname(d)) chain.unshift(d)
    for (const d of chain) {
      for (const file of ['cpuset.cpus', 'cpuset.mems']) write(d, file, safeRead(join(dirname(d), file)).trim())
    }
  }
}

/** On v2, a group's controllers are its parent's to give: each folder from the node's down to the group's parent
 * passes them on (a folder that runs processes cannot, which the kernel says). */
function enableNested (nodeDir: string, group: string): void {
  const have = safeRead(join(nodeDir, 'cgroup.controllers')).split(/\s+/)
  const wanted = ['cpu', 'memory', 'pids', 'cpuset'].filter(c => have.includes(c)).map(c => `+${c}`).join(' ')
  const parts = group.split('/')
  for (let i = 0; i < parts.length; i++) {
    const dir = join(nodeDir, ...parts.slice(0, i))
    try {
      writeFileSync(join(dir, 'cgroup.subtree_control'), wanted)
    } catch (err) {
      throw new FailedPreconditionError(`cannot nest a cell in ${parts.slice(0, i).join('/') || 'the node'}: ${messageOf(err)}`)
    }
  }
}

/**
 * Removes the node's cgroup folders (`aurae/<node>` and its empty cells, in every hierarchy, those the OCI runtime made
 * included) once it is down; folders that still hold processes (workloads kept running) stay. Only ever rmdir.
 */
export function removeNodeCgroups (nodeKey: string, mounts = readFileSync('/proc/self/mounts', 'utf8')): void {
  for (const base of nodeFolders(nodeKey, mounts)) {
    let cells: string[]
    try {
      cells = readdirSync(base, { withFileTypes: true }).filter(d => d.isDirectory()).map(d => d.name)
    } catch {
      continue
    }
    for (const cell of cells) {
      try { rmdirSync(join(base, cell)) } catch {}
    }
    try { rmdirSync(base) } catch {}
  }
}

/**
 * Removes one empty cell's folder in every hierarchy (an OCI runtime makes one in each, not only cpu, memory and
 * pids), as the runtime's `delete` would, without starting it. Only ever rmdir; what cannot go stays for `down`.
 */
export function removeCellEverywhere (nodeKey: string, cell: string, mounts = readFileSync('/proc/self/mounts', 'utf8')): void {
  for (const base of nodeFolders(nodeKey, mounts)) {
    try { rmdirSync(join(base, cell)) } catch {}
  }
}

/** The node's folder (`aurae/<node>`) under every mounted cgroup hierarchy. */
function nodeFolders (nodeKey: string, mounts: string): string[] {
  return mounts.split('\n').map(l => l.split(' ')).filter(f => f[2] === 'cgroup' || f[2] === 'cgroup2').map(f => join(f[1], 'aurae', nodeKey))
}

/** A cell's resource use at one moment. */
export interface CellUsage {
  cpuNs: number
  memoryBytes: number
  memoryLimitBytes: number
  pids: number
}

/** CPU time of the processes alive now, where no cpuacct cgroup counts the cell's (user + system, from /proc). */
function processCpuNs (pids: number[]): number {
  const tickNs = 1e9 / 100
  let ticks = 0
  for (const pid of pids) {
    const fields = safeRead(`/proc/${pid}/stat`).replace(/^.*\) /s, '').split(' ')
    ticks += (Number(fields[11]) || 0) + (Number(fields[12]) || 0)
  }
  return ticks * tickNs
}

function enableV2 (mount: string, nodeKey: string): void {
  for (const dir of [mount, join(mount, 'aurae'), join(mount, 'aurae', nodeKey)]) {
    write(dir, 'cgroup.subtree_control', '+cpu +memory +pids')
  }
}

function write (dir: string, file: string, value: string): void {
  try {
    writeFileSync(join(dir, file), value)
  } catch (err) {
    throw new InternalError(`cannot set ${file} to ${value} in ${dir}: ${messageOf(err)}`)
  }
}

function safeRead (path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return ''
  }
}
