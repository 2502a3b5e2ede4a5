// Forwarding by metadata: the original's messages have no `name@peer` to route on, so a call whose gRPC metadata says
// `aurae-peer: NAME[@DOMAIN]` goes as is to that trusted peer through the mesh, on the owner-only socket and on the
// mTLS socket alike, under the same rules as routed calls: only methods open to peers, and never on from a peer.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as grpc from '@grpc/grpc-js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TestNet } from '../helpers/netns.ts'
import { startNode, type TestNode } from '../helpers/node.ts'
import { firstOf, service, TLS_OPTIONS, tlsCredentials, unary } from '../helpers/proto-client.ts'

const Node = service('aurae/node/v0/node.proto', 'aurae.node.v0.NodeService')
const Discovery = service('aurae/discovery/v0/discovery.proto', 'aurae.discovery.v0.DiscoveryService')
const Health = service('grpc/health/v1/health.proto', 'grpc.health.v1.Health')
const Vms = service('aurae/vms/v0/vms.proto', 'aurae.vms.v0.VmService')

describe('a call whose aurae-peer header names a trusted peer is answered there', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aurae-peer-header-'))
  const tlsSock = join(dir, 'tls.sock')
  let net: TestNet
  let alice: TestNode
  let emily: TestNode
  const clients: grpc.Client[] = []
  /** Alice's clients of `Service`: on her owner-only socket and on her mTLS socket. */
  const both = (Service: grpc.ServiceClientConstructor): Record<'owner-only' | 'mtls', any> => {
    const plain = new Service(`unix:${alice.sock}`, grpc.credentials.createInsecure())
    const mtls = new Service(`unix:${tlsSock}`, tlsCredentials(join(dir, 'client', 'ca.crt'), join(dir, 'client', 'client.ops.key'), join(dir, 'client', '_signed.client.ops.crt')), TLS_OPTIONS)
    clients.push(plain, mtls)
    return { 'owner-only': plain, mtls }
  }

  beforeAll(async () => {
    net = TestNet.create(['alice', 'emily'])
    emily = await startNode('emily@example.org', ['--listen', `/ip4/${net.addr('emily')}/tcp/4810`], net.ns('emily'))
    alice = await startNode('alice@example.org', ['--listen', `/ip4/${net.addr('alice')}/tcp/4810`, '--tls-sock', tlsSock, '--pki', join(dir, 'pki')], net.ns('alice'))
    const peered = await alice.cli(['proxy', (await emily.cli(['proxy'])).stdout.trim()])
    if (peered.code !== 0) throw new Error(peered.stderr)
    const issued = await alice.cli(['pki', 'client', 'ops', '--pki', join(dir, 'pki'), '--out', join(dir, 'client'), '--config', join(dir, 'config')])
    if (issued.code !== 0) throw new Error(issued.stderr)
  })
  afterAll(async () => {
    for (const c of clients) c.close()
    await alice?.stop()
    await emily?.stop()
    net?.destroy()
    rmSync(dir, { recursive: true, force: true })
  })

  it('is answered by the peer it names, on either socket; without the header, or naming this node, here', async () => {
    for (const [socket, node] of Object.entries(both(Node))) {
      expect({ over: socket, ...await unary(node, 'Status', {}, 'emily') }).toMatchObject({ over: socket, name: 'emily', domain: 'example.org' })
      expect({ over: socket, ...await unary(node, 'Status', {}, 'emily@example.org') }).toMatchObject({ over: socket, name: 'emily' })
      expect({ over: socket, ...await unary(node, 'Status', {}) }).toMatchObject({ over: socket, name: 'alice' })
      expect({ over: socket, ...await unary(node, 'Status', {}, 'alice') }).toMatchObject({ over: socket, name: 'alice' })
    }
  })

  it('forwards the standard library\'s calls, streams included', async () => {
    const emilyPid = JSON.parse((await emily.cli(['status', '--json'])).stdout).pid
    for (const [socket, discovery] of Object.entries(both(Discovery))) {
      expect({ over: socket, ...await unary(discovery, 'Discover', {}, 'emily') }).toMatchObject({ over: socket, healthy: true })
    }
    for (const [socket, health] of Object.entries(both(Health))) {
      expect({ over: socket, ...await firstOf(health, 'Watch', { service: '' }, 'emily') }).toEqual({ over: socket, status: 'SERVING' })
    }
    // The peer's own answer: its pid, not alice's.
    expect((await unary(both(Node).mtls, 'Status', {}, 'emily')).pid).toBe(emilyPid)
  })

  it('refuses to send a method kept to the node itself, naming the peer', async () => {
    for (const [socket, vms] of Object.entries(both(Vms))) {
      const err = await unary(vms, 'List', {}, 'emily').then(() => undefined, (e: grpc.ServiceError) => e)
      expect({ socket, code: err?.code, details: err?.details }).toEqual({
        socket,
        code: grpc.status.PERMISSION_DENIED,
        details: `vms.List may only be called on the node itself, not on emily${socket === 'mtls' ? ' (asked by ops (spiffe://example.org/user/ops))' : ''}`
      })
    }
  })

  it('says in one line that a peer it does not trust, or a name that is no node\'s, cannot be called', async () => {
    for (const [socket, node] of Object.entries(both(Node))) {
      const refusal = async (peer: string): Promise<object> => await unary(node, 'Status', {}, peer).then(() => ({ socket }), (e: grpc.ServiceError) => ({ socket, code: e.code, details: e.details }))
      expect(await refusal('carol')).toEqual({ socket, code: grpc.status.NOT_FOUND, details: 'no trusted peer named carol; peer first with "aurae proxy"' })
      expect(await refusal('Not_A_Peer')).toEqual({
        socket,
        code: grpc.status.INVALID_ARGUMENT,
        details: 'invalid peer name "Not_A_Peer" in "Not_A_Peer": use lowercase letters, digits and "-" (at most 63)'
      })
    }
  })
})
