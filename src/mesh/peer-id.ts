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

/** The Ed25519 public key inside a PeerId, or undefined if it is not an Ed25519 PeerId. */
export function publicKeyOf (peerId: string): Buffer | undefined {
  const bytes = base58btcDecode(peerId)
  if (bytes === undefined || bytes.length !== 38 || bytes[0] !== 0x00 || bytes[1] !== 36) return undefined
  if (!bytes.subarray(2, 6).equals(Buffer.from(PUBLIC_PREFIX))) return undefined
  return bytes.subarray(6)
}

function base58btcDecode (text: string): Buffer | undefined {
  let n = 0n
  for (const ch of text) {
    const v = ALPHABET.indexOf(ch)
    if (v < 0) return undefined
    n = n * 58n + BigInt(v)
  }
  let hex = n === 0n ? '' : n.toString(16)
  if (hex.length % 2 === 1) hex = '0' + hex
  let zeros = 0
  while (text[zeros] === '1') zeros++
  return Buffer.concat([Buffer.alloc(zeros), Buffer.from(hex, 'hex')])
}
