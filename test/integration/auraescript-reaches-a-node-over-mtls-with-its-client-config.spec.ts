// AuraeScript as the original's users run it: no $AURAE_SOCK, a client certificate `aurae pki client` issued and the
// client config it wrote in ~/.aurae/config; the node on its mTLS socket. A certificate from another CA is refused at
// the handshake, said in one line.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { formatAuraeConfig, parseAuraeConfig } from '../../src/client/aurae-config.ts'
import { runScript } from '../helpers/auraescript.ts'
import { ROOT, startNode, type TestNode } from '../helpers/node.ts'

const VERSION = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version

describe('auraescript reaches a node over mTLS with its client config', () => {
  const dir = mkdtempSync(join(tmpdir(), 'auraescript-mtls-'))
  const tlsSock = join(dir, 'run', 'tls.sock')
  const pki = join(dir, 'pki')
  const alice = join(dir, 'alice')
  const mallory = join(dir, 'mallory')
  /** Mallory's certificate (from another CA) with the node's CA: she trusts the node, it does not know her. */
  const stranger = join(dir, 'stranger')
  let node: TestNode
  beforeAll(async () => {
    node = await startNode('alice@example.org', ['--listen', '/ip4/127.0.0.1/tcp/0', '--tls-sock', tlsSock, '--pki', pki])
    for (const [home, name, from] of [[alice, 'alice', pki], [mallory, 'mallory', join(dir, 'other-pki')]]) {
      mkdirSync(join(home, '.aurae'), { recursive: true })
      if (from !== pki) expect((await node.cli(['pki', 'init', '--pki', from])).code).toBe(0)
      const issued = await node.cli(['pki', 'client', name, '--pki', from, '--out', join(home, 'pki'), '--config', join(home, '.aurae', 'config')])
      expect(issued.stderr).toBe('')
    }
    const config = (home: string): ReturnType<typeof parseAuraeConfig> => parseAuraeConfig(readFileSync(join(home, '.aurae', 'config'), 'utf8'), home)
    mkdirSync(join(stranger, '.aurae'), { recursive: true })
    writeFileSync(join(stranger, '.aurae', 'config'), formatAuraeConfig({ ...config(mallory), caCrt: config(alice).caCrt }))
  })
  afterAll(async () => {
    await node?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('runs the original\'s discovery example over the mTLS socket the config names', async () => {
    const res = await runScript(join(ROOT, 'examples', 'discovery_discover.ts'), [], alice)
    expect(res).toEqual({ code: 0, stdout: `{\n  "healthy": true,\n  "version": "${VERSION}"\n}\n`, stderr: '' })
  })

  it('drives the original\'s cells over it', async () => {
    const res = await runScript(join(ROOT, 'examples', 'cells.ts'), [], alice)
    expect(res.stderr).toBe('')
    expect(res.code).toBe(0)
    expect(res.stdout).toMatch(/^Allocated: \{\n {2}"cellName": "ae-sleeper-cell"[^]*Freed: \{\}\n$/)
  })

  it('says the handshake failed for a certificate from another CA', async () => {
    const res = await runScript(join(ROOT, 'examples', 'discovery_discover.ts'), [], stranger)
    expect(res.code).toBe(1)
    expect(res.stdout).toBe('')
    expect(res.stderr).toBe(`auraescript: error: cannot reach the node at ${tlsSock}: TLS handshake failed: certificate not accepted by the node\n    at ${join(ROOT, 'examples', 'discovery_discover.ts')}:9:43\n`)
  })

  it('says the handshake failed when the config\'s CA did not sign the node\'s certificate', async () => {
    const res = await runScript(join(ROOT, 'examples', 'discovery_discover.ts'), [], mallory)
    expect(res.code).toBe(1)
    expect(res.stderr).toMatch(/^auraescript: error: cannot reach the node at .*: TLS handshake failed: the node's certificate is not trusted \(SELF_SIGNED_CERT_IN_CHAIN\)\n/)
  })
})
