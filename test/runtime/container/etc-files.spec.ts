import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { containerResolvConf, writeEtcFiles } from '../../../src/runtime/container/etc-files.ts'

describe('containerResolvConf', () => {
  it('keeps a host resolv.conf whose servers a container can reach', () => {
    const host = 'search example.org\nnameserver 10.0.0.2\n'
    expect(containerResolvConf(host, 'nameserver 192.0.2.1\n')).toBe(host)
  })

  it('gives the upstream servers in place of a loopback stub such as systemd-resolved\'s', () => {
    const stub = 'nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch lan\n'
    expect(containerResolvConf(stub, 'nameserver 192.0.2.1\nnameserver 192.0.2.2\nsearch lan\n'))
      .toBe('nameserver 192.0.2.1\nnameserver 192.0.2.2\noptions edns0 trust-ad\nsearch lan\n')
  })

  it('drops loopback servers and keeps the others', () => {
    expect(containerResolvConf('nameserver 127.0.0.1\nnameserver 10.0.0.2\n', '')).toBe('nameserver 10.0.0.2\n')
  })

  it('falls back to Docker\'s public servers when nothing else is left', () => {
    expect(containerResolvConf('nameserver ::1\n', 'nameserver 127.0.0.1\n')).toBe('nameserver 8.8.8.8\nnameserver 8.8.4.4\n')
  })
})

describe('writeEtcFiles', () => {
  it('writes the files readable by everyone under the daemon\'s umask', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aurae-etc-'))
    const umask = process.umask(0o077)
    try {
      const files = await writeEtcFiles(dir, 'web', 'bridge')
      for (const path of Object.values(files)) expect(statSync(path).mode & 0o777).toBe(0o644)
    } finally {
      process.umask(umask)
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
