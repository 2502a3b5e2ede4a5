import { describe, expect, it } from 'vitest'
import { report } from '../../src/cli/kit/exit.ts'
import {
  AlreadyExistsError, AuraeError, CancelledError, DaemonUnreachableError, FailedPreconditionError, InternalError, InvalidArgumentError, NotFoundError,
  PeerUnreachableError, PermissionDeniedError, ResourceExhaustedError, type ErrorCode
} from '../../src/errors.ts'
import { codeOf, fromStatus, status, toStatus } from '../../src/grpc-status.ts'
import { DigestMismatchError } from '../../src/runtime/image/content-store.ts'
import { UnsafeLayerError } from '../../src/runtime/image/unpack.ts'
import { StartError } from '../../src/runtime/supervisor.ts'

// Every class of the taxonomy: its code, the status it goes over the wire as, the CLI's exit code for it, and what
// the CLI adds to its message.
const TAXONOMY: Array<[new (m: string) => AuraeError, ErrorCode, number, number, string?]> = [
  [InvalidArgumentError, 'invalid-argument', status.INVALID_ARGUMENT, 2],
  [NotFoundError, 'not-found', status.NOT_FOUND, 1],
  [AlreadyExistsError, 'already-exists', status.ALREADY_EXISTS, 1],
  [FailedPreconditionError, 'failed-precondition', status.FAILED_PRECONDITION, 1],
  [PermissionDeniedError, 'permission-denied', status.PERMISSION_DENIED, 1],
  [PeerUnreachableError, 'peer-unreachable', status.FAILED_PRECONDITION, 1],
  [ResourceExhaustedError, 'resource-exhausted', status.RESOURCE_EXHAUSTED, 1],
  [CancelledError, 'cancelled', status.CANCELLED, 1],
  [InternalError, 'internal', status.INTERNAL, 1],
  [DaemonUnreachableError, 'daemon-unreachable', status.UNAVAILABLE, 3, '; start it with: aurae up NAME[@DOMAIN]']
]

describe('the error taxonomy', () => {
  it('gives every class one code, one status and one exit code', () => {
    for (const [Class, code, wire, exit, hint = ''] of TAXONOMY) {
      const err = new Class('what went wrong\nand a second line')
      expect({ name: err.name, code: codeOf(err), status: toStatus(err).code, details: toStatus(err).details })
        .toEqual({ name: Class.name, code, status: wire, details: 'what went wrong' })
      expect(report(err)).toEqual({ code: exit, message: 'what went wrong' + hint })
    }
    // The list above is the whole set: a code nothing in it has would be missing here.
    expect(new Set(TAXONOMY.map(t => t[1])).size).toBe(TAXONOMY.length)
  })

  it('turns a status back into the class the node threw, so a client and a forwarding peer see the same failure', () => {
    for (const [Class, , wire] of TAXONOMY) {
      // Only a client raises it, for a socket nothing answers on; UNAVAILABLE from a node is a peer it could not reach.
      if (Class === PeerUnreachableError || Class === DaemonUnreachableError) continue
      const back = fromStatus(wire, 'remote words')
      expect({ class: back.constructor.name, message: back.message }).toEqual({ class: Class.name, message: 'remote words' })
    }
    // A peer that could not be reached goes over the wire as a failed precondition (UNAVAILABLE means the node itself).
    expect(fromStatus(toStatus(new PeerUnreachableError('gone')).code, 'gone')).toBeInstanceOf(FailedPreconditionError)
    expect(fromStatus(status.UNAVAILABLE, 'gone')).toBeInstanceOf(PeerUnreachableError)
    expect(fromStatus(status.UNKNOWN, 'odd')).toBeInstanceOf(InternalError)
    expect(fromStatus(status.DEADLINE_EXCEEDED, 'slow')).toBeInstanceOf(InternalError)
  })

  it('reports the classes modules derive by their parent\'s code', () => {
    expect(toStatus(new DigestMismatchError('digest mismatch')).code).toBe(status.FAILED_PRECONDITION)
    expect(toStatus(new UnsafeLayerError('a path escapes')).code).toBe(status.INVALID_ARGUMENT)
    expect(toStatus(new StartError({ error: 'no such file' } as any))).toMatchObject({ code: status.FAILED_PRECONDITION, details: 'no such file' })
  })

  it('counts the platform\'s abort as cancelled and anything else thrown as internal', () => {
    const aborted = new AbortController()
    aborted.abort()
    expect(codeOf(aborted.signal.reason)).toBe('cancelled')
    expect(codeOf(new Error('a bug'))).toBe('internal')
    expect(codeOf('a string')).toBe('internal')
    expect(toStatus(new TypeError('x is undefined'))).toMatchObject({ code: status.INTERNAL, details: 'x is undefined' })
    // An error that only calls itself by a taxonomy name is not one of them.
    expect(codeOf(Object.assign(new Error('fake'), { name: 'InvalidArgumentError' }))).toBe('internal')
  })
})
