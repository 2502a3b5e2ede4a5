import { describe, expect, it } from 'vitest'
import { fromGrpc } from '../../src/client/connect.ts'
import { GrpcError } from '../../src/client/grpc-error.ts'
import {
  AlreadyExistsError, DaemonUnreachableError, InternalError, NotFoundError, PermissionDeniedError
} from '../../src/client/index.ts'
import { status } from '../../src/grpc-status.ts'

describe('the SDK\'s reading of a failed call', () => {
  it('turns a status the node sent into the class the node threw, with its words', () => {
    expect(fromGrpc(new GrpcError(status.NOT_FOUND, 'no workload named web'), '/s')).toEqual(new NotFoundError('no workload named web'))
    expect(fromGrpc(new GrpcError(status.ALREADY_EXISTS, 'taken'), '/s')).toBeInstanceOf(AlreadyExistsError)
    expect(fromGrpc(new GrpcError(status.UNKNOWN, 'odd'), '/s')).toBeInstanceOf(InternalError)
  })

  it('says a socket nothing answers on is a daemon that is not running, naming the socket', () => {
    const err = fromGrpc(new GrpcError(status.UNAVAILABLE, 'ECONNREFUSED: connect ECONNREFUSED /run/x.sock'), '/run/x.sock')
    expect(err).toBeInstanceOf(DaemonUnreachableError)
    expect(err).toMatchObject({ message: 'auraed is not running on /run/x.sock', socket: '/run/x.sock' })
  })

  it('says a socket it may not open belongs to another user', () => {
    const err = fromGrpc(new GrpcError(status.UNAVAILABLE, 'EACCES: connect EACCES /run/x.sock'), '/run/x.sock')
    expect(err).toBeInstanceOf(PermissionDeniedError)
    expect(err.message).toBe('permission denied on /run/x.sock: it belongs to another user')
  })
})
