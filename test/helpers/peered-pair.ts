// Two trusted nodes in network namespaces of their own, alice and emily, with the test's registry reachable from
// emily's (images pushed to `registry` are pulled there as `${inside.host}/NAME`): the setup of tests that run on a
// peer. `stop` ends everything it made, in order, also after a failed start.
import { TestNet } from './netns.ts'
import { startNode, type TestNode } from './node.ts'
import { serveInside, type TestRegistry } from './registry.ts'

export interface PeeredPair {
  net: TestNet
  alice: TestNode
  emily: TestNode
  /** The registry as emily reaches it. */
  inside: { host: string, stop: () => void }
  stop: () => Promise<void>
}

export async function peeredPair (registry: TestRegistry): Promise<PeeredPair> {
  const net = TestNet.create(['alice', 'emily'])
  let inside: PeeredPair['inside'] | undefined
  let alice: TestNode | undefined
  let emily: TestNode | undefined
  // Each part goes even when one before it fails to (a daemon a test killed has no `down` to answer).
  const stop = async (): Promise<void> => {
    const failures: unknown[] = []
    for (const part of [async () => await alice?.stop(), async () => await emily?.stop(), () => inside?.stop(), () => net.destroy()]) {
      try {
        await part()
      } catch (err) {
        failures.push(err)
      }
    }
    if (failures.length > 0) throw failures[0]
  }
  try {
    inside = await serveInside(registry, net.ns('emily'))
    emily = await startNode('emily@example.org', ['--listen', `/ip4/${net.addr('emily')}/tcp/4810`], net.ns('emily'))
    alice = await startNode('alice@example.org', ['--listen', `/ip4/${net.addr('alice')}/tcp/4810`], net.ns('alice'))
    const peered = await alice.cli(['proxy', (await emily.cli(['proxy'])).stdout.trim()])
    if (peered.code !== 0) throw new Error(peered.stderr)
    return { net, alice, emily, inside, stop }
  } catch (err) {
    await stop()
    throw err
  }
}
