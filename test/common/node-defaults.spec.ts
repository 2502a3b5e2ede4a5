import { describe, expect, it } from 'vitest'
import { defaultTls } from '../../src/common/node-defaults.ts'

describe('where a node serves the mTLS socket by default', () => {
  it('is the original\'s socket and /etc/aurae/pki for the machine\'s node run as root, the one on /run/aurae.sock', () => {
    expect(defaultTls('/run/aurae.sock', { HOME: '/root' }, 0)).toEqual({ sock: '/var/run/aurae/aurae.sock', pki: '/etc/aurae/pki' })
  })

  it('is nowhere for another node on the machine, whether its socket comes from --sock or AURAE_SOCK', () => {
    expect(defaultTls('/tmp/n/aurae.sock', { HOME: '/root' }, 0)).toEqual({ sock: 'off', pki: '/etc/aurae/pki' })
    expect(defaultTls('/tmp/n/aurae.sock', { HOME: '/root', AURAE_SOCK: '/tmp/n/aurae.sock' }, 0).sock).toBe('off')
  })

  it('is in the user\'s runtime and config directories for a user\'s node on /run/aurae.sock', () => {
    expect(defaultTls('/run/aurae.sock', { HOME: '/home/nova', XDG_RUNTIME_DIR: '/run/user/1000' }, 1000)).toEqual({ sock: '/run/user/1000/aurae/aurae.sock', pki: '/home/nova/.config/aurae/pki' })
    expect(defaultTls('/run/aurae.sock', { HOME: '/home/nova', XDG_CONFIG_HOME: '/home/nova/cfg' }, 1000)).toEqual({ sock: '/home/nova/.aurae/aurae.sock', pki: '/home/nova/cfg/aurae/pki' })
  })
})
