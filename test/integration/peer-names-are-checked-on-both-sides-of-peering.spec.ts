import { lpStream } from '@libp2p/utils'
import type { Libp2p } from 'libp2p'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PeerHello, PeerWelcome } from '../../src/gen/aurae/mesh/v0/mesh.ts'
import { issueToken } from '../../src/mesh/token.ts'
import type { NodeKey } from '../../src/mesh/keys.ts'
import { Store } from '../../src/store/store.ts'
import type { PeerRecord } from '../../src/mesh/trusted.ts'
import { startNode, until, type TestNode } from '../helpers/node.ts'
import { PEER_PROTOCOL, openPeering, secretOf, stranger } from '../helpers/stranger.ts'

// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f]/

/** Bad names a peer might send; each must be refused. `TAKEN` and `SELF` are filled in per side. */
const BAD = [
  ['ANSI escapes', 'bo\x1b[31mb\x1b[0m', 'example.org'],
  ['an empty name', '', ''],
  ['a 60 KB name', 'a'.repeat(60 * 1024), ''],
  ['a path', '../../etc', '../'],
  ['a slash', 'a/b', ''],
  ['a control character in the domain', 'bob', 'exa\x07mple.org']
] as const

describe('peer names are checked on both sides of peering', () => {
  let emily: TestNode
  let alice: TestNode
  let emilyAddr: string
  const owned: Libp2p[] = []
  beforeAll(async () => {
    emily = await startNode('emily@example.org')
    alice = await startNode('alice@example.org')
    emilyAddr = JSON.parse((await emily.cli(['status', '--json'])).stdout).mesh.addrs[0]
  })
  afterAll(async () => {
    for (const n of owned) await n.stop()
    await alice?.stop()
    await emily?.stop()
  })

  const fresh = async (): Promise<Libp2p> => {
    const s = await stranger()
    owned.push(s.node)
    return s.node
  }
  const peersOf = async (n: TestNode): Promise<any[]> => JSON.parse((await n.cli(['peers', '--json'])).stdout)

  describe('the issuer refuses a redeemer\'s bad name', () => {
    let token: string
    // One connection each: libp2p refuses more than a few new connections a second from one address.
    let probe: Libp2p
    beforeAll(async () => {
      token = (await emily.cli(['proxy'])).stdout.trim()
      probe = await fresh()
    })

    it.each([...BAD, ['the issuer\'s own name', 'emily', 'example.org'], ['the issuer\'s own name in another domain', 'emily', 'elsewhere.org']])('refuses %s and records nothing', async (_what, name, domain) => {
      const welcome = await (await openPeering(probe, emilyAddr)).send({ secret: secretOf(token), name, domain })
      expect(welcome.error).not.toBe('')
      expect(welcome.error).not.toMatch(CONTROL)
      expect(welcome.error.length).toBeLessThan(300)
      expect(await peersOf(emily)).toEqual([])
    })

    it('has not used the token up on refusals; a good name gets in with it', async () => {
      const bob = await fresh()
      const welcome = await (await openPeering(bob, emilyAddr)).send({ secret: secretOf(token), name: 'bob', domain: 'example.org', addrs: ['/ip4/127.0.0.1/tcp/1', '\x1b[31mnot an address'] })
      expect(welcome).toMatchObject({ error: '', name: 'emily', domain: 'example.org' })
      expect(await peersOf(emily)).toEqual([expect.objectContaining({ name: 'bob', domain: 'example.org', peerId: bob.peerId.toString() })])
      expect((await peersOf(emily))[0].addrs.join(' ')).not.toMatch(CONTROL)
    })

    it('refuses a name another trusted peer holds, in any domain, so "job@bob" stays unambiguous', async () => {
      for (const domain of ['example.org', 'elsewhere.org', '']) {
        const t = (await emily.cli(['proxy'])).stdout.trim()
        const welcome = await (await openPeering(probe, emilyAddr)).send({ secret: secretOf(t), name: 'bob', domain })
        expect(welcome.error).toMatch(/^the name bob is already held by another trusted peer/)
      }
      const list = await peersOf(emily)
      expect(list.map(p => p.name)).toEqual(['bob'])
      const res = await emily.cli(['exec', 'job@bob', '--', 'true'])
      expect(res.stderr).not.toContain('ambiguous')
    })
  })

  describe('the redeemer refuses an issuer\'s bad name', () => {
    let evil: Libp2p
    let evilKey: NodeKey
    let evilAddr: string
    let answer: (hello: PeerHello) => Partial<PeerWelcome>
    let hellos = 0
    beforeAll(async () => {
      const s = await stranger({ addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] } })
      owned.push(s.node)
      evil = s.node
      evilKey = s.key
      evilAddr = evil.getMultiaddrs()[0].toString()
      await evil.handle(PEER_PROTOCOL, async stream => {
        const lp = lpStream(stream)
        const hello = PeerHello.decode((await lp.read()).subarray())
        hellos++
        await lp.write(PeerWelcome.encode({ error: '', name: '', domain: '', ...answer(hello) }).finish())
        await stream.close()
      })
    })

    const tokenNamed = (name: string, domain: string): string =>
      issueToken(evilKey, { name, domain, addrs: [evilAddr], expiresAtMs: Date.now() + 3_600_000 }).token

    it.each([...BAD, ['the redeemer\'s own name', 'alice', 'example.org']])('refuses a token whose issuer calls itself %s, before dialling it', async (_what, name, domain) => {
      answer = () => ({ name, domain })
      const before = hellos
      const res = await alice.cli(['proxy', tokenNamed(name, domain)])
      expect(res.code).not.toBe(0)
      expect(res.stderr).toMatch(/^aurae: .+\n$/)
      expect(res.stderr.slice(0, -1)).not.toMatch(CONTROL)
      expect(hellos).toBe(before)
      expect(await peersOf(alice)).toEqual([])
    })

    it('refuses an issuer that answers with another name than its token\'s', async () => {
      answer = () => ({ name: 'bo\x1b[2Jb', domain: 'example.org' })
      const res = await alice.cli(['proxy', tokenNamed('evil', 'example.org')])
      expect(res.code).toBe(1)
      expect(res.stderr.slice(0, -1)).not.toMatch(CONTROL)
      expect(await peersOf(alice)).toEqual([])
    })

    it('never prints the control characters of an issuer\'s refusal', async () => {
      answer = () => ({ error: 'no\x1b[2J\x1b[31m way\x07', name: 'evil', domain: 'example.org' })
      const res = await alice.cli(['proxy', tokenNamed('evil', 'example.org')])
      expect(res.code).toBe(1)
      expect(res.stderr).toMatch(/^aurae: evil refused: no.*way.*\n$/)
      expect(res.stderr.slice(0, -1)).not.toMatch(CONTROL)
      expect(await peersOf(alice)).toEqual([])
    })

    it('refuses a token whose issuer takes the name of another trusted peer', async () => {
      const t = (await emily.cli(['proxy'])).stdout.trim()
      expect((await alice.cli(['proxy', t])).code).toBe(0)
      answer = () => ({ name: 'emily', domain: 'example.org' })
      const before = hellos
      const res = await alice.cli(['proxy', tokenNamed('emily', 'example.org')])
      expect(res.code).toBe(1)
      expect(res.stderr).toMatch(/^aurae: this token's issuer calls itself emily, a name already held by another trusted peer/)
      expect(hellos).toBe(before)
      expect((await peersOf(alice)).map(p => p.peerId)).toEqual([JSON.parse((await emily.cli(['status', '--json'])).stdout).peerId])
    })
  })

  it('prints no control character of a name stored before names were checked', async () => {
    const list = await peersOf(alice)
    const old = await fresh().then(n => n.peerId.toString())
    expect((await alice.cli(['down'])).code).toBe(0)
    const store = await until('alice\'s daemon to let go of its store', async () => await Store.open(`${alice.data}/store`).catch(() => undefined))
    try {
      await store.table<PeerRecord>('peers').put(old, { peerId: old, name: 'old\x1b[2J\x1b]0;pwned\x07', domain: '', addrs: ['/ip4/\x1b[31m1.2.3.4'], trustedAt: Date.now() })
    } finally {
      await store.stop()
    }
    expect((await alice.up()).code).toBe(0)
    const table = await alice.cli(['peers'])
    expect(table.code).toBe(0)
    expect(table.stdout).toContain('old\\x1b[2J')
    expect(table.stdout.replaceAll('\n', '')).not.toMatch(CONTROL)
    const json = await alice.cli(['peers', '--json'])
    expect(json.stdout.replaceAll('\n', '')).not.toMatch(CONTROL)
    expect(JSON.parse(json.stdout)).toHaveLength(list.length + 1)
  })
})
