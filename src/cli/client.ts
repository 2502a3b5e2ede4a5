// The CLI's connection to its daemon: one HTTP/2 channel over the Unix socket, a client per service, and failures
// turned back into the error taxonomy's classes (a daemon that cannot be reached into a CliError of its own).
import { statSync } from 'node:fs'
import { CellServiceService } from '../gen/aurae/cells/v0/cells.ts'
import { ImageServiceService } from '../gen/aurae/images/v0/images.ts'
import { MeshServiceService } from '../gen/aurae/mesh/v0/mesh.ts'
import { NodeServiceService } from '../gen/aurae/node/v0/node.ts'
import { ObserveServiceService } from '../gen/aurae/observe/v0/observe.ts'
import { WorkloadServiceService } from '../gen/aurae/workloads/v0/workloads.ts'
import { fromStatus } from '../grpc-status.ts'
import { CliError, EXIT } from './exit.ts'
import { Channel, Status, type GrpcError, type ServiceClient } from './grpc.ts'

export interface Daemon {
  sock: string
  node: ServiceClient<typeof NodeServiceService>
  workloads: ServiceClient<typeof WorkloadServiceService>
  cells: ServiceClient<typeof CellServiceService>
  observe: ServiceClient<typeof ObserveServiceService>
  mesh: ServiceClient<typeof MeshServiceService>
  images: ServiceClient<typeof ImageServiceService>
}

/** Connects lazily to the daemon at `sock`, first checking that the socket is there and ours. */
export function connect (sock: string): Daemon {
  let st
  try {
    st = statSync(sock)
  } catch {
    throw notRunning(sock)
  }
  const uid = process.getuid?.() ?? 0
  if (uid !== 0 && st.uid !== uid) {
    throw new CliError(`the socket ${sock} belongs to uid ${st.uid}, not you (uid ${uid}); run as that user, or start your own node with --sock`, EXIT.failure)
  }
  const channel = new Channel(sock, err => fromGrpc(err, sock))
  return {
    sock,
    node: channel.client(NodeServiceService),
    workloads: channel.client(WorkloadServiceService),
    cells: channel.client(CellServiceService),
    observe: channel.client(ObserveServiceService),
    mesh: channel.client(MeshServiceService),
    images: channel.client(ImageServiceService)
  }
}

export function notRunning (sock: string): CliError {
  return new CliError(`auraed is not running on ${sock}; start it with: aurae up NAME[@DOMAIN]`, EXIT.unreachable)
}

/** A gRPC failure as what it is: the socket could not be reached, or the daemon's failure as its class. */
export function fromGrpc (err: GrpcError, sock: string): Error {
  if (err.code === Status.UNAVAILABLE) {
    if (/EACCES|permission/i.test(err.details)) return new CliError(`permission denied on ${sock}: it belongs to another user`, EXIT.failure)
    return notRunning(sock)
  }
  return fromStatus(err.code, err.details === '' ? err.message : err.details)
}
