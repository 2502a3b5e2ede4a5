import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { configPaths, findAuraeConfig, formatAuraeConfig, parseAuraeConfig } from '../../src/client/aurae-config.ts'
import { NotFoundError } from '../../src/errors.ts'

const home = mkdtempSync(join(tmpdir(), 'aurae-config-'))
afterAll(() => rmSync(home, { recursive: true, force: true }))

describe('the original\'s client config', () => {
  const config = { caCrt: '/pki/ca.crt', clientCrt: '/pki/_signed.client.alice.crt', clientKey: '/pki/client.alice.key', socket: '/var/run/aurae/aurae.sock' }

  it('is looked up in ~/.aurae/config, /etc/aurae/config, /var/lib/aurae/config, in that order', () => {
    expect(configPaths({ HOME: '/home/alice' })).toEqual(['/home/alice/.aurae/config', '/etc/aurae/config', '/var/lib/aurae/config'])
  })

  it('reads back what it writes, and the original\'s own file with its ~/ paths', () => {
    expect(parseAuraeConfig(formatAuraeConfig(config), '/c', {})).toEqual({ path: '/c', ...config })
    const original = '# Client Cert Material\n[auth]\nca_crt = "~/.aurae/pki/ca.crt"\nclient_crt = "~/.aurae/pki/_signed.client.nova.crt"\nclient_key = "~/.aurae/pki/client.nova.key"\n\n[system]\nsocket = "/var/run/aurae/aurae.sock"\n'
    expect(parseAuraeConfig(original, '/c', { HOME: '/home/nova' })).toEqual({
      path: '/c', caCrt: '/home/nova/.aurae/pki/ca.crt', clientCrt: '/home/nova/.aurae/pki/_signed.client.nova.crt', clientKey: '/home/nova/.aurae/pki/client.nova.key', socket: '/var/run/aurae/aurae.sock'
    })
  })

  it('finds the first that exists, and names every place it looked when none does', () => {
    expect(() => findAuraeConfig({ HOME: home })).toThrow(NotFoundError)
    expect(() => findAuraeConfig({ HOME: home })).toThrow(`${join(home, '.aurae', 'config')}, /etc/aurae/config, /var/lib/aurae/config`)
    mkdirSync(join(home, '.aurae'))
    writeFileSync(join(home, '.aurae', 'config'), formatAuraeConfig(config))
    expect(findAuraeConfig({ HOME: home })).toEqual({ path: join(home, '.aurae', 'config'), ...config })
  })
})
