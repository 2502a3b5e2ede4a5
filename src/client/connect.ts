// The SDK's entry point: a typed client for every service of a node, over one connection to its socket.
// Failures come back as the error taxonomy's classes (errors.ts); a socket nothing answers on is a
// DaemonUnreachableError, one that belongs to another user a ForeignSocketError.
import { statSync } from 'node:fs'
import { CellServiceService } from '../gen/aurae/cells/v0/cells.ts'
import { ImageServiceService } from '../gen/aurae/images/v0/images.ts'
import { MeshServiceService } from '../gen/aurae/mesh/v0/mesh.ts'
import { NodeServiceService } from '../gen/aurae/node/v0/node.ts'
import { ObserveServiceService } from '../gen/aurae/observe/v0/observe.ts'
import { WorkloadServiceService } from '../gen/aurae/workloads/v0/workloads.ts'
import { DaemonUnreachableError, PermissionDeniedError } from '../errors.ts'
import { fromStatus, status as Status } from '../grpc-status.ts'
import { Channel, type ServiceClient } from './channel.ts'
import type { GrpcError } from './grpc-error.ts'

export type NodeClient = ServiceClient<typeof NodeServiceService>
export type WorkloadsClient = ServiceClient<typeof WorkloadServiceService>
export type CellsClient = ServiceClient<typeof CellServiceService>
export type ObserveClient = ServiceClient<typeof ObserveServiceService>
export type MeshClient = ServiceClient<typeof MeshServiceService>
export type ImagesClient = ServiceClient<typeof ImageServiceService>

/** A node, as its clients see it: one typed client per service. */
export interface AuraeClient {
  /** The socket the client talks to. */
  readonly socket: string
  readonly node: NodeClient
  readonly workloads: WorkloadsClient
  readonly cells: CellsClient
  readonly observe: ObserveClient
  readonly mesh: MeshClient
  readonly images: ImagesClient
  /** Closes the connection (it opens again on the next call). */
  close: () => void
}

export interface ConnectOptions {
  /** The node's socket (`/run/aurae.sock` for the system's node). */
  socket: string
  /** The caller's uid, to refuse a socket that belongs to someone else; root may use any. Defaults to this process's. */
  uid?: number
}

/** The socket belongs to another user: a node is driven only by the user it runs as (or root). */
export class ForeignSocketError extends PermissionDeniedError {
  override name = 'ForeignSocketError'
  constructor (readonly socket: string, readonly owner: number, readonly uid: number) {
    super(`the socket ${socket} belongs to uid ${owner}, not you (uid ${uid})`)
  }
}

/** A client for the node at `options.socket`, after checking that the socket is there and the caller's; the
 * connection opens on the first call. */
export function connect (options: ConnectOptions): AuraeClient {
  const { socket } = options
  let st
  try {
    st = statSync(socket)
  } catch {
    throw notRunning(socket)
  }
  const uid = options.uid ?? process.getuid?.() ?? 0
  if (uid !== 0 && st.uid !== uid) throw new ForeignSocketError(socket, st.uid, uid)
  const channel = new Channel(socket, err => fromGrpc(err, socket))
  return {
    socket,
    node: channel.client(NodeServiceService),
    workloads: channel.client(WorkloadServiceService),
    cells: channel.client(CellServiceService),
    observe: channel.client(ObserveServiceService),
    mesh: channel.client(MeshServiceService),
    images: channel.client(ImageServiceService),
    close: () => channel.close()
  }
}

function notRunning (socket: string): DaemonUnreachableError {
  return new DaemonUnreachableError(`auraed is not running on ${socket}`, socket)
}

/** A gRPC failure as what it is: the socket could not be reached, or the daemon's failure as its class. */
export function fromGrpc (err: GrpcError, socket: string): Error {
  if (err.code === Status.UNAVAILABLE) {
    if (/EACCES|permission/i.test(err.details)) return new PermissionDeniedError(`permission denied on ${socket}: it belongs to another user`)
    return notRunning(socket)
  }
  return fromStatus(err.code, err.details === '' ? err.message : err.details)
}
