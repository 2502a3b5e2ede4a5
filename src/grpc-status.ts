// The one mapping from typed errors to gRPC status codes.
import { status } from '@grpc/grpc-js'

const CODES: Record<string, status> = {
  InvalidArgumentError: status.INVALID_ARGUMENT,
  NotFoundError: status.NOT_FOUND,
  AlreadyExistsError: status.ALREADY_EXISTS,
  FailedPreconditionError: status.FAILED_PRECONDITION,
  PermissionDeniedError: status.PERMISSION_DENIED,
  StartError: status.FAILED_PRECONDITION,
  PeerUnreachableError: status.FAILED_PRECONDITION,
  ResourceExhaustedError: status.RESOURCE_EXHAUSTED,
  AbortError: status.CANCELLED
}

/** A gRPC status error for any thrown value; unknown errors become INTERNAL. */
export function toStatus (err: unknown): Error & { code: status, details: string } {
  const e = err instanceof Error ? err : new Error(String(err))
  const remote = (e as { code?: unknown }).code
  const code = e.name === 'RemoteError' && typeof remote === 'number' ? remote : CODES[e.name] ?? status.INTERNAL
  const details = e.message.split('\n')[0]
  return Object.assign(new Error(details), { code, details })
}
