// Hand-made libp2p peers for tests that play a stranger (or a hostile peer) against real daemons.
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { tcp } from '@libp2p/tcp'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p, type Libp2p, type Libp2pOptions } from 'libp2p'
import { PeerHello, PeerWelcome, Token, TokenBody } from '../../src/gen/aurae/mesh/v0/mesh.ts'
import { nodeKeyOf, type NodeKey } from '../../src/mesh/keys.ts'

export const PEER_PROTOCOL = '/aurae/peer/1.0.0'

/** A libp2p node with a fresh Ed25519 key, and that key in the daemon's NodeKey shape (to sign tokens and records). */
export async function stranger (options: Libp2pOptions<any> = {}): Promise<{ node: Libp2p<any>, key: NodeKey }> {
  const privateKey = await generateKeyPair('Ed25519')
  const node = await createLibp2p({
    privateKey,
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: { denyDialMultiaddr: () => false },
    ...options
  })
  return { node, key: nodeKeyOf(privateKey) }
}

/** The secret inside a token printed by `aurae proxy`. */
export function secretOf (token: string): Uint8Array {
  return TokenBody.decode(Token.decode(Buffer.from(token.slice('aurae1-'.length), 'base64url')).body).secret
}

/** Opens /aurae/peer/1.0.0 on `addr`; `send` writes the hello, and the answer is read back. */
export async function openPeering (node: Libp2p<any>, addr: string): Promise<{ send: (hello: Partial<PeerHello>) => Promise<PeerWelcome> }> {
  const stream = await node.dialProtocol(multiaddr(addr), PEER_PROTOCOL)
  const lp = lpStream(stream, { maxDataLength: 256 * 1024 })
  return {
    send: async hello => {
      await lp.write(PeerHello.encode({ secret: Buffer.alloc(0), name: '', domain: '', addrs: [], unpeer: false, ...hello }).finish())
      const welcome = PeerWelcome.decode((await lp.read({ signal: AbortSignal.timeout(10_000) })).subarray())
      await stream.close().catch(() => {})
      return welcome
    }
  }
}
