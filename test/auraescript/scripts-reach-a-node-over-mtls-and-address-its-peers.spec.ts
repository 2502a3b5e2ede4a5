// AuraeScript's transport against grpc-js servers of the test's own on Unix sockets: mTLS with certificates openssl
// made (the client config, {kind: "path"} and {kind: "opts"}), the handshake refused either way with a one-line
// reason, and aurae.peer(name) sending `aurae-peer: name` on its calls only.
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as grpc from '@grpc/grpc-js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DiscoveryServiceService } from '../../src/gen/aurae/discovery/v0/discovery.ts'
import { formatAuraeConfig } from '../../src/client/aurae-config.ts'
import { runScript } from '../helpers/auraescript.ts'

const dir = mkdtempSync(join(tmpdir(), 'auraescript-tls-'))
const pki = join(dir, 'pki')

function openssl (...args: string[]): void {
  execFileSync('openssl', args, { cwd: pki, stdio: ['ignore', 'ignore', 'pipe'] })
}

/** A CA, and a certificate it signs for `cn` with `ext` (an openssl extension line). */
function makeCa (name: string): void {
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-noenc', '-days', '1', '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.crt`)
}
function issue (ca: string, name: string, cn: string, ext: string): void {
  writeFileSync(join(pki, `${name}.ext`), `${ext}\n`)
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-noenc', '-subj', `/CN=${cn}`, '-keyout', `${name}.key`, '-out', `${name}.csr`)
  openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-days', '1', '-extfile', `${name}.ext`, '-out', `${name}.crt`)
}

/** A discovery service that answers with `version` and keeps the `aurae-peer` header of each call. */
async function serve (sock: string, credentials: grpc.ServerCredentials, version: string): Promise<{ server: grpc.Server, peers: Array<string | undefined> }> {
  const peers: Array<string | undefined> = []
  const server = new grpc.Server()
  server.addService(DiscoveryServiceService, {
    discover: (call: grpc.ServerUnaryCall<unknown, unknown>, done: grpc.sendUnaryData<unknown>) => {
      peers.push(call.metadata.get('aurae-peer')[0]?.toString())
      done(null, { healthy: true, version })
    }
  })
  await new Promise<void>((resolve, reject) => server.bindAsync(`unix:${sock}`, credentials, err => err === null ? resolve() : reject(err)))
  return { server, peers }
}

const tlsSock = join(dir, 'mtls.sock')
const plainSock = join(dir, 'plain.sock')
let tls: Awaited<ReturnType<typeof serve>>
let plain: Awaited<ReturnType<typeof serve>>

/** A user's home with a client config of these files. */
function home (name: string, ca: string, client: string): string {
  const h = join(dir, name)
  mkdirSync(join(h, '.aurae'), { recursive: true })
  writeFileSync(join(h, '.aurae', 'config'), formatAuraeConfig({ caCrt: join(pki, `${ca}.crt`), clientCrt: join(pki, `${client}.crt`), clientKey: join(pki, `${client}.key`), socket: tlsSock }))
  return h
}

beforeAll(async () => {
  mkdirSync(pki)
  makeCa('ca')
  makeCa('other-ca')
  issue('ca', 'server', 'server.unsafe.aurae.io', 'subjectAltName=DNS:server.unsafe.aurae.io')
  issue('ca', 'alice', 'alice.unsafe.aurae.io', 'extendedKeyUsage=clientAuth')
  issue('other-ca', 'mallory', 'mallory.unsafe.aurae.io', 'extendedKeyUsage=clientAuth')
  const read = (f: string): Buffer => readFileSync(join(pki, f))
  tls = await serve(tlsSock, grpc.ServerCredentials.createSsl(read('ca.crt'), [{ private_key: read('server.key'), cert_chain: read('server.crt') }], true), 'over-mtls')
  plain = await serve(plainSock, grpc.ServerCredentials.createInsecure(), 'in-plaintext')
})

afterAll(async () => {
  await Promise.all([tls, plain].map(async s => await new Promise<void>(resolve => s?.server.tryShutdown(() => resolve()))))
  rmSync(dir, { recursive: true, force: true })
})

const SCRIPT = `import * as aurae from "../auraescript/gen/aurae.ts";
import * as discovery from "../auraescript/gen/discovery.ts";
const client = await aurae.createClient(CLIENT);
for (const via of [client, ...process.argv.slice(2).map(name => aurae.peer(name, client)), client]) {
  const found = await new discovery.DiscoveryServiceClient(via).discover(<discovery.DiscoverRequest>{});
  aurae.print(via.peerName ?? "-", found.version, found.healthy);
}
`

async function discover (h: string, client: string, peers: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<Awaited<ReturnType<typeof runScript>>> {
  mkdirSync(h, { recursive: true })
  const file = join(h, `discover-${Math.random().toString(36).slice(2)}.ts`)
  writeFileSync(file, SCRIPT.replace('CLIENT', client))
  return await runScript(file, peers, h, env)
}

describe('AuraeScript over mTLS on a Unix socket', () => {
  it('reaches the node the client config names, with its certificates', async () => {
    tls.peers.length = 0
    const res = await discover(home('alice', 'ca', 'alice'), '')
    expect(res).toEqual({ code: 0, stdout: '- over-mtls true\n- over-mtls true\n', stderr: '' })
    expect(tls.peers).toEqual([undefined, undefined])
  })

  it('takes the original\'s {kind: "path"} and {kind: "opts"}', async () => {
    const h = home('alice-opts', 'ca', 'alice')
    const byPath = await discover(h, `{ kind: "path", path: ${JSON.stringify(join(h, '.aurae', 'config'))} }`)
    expect(byPath.stdout).toBe('- over-mtls true\n- over-mtls true\n')
    const opts = JSON.stringify({ ca_crt: join(pki, 'ca.crt'), client_crt: join(pki, 'alice.crt'), client_key: join(pki, 'alice.key'), socket: tlsSock })
    const byOpts = await discover(h, `{ kind: "opts", ...${opts} }`)
    expect(byOpts).toEqual({ code: 0, stdout: '- over-mtls true\n- over-mtls true\n', stderr: '' })
  })

  it('says the handshake failed when the node does not accept the client\'s certificate', async () => {
    const h = home('mallory', 'ca', 'mallory')
    const res = await discover(h, '')
    expect(res.code).toBe(1)
    expect(res.stderr).toMatch(new RegExp(`^auraescript: error: cannot reach the node at ${tlsSock}: TLS handshake failed: certificate not accepted by the node\n    at ${h}/discover-[a-z0-9]+\\.ts:5:65\n$`))
  })

  it('says the handshake failed when the node\'s certificate is not signed by the config\'s CA', async () => {
    const res = await discover(home('wrong-ca', 'other-ca', 'alice'), '')
    expect(res.code).toBe(1)
    expect(res.stderr).toMatch(new RegExp(`^auraescript: error: cannot reach the node at ${tlsSock}: TLS handshake failed: the node's certificate is not trusted \\([A-Z_]+\\)\n`))
  })

  it('says the node closed the connection when a plaintext client meets its mTLS socket', async () => {
    const res = await discover(join(dir, 'plain-on-tls'), '', [], { AURAE_SOCK: tlsSock })
    expect(res.code).toBe(1)
    expect(res.stderr).toMatch(new RegExp(`^auraescript: error: cannot reach the node at ${tlsSock}: the node closed the connection before answering \\(an mTLS socket\\? its client config names its certificates\\)\n`))
  })
})

describe('aurae.peer(name)', () => {
  it('sends aurae-peer: name on each of its calls, and nothing on the node\'s own, over mTLS', async () => {
    tls.peers.length = 0
    const res = await discover(home('alice-peers', 'ca', 'alice'), '', ['emily', 'bob'])
    expect(res).toEqual({ code: 0, stdout: '- over-mtls true\nemily over-mtls true\nbob over-mtls true\n- over-mtls true\n', stderr: '' })
    expect(tls.peers).toEqual([undefined, 'emily', 'bob', undefined])
  })

  it('does the same on an owner-only socket ($AURAE_SOCK)', async () => {
    plain.peers.length = 0
    const res = await discover(join(dir, 'plain-user'), '', ['emily'], { AURAE_SOCK: plainSock })
    expect(res).toEqual({ code: 0, stdout: '- in-plaintext true\nemily in-plaintext true\n- in-plaintext true\n', stderr: '' })
    expect(plain.peers).toEqual([undefined, 'emily', undefined])
  })
})
