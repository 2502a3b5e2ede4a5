import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Token, TokenBody } from '../../src/gen/aurae/mesh/v0/mesh.ts'
import { TestNet } from '../helpers/netns.ts'
import { startNode, type TestNode } from '../helpers/node.ts'

const PREFIX = 'aurae1-'

/** Re-encodes a token with a changed body but the old signature. */
function forge (token: string, change: (body: TokenBody) => TokenBody): string {
  const t = Token.decode(Buffer.from(token.slice(PREFIX.length), 'base64url'))
  const body = Buffer.from(TokenBody.encode(change(TokenBody.decode(t.body))).finish())
  return PREFIX + Buffer.from(Token.encode({ body, signature: t.signature }).finish()).toString('base64url')
}

describe('bad peering tokens are refused, each with its own message, and nothing is recorded', () => {
  let net: TestNet
  let alice: TestNode
  let emily: TestNode
  const listen = (host: string): string[] => ['--listen', `/ip4/${net.addr(host)}/tcp/4810`]
  beforeAll(async () => {
    net = TestNet.create(['alice', 'emily'])
    emily = await startNode('emily', listen('emily'), net.ns('emily'))
    alice = await startNode('alice', listen('alice'), net.ns('alice'))
  })
  afterAll(async () => {
    await alice?.stop()
    await emily?.stop()
    net?.destroy()
  })

  const token = async (...args: string[]): Promise<string> => (await emily.cli(['proxy', ...args])).stdout.trim()
  const redeem = async (t: string): Promise<{ code: number, stderr: string }> => await alice.cli(['proxy', t])
  const nobodyTrusted = async (): Promise<void> => {
    expect(JSON.parse((await alice.cli(['peers', '--json'])).stdout)).toEqual([])
    expect(JSON.parse((await emily.cli(['peers', '--json'])).stdout)).toEqual([])
  }

  it.each([
    ['a string that is no token', 'hello', /^aurae: this is not a peering token \(it should start with aurae1-; get one from "aurae proxy" on the other node\)\n$/],
    ['a garbled token', `${PREFIX}CgQxMjM0`, /^aurae: this peering token is garbled: .+\n$/],
    ['a cut-off token', 'TRUNCATE', /^aurae: this peering token is garbled: .+\n$/]
  ])('refuses %s', async (_what, text, message) => {
    const t = text === 'TRUNCATE' ? (await token()).slice(0, 60) : text
    const res = await redeem(t)
    expect(res.code).toBe(2)
    expect(res.stderr).toMatch(message)
    await nobodyTrusted()
  })

  it('refuses a token with any byte changed', async () => {
    const good = await token()
    const renamed = forge(good, b => ({ ...b, name: 'mallory' }))
    const res = await redeem(renamed)
    expect(res.code).toBe(2)
    expect(res.stderr.trim()).toBe('aurae: this peering token has been tampered with: its signature does not match its issuer')
    const longer = forge(good, b => ({ ...b, expiresAtMs: b.expiresAtMs + 86_400_000 }))
    expect((await redeem(longer)).stderr).toContain('tampered with')
    const raw = Buffer.from(good.slice(PREFIX.length), 'base64url')
    for (const at of [2, Math.floor(raw.length / 2), raw.length - 3]) {
      const flipped = Buffer.from(raw)
      flipped[at] ^= 0x01
      const res = await redeem(PREFIX + flipped.toString('base64url'))
      expect(res.code).toBe(2)
      expect(res.stderr).toMatch(/^aurae: this peering token (has been tampered with|is garbled)/)
    }
    await nobodyTrusted()
  })

  it('refuses an expired token', async () => {
    const short = await token('--ttl', '1s')
    await sleep(1100)
    const res = await redeem(short)
    // Refused as a used-up token is: exit 1, not a usage error.
    expect(res.code).toBe(1)
    expect(res.stderr).toMatch(/^aurae: this peering token expired at .*; ask for a new one\n$/)
    await nobodyTrusted()
  })

  it('refuses a token that has been used up, on the issuer\'s side', async () => {
    const once = await token()
    expect((await redeem(once)).code).toBe(0)
    expect(await alice.cli(['unpeer', 'emily'])).toMatchObject({ code: 0, stderr: 'emily and this node no longer trust each other\n' })
    await nobodyTrusted()
    const again = await redeem(once)
    expect(again.code).toBe(1)
    expect(again.stderr.trim()).toBe('aurae: emily refused: this peering token has already been used')
    await nobodyTrusted()
  })

  it('refuses a token when another node answers at the issuer\'s address', async () => {
    const issued = await token()
    await emily.stop()
    // A different node, with its own key, now listens where emily did.
    emily = await startNode('emily', listen('emily'), net.ns('emily'))
    const res = await redeem(issued)
    expect(res.code).toBe(1)
    expect(res.stderr.trim()).toBe(`aurae: the node answering at /ip4/${net.addr('emily')}/tcp/4810 is not the one that issued this token (emily)`)
    await nobodyTrusted()
  })
})
