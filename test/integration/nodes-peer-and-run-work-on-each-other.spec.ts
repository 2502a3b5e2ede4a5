import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TestNet } from '../helpers/netns.ts'
import { startNode, until, workload, type TestNode } from '../helpers/node.ts'

// Two hosts in their own network namespaces, each with its own address on a bridge.
describe('two nodes peer with a token and run work on each other', () => {
  let net: TestNet
  let alice: TestNode
  let emily: TestNode
  beforeAll(async () => {
    net = TestNet.create(['alice', 'emily'])
    emily = await startNode('emily@example.org', ['--listen', `/ip4/${net.addr('emily')}/tcp/4810`], net.ns('emily'))
    alice = await startNode('alice@example.org', ['--listen', `/ip4/${net.addr('alice')}/tcp/4810`], net.ns('alice'))
  })
  afterAll(async () => {
    await alice?.stop()
    await emily?.stop()
    net?.destroy()
  })

  it('peers: the token alone on stdout, trust recorded on both sides', async () => {
    const issued = await emily.cli(['proxy'])
    expect(issued.code).toBe(0)
    expect(issued.stdout).toMatch(/^aurae1-[A-Za-z0-9_-]+\n$/)
    expect(issued.stderr).toContain('aurae proxy <token>')
    const redeemed = await alice.cli(['proxy', issued.stdout.trim()])
    expect(redeemed.code).toBe(0)
    expect(redeemed.stderr).toContain('peered with emily@example.org')

    const fromAlice = JSON.parse((await alice.cli(['peers', '--json'])).stdout)
    const fromEmily = JSON.parse((await emily.cli(['peers', '--json'])).stdout)
    const emilyId = JSON.parse((await emily.cli(['status', '--json'])).stdout).peerId
    const aliceId = JSON.parse((await alice.cli(['status', '--json'])).stdout).peerId
    expect(fromAlice).toEqual([expect.objectContaining({ name: 'emily', domain: 'example.org', peerId: emilyId, connected: true })])
    expect(fromEmily).toEqual([expect.objectContaining({ name: 'alice', domain: 'example.org', peerId: aliceId, connected: true })])
    expect(fromAlice[0]).toMatchObject({ connection: 'direct', addr: `/ip4/${net.addr('emily')}/tcp/4810` })
    // emily's side of alice's connection came from an ephemeral port: she shows the address alice listens on.
    expect(fromEmily[0]).toMatchObject({ connection: 'direct', addr: `/ip4/${net.addr('alice')}/tcp/4810` })
    const table = (await alice.cli(['peers'])).stdout.split('\n')
    expect(table[0].split(/\s+/)).toEqual(['NAME', 'PEERID', 'ADDR', 'CONNECTED', 'LATENCY', 'SINCE'])
    expect(table[1].split(/\s+/)[3]).toBe('direct')
  })

  it('runs attached on the peer: output, exit code and the workload\'s home are the peer\'s', async () => {
    const res = await alice.cli(['exec', 'job@emily', '--', 'sh', '-c', 'echo running on $AURAE_WORKLOAD; ip -4 -o addr show eth0 | grep -o "10.213.0.[0-9]*"; echo oops >&2; exit 6'])
    expect(res).toEqual({ code: 6, stdout: `running on job\n${net.addr('emily')}\n`, stderr: 'oops\n' })
    expect(await workload(emily, 'job')).toMatchObject({ state: 'exited', exitCode: 6 })
    expect(await workload(alice, 'job')).toBeUndefined()
  })

  it('works the other way too, and lists, follows, stops and removes remote workloads', async () => {
    expect(await emily.cli(['exec', 'back@alice', '--', 'true'])).toMatchObject({ code: 0 })
    expect((await alice.cli(['exec', 'svc@emily', '-d', '--', 'sh', '-c', 'i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.05; done'])).stdout).toBe('svc\n')
    const remote = JSON.parse((await alice.cli(['ps', '@emily', '--json'])).stdout)
    expect(remote.map((w: any) => w.name)).toContain('svc')
    // The peer's cgroups and the peer's events, asked for from here.
    const stats = JSON.parse((await alice.cli(['stats', 'svc@emily', '--no-stream', '--json'])).stdout)
    expect(stats).toEqual([expect.objectContaining({ name: 'svc', memoryLimitBytes: null })])
    expect(stats[0].pids).toBeGreaterThanOrEqual(1)
    const events = (await alice.cli(['events', '@emily', '--since', '1h', '--until', '0s', '--json'])).stdout.trim().split('\n').map(l => JSON.parse(l))
    expect(events.filter(e => e.name === 'svc').map(e => e.type)).toEqual(['created', 'started'])
    // A name that runs on the peer is entered there, as docker exec -d does.
    expect(await alice.cli(['exec', 'svc@emily', '-d', '--', 'true'])).toEqual({ code: 0, stdout: '', stderr: '' })
    const follower = alice.spawnCli(['logs', 'svc@emily', '-f'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let followed = ''
    follower.stdout?.on('data', d => { followed += String(d) })
    const exited = new Promise(resolve => follower.on('exit', resolve))
    await until('remote lines to arrive', () => followed.includes('tick 5\n'))
    expect((await alice.cli(['stop', 'svc@emily'])).code).toBe(0)
    expect(await exited).toBe(0)
    expect(await workload(emily, 'svc')).toMatchObject({ state: 'exited', signal: 'SIGTERM' })
    expect((await alice.cli(['rm', 'svc@emily'])).code).toBe(0)
    expect(await workload(emily, 'svc')).toBeUndefined()
  })

  it('forwards Ctrl-C to a remote workload', async () => {
    const child = alice.spawnCli(['exec', 'remote-int@emily', '--', 'sh', '-c', 'trap "echo got INT; exit 42" INT; echo ready; while true; do sleep 0.05; done'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout?.on('data', d => { out += String(d) })
    const exited = new Promise(resolve => child.on('exit', resolve))
    await until('the remote workload to be ready', () => out.includes('ready'))
    child.kill('SIGINT')
    expect(await exited).toBe(42)
    expect(out).toBe('ready\ngot INT\n')
  })

  it('fails fast with a clear message while the peer is cut off, and recovers when the link returns', async () => {
    net.linkDown('emily')
    try {
      const res = await alice.cli(['exec', 'cut@emily', '--', 'true'])
      expect(res.code).toBe(125)
      expect(res.stderr).toMatch(/^aurae: (emily is unreachable|lost emily during the call)/)
    } finally {
      net.linkUp('emily')
    }
    await until('emily to answer again', async () => (await alice.cli(['exec', 'again@emily', '--rm', '--', 'true'])).code === 0, 30_000)
  })

  it('keeps trust and addresses across a restart, and reconnects by itself', async () => {
    expect((await alice.cli(['down'])).code).toBe(0)
    await until('emily to see alice gone', async () => JSON.parse((await emily.cli(['peers', '--json'])).stdout)[0]?.connected === false)
    expect((await alice.up()).code).toBe(0)
    await until('alice to redial emily', async () => JSON.parse((await emily.cli(['peers', '--json'])).stdout)[0]?.connected === true)
    expect(JSON.parse((await alice.cli(['peers', '--json'])).stdout)).toEqual([expect.objectContaining({ name: 'emily', connected: true })])
    expect((await alice.cli(['exec', 'after-restart@emily', '--rm', '--', 'true'])).code).toBe(0)
  })

  it('unpeering removes trust on both sides; a node that is no longer trusted is refused by name', async () => {
    const third = await emily.cli(['proxy'])
    expect((await alice.cli(['unpeer', 'emily'])).stderr).toContain('no longer trust each other')
    expect(JSON.parse((await emily.cli(['peers', '--json'])).stdout)).toEqual([])
    const refused = await alice.cli(['exec', 'nope@emily', '--', 'true'])
    expect(refused.code).toBe(125)
    expect(refused.stderr.trim()).toBe('aurae: no trusted peer named emily; peer first with "aurae proxy"')
    // Peer again, then emily alone forgets alice while alice is cut off: alice still thinks they are peers.
    expect((await alice.cli(['proxy', third.stdout.trim()])).code).toBe(0)
    net.linkDown('alice')
    try {
      await emily.cli(['unpeer', 'alice'])
    } finally {
      net.linkUp('alice')
    }
    await until('alice to be told no', async () => {
      const res = await alice.cli(['exec', 'nope2@emily', '--', 'true'])
      return res.stderr.trim() === 'aurae: emily does not trust alice — peer first with "aurae proxy"' && res.code === 125
    }, 30_000)
  })
})
