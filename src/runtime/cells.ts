// Allocated cells: named cgroups with limits that several executables can share.
import type { Component } from '../lifecycle.ts'
import { AlreadyExistsError, FailedPreconditionError, NotFoundError } from '../errors.ts'
import type { Table } from '../store/store.ts'
import { cellGroup, type CellRecord } from './cell.ts'
import type { Cgroups } from './cgroups.ts'
import type { Limits } from './limits.ts'
import type { Supervisor } from './supervisor.ts'

export class Cells implements Component {
  private readonly cells = new Map<string, CellRecord>()

  constructor (private readonly table: Table<CellRecord>, private readonly cgroups: Cgroups, private readonly supervisor: () => Supervisor) {}

  async start (): Promise<void> {
    for (const cell of await this.table.values()) this.cells.set(cell.name, cell)
  }

  /** Cells outlive the daemon (their cgroups hold the workloads it keeps): nothing to stop. */
  async stop (): Promise<void> {}

  has (name: string): boolean {
    return this.cells.has(name)
  }

  get (name: string): CellRecord {
    const cell = this.cells.get(name)
    if (cell === undefined) throw new NotFoundError(`no cell named ${name}`)
    return cell
  }

  async allocate (name: string, limits: Limits): Promise<CellRecord> {
    if (this.cells.has(name)) throw new AlreadyExistsError(`a cell named ${name} already exists`)
    this.cgroups.create(cellGroup(name), limits)
    const cell = { name, limits, createdAt: Date.now() }
    this.cells.set(name, cell)
    await this.table.put(name, cell)
    return cell
  }

  /** Names of the executables placed in the cell, ended ones included. */
  members (name: string): string[] {
    return this.supervisor().list(true).filter(w => w.spec.cell === name).map(w => w.spec.name)
  }

  async free (name: string, force: boolean): Promise<void> {
    this.get(name)
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
