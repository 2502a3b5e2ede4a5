// The Aurae client SDK: what every client of a node (the CLI, scripts, dashboards) uses to drive it. Calls are
// typed by proto/, server streams are async iterables, an AbortSignal cancels a call, and failures are the
// classes of errors.ts. No terminal I/O, no process exit, no environment: the caller passes what it means.
export { connect, ForeignSocketError, type AuraeClient, type CellsClient, type ConnectOptions, type ImagesClient, type MeshClient, type NodeClient, type ObserveClient, type WorkloadsClient } from './connect.ts'
export type { CallOptions } from './channel.ts'
export type * from './messages.ts'
export {
  AlreadyExistsError, AuraeError, CancelledError, DaemonUnreachableError, FailedPreconditionError, InternalError, InvalidArgumentError,
  NotFoundError, PeerUnreachableError, PermissionDeniedError, ResourceExhaustedError, type ErrorCode
} from '../errors.ts'
