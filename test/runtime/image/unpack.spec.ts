import { existsSync, lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pack, type Header } from 'tar-stream'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { applyLayer, cleanEntryName, resolveInRoot } from '../../../src/runtime/image/unpack.ts'

type Entry = Partial<Header> & { name: string, body?: string }

/** A layer tar built in memory from entries. */
async function layer (entries: Entry[]): Promise<Readable> {
  const p = pack()
  // Read while writing: a large entry would otherwise wait forever on a full buffer.
  const chunks: Buffer[] = []
  p.on('data', (c: Buffer) => chunks.push(c))
  const ended = new Promise(resolve => p.on('end', resolve))
  for (const { body, ...header } of entries) {
    await new Promise<void>((resolve, reject) => p.entry({ type: 'file', mode: 0o644, ...header }, body ?? '', err => err == null ? resolve() : reject(err)))
  }
  p.finalize()
  await ended
  return Readable.from([Buffer.concat(chunks)])
}

describe('applying layers', () => {
  let dir: string
  let root: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'unpack-'))
    root = join(dir, 'rootfs')
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  it('writes directories, files, modes, owners, symlinks and hard links', async () => {
    await applyLayer(await layer([
      { name: 'bin/', type: 'directory', mode: 0o755 },
      { name: 'bin/tool', body: '#!/bin/sh\n', mode: 0o4755, uid: 1000, gid: 1001 },
      { name: './etc/motd', body: 'hello\n', mode: 0o600 },
      { name: 'bin/alias', type: 'symlink', linkname: 'tool' },
      { name: 'bin/hard', type: 'link', linkname: 'bin/tool' }
    ]), root)
    expect(readFileSync(join(root, 'etc/motd'), 'utf8')).toBe('hello\n')
    expect(statSync(join(root, 'etc/motd')).mode & 0o7777).toBe(0o600)
    const tool = statSync(join(root, 'bin/tool'))
    expect(tool.mode & 0o7777).toBe(0o4755)
    expect([tool.uid, tool.gid]).toEqual([1000, 1001])
    expect(readlinkSync(join(root, 'bin/alias'))).toBe('tool')
    expect(statSync(join(root, 'bin/hard')).ino).toBe(tool.ino)
  })

  it('makes the directories a layer only implies 0755, whatever the umask', async () => {
    const umask = process.umask(0o077)
    try {
      await applyLayer(await layer([{ name: 'a/b/file', body: 'x', mode: 0o644 }, { name: 'c/d/', type: 'directory', mode: 0o700 }]), root)
    } finally {
      process.umask(umask)
    }
    expect(statSync(join(root, 'a')).mode & 0o7777).toBe(0o755)
    expect(statSync(join(root, 'a', 'b')).mode & 0o7777).toBe(0o755)
    expect(statSync(join(root, 'c')).mode & 0o7777).toBe(0o755)
    // A directory the layer names keeps the mode it gives.
    expect(statSync(join(root, 'c', 'd')).mode & 0o7777).toBe(0o700)
  })

  it('applies whiteouts and opaque directories to lower layers only', async () => {
    await applyLayer(await layer([
      { name: 'a/x', body: 'x' }, { name: 'a/y', body: 'y' },
      { name: 'd/old', body: 'old' }, { name: 'd/sub/deep', body: 'deep' }
    ]), root)
    await applyLayer(await layer([
      { name: 'a/.wh.x' },
      { name: 'd/new', body: 'new' },
      { name: 'd/.wh..wh..opq' }
    ]), root)
    expect(existsSync(join(root, 'a/x'))).toBe(false)
    expect(readFileSync(join(root, 'a/y'), 'utf8')).toBe('y')
    expect(existsSync(join(root, 'd/old'))).toBe(false)
    expect(existsSync(join(root, 'd/sub'))).toBe(false)
    expect(readFileSync(join(root, 'd/new'), 'utf8')).toBe('new')
  })

  it('lets a later layer replace a file with a directory and back', async () => {
    await applyLayer(await layer([{ name: 'p', body: 'file' }]), root)
    await applyLayer(await layer([{ name: 'p/', type: 'directory' }, { name: 'p/q', body: 'q' }]), root)
    expect(readFileSync(join(root, 'p/q'), 'utf8')).toBe('q')
    await applyLayer(await layer([{ name: 'p', body: 'file again' }]), root)
    expect(readFileSync(join(root, 'p'), 'utf8')).toBe('file again')
  })

  it('refuses names that climb out of the root', async () => {
    await expect(applyLayer(await layer([{ name: '../escaped', body: 'x' }]), root)).rejects.toThrow('layer entry "../escaped" points outside the root')
    await expect(applyLayer(await layer([{ name: 'a/../../escaped', body: 'x' }]), root)).rejects.toThrow('points outside the root')
    expect(existsSync(join(dir, 'escaped'))).toBe(false)
  })

  it('keeps absolute names inside the root', async () => {
    await applyLayer(await layer([{ name: '/etc/passwd', body: 'root:x:0:0::/root:/bin/sh\n' }]), root)
    expect(readFileSync(join(root, 'etc/passwd'), 'utf8')).toContain('root:x')
  })

  it('never writes through a symlink that points out, absolute or relative', async () => {
    const outside = join(dir, 'outside')
    await applyLayer(await layer([
      { name: 'abs', type: 'symlink', linkname: outside },
      { name: 'abs/pwned', body: 'gotcha' },
      { name: 'rel', type: 'symlink', linkname: '../../../../../../' + outside.slice(1) },
      { name: 'rel/pwned2', body: 'gotcha' },
      { name: 'dotdot', type: 'symlink', linkname: '..' },
      { name: 'dotdot/escaped3', body: 'gotcha' }
    ]), root)
    expect(existsSync(outside)).toBe(false)
    expect(existsSync(join(dir, 'escaped3'))).toBe(false)
    // What the image asked for lands inside the root, where its own symlinks lead.
    expect(readFileSync(join(root, outside.slice(1), 'pwned'), 'utf8')).toBe('gotcha')
    expect(readFileSync(join(root, outside.slice(1), 'pwned2'), 'utf8')).toBe('gotcha')
    expect(readFileSync(join(root, 'escaped3'), 'utf8')).toBe('gotcha')
    expect(lstatSync(join(root, 'abs')).isSymbolicLink()).toBe(true)
  })

  it('never writes through a directory the layer itself turned into a symlink that points out', async () => {
    const outside = join(dir, 'outside')
    await applyLayer(await layer([
      // A directory it made, then one it only implied, each written into and then replaced by a symlink out.
      { name: 'made/', type: 'directory' }, { name: 'made/a', body: 'a' },
      { name: 'made', type: 'symlink', linkname: outside },
      { name: 'made/pwned', body: 'gotcha' },
      { name: 'implied/deep/a', body: 'a' },
      { name: 'implied', type: 'symlink', linkname: '../../../..' + outside },
      { name: 'implied/deep/pwned', body: 'gotcha' },
      // A whiteout of a directory, then a symlink out in its place.
      { name: 'gone/a', body: 'a' }, { name: '.wh.gone' },
      { name: 'gone', type: 'symlink', linkname: outside },
      { name: 'gone/pwned', body: 'gotcha' }
    ]), root)
    expect(existsSync(outside)).toBe(false)
    expect(readFileSync(join(root, outside.slice(1), 'pwned'), 'utf8')).toBe('gotcha')
    expect(readFileSync(join(root, outside.slice(1), 'deep/pwned'), 'utf8')).toBe('gotcha')
    for (const link of ['made', 'implied', 'gone']) expect(lstatSync(join(root, link)).isSymbolicLink(), link).toBe(true)
  })

  it('applies thousands of entries, each where its name says, with its mode, owner and time', async () => {
    const mtime = new Date('2020-01-02T03:04:05Z')
    const entries: Entry[] = []
    for (let d = 0; d < 20; d++) {
      entries.push({ name: `d${d}/`, type: 'directory', mode: 0o750, uid: 7, gid: 8, mtime })
      for (let f = 0; f < 100; f++) entries.push({ name: `d${d}/sub/f${f}`, body: `${d}/${f}`, mode: 0o640, uid: 9, gid: 10, mtime })
    }
    await applyLayer(await layer(entries), root)
    for (let d = 0; d < 20; d++) {
      for (const f of [0, 99]) {
        const st = statSync(join(root, `d${d}/sub/f${f}`))
        expect(readFileSync(join(root, `d${d}/sub/f${f}`), 'utf8')).toBe(`${d}/${f}`)
        expect({ mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime.getTime() }).toEqual({ mode: 0o640, uid: 9, gid: 10, mtime: mtime.getTime() })
      }
      expect(statSync(join(root, `d${d}/sub`)).mode & 0o7777).toBe(0o755)
      expect(statSync(join(root, `d${d}`)).mode & 0o7777).toBe(0o750)
    }
  })

  it('refuses hard links to anything outside the layer', async () => {
    await expect(applyLayer(await layer([{ name: 'shadow', type: 'link', linkname: '../../../../etc/shadow' }]), root)).rejects.toThrow('points outside the root')
    await expect(applyLayer(await layer([
      { name: 'etc', type: 'symlink', linkname: '/etc' },
      { name: 'shadow', type: 'link', linkname: 'etc/shadow' }
    ]), root)).rejects.toThrow('too many symbolic links resolving "etc/shadow"')
    await expect(applyLayer(await layer([
      { name: 'real/', type: 'directory' },
      { name: 'host', type: 'symlink', linkname: '/real' },
      { name: 'shadow2', type: 'link', linkname: 'host/shadow' }
    ]), root)).rejects.toThrow('links to "host/shadow", which is not a file in the layer')
  })

  it('cleans names and resolves paths as if the root were /', async () => {
    expect(cleanEntryName('./a//b/./c/')).toBe('a/b/c')
    expect(cleanEntryName('/abs/x')).toBe('abs/x')
    expect(cleanEntryName('a/../b')).toBe('b')
    expect(() => cleanEntryName('a/../../b')).toThrow('points outside the root')
    expect(await resolveInRoot(root, 'x/y')).toBe(join(root, 'x/y'))
  })
})
