import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { configPaths, findAuraeConfig, formatAuraeConfig, parseAuraeConfig } from '../../src/client/aurae-config.ts'
import { InvalidArgumentError, NotFoundError } from '../../src/errors.ts'

const env = { HOME: '/home/nova' }
const ORIGINAL = `[auth]
ca_crt = "~/.aurae/pki/ca.crt"
client_crt = "~/.aurae/pki/_signed.client.nova.crt"
client_key = "~/.aurae/pki/client.nova.key"

[system]
socket = "/var/run/aurae/aurae.sock"
`

/** The message parseAuraeConfig refuses `text` with. */
const refusal = (text: string): string => {
  try {
    parseAuraeConfig(text, '/c', env)
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidArgumentError)
    expect((err as Error).message).not.toContain('\n')
    return (err as Error).message
  }
  throw new Error('accepted')
}

describe('the original Aurae\'s client config', () => {
  it('reads the config the original writes, with ~/ expanded from HOME', () => {
    expect(parseAuraeConfig(ORIGINAL, '/c', env)).toEqual({
      path: '/c',
      caCrt: '/home/nova/.aurae/pki/ca.crt',
      clientCrt: '/home/nova/.aurae/pki/_signed.client.nova.crt',
      clientKey: '/home/nova/.aurae/pki/client.nova.key',
      socket: '/var/run/aurae/aurae.sock'
    })
  })

  it('takes TOML\'s comments, literal and escaped strings, quoted keys and CRLF, and ignores keys it has no use for', () => {
    const text = '# mine\r\n[auth] # the certificates\r\nca_crt = \'/p/ca.crt\' # literal\r\n"client_crt" = "/p/a \\"b\\".crt"\r\nclient_key = "/p/\\u00e9.key"\r\nextra = 3\r\n[system]\r\nsocket = "127.0.0.1:8080"\r\n[other]\r\nx = [1, 2]\r\n'
    expect(parseAuraeConfig(text, '/c', env)).toEqual({ path: '/c', caCrt: '/p/ca.crt', clientCrt: '/p/a "b".crt', clientKey: '/p/é.key', socket: '127.0.0.1:8080' })
  })

  it('refuses what is malformed in one line naming the file and the line', () => {
    expect(refusal(ORIGINAL.replace('[system]', '[system'))).toBe('/c:6: expected [section] or key = "value"')
    expect(refusal(ORIGINAL.replace('"/var/run/aurae/aurae.sock"', '/var/run/aurae/aurae.sock'))).toBe('/c:7: socket must be a quoted string')
    expect(refusal(ORIGINAL.replace('"/var/run/aurae/aurae.sock"', '"/a" "b"'))).toBe('/c:7: socket must be a quoted string')
    expect(refusal(ORIGINAL.replace('"/var/run/aurae/aurae.sock"', '"bad \\q escape"'))).toBe('/c:7: socket must be a quoted string')
    expect(refusal(ORIGINAL.replace('"/var/run/aurae/aurae.sock"', '""'))).toBe('/c:7: socket is empty')
    expect(refusal(ORIGINAL + 'socket = "/again"\n')).toBe('/c:8: socket is set twice in [system]')
    expect(refusal(ORIGINAL + '[auth]\n')).toBe('/c:8: [auth] appears twice')
    expect(refusal(ORIGINAL.replace(/client_key.*\n/, ''))).toBe('/c: [auth] client_key is missing')
    expect(refusal('')).toBe('/c: [auth] ca_crt is missing')
  })

  it('writes what it reads back, whatever the paths hold', () => {
    const config = { caCrt: '/a/ca.crt', clientCrt: '/a/"quoted"\\back.crt', clientKey: '/a/tab\there.key', socket: '/var/run/aurae/aurae.sock' }
    const text = formatAuraeConfig(config)
    expect(text).toBe(`[auth]\nca_crt = "/a/ca.crt"\nclient_crt = "/a/\\"quoted\\"\\\\back.crt"\nclient_key = "/a/tab\\there.key"\n\n[system]\nsocket = "/var/run/aurae/aurae.sock"\n`)
    expect(parseAuraeConfig(text, '/c', env)).toEqual({ path: '/c', ...config })
  })

  describe('looked up where the original looks', () => {
    const dir = mkdtempSync(join(tmpdir(), 'aurae-config-'))
    afterAll(() => rmSync(dir, { recursive: true, force: true }))

    it('in ~/.aurae/config, /etc/aurae/config and /var/lib/aurae/config, in that order', () => {
      expect(configPaths(env)).toEqual(['/home/nova/.aurae/config', '/etc/aurae/config', '/var/lib/aurae/config'])
    })

    it('reads the first that exists', () => {
      mkdirSync(join(dir, '.aurae'))
      writeFileSync(join(dir, '.aurae', 'config'), ORIGINAL)
      expect(findAuraeConfig({ HOME: dir })).toMatchObject({ path: join(dir, '.aurae', 'config'), caCrt: join(dir, '.aurae/pki/ca.crt') })
    })

    it('says where it looked when none exists, or else reads the machine\'s own', () => {
      const nobody = { HOME: join(dir, 'nobody') }
      const paths = configPaths(nobody)
      const machines = paths.slice(1).find(p => existsSync(p))
      if (machines !== undefined) return expect(findAuraeConfig(nobody).path).toBe(machines)
      expect(() => findAuraeConfig(nobody)).toThrow(NotFoundError)
      expect(() => findAuraeConfig(nobody)).toThrow(`no Aurae client config in ${paths.join(', ')}; make one with: aurae pki client NAME`)
    })
  })
})
