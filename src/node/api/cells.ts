// CellService: allocate and free cells, and start and stop executables inside them.
import { CellServiceService } from '../../gen/aurae/workloads/v0/cells.ts'
import { InvalidArgumentError } from '../../errors.ts'
import { assertWorkloadName } from '../../names/parse.ts'
import type { Cells } from '../../runtime/cells.ts'
import type { Supervisor } from '../../runtime/supervisor.ts'
import { limitsFromProto, specFromProto, workloadToProto } from './convert.ts'
import { byName, type Handlers } from './serve.ts'
import { stopHandler } from './workloads.ts'

export function cellHandlers (cells: () => Cells, runtime: () => Supervisor): Handlers<typeof CellServiceService> {
  const toProto = (name: string): { name: string, limits: ReturnType<typeof limitsFromProto>, executables: string[], createdAtMs: number, isolation: string } => {
    const cell = cells().get(name)
    return { name: cell.name, limits: cell.limits, executables: cells().members(name), createdAtMs: cell.createdAt, isolation: cell.isolation ?? '' }
  }
  return {
    allocate: {
      access: 'peers',
      route: byName(),
      unary: async req => {
        if (req.isolation !== '' && req.isolation !== 'vm') throw new InvalidArgumentError(`invalid isolation "${req.isolation}": expected vm, or none for a cgroup`)
        const cell = await cells().allocate(assertWorkloadName(req.name), limitsFromProto(req.limits), req.isolation)
        return { cell: toProto(cell.name) }
      }
    },
    free: {
      access: 'peers',
      route: byName(),
      unary: async req => {
        await cells().free(assertWorkloadName(req.name), req.force)
        return {}
      }
    },
    start: {
      access: 'peers',
      route: { get: req => req.cellName, set: (req, cellName) => ({ ...req, cellName }) },
      unary: async req => {
        cells().get(assertWorkloadName(req.cellName))
        const spec = specFromProto({ name: req.name, executable: req.executable ?? { command: [], env: {}, workdir: '', volumes: [], tty: false, interactive: false }, limits: undefined, restart: req.restart, cell: req.cellName, container: undefined })
        return { workload: workloadToProto(await runtime().run(spec)) }
      }
    },
    stop: stopHandler(runtime),
    list: {
      access: 'peers',
      unary: async () => ({ cells: cells().list().map(c => toProto(c.name)) })
    }
  }
}
