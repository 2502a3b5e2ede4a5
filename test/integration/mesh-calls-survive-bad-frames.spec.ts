import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p, type Libp2p } from 'libp2p'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RpcRequest, RpcResponse } from '../../src/gen/aurae/mesh/v0/mesh.ts'
import { WorkloadServiceListRequest } from '../../src/gen/aurae/workloads/v0/workloads.ts'
import { startNode, type TestNode } from '../helpers/node.ts'

describe('remote calls survive bad frames from a stranger', () => {
  let alice: TestNode
  let stranger: Libp2p
  let addr: string
  beforeAll(async () => {
    alice = await startNode('alice')
    addr = JSON.parse((await alice.cli(['status', '--json'])).stdout).mesh.addrs[0]
    stranger = await createLibp2p({ transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()], connectionGater: { denyDialMultiaddr: () => false } })
  })
  afterAll(async () => {
    await stranger?.stop()
    await alice?.stop()
  })

  /** Opens /aurae/rpc/1.0.0 on alice, lets `send` write raw bytes, and returns the answer frame. */
  const exchange = async (send: (stream: any) => Promise<void>): Promise<RpcResponse> => {
    const stream = await stranger.dialProtocol(multiaddr(addr), '/aurae/rpc/1.0.0')
    await send(stream)
    const answer = RpcResponse.decode((await lpStream(stream).read({ signal: AbortSignal.timeout(10_000) })).subarray())
    return answer
  }
  const request = (method: string, payload: Uint8Array): Uint8Array => RpcRequest.encode({ method, payload: Buffer.from(payload), callerName: 'mallory', window: 0 }).finish()

  it('answers a malformed frame with an error frame', async () => {
    const res = await exchange(async s => await lpStream(s).write(Uint8Array.from([0xff, 0xff, 0xff, 0xff])))
    expect(res).toMatchObject({ end: true, code: 3 })
    expect(res.error).toMatch(/^malformed or oversized request frame/)
  })

  it('answers an oversized frame with an error frame', async () => {
    const res = await exchange(async s => {
      // A varint length of 64 MiB, then a little data.
      s.send(Uint8Array.from([0x80, 0x80, 0x80, 0x20, 1, 2, 3]))
    })
    expect(res).toMatchObject({ end: true, code: 3 })
    expect(res.error).toMatch(/^malformed or oversized request frame/)
  })

  it('answers an unknown method with an error frame', async () => {
    const res = await exchange(async s => await lpStream(s).write(request('/aurae.nope.v0.Nope/Nope', new Uint8Array())))
    expect(res).toMatchObject({ end: true, code: 5, error: 'unknown method /aurae.nope.v0.Nope/Nope' })
  })

  it('refuses a node it does not trust, in the one place authorization happens', async () => {
    const list = WorkloadServiceListRequest.encode({ all: true, peer: '' }).finish()
    const res = await exchange(async s => await lpStream(s).write(request('/aurae.workloads.v0.WorkloadService/List', list)))
    expect(res).toMatchObject({ end: true, code: 7, error: 'alice does not trust mallory — peer first with "aurae proxy"' })
    const token = request('/aurae.mesh.v0.MeshService/Token', new Uint8Array())
    expect(await exchange(async s => await lpStream(s).write(token))).toMatchObject({ end: true, code: 7, error: 'mesh.Token may only be called on the node itself' })
  })

  it('does not relay a peer\'s call on to a third node: trust is not transitive', async () => {
    const list = WorkloadServiceListRequest.encode({ all: true, peer: 'carol' }).finish()
    const res = await exchange(async s => await lpStream(s).write(request('/aurae.workloads.v0.WorkloadService/List', list)))
    expect(res).toMatchObject({ end: true, code: 7, error: 'trust is not transitive: a peer cannot relay calls to a third node' })
  })

  it('keeps serving afterwards', async () => {
    const status = await alice.cli(['status', '--json'])
    expect(status.code).toBe(0)
    expect(JSON.parse(status.stdout).state).toBe('running')
    expect((await alice.cli(['exec', '--', 'true'])).code).toBe(0)
  })
})
