// Allocated cells: named cgroups with limits that several executables can share.
import type { Component } from '../lifecycle.ts'
import { AlreadyExistsError, FailedPreconditionError, InvalidArgumentError, NotFoundError } from '../errors.ts'
import type { Table } from '../store/store.ts'
import { cellGroup, type CellRecord } from './cell.ts'
import type { Cgroups } from './cgroups.ts'
import type { Limits } from './limits.ts'
import type { OriginalCellRecord } from './original-cell.ts'
import { OriginalCells } from './original-cells.ts'
import type { Supervisor } from './supervisor.ts'

/** What boots and removes the VM of a cell with `isolation: 'vm'` (a nested node; node/nested-nodes.ts). */
export interface CellVms {
  start: (name: string, limits: Limits) => Promise<unknown>
  remove: (name: string) => Promise<void>
}

export class Cells implements Component {
  private readonly cells = new Map<string, CellRecord>()
  /** The original Aurae's cells (aurae.cells.v0), on the same cgroups and supervisor, in a table of their own. */
  readonly original: OriginalCells

  constructor (private readonly table: Table<CellRecord>, originalTable: Table<OriginalCellRecord>, private readonly cgroups: Cgroups, private readonly supervisor: () => Supervisor, private readonly vms?: CellVms) {
    this.original = new OriginalCells(originalTable, cgroups, supervisor)
  }

  async start (): Promise<void> {
    for (const cell of await this.table.values()) this.cells.set(cell.name, cell)
    await this.original.start()
  }

  /** Cells outlive the daemon (their cgroups hold the workloads it keeps): only the original's empty groups go. */
  async stop (): Promise<void> {
    await this.original.stop()
  }

  has (name: string): boolean {
    return this.cells.has(name)
  }

  get (name: string): CellRecord {
    const cell = this.cells.get(name)
    if (cell === undefined) throw new NotFoundError(`no cell named ${name}`)
    return cell
  }

  async allocate (name: string, limits: Limits, isolation: '' | 'vm' = ''): Promise<CellRecord> {
    if (this.cells.has(name)) throw new AlreadyExistsError(`a cell named ${name} already exists`)
    if (isolation === 'vm') {
      if (this.vms === undefined) throw new FailedPreconditionError('this node cannot run cells in VMs')
      // Recorded once its VM answers: a cell whose VM never came up is not left behind.
      await this.vms.start(name, limits)
    } else {
      this.cgroups.create(cellGroup(name), limits)
    }
    const cell: CellRecord = { name, limits, createdAt: Date.now(), ...(isolation === 'vm' ? { isolation } : {}) }
    this.cells.set(name, cell)
    await this.table.put(name, cell)
    return cell
  }

  /** Refuses to run a workload here in a cell not allocated, or in a cell that is a VM (its nested node runs them). */
  assertHere (name: string): void {
    const cell = this.cells.get(name)
    if (cell === undefined) throw new FailedPreconditionError(`cell ${name} is not allocated`)
    if (cell.isolation === 'vm') throw new InvalidArgumentError(`cell ${name} is a VM of its own (isolation vm): run its workloads on it, as NAME@${name}`)
  }

  /** Names of the executables placed in the cell, ended ones included. */
  members (name: string): string[] {
    return this.supervisor().list(true).filter(w => w.spec.cell === name).map(w => w.spec.name)
  }

  async free (name: string, force: boolean): Promise<void> {
    if (this.get(name).isolation === 'vm') {
      await this.vms?.remove(name)
      this.cells.delete(name)
      await this.table.del(name)
      return
    }
    const live = this.supervisor().list(false).filter(w => w.spec.cell === name)
    if (live.length > 0 && !force) {
      throw new FailedPreconditionError(`cell ${name} still runs ${live.map(w => w.spec.name).join(', ')}; stop them first or free with force`)
    }
    await Promise.all(live.map(async w => await this.supervisor().stopWorkload(w.spec.name, 0)))
    await this.cgroups.remove(cellGroup(name))
    this.cells.delete(name)
    await this.table.del(name)
  }

  list (): CellRecord[] {
    return [...this.cells.values()].sort((a, b) => a.createdAt - b.createdAt)
  }
}
