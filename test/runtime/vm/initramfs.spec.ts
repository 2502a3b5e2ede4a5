import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { dependsOf, loadOrder } from '../../../src/runtime/vm/guest-kernel.ts'
import { isDynamic } from '../../../src/common/elf.ts'
import { cpio, initramfs } from '../../../src/runtime/vm/initramfs.ts'

describe('the guest initramfs', () => {
  it('writes a newc archive that cpio unpacks: files with their modes, directories and links', () => {
    const dir = mkdtempSync(join(tmpdir(), 'aurae-cpio-'))
    try {
      const archive = cpio([
        { path: 'bin', mode: 0o040755 },
        { path: 'bin/tool', mode: 0o100750, data: Buffer.from('#!/bin/sh\necho odd-sized\n') },
        { path: 'lib', mode: 0o120777, data: Buffer.from('usr/lib') },
        { path: 'empty', mode: 0o100644 }
      ])
      writeFileSync(join(dir, 'a.cpio'), archive)
      const out = join(dir, 'out')
      const res = spawnSync('sh', ['-c', `mkdir "$1" && cd "$1" && busybox cpio -i < "$2"`, 'sh', out, join(dir, 'a.cpio')], { encoding: 'utf8' })
      expect(res.status).toBe(0)
      expect(readFileSync(join(out, 'bin', 'tool'), 'utf8')).toBe('#!/bin/sh\necho odd-sized\n')
      expect(statSync(join(out, 'bin', 'tool')).mode & 0o777).toBe(0o750)
      expect(readlinkSync(join(out, 'lib'))).toBe('usr/lib')
      expect(readFileSync(join(out, 'empty'), 'utf8')).toBe('')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('takes only a static busybox and init, and refuses arguments /init could not read back', () => {
    expect(isDynamic(readFileSync('/bin/busybox'))).toBe(false)
    expect(isDynamic(readFileSync(process.execPath))).toBe(true)
    expect(isDynamic(Buffer.from('#!/bin/sh\n'))).toBe(true)
    const kernel = { version: 'x', vmlinuz: '/nonexistent', modules: [], bootModules: [] }
    const base = { kernel, init: '/bin/busybox', busybox: '/bin/busybox', shares: [] }
    expect(() => initramfs({ ...base, command: ['sh', '-c', 'a\nb'] })).toThrow('an argument may not hold a line break: "a\\nb"')
    expect(() => initramfs({ ...base, busybox: process.execPath, command: ['true'] })).toThrow('is not a static busybox: apt-get install busybox-static')
    expect(() => initramfs({ ...base, init: process.execPath, command: ['true'] })).toThrow('is not linked statically, and a guest has no libc to load it with')
    expect(() => initramfs({ ...base, shares: [{ tag: 'usr', path: 'usr', readOnly: true }], command: ['true'] })).toThrow('a share needs a tag and an absolute path without spaces')
  })
})

describe('the guest kernel\'s modules', () => {
  const ko = (depends: string): Buffer => Buffer.from(`\x7fELF...\0license=GPL\0depends=${depends}\0name=x\0`)
  it('reads what a module depends on from its modinfo', () => {
    expect(dependsOf(ko('virtio_ring,virtio'))).toEqual(['virtio_ring', 'virtio'])
    expect(dependsOf(ko(''))).toEqual([])
    expect(dependsOf(Buffer.from('no modinfo here'))).toEqual([])
  })

  it('loads each module after what it depends on, once, and names one that is missing', () => {
    const deps: Record<string, string> = { virtiofs: 'fuse,virtio,virtio_ring', virtio: 'virtio_ring', virtio_ring: '', fuse: '', button: '', loop: 'loop' }
    const files = new Map(Object.keys(deps).map(k => [k, k]))
    const read = (f: string): Buffer => ko(deps[f])
    expect(loadOrder(['virtiofs', 'button', 'virtio'], files, read)).toEqual(['fuse', 'virtio_ring', 'virtio', 'virtiofs', 'button'])
    expect(() => loadOrder(['overlay'], files, read)).toThrow('the guest kernel has no module overlay')
    expect(() => loadOrder(['loop'], files, read)).toThrow('cycle through loop')
  })
})
