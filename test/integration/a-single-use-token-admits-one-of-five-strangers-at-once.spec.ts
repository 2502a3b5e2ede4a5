import type { Libp2p } from 'libp2p'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startNode, type TestNode } from '../helpers/node.ts'
import { openPeering, secretOf, stranger } from '../helpers/stranger.ts'

describe('a single-use token redeemed by five strangers at the same instant admits exactly one', () => {
  let emily: TestNode
  const strangers: Libp2p[] = []
  beforeAll(async () => {
    emily = await startNode('emily@example.org')
    for (let i = 0; i < 5; i++) strangers.push((await stranger()).node)
  })
  afterAll(async () => {
    for (const s of strangers) await s.stop()
    await emily?.stop()
  })

  const trusted = async (): Promise<Array<{ name: string, peerId: string }>> => JSON.parse((await emily.cli(['peers', '--json'])).stdout)

  it('lets one in, refuses the others as already used, and records none of them', async () => {
    const addr: string = JSON.parse((await emily.cli(['status', '--json'])).stdout).mesh.addrs[0]
    const secret = secretOf((await emily.cli(['proxy'])).stdout.trim())
    // Every stream is open before any hello is sent, so the five hellos arrive together.
    const sessions = await Promise.all(strangers.map(async s => await openPeering(s, addr)))
    const welcomes = await Promise.all(sessions.map(async (s, i) => await s.send({ secret, name: `s${i}`, domain: 'example.org' })))
    const admitted = welcomes.flatMap((w, i) => w.error === '' ? [i] : [])
    expect(admitted).toHaveLength(1)
    expect(welcomes.filter(w => w.error !== '').map(w => w.error)).toEqual(Array(4).fill('this peering token has already been used'))
    const winner = strangers[admitted[0]].peerId.toString()
    expect((await trusted()).map(p => [p.name, p.peerId])).toEqual([[`s${admitted[0]}`, winner]])
    // The store holds the same: after a restart emily still trusts the winner alone.
    expect((await emily.cli(['down'])).code).toBe(0)
    expect((await emily.up()).code).toBe(0)
    expect((await trusted()).map(p => p.peerId)).toEqual([winner])
  })
})
