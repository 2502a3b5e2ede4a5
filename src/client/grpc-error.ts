// A call that ended with a gRPC status other than OK, before the SDK turns it into the taxonomy's class.

/** The status and details a call ended with. */
export class GrpcError extends Error {
  override name = 'GrpcError'
  constructor (readonly code: number, readonly details: string) {
    super(details)
  }
}
