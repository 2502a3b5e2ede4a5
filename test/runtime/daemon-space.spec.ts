import { describe, expect, it } from 'vitest'
import { daemonSpace, isSharedDirectory } from '../../src/runtime/daemon-space.ts'

describe('daemon space', () => {
  it('hides a dedicated socket directory whole, and only the socket in a shared one', () => {
    expect(daemonSpace({ key: '/root/.ssh/id_aura', data: '/var/lib/aurae', sock: '/run/aurae.sock' }, '/root'))
      .toEqual(['/root/.ssh/id_aura', '/run/aurae.sock', '/run/aurae.sock.frames', '/var/lib/aurae'])
    expect(daemonSpace({ key: '/root/.ssh/id_aura', data: '/var/lib/aurae', sock: '/var/run/aurae/aurae.sock' }, '/root'))
      .toEqual(['/root/.ssh/id_aura', '/var/lib/aurae', '/var/run/aurae'])
    expect(daemonSpace({ key: '/home/ann/.ssh/id_aura', data: '/home/ann/.local/share/aurae', sock: '/home/ann/aurae.sock' }, '/home/ann'))
      .toEqual(['/home/ann/.local/share/aurae', '/home/ann/.ssh/id_aura', '/home/ann/aurae.sock', '/home/ann/aurae.sock.frames'])
  })

  it('leaves out what lies inside a directory already hidden', () => {
    expect(daemonSpace({ key: '/tmp/n1/id_aura', data: '/tmp/n1/data', sock: '/tmp/n1/aurae.sock' }, '/root')).toEqual(['/tmp/n1'])
    expect(daemonSpace({ key: '/srv/a/key', data: '/srv/a/key/../data', sock: '/tmp/s.sock' }, '/root')).toEqual(['/srv/a/data', '/srv/a/key', '/tmp/s.sock', '/tmp/s.sock.frames'])
  })

  it('hides the mTLS socket as it hides the owner-only one, and the certificates\' directory with the CA\'s key', () => {
    expect(daemonSpace({ key: '/root/.ssh/id_aura', data: '/var/lib/aurae', sock: '/run/aurae.sock', tls: { sock: '/var/run/aurae/aurae.sock', pki: '/etc/aurae/pki' } }, '/root'))
      .toEqual(['/etc/aurae/pki', '/root/.ssh/id_aura', '/run/aurae.sock', '/run/aurae.sock.frames', '/var/lib/aurae', '/var/run/aurae'])
    expect(daemonSpace({ key: '/tmp/n1/id_aura', data: '/tmp/n1/data', sock: '/tmp/n1/aurae.sock', tls: { sock: '/tmp/tls.sock', pki: '/tmp/n1/pki' } }, '/root'))
      .toEqual(['/tmp/n1', '/tmp/tls.sock'])
  })

  it('knows the directories other programs share', () => {
    for (const d of ['/', '/run', '/tmp', '/var/run', '/var/tmp', '/run/user/1000', '/home/ann', '/root', '/dev/shm']) expect(isSharedDirectory(d, '/root'), d).toBe(true)
    for (const d of ['/run/aurae', '/tmp/aurae-test-x', '/var/lib/aurae', '/home/ann/aurae']) expect(isSharedDirectory(d, '/root'), d).toBe(false)
  })
})
