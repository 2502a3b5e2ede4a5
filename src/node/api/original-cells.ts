// aurae.cells.v0.CellService, the original Aurae's, over this node's runtime (runtime/original-cells.ts): its
// messages checked here as the original checks them (FAILED_PRECONDITION, one line), its cells nested paths. The
// node's own, richer cell API is aurae.workloads.v0.CellService (cells.ts).
import type { Cell, CellGraphNode, CellServiceService } from '../../gen/aurae/cells/v0/cells.ts'
import { FailedPreconditionError } from '../../errors.ts'
import type { Cells } from '../../runtime/cells.ts'
import { assertExecutableName, parseCellName, type OriginalCellSpec } from '../../runtime/original-cell.ts'
import type { OriginalCellNode } from '../../runtime/original-cells.ts'
import type { Handlers } from './serve.ts'

/** A cell as Allocate takes it: controllers left out stay out, each field as given. */
function cellFromProto (cell: Cell | undefined): OriginalCellSpec {
  if (cell === undefined) throw new FailedPreconditionError('cell is required')
  const { cpu, cpuset, memory } = cell
  return {
    name: parseCellName(cell.name),
    ...cpu !== undefined ? { cpu: defined({ weight: cpu.weight, max: cpu.max, period: cpu.period }) } : {},
    ...cpuset !== undefined ? { cpuset: defined({ cpus: cpuset.cpus, mems: cpuset.mems }) } : {},
    ...memory !== undefined ? { memory: defined({ min: memory.min, low: memory.low, high: memory.high, max: memory.max }) } : {},
    isolateProcess: cell.isolateProcess,
    isolateNetwork: cell.isolateNetwork
  }
}

/** The fields that are set (the store keeps no `undefined`). */
function defined<T extends object> (o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T
}

function nodeToProto ({ cell, children }: OriginalCellNode): CellGraphNode {
  return {
    cell: { name: cell.name, cpu: cell.cpu, cpuset: cell.cpuset, memory: cell.memory, isolateProcess: cell.isolateProcess, isolateNetwork: cell.isolateNetwork },
    children: children.map(nodeToProto)
  }
}

/** The cell a Start or Stop names: required here (this node runs the original's executables in cells only). */
function cellNameOf (name: string | undefined): string {
  if (name === undefined || name === '') throw new FailedPreconditionError('cell_name is required: executables run in a cell')
  return parseCellName(name)
}

export function originalCellHandlers (cells: () => Cells): Handlers<typeof CellServiceService> {
  const original = (): Cells['original'] => cells().original
  return {
    allocate: {
      access: 'peers',
      unary: async req => {
        const cell = await original().allocate(cellFromProto(req.cell))
        return { cellName: cell.name, cgroupV2: original().cgroupV2 }
      }
    },
    free: {
      access: 'peers',
      unary: async req => {
        await original().free(parseCellName(req.cellName))
        return {}
      }
    },
    start: {
      access: 'peers',
      unary: async req => {
        const cell = cellNameOf(req.cellName)
        const exe = req.executable
        if (exe === undefined) throw new FailedPreconditionError('executable is required')
        assertExecutableName(exe.name)
        if (exe.command.trim() === '') throw new FailedPreconditionError('executable command is required')
        if (exe.command.includes('\0')) throw new FailedPreconditionError('executable command contains a NUL byte')
        const uid = req.uid ?? process.getuid?.() ?? 0
        const gid = req.gid ?? process.getgid?.() ?? 0
        const { pid } = await original().run({ cell, executable: exe.name, command: exe.command, uid, gid })
        return { pid, uid, gid }
      }
    },
    stop: {
      access: 'peers',
      unary: async req => {
        await original().stopExecutable(cellNameOf(req.cellName), assertExecutableName(req.executableName))
        return {}
      }
    },
    list: {
      access: 'peers',
      unary: async () => ({ cells: original().list().map(nodeToProto) })
    }
  }
}
