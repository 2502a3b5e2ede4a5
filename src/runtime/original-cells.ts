// The original Aurae's cells, on this node's runtime: a nested cgroup each, kept in the store, and executables that
// are workloads of the one supervisor (monitored, logged, out of daemon space, kept across daemon restarts).
import { setTimeout as sleep } from 'node:timers/promises'
import { AlreadyExistsError, NotFoundError } from '../errors.ts'
import type { Component } from '../lifecycle.ts'
import type { Table } from '../store/store.ts'
import type { Cgroups } from './cgroups.ts'
import { NameLock } from './name-lock.ts'
import { cgroupFiles, validateLimits } from './original-cell-limits.ts'
import { ORIGINAL_ROOT, executablePid, originalGroup, parentOf, workloadNameOf, type OriginalCellRecord, type OriginalCellSpec } from './original-cell.ts'
import { StartError, type Supervisor } from './supervisor.ts'
import type { WorkloadRecord } from './workload.ts'

/** How long a Start waits for an isolated executable's process to be forked (it is there within milliseconds). */
const FORK_WAIT_MS = 5_000

/** A cell and the cells nested in it, as List gives them. */
export interface OriginalCellNode {
  cell: OriginalCellRecord
  children: OriginalCellNode[]
}

/** What Start asks for, checked: the cell, the executable's name and shell command, who it runs as. */
export interface OriginalStart {
  cell: string
  executable: string
  command: string
  uid: number
  gid: number
}

export class OriginalCells implements Component {
  private readonly cells = new Map<string, OriginalCellRecord>()
  /** One queue per top-level cell: a Free of `a` and an Allocate or Start in `a/b` never cross. */
  private readonly locks = new NameLock()

  constructor (private readonly table: Table<OriginalCellRecord>, private readonly cgroups: Cgroups, private readonly supervisor: () => Supervisor) {}

  /** Loads the cells, and makes again the groups a stop removed (those that were empty), parents first. */
  async start (): Promise<void> {
    for (const cell of await this.table.values()) this.cells.set(cell.name, cell)
    for (const cell of this.byDepth()) {
      const group = originalGroup(cell.name)
      if (this.cgroups.version === 'none' || this.cgroups.hasGroup(group)) continue
      // One that cannot be made again (the host changed) says so when an executable is started in it.
      try { this.cgroups.createNested(group, cgroupFiles(cell, this.cgroups.version)) } catch {}
    }
  }

  /** The cells outlive the daemon in the store; their empty groups go with it, as the node's own (cgroups.ts). */
  async stop (): Promise<void> {
    for (const cell of this.byDepth().reverse()) this.cgroups.removeEmpty(originalGroup(cell.name))
    this.cgroups.removeEmpty(ORIGINAL_ROOT)
  }

  get cgroupV2 (): boolean {
    return this.cgroups.version === 'v2'
  }

  async allocate (spec: OriginalCellSpec): Promise<OriginalCellRecord> {
    validateLimits(spec)
    const files = cgroupFiles(spec, this.cgroups.version === 'v2' ? 'v2' : 'v1')
    return await this.locked(spec.name, async () => {
      if (this.cells.has(spec.name)) throw new AlreadyExistsError(`a cell named ${spec.name} already exists`)
      const parent = parentOf(spec.name)
      if (parent !== '' && !this.cells.has(parent)) throw new NotFoundError(`no cell named ${parent}, which ${spec.name} would be nested in`)
      const group = originalGroup(spec.name)
      this.cgroups.createNested(group, files)
      const cell: OriginalCellRecord = { ...spec, createdAt: Date.now() }
      this.cells.set(cell.name, cell)
      try {
        await this.table.put(cell.name, cell)
      } catch (err) {
        this.cells.delete(cell.name)
        this.cgroups.removeEmpty(group)
        throw err
      }
      return cell
    })
  }

  /** Kills what runs in the cell and in the cells nested in it, and removes them all: groups, records, workloads. */
  async free (name: string): Promise<void> {
    await this.locked(name, async () => {
      this.get(name)
      const doomed = this.byDepth().filter(c => c.name === name || c.name.startsWith(`${name}/`)).reverse()
      for (const cell of doomed) {
        await Promise.all(this.executables(cell.name).map(async w => await this.supervisor().remove(w.spec.name, true)))
        await this.cgroups.remove(originalGroup(cell.name))
        this.cells.delete(cell.name)
        await this.table.del(cell.name)
      }
      if (this.cells.size === 0) this.cgroups.removeEmpty(ORIGINAL_ROOT)
    })
  }

  /** Starts `sh -c COMMAND` in the cell; resolves with the PID of its process, as the host sees it. */
  async run (req: OriginalStart): Promise<{ pid: number }> {
    return await this.locked(req.cell, async () => {
      const cell = this.get(req.cell)
      if (this.find(req.cell, req.executable) !== undefined) throw new AlreadyExistsError(`cell ${req.cell} already has an executable named ${req.executable}`)
      const name = workloadNameOf(req.cell, req.executable)
      const original = { cell: req.cell, executable: req.executable, uid: req.uid, gid: req.gid, isolateProcess: cell.isolateProcess, isolateNetwork: cell.isolateNetwork }
      // The PID it started with, taken as the supervisor says it started: a command that ends at once (echo) may
      // have ended, its record's PID cleared, by the time run() returns.
      let started = 0
      const onChange = (w: WorkloadRecord): void => { if (w.spec.name === name && w.pid !== 0) started = w.pid }
      const supervisor = this.supervisor()
      supervisor.on('change', onChange)
      let rec: WorkloadRecord
      try {
        rec = await supervisor.run({ kind: 'executable', name, command: ['/bin/sh', '-c', req.command], env: {}, workdir: '/', limits: { cpus: 0, memoryBytes: 0, pids: 0 }, restart: 'no', cell: '', original })
      } catch (err) {
        // An executable that could not start is not kept: the original knows only those that run.
        if (err instanceof StartError) await supervisor.remove(name, true).catch(() => {})
        throw err
      } finally {
        supervisor.off('change', onChange)
      }
      return { pid: await this.pidOf(rec, started) }
    })
  }

  /** Kills the executable and forgets it: its workload, record and logs. */
  async stopExecutable (cell: string, executable: string): Promise<void> {
    await this.locked(cell, async () => {
      this.get(cell)
      const rec = this.find(cell, executable)
      if (rec === undefined) throw new NotFoundError(`cell ${cell} has no executable named ${executable}`)
      await this.supervisor().remove(rec.spec.name, true)
    })
  }

  /** Every cell, the top-level ones in the order they were allocated, each with those nested in it. */
  list (): OriginalCellNode[] {
    const nodes = new Map<string, OriginalCellNode>()
    const top: OriginalCellNode[] = []
    for (const cell of this.byDepth()) {
      const node = { cell, children: [] }
      nodes.set(cell.name, node)
      const parent = nodes.get(parentOf(cell.name))
      if (parent !== undefined) parent.children.push(node)
      else top.push(node)
    }
    return top
  }

  private get (name: string): OriginalCellRecord {
    const cell = this.cells.get(name)
    if (cell === undefined) throw new NotFoundError(`no cell named ${name}`)
    return cell
  }

  /** The cell's executables, ended ones included (they are known until stopped). */
  private executables (cell: string): WorkloadRecord[] {
    return this.supervisor().list(true).filter(w => w.spec.kind === 'executable' && w.spec.original?.cell === cell)
  }

  private find (cell: string, executable: string): WorkloadRecord | undefined {
    return this.executables(cell).find(w => w.spec.kind === 'executable' && w.spec.original?.executable === executable)
  }

  /** The executable's own process, `started` being the one its monitor started: in a pid namespace of its own, the
   * one unshare forks (`started` itself if it has ended first or is not there in time). */
  private async pidOf (rec: WorkloadRecord, started: number): Promise<number> {
    const deadline = Date.now() + FORK_WAIT_MS
    for (;;) {
      const pid = executablePid(rec.spec, started)
      if (pid !== 0 || rec.state !== 'running' || Date.now() > deadline) return pid !== 0 ? pid : started
      await sleep(2)
    }
  }

  /** Cells, parents before the cells nested in them, each level in the order allocated. */
  private byDepth (): OriginalCellRecord[] {
    const depth = (c: OriginalCellRecord): number => c.name.split('/').length
    return [...this.cells.values()].sort((a, b) => depth(a) - depth(b) || a.createdAt - b.createdAt)
  }

  /** Runs `fn` after every earlier change to the cells of the same top-level cell. */
  private async locked<T> (cell: string, fn: () => Promise<T>): Promise<T> {
    return await this.locks.run(cell.split('/')[0], fn)
  }
}
