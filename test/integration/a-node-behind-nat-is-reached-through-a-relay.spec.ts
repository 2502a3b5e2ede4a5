import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TestNet } from '../helpers/netns.ts'
import { run, startNode, until, workload, type TestNode } from '../helpers/node.ts'

describe('a node behind a NAT is reached through a relay', () => {
  let net: TestNet
  const nodes: TestNode[] = []
  let relay: TestNode
  let hidden: TestNode
  let carol: TestNode
  beforeAll(async () => {
    net = TestNet.create(['relay', 'hidden', 'carol'], ['hidden'])
    relay = await startNode('relay', ['--listen', `/ip4/${net.addr('relay')}/tcp/4810`], net.ns('relay'))
    nodes.push(relay)
    const relayAddr = `/ip4/${net.addr('relay')}/tcp/4810/p2p/${JSON.parse((await relay.cli(['status', '--json'])).stdout).peerId}`
    hidden = await startNode('hidden', ['--listen', `/ip4/${net.addr('hidden')}/tcp/4810`, '--listen', '/p2p-circuit', '--bootstrap', relayAddr], net.ns('hidden'))
    nodes.push(hidden)
    carol = await startNode('carol', ['--listen', `/ip4/${net.addr('carol')}/tcp/4810`], net.ns('carol'))
    nodes.push(carol)
  })
  afterAll(async () => {
    for (const n of nodes) await n.stop()
    net?.destroy()
  })

  it('cannot be dialled directly', async () => {
    const res = await run('ip', ['netns', 'exec', net.ns('carol'), 'sh', '-c', `echo | timeout 3 nc -w 2 ${net.addr('hidden')} 4810 && echo open || echo closed`])
    expect(res.stdout.trim().split('\n').pop()).toBe('closed')
  })

  it('is peered with and runs work for a node on the other side of its NAT', async () => {
    // A relay serves only nodes it trusts: the hidden node peers with its relay first.
    expect((await hidden.cli(['proxy', (await relay.cli(['proxy'])).stdout.trim()])).code).toBe(0)
    const addrs = await until('a relayed address', async () => {
      const a: string[] = JSON.parse((await hidden.cli(['status', '--json'])).stdout).mesh.addrs
      return a.some(x => x.includes('/p2p-circuit')) ? a : undefined
    }, 30_000)
    expect(addrs.some(a => a.startsWith(`/ip4/${net.addr('relay')}/`))).toBe(true)
    const mesh = JSON.parse((await hidden.cli(['status', '--json'])).stdout).mesh
    expect(mesh.reachability).toBe('private')
    const token = (await hidden.cli(['proxy'])).stdout.trim()
    const peered = await carol.cli(['proxy', token])
    expect(peered.stderr).toContain('peered with hidden')
    expect(peered.code).toBe(0)
    const res = await carol.cli(['exec', 'behind@hidden', '--', 'sh', '-c', 'ip -4 -o addr show eth0 | grep -o "192.168.[0-9]*.2"'])
    expect(res).toMatchObject({ code: 0, stdout: `${net.addr('hidden')}\n` })
    expect(await workload(hidden, 'behind')).toMatchObject({ state: 'exited', exitCode: 0 })
    expect((await hidden.cli(['exec', 'out@carol', '--', 'true'])).code).toBe(0)
  })
})
