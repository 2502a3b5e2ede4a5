// The one error taxonomy: a closed set of codes, one class per code. grpc-status.ts maps each code to a gRPC status
// and back (so a client of the SDK gets the same classes the node threw), and cli/kit/exit.ts maps each to an exit code.

/** Every kind of failure the node reports. Adding one makes the compiler ask for its status and exit code. */
export type ErrorCode =
  | 'invalid-argument'
  | 'not-found'
  | 'already-exists'
  | 'failed-precondition'
  | 'permission-denied'
  | 'peer-unreachable'
  | 'resource-exhausted'
  | 'cancelled'
  | 'internal'
  | 'unimplemented'
  | 'daemon-unreachable'

/** A failure of a known kind. Anything else thrown is a bug, reported as internal. */
export abstract class AuraeError extends Error {
  abstract readonly code: ErrorCode
}

/** Input that can never be valid: a bad name, a malformed limit. */
export class InvalidArgumentError extends AuraeError {
  override name = 'InvalidArgumentError'
  readonly code = 'invalid-argument'
}

/** The thing asked for does not exist. */
export class NotFoundError extends AuraeError {
  override name = 'NotFoundError'
  readonly code = 'not-found'
}

/** The name asked for is already taken. */
export class AlreadyExistsError extends AuraeError {
  override name = 'AlreadyExistsError'
  readonly code = 'already-exists'
}

/** The request is valid but not in the current state (node uninitialized, workload running). */
export class FailedPreconditionError extends AuraeError {
  override name = 'FailedPreconditionError'
  readonly code = 'failed-precondition'
}

/** The caller may not do this. */
export class PermissionDeniedError extends AuraeError {
  override name = 'PermissionDeniedError'
  readonly code = 'permission-denied'
}

/** A peer could not be reached in time. */
export class PeerUnreachableError extends AuraeError {
  override name = 'PeerUnreachableError'
  readonly code = 'peer-unreachable'
}

/** The node ran out of something it needs: disk space, a quota. */
export class ResourceExhaustedError extends AuraeError {
  override name = 'ResourceExhaustedError'
  readonly code = 'resource-exhausted'
}

/** The caller went away, or gave up, before the work was done. */
export class CancelledError extends AuraeError {
  override name = 'CancelledError'
  readonly code = 'cancelled'
}

/** The daemon could not do what it should have been able to (a cgroup write failed). */
export class InternalError extends AuraeError {
  override name = 'InternalError'
  readonly code = 'internal'
}

/** A method the node has, but does not do here (what it would need, the message says). */
export class UnimplementedError extends AuraeError {
  override name = 'UnimplementedError'
  readonly code = 'unimplemented'
}

/** A client found no daemon answering on the socket it was given; `socket` says which. */
export class DaemonUnreachableError extends AuraeError {
  override name = 'DaemonUnreachableError'
  readonly code = 'daemon-unreachable'
  constructor (message: string, readonly socket = '') {
    super(message)
  }
}

/** A full disk (ENOSPC, EDQUOT; LevelDB says so only in its message) said as `no space left on <path>`; any other failure as it was. */
export function noSpaceOn (err: unknown, path: string): unknown {
  const code = (err as { code?: unknown } | null)?.code
  const full = code === 'ENOSPC' || code === 'EDQUOT' || /No space left on device|Disk quota exceeded/.test(messageOf(err))
  return full ? new ResourceExhaustedError(`no space left on ${path}`) : err
}

/** The message of any thrown value, for one-line reports. */
export function messageOf (err: unknown): string {
  if (err instanceof Error) return err.message
  // Some libraries reject with an event (WebRTC's error events): its error or its type says more than [object Event].
  if (typeof err === 'object' && err !== null) {
    const { error, message, type } = err as { error?: unknown, message?: unknown, type?: unknown }
    if (error instanceof Error) return error.message
    if (typeof message === 'string') return message
    if (typeof type === 'string') return `${type} event`
  }
  return String(err)
}
