// Base-128 varints, as protobuf writes lengths: for the hand-written encoders of the streamed
// responses and for the mesh's length-prefixed frames.

/** The bytes `n` takes as a varint. */
export function varintSize (n: number): number {
  let size = 1
  while (n >= 0x80) {
    n = Math.floor(n / 0x80)
    size++
  }
  return size
}

/** Writes `n` at `at`; returns where the next byte goes. */
export function writeVarint (buf: Uint8Array, at: number, n: number): number {
  while (n >= 0x80) {
    buf[at++] = (n & 0x7f) | 0x80
    n = Math.floor(n / 0x80)
  }
  buf[at++] = n
  return at
}

/** The size of a length-delimited protobuf field of `n` bytes (one-byte tag); proto3 leaves an empty one out. */
export function fieldSize (n: number): number {
  return n === 0 ? 0 : 1 + varintSize(n) + n
}
