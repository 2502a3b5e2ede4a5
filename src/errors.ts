// Typed errors shared by every module; grpc-status.ts and cli/exit.ts map them once each.

/** Input that can never be valid: a bad name, a malformed limit. */
export class InvalidArgumentError extends Error {
  override name = 'InvalidArgumentError'
}

/** The thing asked for does not exist. */
export class NotFoundError extends Error {
  override name = 'NotFoundError'
}

/** The name asked for is already taken. */
export class AlreadyExistsError extends Error {
  override name = 'AlreadyExistsError'
}

/** The request is valid but not in the current state (node uninitialized, workload running). */
export class FailedPreconditionError extends Error {
  override name = 'FailedPreconditionError'
}

/** The caller may not do this. */
export class PermissionDeniedError extends Error {
  override name = 'PermissionDeniedError'
}

/** A peer could not be reached in time. */
export class PeerUnreachableError extends Error {
  override name = 'PeerUnreachableError'
}

/** A failure reported by another node, with the gRPC code it gave. */
export class RemoteError extends Error {
  override name = 'RemoteError'
  constructor (message: string, readonly code: number) {
    super(message)
  }
}

/** The node ran out of something it needs: disk space, a quota. */
export class ResourceExhaustedError extends Error {
  override name = 'ResourceExhaustedError'
}

/** A full disk (ENOSPC, EDQUOT; LevelDB says so only in its message) said as `no space left on <path>`; any other failure as it was. */
export function noSpaceOn (err: unknown, path: string): unknown {
  const code = (err as { code?: unknown } | null)?.code
  const full = code === 'ENOSPC' || code === 'EDQUOT' || /No space left on device|Disk quota exceeded/.test(messageOf(err))
  return full ? new ResourceExhaustedError(`no space left on ${path}`) : err
}

/** The daemon could not do what it should have been able to (a cgroup write failed). */
export class InternalError extends Error {
  override name = 'InternalError'
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
