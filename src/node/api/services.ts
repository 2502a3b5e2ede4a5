// Every service the node serves, with its handlers: the daemon registers these, and authz's spec checks that each
// method declares who may call it, from this same list.
import type { ServiceDefinition } from '@grpc/grpc-js'
import { CellServiceService as OriginalCellService } from '../../gen/aurae/cells/v0/cells.ts'
import { DiscoveryServiceService } from '../../gen/aurae/discovery/v0/discovery.ts'
import { HealthService } from '../../gen/grpc/health/v1/health.ts'
import { ObserveServiceService as OriginalObserveService } from '../../gen/aurae/observe/v0/observe.ts'
import { CellServiceService } from '../../gen/aurae/workloads/v0/cells.ts'
import { ImageServiceService } from '../../gen/aurae/images/v0/images.ts'
import { MeshServiceService } from '../../gen/aurae/mesh/v0/mesh.ts'
import { NodeServiceService } from '../../gen/aurae/node/v0/node.ts'
import { VmServiceService } from '../../gen/aurae/vms/v0/vms.ts'
import type { Mesh } from '../../mesh/mesh.ts'
import type { Cells } from '../../runtime/cells.ts'
import type { EventLog } from '../../runtime/events.ts'
import type { Images } from '../../runtime/image/images.ts'
import type { Supervisor } from '../../runtime/supervisor.ts'
import type { Machines } from '../../runtime/vm/machines.ts'
import { cellHandlers } from './cells.ts'
import { discoveryHandlers, healthHandlers } from './health.ts'
import { originalCellHandlers } from './original-cells.ts'
import { originalObserveHandlers } from './original-observe.ts'
import { imageHandlers } from './images.ts'
import { ObserveService } from './log-response.ts'
import { meshHandlers } from './mesh.ts'
import { nodeHandlers, type NodeControl } from './node.ts'
import { observeHandlers, type DaemonLogSource } from './observe.ts'
import { WorkloadService } from './run-response.ts'
import type { Handlers } from './serve.ts'
import { vmHandlers } from './vms.ts'
import { workloadHandlers } from './workloads.ts'

/** What the handlers reach, each looked up when a call arrives (a node serves some calls before `up`). */
export interface ServiceDeps {
  daemon: NodeControl
  supervisor: () => Supervisor
  cells: () => Cells
  machines: () => Machines
  images: () => Images
  mesh: () => Mesh
  ownDomain: () => string
  ownName: () => string
  log: DaemonLogSource
  events: () => EventLog
}

/** One service: the name its methods go by in authorization (`name.Method`), its definition, its handlers. */
export interface ServiceEntry<D = any> {
  name: string
  definition: D & ServiceDefinition
  handlers: Handlers<D>
}

function entry<D> (name: string, definition: D & ServiceDefinition, handlers: Handlers<D>): ServiceEntry<D> {
  return { name, definition, handlers }
}

/** A service's full name (`aurae.vms.v0.VmService`), from the path of one of its methods. */
function fullName (definition: ServiceDefinition): string {
  const path = Object.values(definition)[0]?.path ?? ''
  return path.slice(1, path.lastIndexOf('/'))
}

export function services (d: ServiceDeps): ServiceEntry[] {
  const all: ServiceEntry[] = [
    entry('node', NodeServiceService, nodeHandlers(d.daemon)),
    entry('workloads', WorkloadService, workloadHandlers(d.supervisor, d.ownName)),
    entry('cells', CellServiceService, cellHandlers(d.cells, d.supervisor)),
    entry('observe', ObserveService, observeHandlers(d.supervisor, d.log, d.events)),
    entry('images', ImageServiceService, imageHandlers(d.images, d.supervisor)),
    entry('mesh', MeshServiceService, meshHandlers(d.mesh, d.ownDomain)),
    entry('vms', VmServiceService, vmHandlers(d.machines)),
    entry('discovery', DiscoveryServiceService, discoveryHandlers(d.daemon)),
    entry('original-cells', OriginalCellService, originalCellHandlers(d.cells)),
    entry('original-observe', OriginalObserveService, originalObserveHandlers(d.supervisor, d.log)),
    entry('health', HealthService, healthHandlers(d.daemon, () => all.map(e => fullName(e.definition))))
  ]
  return all
}
