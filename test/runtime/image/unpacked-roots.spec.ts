import { linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { listRoots, pruneRoots, rootsDir, treeSize, type StoredImage } from '../../../src/runtime/image/unpacked-roots.ts'

const hex = (c: string): string => c.repeat(64)
const image = (name: string, c: string): StoredImage => ({ name, digest: `sha256:${hex('d')}`, manifest: `sha256:${hex('d')}`, config: `sha256:${hex(c)}`, layers: [] })

describe('unpacked roots', () => {
  let data: string
  beforeEach(() => {
    data = mkdtempSync(join(tmpdir(), 'roots-'))
    for (const c of ['a', 'b', 'c']) {
      mkdirSync(join(rootsDir(data), hex(c), 'rootfs'), { recursive: true })
      writeFileSync(join(rootsDir(data), hex(c), 'rootfs', 'file'), c.repeat(1000))
    }
    // An unpack under way is no root yet.
    mkdirSync(join(rootsDir(data), `${hex('e')}.tmp-1234`))
  })
  afterEach(() => rmSync(data, { recursive: true, force: true }))

  it('counts a hard-linked file once and does not follow symlinks out', async () => {
    const dir = join(data, 'tree')
    mkdirSync(join(dir, 'sub'), { recursive: true })
    writeFileSync(join(dir, 'sub', 'x'), 'x'.repeat(5000))
    linkSync(join(dir, 'sub', 'x'), join(dir, 'y'))
    symlinkSync('/usr', join(dir, 'usr'))
    expect(await treeSize(dir)).toBe(5000 + '/usr'.length)
    expect(await treeSize(join(data, 'missing'))).toBe(0)
  })

  it('removes the roots no image names and no workload uses, and only those', async () => {
    const users = [{ workload: 'web', image: 'used', running: false, pids: [] }]
    const res = await pruneRoots(data, [image('kept', 'a'), image('used', 'b')], users)
    expect(res).toEqual({ roots: 1, bytes: 1000 })
    expect((await listRoots(data)).sort()).toEqual([hex('a'), hex('b')])
  })

  it('with `only`, removes that root alone', async () => {
    expect(await pruneRoots(data, [], [], hex('b'))).toEqual({ roots: 1, bytes: 1000 })
    expect((await listRoots(data)).sort()).toEqual([hex('a'), hex('c')])
  })
})
