// The content store on a filesystem that fills up in the middle of a write: the kernel then writes part of it and
// says nothing, and only the next write fails.
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ContentStore } from '../../../src/runtime/image/content-store.ts'

describe('the content store on a disk that fills up mid-write', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aurae-content-'))
  const small = join(dir, 'small')
  beforeAll(() => {
    mkdirSync(small)
    const res = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0700', 'tmpfs', small], { encoding: 'utf8' })
    if (res.status !== 0) throw new Error(`cannot mount a small tmpfs: ${res.stderr}`)
  })
  afterAll(() => {
    spawnSync('umount', [small])
    rmSync(dir, { recursive: true, force: true })
  })

  it('says no space left, and stores nothing, when one write of a blob fits only in part', async () => {
    const store = new ContentStore(small)
    await store.start()
    // One chunk, larger than the disk: written in part, the rest refused at the next write.
    const blob = Buffer.alloc(1400 * 1024, 7)
    const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`
    await expect(store.ingest(digest, blob.length, [blob])).rejects.toThrow(`no space left on ${small}`)
    expect(existsSync(store.path(digest))).toBe(false)
    expect(readdirSync(join(small, 'ingest'))).toEqual([])
  })
})
