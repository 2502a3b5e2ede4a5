// The original Aurae's mTLS socket: a node started with a socket and certificates of the test's own makes its CA on
// first start, `aurae pki client` issues a certificate and writes the original's client config, and a client that
// proto-loader makes from the .proto files alone reaches the standard library and the node's own API with it. Clients
// without a certificate, with one from another CA, or in plaintext are refused at the handshake.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as grpc from '@grpc/grpc-js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseAuraeConfig } from '../../src/client/aurae-config.ts'
import { AURAED, ROOT, run, startNode, type TestNode } from '../helpers/node.ts'
import { firstOf, service, TLS_OPTIONS, tlsCredentials, unary } from '../helpers/proto-client.ts'

const VERSION = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version
const Discovery = service('aurae/discovery/v0/discovery.proto', 'aurae.discovery.v0.DiscoveryService')
const Health = service('grpc/health/v1/health.proto', 'grpc.health.v1.Health')
const Node = service('aurae/node/v0/node.proto', 'aurae.node.v0.NodeService')

const mode = (path: string): string => (statSync(path).mode & 0o777).toString(8)

describe('clients with a certificate from the node\'s CA reach it over mTLS', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aurae-mtls-'))
  const tlsSock = join(dir, 'run', 'tls.sock')
  const pki = join(dir, 'pki')
  const client = join(dir, 'client')
  const config = join(dir, 'config')
  let node: TestNode
  const clients: grpc.Client[] = []
  /** A client of `Service` on the mTLS socket, closed after the tests. */
  const over = <T extends grpc.ServiceClientConstructor>(Service: T, creds: grpc.ChannelCredentials, target = `unix:${tlsSock}`): any => {
    const c = new Service(target, creds, TLS_OPTIONS)
    clients.push(c)
    return c
  }
  const alice = (): grpc.ChannelCredentials => tlsCredentials(join(client, 'ca.crt'), join(client, 'client.alice.key'), join(client, '_signed.client.alice.crt'))

  beforeAll(async () => {
    node = await startNode('alice@example.org', ['--listen', '/ip4/127.0.0.1/tcp/0', '--tls-sock', tlsSock, '--pki', pki])
  })
  afterAll(async () => {
    for (const c of clients) c.close()
    await node?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('made its CA and server certificate on first start, keys and socket owner-only, and says where the socket is', async () => {
    expect(mode(join(pki, 'ca.key'))).toBe('600')
    expect(mode(join(pki, 'server.key'))).toBe('600')
    expect(statSync(join(pki, 'ca.crt')).isFile() && statSync(join(pki, '_signed.server.crt')).isFile()).toBe(true)
    const said = readFileSync(join(node.data, 'auraed.log'), 'utf8').split('\n').filter(l => l.includes('server certificate')).map(l => JSON.parse(l))
    expect(said).toEqual([expect.objectContaining({ msg: 'made a CA and the mTLS socket\'s server certificate', pki })])
    expect(statSync(tlsSock).isSocket()).toBe(true)
    expect(mode(tlsSock)).toBe('600')
    const status = JSON.parse((await node.cli(['status', '--json'])).stdout)
    expect(status.mtls).toEqual({ socket: tlsSock, pki })
    expect((await node.cli(['status'])).stdout).toMatch(new RegExp(`mtls\\s+${tlsSock} \\(certificates in ${pki}\\)`))
  })

  it('keeps the certificates and the mTLS socket out of executables\' sight, as the rest of daemon space', async () => {
    const seen = await node.cli(['exec', '--', 'sh', '-c', `ls -A ${pki} ${join(dir, 'run')}; test -e ${join(pki, 'ca.key')} && echo visible || echo hidden`])
    expect(seen).toEqual({ code: 0, stdout: `${pki}:\n\n${join(dir, 'run')}:\nhidden\n`, stderr: '' })
  })

  it('issues a client certificate and writes the config the original reads, naming the node\'s mTLS socket', async () => {
    const res = await node.cli(['pki', 'client', 'alice', '--pki', pki, '--out', client, '--config', config])
    expect(res).toMatchObject({ code: 0, stderr: '' })
    expect(res.stdout).toContain('issued spiffe://example.org/user/alice\n')
    expect(parseAuraeConfig(readFileSync(config, 'utf8'), config, {})).toEqual({
      path: config, caCrt: join(client, 'ca.crt'), clientCrt: join(client, '_signed.client.alice.crt'), clientKey: join(client, 'client.alice.key'), socket: tlsSock
    })
    expect(mode(join(client, 'client.alice.key'))).toBe('600')
    expect(mode(config)).toBe('600')
    expect(readFileSync(join(client, 'ca.crt'))).toEqual(readFileSync(join(pki, 'ca.crt')))
  })

  it('serves discovery, health (a check and a stream) and its own API to that client', async () => {
    expect(await unary(over(Discovery, alice()), 'Discover', {})).toEqual({ healthy: true, version: VERSION })
    const health = over(Health, alice())
    expect(await unary(health, 'Check', { service: '' })).toEqual({ status: 'SERVING' })
    expect(await firstOf(health, 'Watch', { service: 'aurae.discovery.v0.DiscoveryService' })).toEqual({ status: 'SERVING' })
    expect(await unary(over(Node, alice()), 'Status', {})).toMatchObject({ state: 'running', name: 'alice', domain: 'example.org' })
  })

  it('names the client\'s identity, CN and SPIFFE ID, when it refuses it something', async () => {
    await expect(unary(over(Node, alice()), 'Down', {}, 'emily')).rejects.toMatchObject({
      code: grpc.status.PERMISSION_DENIED,
      details: 'node.Down may only be called on the node itself, not on emily (asked by alice (spiffe://example.org/user/alice))'
    })
  })

  it('refuses at the handshake a client without a certificate, one whose certificate another CA signed, and plaintext', async () => {
    const other = join(dir, 'other')
    expect((await node.cli(['pki', 'init', '--pki', join(other, 'pki')])).code).toBe(0)
    expect((await node.cli(['pki', 'client', 'mallory', '--pki', join(other, 'pki'), '--out', join(other, 'client'), '--config', join(other, 'config')])).code).toBe(0)
    const refused = {
      'no certificate': tlsCredentials(join(client, 'ca.crt')),
      'another CA\'s certificate': tlsCredentials(join(client, 'ca.crt'), join(other, 'client', 'client.mallory.key'), join(other, 'client', '_signed.client.mallory.crt')),
      plaintext: grpc.credentials.createInsecure()
    }
    for (const [what, creds] of Object.entries(refused)) {
      const err = await unary(over(Discovery, creds), 'Discover', {}).then(() => undefined, (e: grpc.ServiceError) => e)
      // UNAVAILABLE with no connection made: no call reached the node, which would have answered with its status.
      expect({ what, code: err?.code, connected: err?.details.includes('No connection established') }).toEqual({ what, code: grpc.status.UNAVAILABLE, connected: true })
    }
    // And a client that trusts another CA does not take the node's certificate for its own.
    const wrongCa = tlsCredentials(join(other, 'client', 'ca.crt'), join(client, 'client.alice.key'), join(client, '_signed.client.alice.crt'))
    await expect(unary(over(Discovery, wrongCa), 'Discover', {})).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE })
  })

  it('changes nothing when pki init finds the certificates there, and refuses a set half there', async () => {
    const before = ['ca.key', 'ca.crt', 'server.key', '_signed.server.crt'].map(f => readFileSync(join(pki, f)))
    expect(await node.cli(['pki', 'init', '--pki', pki])).toEqual({ code: 0, stdout: `${pki} already holds a server certificate; nothing to do\n`, stderr: '' })
    expect(['ca.key', 'ca.crt', 'server.key', '_signed.server.crt'].map(f => readFileSync(join(pki, f)))).toEqual(before)
    const half = join(dir, 'half')
    expect((await node.cli(['pki', 'init', '--pki', half])).code).toBe(0)
    rmSync(join(half, 'server.key'))
    expect(await node.cli(['pki', 'init', '--pki', half])).toEqual({
      code: 1, stdout: '', stderr: `aurae: ${half} holds ca.key, ca.crt, _signed.server.crt but not server.key: restore the missing files, or remove the others to make a new CA\n`
    })
  })

  it('refuses a client name that is not a plain name', async () => {
    for (const name of ['../x', 'a/b', 'Alice', '', '-x']) {
      const res = await node.cli(['pki', 'client', name, '--pki', pki, '--out', client, '--config', config])
      expect({ name, code: res.code, stderr: res.stderr.split('\n').length }).toEqual({ name, code: 2, stderr: 2 })
    }
  })

  it('will not start with certificates missing or broken, and says which file in one line', async () => {
    const bad = join(dir, 'bad')
    expect((await node.cli(['pki', 'init', '--pki', join(bad, 'pki')])).code).toBe(0)
    const start = async (): Promise<{ code: number, stderr: string }> => await run(process.execPath, [AURAED, '--sock', join(bad, 's'), '--key', join(bad, 'key'), '--data', join(bad, 'data'),
      '--vm-templates', 'off', '--tls-sock', join(bad, 'tls.sock'), '--pki', join(bad, 'pki')])
    writeFileSync(join(bad, 'pki', '_signed.server.crt'), 'not a certificate\n')
    expect(await start()).toMatchObject({ code: 1, stderr: `auraed: ${join(bad, 'pki', '_signed.server.crt')} is not a PEM certificate\n` })
    writeFileSync(join(bad, 'pki', '_signed.server.crt'), readFileSync(join(pki, '_signed.server.crt')))
    expect(await start()).toMatchObject({ code: 1, stderr: `auraed: ${join(bad, 'pki', 'server.key')} is not the key of ${join(bad, 'pki', '_signed.server.crt')}\n` })
    rmSync(join(bad, 'pki', 'server.key'))
    expect(await start()).toMatchObject({ code: 1, stderr: expect.stringMatching(new RegExp(`^auraed: ${join(bad, 'pki')} holds .* but not server.key: .*\n$`)) })
  })

  it('serves the same certificates again after a restart that `aurae up` alone makes', async () => {
    expect((await node.cli(['down'])).code).toBe(0)
    // Remembered from the first up: the mTLS socket and the certificates' directory.
    expect((await node.cli(['up', '--key', node.key, '--data', node.data])).code).toBe(0)
    expect(mode(tlsSock)).toBe('600')
    expect(await unary(over(Discovery, alice()), 'Discover', {})).toEqual({ healthy: true, version: VERSION })
    expect(await unary(over(Node, alice()), 'Status', {})).toMatchObject({ state: 'running', name: 'alice' })
    // Nothing was made again: the log says so once, from the first start.
    expect(readFileSync(join(node.data, 'auraed.log'), 'utf8').split('\n').filter(l => l.includes('server certificate'))).toHaveLength(1)
  })
})
