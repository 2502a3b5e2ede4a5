import { describe, expect, it } from 'vitest'
import { PermissionDeniedError } from '../../../src/errors.ts'
import type { Caller } from '../../../src/node/api/authz.ts'
import { grpcCaller } from '../../../src/node/api/serve.ts'

const local: Caller = { kind: 'local', uid: 1000 }
/** A call as grpc-js hands it over: its metadata and how its connection was secured. */
const call = (auth: { transportSecurityType?: string, sslPeerCertificate?: object }): any => ({ metadata: {}, getAuthContext: () => auth })
const tls = (subject: object, subjectaltname?: string): any => call({ transportSecurityType: 'ssl', sslPeerCertificate: { subject, subjectaltname } })

describe('the caller of a gRPC call', () => {
  const callerOf = grpcCaller(local)

  it('is the local user on the socket served in plaintext, the owner-only one', () => {
    expect(callerOf(call({}))).toEqual(local)
  })

  it('is the identity a verified certificate names: its CN without .unsafe.aurae.io, and its SPIFFE ID', () => {
    expect(callerOf(tls({ CN: 'nova.unsafe.aurae.io' }, 'URI:spiffe://example.org/user/nova'))).toEqual({ kind: 'identity', name: 'nova', spiffe: 'spiffe://example.org/user/nova' })
    expect(callerOf(tls({ CN: 'nova.unsafe.aurae.io' }, 'DNS:nova.unsafe.aurae.io, URI:https://x.example, URI:spiffe://d/user/nova'))).toMatchObject({ spiffe: 'spiffe://d/user/nova' })
    // The original's certificates: a CN, no SPIFFE ID.
    expect(callerOf(tls({ O: 'Aurae', CN: 'unsafe.unsafe.aurae.io' }))).toEqual({ kind: 'identity', name: 'unsafe', spiffe: '' })
    expect(callerOf(tls({ CN: 'someone.example.org' }, 'DNS:x'))).toEqual({ kind: 'identity', name: 'someone.example.org', spiffe: '' })
  })

  it('is refused when the certificate names no one, or when TLS reports no certificate at all', () => {
    expect(() => callerOf(tls({ O: 'Aurae' }))).toThrow(PermissionDeniedError)
    expect(() => callerOf(tls({ CN: '' }))).toThrow('the client certificate names no one: its subject has no CN')
    expect(() => callerOf(tls({ CN: ['a', 'b'] }))).toThrow(PermissionDeniedError)
    expect(() => callerOf(call({ transportSecurityType: 'ssl' }))).toThrow(PermissionDeniedError)
  })
})
