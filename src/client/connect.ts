// The SDK's entry point: a typed client for every service of a node, over its frame socket when it serves one (as
// auraed does), else over one HTTP/2 connection to its gRPC socket.
// Failures come back as the error taxonomy's classes (errors.ts); a socket nothing answers on is a
// DaemonUnreachableError, one that belongs to another user a ForeignSocketError.
import { statSync } from 'node:fs'
import * as cells from '../gen/aurae/workloads/v0/cells.ts'
import * as images from '../gen/aurae/images/v0/images.ts'
import * as mesh from '../gen/aurae/mesh/v0/mesh.ts'
import * as node from '../gen/aurae/node/v0/node.ts'
import * as observe from '../gen/aurae/node/v0/observe.ts'
import * as workloads from '../gen/aurae/workloads/v0/workloads.ts'
import { frameSocketOf } from '../common/call-frames.ts'
import { DaemonUnreachableError, PermissionDeniedError } from '../errors.ts'
import { fromStatus, status as Status } from '../grpc-status.ts'
import { Channel, type RequestDefaults, type ServiceClient } from './channel.ts'
import type { GrpcError } from './grpc-error.ts'

export type NodeClient = ServiceClient<typeof node.NodeServiceService>
export type WorkloadsClient = ServiceClient<typeof workloads.WorkloadServiceService>
export type CellsClient = ServiceClient<typeof cells.CellServiceService>
export type ObserveClient = ServiceClient<typeof observe.ObserveServiceService>
export type MeshClient = ServiceClient<typeof mesh.MeshServiceService>
export type ImagesClient = ServiceClient<typeof images.ImageServiceService>

/** Each method's request message, to fill in what a caller left out; the types make the table complete. AuraeScript's
 * modules of the node's own services use the same tables. */
export const NODE: RequestDefaults<typeof node.NodeServiceService> = { status: node.NodeServiceStatusRequest, up: node.NodeServiceUpRequest, down: node.NodeServiceDownRequest }
export const WORKLOADS: RequestDefaults<typeof workloads.WorkloadServiceService> = {
  run: workloads.WorkloadServiceRunRequest,
  list: workloads.WorkloadServiceListRequest,
  stop: workloads.WorkloadServiceStopRequest,
  remove: workloads.WorkloadServiceRemoveRequest,
  signal: workloads.WorkloadServiceSignalRequest,
  stats: workloads.WorkloadServiceStatsRequest,
  start: workloads.WorkloadServiceStartRequest,
  restart: workloads.WorkloadServiceRestartRequest,
  inspect: workloads.WorkloadServiceInspectRequest,
  exec: workloads.WorkloadServiceExecRequest,
  execSession: workloads.WorkloadServiceExecInput,
  runSession: workloads.WorkloadServiceRunInput
}
export const CELLS: RequestDefaults<typeof cells.CellServiceService> = {
  allocate: cells.CellServiceAllocateRequest,
  free: cells.CellServiceFreeRequest,
  start: cells.CellServiceStartRequest,
  stop: cells.CellServiceStopRequest,
  list: cells.CellServiceListRequest
}
export const OBSERVE: RequestDefaults<typeof observe.ObserveServiceService> = {
  getWorkloadLogs: observe.ObserveServiceGetWorkloadLogsRequest,
  getDaemonLogs: observe.ObserveServiceGetDaemonLogsRequest,
  getEvents: observe.ObserveServiceGetEventsRequest
}
export const MESH: RequestDefaults<typeof mesh.MeshServiceService> = {
  token: mesh.MeshServiceTokenRequest,
  peer: mesh.MeshServicePeerRequest,
  peers: mesh.MeshServicePeersRequest,
  unpeer: mesh.MeshServiceUnpeerRequest,
  resolve: mesh.MeshServiceResolveRequest
}
export const IMAGES: RequestDefaults<typeof images.ImageServiceService> = {
  pull: images.ImageServicePullRequest,
  list: images.ImageServiceListRequest,
  remove: images.ImageServiceRemoveRequest,
  prune: images.ImageServicePruneRequest,
  login: images.ImageServiceLoginRequest,
  diskUsage: images.ImageServiceDiskUsageRequest
}

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
  const channel = new Channel(socket, err => fromGrpc(err, socket), { frameSock: frameSocketBeside(socket, st.uid) })
  return {
    socket,
    node: channel.client(node.NodeServiceService, NODE),
    workloads: channel.client(workloads.WorkloadServiceService, WORKLOADS),
    cells: channel.client(cells.CellServiceService, CELLS),
    observe: channel.client(observe.ObserveServiceService, OBSERVE),
    mesh: channel.client(mesh.MeshServiceService, MESH),
    images: channel.client(images.ImageServiceService, IMAGES),
    close: () => channel.close()
  }
}

/** The daemon's frame socket beside `socket`, when there is one and it belongs to the gRPC socket's owner. */
export function frameSocketBeside (socket: string, owner: number): string | undefined {
  const path = frameSocketOf(socket)
  const st = statSync(path, { throwIfNoEntry: false })
  return st?.isSocket() === true && st.uid === owner ? path : undefined
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
