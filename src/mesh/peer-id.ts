// PeerIds as libp2p derives them, without loading libp2p: the CLI and the store need them cheaply.

// libp2p's keys.proto: PublicKey { KeyType Type = 1 (Ed25519); bytes Data = 2 }.
const PUBLIC_PREFIX = Uint8Array.of(0x08, 0x01, 0x12, 0x20)

/** The libp2p PeerId: base58btc of the identity multihash of the protobuf public key. */
export function peerIdOf (publicKey: Uint8Array): string {
  const proto = Buffer.concat([PUBLIC_PREFIX, publicKey])
  return base58btc(Buffer.concat([Uint8Array.of(0x00, proto.length), proto]))
}

const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'

function base58btc (bytes: Uint8Array): string {
  let n = BigInt('0x' + (Buffer.from(bytes).toString('hex') || '0'))
  let out = ''
  while (n > 0n) {
    out = ALPHABET[Number(n % 58n)] + out
    n /= 58n
  }
  for (const b of bytes) {
    if (b !== 0) break
    out = '1' + out
  }
  return out
}
