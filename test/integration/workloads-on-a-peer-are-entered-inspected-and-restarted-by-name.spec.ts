import { readlinkSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TestNet } from '../helpers/netns.ts'
import { startNode, until, workload, type TestNode } from '../helpers/node.ts'

// Two hosts in their own network namespaces; alice drives emily's workloads as NAME@emily.
describe('a peer\'s workloads are entered, inspected, started and restarted as NAME@peer', () => {
  let net: TestNet
  let alice: TestNode
  let emily: TestNode
  beforeAll(async () => {
    net = TestNet.create(['alice', 'emily'])
    emily = await startNode('emily@example.org', ['--listen', `/ip4/${net.addr('emily')}/tcp/4810`], net.ns('emily'))
    alice = await startNode('alice@example.org', ['--listen', `/ip4/${net.addr('alice')}/tcp/4810`], net.ns('alice'))
    const token = (await emily.cli(['proxy'])).stdout.trim()
    const peered = await alice.cli(['proxy', token])
    if (peered.code !== 0) throw new Error(peered.stderr)
  })
  afterAll(async () => {
    await alice?.stop()
    await emily?.stop()
    net?.destroy()
  })

  it('execs inside a workload running on the peer, with its exit code', async () => {
    expect(await alice.cli(['exec', 'svc@emily', '-d', '--', 'sleep', '1000'])).toMatchObject({ code: 0, stdout: 'svc\n' })
    const pid = (await workload(emily, 'svc')).pid as number
    const res = await alice.cli(['exec', 'svc@emily', '-e', 'EXTRA=1', '--', 'sh', '-c', 'echo $AURAE_WORKLOAD $EXTRA; readlink /proc/self/ns/mnt; exit 5'])
    const [who, mnt] = res.stdout.trim().split('\n')
    expect(res.code).toBe(5)
    expect(who).toBe('svc 1')
    expect(mnt).toBe(readlinkSync(`/proc/${pid}/ns/mnt`))
    expect(mnt).not.toBe(readlinkSync('/proc/self/ns/mnt'))
    // `@emily` alone names only the node: a new executable there, as ever.
    expect(await alice.cli(['exec', '@emily', '--', 'echo', 'new'])).toEqual({ code: 0, stdout: 'new\n', stderr: '' })
    // Nothing of it was made on alice.
    expect(await workload(alice, 'svc')).toBeUndefined()
    // -t needs a terminal to give the command one (the session itself: a-peer-s-workloads-are-entered-with-…).
    expect(await alice.cli(['exec', '-it', 'svc@emily', '--', 'sh'])).toEqual({ code: 125, stdout: '', stderr: 'aurae: the input device is not a TTY; leave out -t\n' })
  })

  it('inspects, restarts, stops and starts it by NAME@peer', async () => {
    const [rec] = JSON.parse((await alice.cli(['inspect', 'svc@emily'])).stdout)
    expect(rec).toMatchObject({ name: 'svc', kind: 'executable', state: 'running', spec: { executable: { command: ['sleep', '1000'] } } })
    const before = rec.pid
    expect(await alice.cli(['restart', 'svc@emily', '-t', '0'])).toMatchObject({ code: 0, stdout: 'svc@emily\n' })
    const after = await workload(emily, 'svc')
    expect(after.state).toBe('running')
    expect(after.pid).not.toBe(before)
    expect((await alice.cli(['stop', 'svc@emily', '-t', '0'])).code).toBe(0)
    await until('svc to have exited', async () => (await workload(emily, 'svc')).state === 'exited')
    expect(await alice.cli(['start', 'svc@emily'])).toMatchObject({ code: 0, stdout: 'svc@emily\n' })
    expect(await workload(emily, 'svc')).toMatchObject({ state: 'running' })
    const [again] = JSON.parse((await alice.cli(['inspect', 'svc@emily'])).stdout)
    expect(again.history.map((h: any) => h.state)).toEqual(['created', 'running', 'exited', 'created', 'running', 'exited', 'created', 'running'])
    const missing = await alice.cli(['inspect', 'nobody@emily'])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toBe('aurae: no workload named nobody\n')
    await alice.cli(['rm', '-f', 'svc@emily'])
  })
})
