import { randomBytes } from 'node:crypto'
import { createSocket } from 'node:dgram'
import { once } from 'node:events'
import { afterEach, describe, expect, it } from 'vitest'
import { StunServer, bindingRequest, bindingResponse, mappedAddress } from '../../src/mesh/stun.ts'

describe('the STUN binding codec', () => {
  it('answers a binding request with the address it came from, and a client reads that address back', () => {
    const tid = randomBytes(12)
    const cases = [
      { from: { address: '203.0.113.7', port: 40123 }, read: '203.0.113.7' },
      { from: { address: '2001:db8::1:2', port: 9 }, read: '2001:db8:0:0:0:0:1:2' },
      { from: { address: '::1', port: 65535 }, read: '0:0:0:0:0:0:0:1' }
    ]
    for (const { from, read } of cases) {
      const res = bindingResponse(bindingRequest(tid), from)
      expect(res).toBeDefined()
      expect(mappedAddress(res!, tid)).toEqual({ address: read, port: from.port })
    }
  })

  it('keeps the address out of plain sight: it is XORed with the magic cookie', () => {
    const res = bindingResponse(bindingRequest(randomBytes(12)), { address: '198.51.100.10', port: 4710 })!
    expect(res.includes(Buffer.from([198, 51, 100, 10]))).toBe(false)
  })

  it('ignores what is not a well-formed binding request, so it never answers (or amplifies) junk', () => {
    const from = { address: '203.0.113.7', port: 1 }
    const req = bindingRequest(randomBytes(12))
    expect(bindingResponse(req.subarray(0, 19), from)).toBeUndefined()
    const wrongCookie = Buffer.from(req)
    wrongCookie.writeUInt32BE(0, 4)
    expect(bindingResponse(wrongCookie, from)).toBeUndefined()
    const notARequest = Buffer.from(req)
    notARequest.writeUInt16BE(0x0101, 0)
    expect(bindingResponse(notARequest, from)).toBeUndefined()
    const lyingLength = Buffer.concat([req, Buffer.alloc(8)])
    expect(bindingResponse(lyingLength, from)).toBeUndefined()
    expect(bindingResponse(randomBytes(600), from)).toBeUndefined()
  })

  it('reads a mapped address only from a success response to its own transaction', () => {
    const tid = randomBytes(12)
    const res = bindingResponse(bindingRequest(tid), { address: '203.0.113.7', port: 5 })!
    expect(mappedAddress(res, randomBytes(12))).toBeUndefined()
    expect(mappedAddress(res.subarray(0, 20), tid)).toBeUndefined()
  })
})

describe('the STUN server', () => {
  const servers: StunServer[] = []
  afterEach(() => { for (const s of servers.splice(0)) s.stop() })

  it('tells a client on a real UDP socket which address and port it sent from', async () => {
    const server = new StunServer()
    servers.push(server)
    const probe = createSocket('udp4')
    probe.bind(0, '127.0.0.1')
    await once(probe, 'listening')
    const port = probe.address().port
    probe.close()
    await server.start([{ ip: '127.0.0.1', port }])
    const client = createSocket('udp4')
    try {
      client.bind(0, '127.0.0.1')
      await once(client, 'listening')
      const tid = randomBytes(12)
      client.send(bindingRequest(tid), port, '127.0.0.1')
      const [packet] = await once(client, 'message') as [Buffer]
      expect(mappedAddress(packet, tid)).toEqual({ address: '127.0.0.1', port: client.address().port })
    } finally {
      client.close()
    }
  })
})
