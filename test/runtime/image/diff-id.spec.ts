import { randomBytes } from 'node:crypto'
import { gzipSync, zstdCompressSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { DiffIdCheck } from '../../../src/runtime/image/diff-id.ts'
import { sha256 } from '../../helpers/oci-layout.ts'

/** Feeds `bytes` to a check in small chunks, as a download would. */
async function feed (check: DiffIdCheck, bytes: Buffer): Promise<void> {
  for (let i = 0; i < bytes.length; i += 16 * 1024) await check.write(bytes.subarray(i, i + 16 * 1024))
  await check.end()
}

describe('checking layers against their diff_ids as they stream', () => {
  const tar = randomBytes(12 * 1024 * 1024)

  it('passes a gzip or zstd layer whose uncompressed bytes are the diff_id, past the in-flight limit', async () => {
    const gz = gzipSync(tar, { level: 1 })
    await feed(new DiffIdCheck('gzip', sha256(gz), sha256(tar), 'layer 1'), gz)
    const zst = zstdCompressSync(tar)
    await feed(new DiffIdCheck('zstd', sha256(zst), sha256(tar), 'layer 1'), zst)
  })

  it('takes an uncompressed layer\'s own digest as its diff_id', async () => {
    await feed(new DiffIdCheck('none', sha256(tar), sha256(tar), 'layer 1'), tar)
    await expect(feed(new DiffIdCheck('none', sha256(tar), sha256(Buffer.from('x')), 'layer 1'), tar)).rejects.toThrow(/^layer 1 does not match the image's config/)
  })

  it('refuses a layer whose content is another tar, and one that does not decompress', async () => {
    const other = gzipSync(Buffer.from('another tar'))
    await expect(feed(new DiffIdCheck('gzip', sha256(other), sha256(tar), 'layer 2 (x)'), other))
      .rejects.toThrow(`layer 2 (x) does not match the image's config: its uncompressed content is ${sha256(Buffer.from('another tar'))}, the config's diff_id says ${sha256(tar)}`)
    await expect(feed(new DiffIdCheck('gzip', sha256(tar), sha256(tar), 'layer 3'), tar.subarray(0, 1024 * 1024))).rejects.toThrow(/^layer 3 does not decompress: /)
  })

  it('lets go of a check that is given up part-way', async () => {
    const gz = gzipSync(tar, { level: 1 })
    const check = new DiffIdCheck('gzip', sha256(gz), sha256(tar), 'layer 1')
    await check.write(gz.subarray(0, 1024))
    check.destroy()
    check.destroy()
    await feed(new DiffIdCheck('gzip', sha256(gz), sha256(tar), 'layer 1'), gz)
  })
})
