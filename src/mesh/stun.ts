// A STUN binding server (RFC 8489, the binding method only): it tells a peer which address and port its UDP
// packets arrive from, which is what ICE needs to punch through a NAT. Every node serves it on its mesh port
// over UDP, so nodes behind NATs learn their mapped addresses from peers they trust instead of from a third party.
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram'
import { isIPv4 } from 'node:net'
import { multiaddr } from '@multiformats/multiaddr'
import { ipAndTcpPort } from './addresses.ts'

const MAGIC_COOKIE = 0x2112a442
const BINDING_REQUEST = 0x0001
const BINDING_SUCCESS = 0x0101
const XOR_MAPPED_ADDRESS = 0x0020
const HEADER = 20

/** The answer to a binding request from `from`, or undefined when the packet is not one (it is then ignored). */
export function bindingResponse (packet: Buffer, from: { address: string, port: number }): Buffer | undefined {
  if (packet.length < HEADER || packet.readUInt16BE(0) !== BINDING_REQUEST || packet.readUInt32BE(4) !== MAGIC_COOKIE) return undefined
  // The length field counts the attributes after the header; a request that lies about it is not answered.
  if (packet.readUInt16BE(2) !== packet.length - HEADER) return undefined
  const v4 = isIPv4(from.address)
  const addr = v4 ? Buffer.from(from.address.split('.').map(Number)) : ipv6Bytes(from.address)
  if (addr === undefined) return undefined
  const value = Buffer.alloc(4 + addr.length)
  value.writeUInt8(v4 ? 0x01 : 0x02, 1)
  value.writeUInt16BE(from.port ^ (MAGIC_COOKIE >>> 16), 2)
  // The address is XORed with the cookie and, for IPv6, the transaction id, so NATs that rewrite addresses they
  // find in payloads leave it alone.
  const mask = Buffer.concat([packet.subarray(4, 8), packet.subarray(8, 20)])
  for (let i = 0; i < addr.length; i++) value[4 + i] = addr[i] ^ mask[i]
  const res = Buffer.alloc(HEADER + 4 + value.length)
  res.writeUInt16BE(BINDING_SUCCESS, 0)
  res.writeUInt16BE(4 + value.length, 2)
  packet.copy(res, 4, 4, HEADER)
  res.writeUInt16BE(XOR_MAPPED_ADDRESS, HEADER)
  res.writeUInt16BE(value.length, HEADER + 2)
  value.copy(res, HEADER + 4)
  return res
}

/** A binding request with a fresh transaction id. */
export function bindingRequest (transactionId: Buffer): Buffer {
  const req = Buffer.alloc(HEADER)
  req.writeUInt16BE(BINDING_REQUEST, 0)
  req.writeUInt32BE(MAGIC_COOKIE, 4)
  transactionId.copy(req, 8, 0, 12)
  return req
}

/** The mapped address a binding success response carries, if it is one for `transactionId`. */
export function mappedAddress (packet: Buffer, transactionId: Buffer): { address: string, port: number } | undefined {
  if (packet.length < HEADER || packet.readUInt16BE(0) !== BINDING_SUCCESS || !packet.subarray(8, 20).equals(transactionId)) return undefined
  const mask = packet.subarray(4, 20)
  for (let at = HEADER; at + 4 <= packet.length;) {
    const type = packet.readUInt16BE(at)
    const length = packet.readUInt16BE(at + 2)
    const value = packet.subarray(at + 4, at + 4 + length)
    if (type === XOR_MAPPED_ADDRESS && value.length >= 8) {
      const port = value.readUInt16BE(2) ^ (MAGIC_COOKIE >>> 16)
      const bytes = [...value.subarray(4)].map((b, i) => b ^ mask[i])
      if (value[1] === 0x01 && bytes.length === 4) return { address: bytes.join('.'), port }
      if (value[1] === 0x02 && bytes.length === 16) return { address: ipv6Text(bytes), port }
      return undefined
    }
    at += 4 + Math.ceil(length / 4) * 4
  }
  return undefined
}

/** Serves binding requests over UDP on the addresses (and ports) the mesh listens on over TCP, until stopped. */
export class StunServer {
  private readonly sockets: Socket[] = []

  async start (addresses: Array<{ ip: string, port: number }>): Promise<void> {
    for (const { ip, port } of addresses) this.sockets.push(await bind(isIPv4(ip) ? 'udp4' : 'udp6', ip, port))
  }

  stop (): void {
    for (const s of this.sockets.splice(0)) s.close()
  }
}

async function bind (type: 'udp4' | 'udp6', address: string, port: number): Promise<Socket> {
  const socket = createSocket({ type, ipv6Only: type === 'udp6' })
  // A bad packet is dropped; a send that fails (the peer's port closed) is nothing to act on.
  socket.on('error', () => {})
  socket.on('message', (packet: Buffer, from: RemoteInfo) => {
    const res = bindingResponse(packet, from)
    if (res !== undefined) socket.send(res, from.port, from.address, () => {})
  })
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject)
    socket.bind(port, address, () => {
      socket.off('error', reject)
      resolve()
    })
  })
  return socket
}

function ipv6Bytes (text: string): Buffer | undefined {
  const [head, tail = ''] = text.split('::')
  const parts = (s: string): string[] => s === '' ? [] : s.split(':')
  const h = parts(head)
  const t = parts(tail)
  if (text.includes('.')) return undefined
  const groups = text.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h
  if (groups.length !== 8) return undefined
  const out = Buffer.alloc(16)
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2))
  return out
}

function ipv6Text (bytes: number[]): string {
  const groups: string[] = []
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] << 8) | bytes[i + 1]).toString(16))
  return groups.join(':')
}

/**
 * Where the STUN server listens: where the mesh was told to listen over TCP (a wildcard stays a wildcard, a port 0
 * becomes the port TCP got), one socket per address and port.
 */
export function stunAddresses (listen: string[], listening: Array<{ ip: string, port: number }>): Array<{ ip: string, port: number }> {
  const out = new Map<string, { ip: string, port: number }>()
  for (const text of listen) {
    let host: { ip: string, port: number } | undefined
    try {
      host = ipAndTcpPort(multiaddr(text))
    } catch {}
    if (host === undefined) continue
    const wildcard = host.ip === '0.0.0.0' || host.ip === '::'
    const port = host.port !== 0 ? host.port : listening.find(l => wildcard ? l.ip.includes(':') === host.ip.includes(':') : l.ip === host.ip)?.port
    if (port !== undefined) out.set(`${host.ip} ${port}`, { ip: host.ip, port })
  }
  return [...out.values()]
}
