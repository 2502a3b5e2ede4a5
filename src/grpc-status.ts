// The one mapping between the error taxonomy (errors.ts) and gRPC status codes, both ways: the node reports a
// failure as its status, and a client (the CLI, a peer forwarding a call) turns the status back into the class.
// The codes are the gRPC spec's own numbers, not @grpc/grpc-js's enum: the CLI loads this without grpc-js.
import {
  AlreadyExistsError, CancelledError, FailedPreconditionError, InternalError, InvalidArgumentError, NotFoundError,
  PeerUnreachableError, PermissionDeniedError, ResourceExhaustedError, UnimplementedError, AuraeError, messageOf, type ErrorCode
} from './errors.ts'

/** gRPC status codes (grpc/doc/statuscodes.md). */
export const status = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16
} as const
type Status = typeof status[keyof typeof status]

/** The status each code is sent as; a Record over the union, so a new code does not compile until it has one. */
const STATUS: Record<ErrorCode, Status> = {
  'invalid-argument': status.INVALID_ARGUMENT,
  'not-found': status.NOT_FOUND,
  'already-exists': status.ALREADY_EXISTS,
  'failed-precondition': status.FAILED_PRECONDITION,
  'permission-denied': status.PERMISSION_DENIED,
  // Not UNAVAILABLE: to a client that status means the node itself cannot be reached.
  'peer-unreachable': status.FAILED_PRECONDITION,
  'resource-exhausted': status.RESOURCE_EXHAUSTED,
  cancelled: status.CANCELLED,
  internal: status.INTERNAL,
  unimplemented: status.UNIMPLEMENTED,
  // Only a client raises it, for a socket nothing answers on; a node never sends it.
  'daemon-unreachable': status.UNAVAILABLE
}

/** The code of anything thrown: the taxonomy's own, cancelled for the platform's aborts, internal for the rest. */
export function codeOf (err: unknown): ErrorCode {
  if (err instanceof AuraeError) return err.code
  if (err instanceof Error && err.name === 'AbortError') return 'cancelled'
  return 'internal'
}

/** A gRPC status error for any thrown value, with its first line as the details. */
export function toStatus (err: unknown): Error & { code: Status, details: string } {
  const details = messageOf(err).split('\n')[0]
  return Object.assign(new Error(details), { code: STATUS[codeOf(err)], details })
}

/** The taxonomy's class for a status a node sent. */
export function fromStatus (code: number, details: string): AuraeError {
  switch (code) {
    case status.INVALID_ARGUMENT: return new InvalidArgumentError(details)
    case status.NOT_FOUND: return new NotFoundError(details)
    case status.ALREADY_EXISTS: return new AlreadyExistsError(details)
    case status.FAILED_PRECONDITION: return new FailedPreconditionError(details)
    case status.PERMISSION_DENIED: return new PermissionDeniedError(details)
    case status.UNAVAILABLE: return new PeerUnreachableError(details)
    case status.RESOURCE_EXHAUSTED: return new ResourceExhaustedError(details)
    case status.CANCELLED: return new CancelledError(details)
    case status.UNIMPLEMENTED: return new UnimplementedError(details)
    default: return new InternalError(details)
  }
}
