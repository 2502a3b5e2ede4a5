// The layer media types aurae can unpack, and the decompressor each needs.
import type { Transform } from 'node:stream'
import { createGunzip, createZstdDecompress } from 'node:zlib'

export type Compression = 'gzip' | 'zstd' | 'none'

/** OCI: …layer.v1.tar[+gzip|+zstd]; Docker: …rootfs.diff.tar[.gzip]. Undefined for anything else. */
export function compressionOf (mediaType: string): Compression | undefined {
  if (/^application\/vnd\.oci\.image\.layer\.v1\.tar(\+gzip|\+zstd)?$/.test(mediaType) || /^application\/vnd\.docker\.image\.rootfs\.diff\.tar(\.gzip)?$/.test(mediaType)) {
    return mediaType.endsWith('gzip') ? 'gzip' : mediaType.endsWith('+zstd') ? 'zstd' : 'none'
  }
  return undefined
}

/** A stream from the layer's bytes to its tar, or undefined for an uncompressed layer. */
export function decompressor (compression: Compression): Transform | undefined {
  // Large output chunks: fewer round trips from zlib's thread pool to the main thread.
  if (compression === 'gzip') return createGunzip({ chunkSize: 256 * 1024 })
  if (compression === 'zstd') return createZstdDecompress({ chunkSize: 256 * 1024 })
  return undefined
}
