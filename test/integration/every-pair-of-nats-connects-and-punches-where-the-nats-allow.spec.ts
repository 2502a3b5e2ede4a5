import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { NatMatrix, canGoDirect, kindOf, kindPairs } from '../helpers/nat-matrix.ts'
import { until } from '../helpers/node.ts'

// The NAT matrix: a public relay and two hosts of each kind (public, full cone, port-restricted cone,
// symmetric), 20 ms of delay on every uplink. Every pair of kinds is peered with a token, runs `exec` both ways,
// and ends on a direct connection wherever the two NATs allow one; the others keep working through the relay.
// Once with internet addresses libp2p counts as private, once with ranges that count as public (TEST-NET, made
// public for the daemons by the test-only AURAE_TEST_PUBLIC_RANGES), as real internet addresses do.
for (const addressing of ['private', 'public'] as const) {
  describe(`every pair of NATs connects, and punches where the NATs allow (${addressing} addressing)`, () => {
    let matrix: NatMatrix
    beforeAll(async () => {
      matrix = await NatMatrix.create(addressing)
    }, 120_000)
    afterAll(async () => {
      await matrix?.destroy()
    }, 60_000)

    it('tells each node whether it is public or behind a NAT', async () => {
      for (const name of matrix.nodes.keys()) {
        // A full cone forwards every port to its host: the host can be dialled at the router's address, so it is public.
        const want = name === 'relay' || ['none', 'full'].includes(kindOf(name)) ? 'public' : 'private'
        await until(`${name} to know it is ${want}`, async () => {
          const mesh = JSON.parse((await matrix.node(name).cli(['status', '--json'])).stdout).mesh
          return mesh.reachability === want || undefined
        }, 20_000)
      }
    }, 120_000)

    it('peers every pair with a token and runs exec both ways', async () => {
      for (const [a, b] of kindPairs()) {
        await matrix.peer(a, b)
        for (const [from, to] of [[a, b], [b, a]]) {
          const res = await matrix.node(from).cli(['exec', `@${to}`, '--', 'echo', `from ${from}`])
          expect({ pair: `${from}->${to}`, ...res }).toMatchObject({ pair: `${from}->${to}`, code: 0, stdout: `from ${from}\n` })
        }
      }
    }, 300_000)

    it('ends direct within 20 s wherever one side is public or both are cones, and stays relayed and working where not', async () => {
      const pairs = kindPairs()
      await Promise.all(pairs.filter(([a, b]) => canGoDirect(a, b)).map(async ([a, b]) => {
        await until(`${a} and ${b} to go direct`, async () => (await matrix.path(a, b)) === 'direct' && (await matrix.path(b, a)) === 'direct' ? true : undefined, 20_000)
      }))
      for (const [a, b] of pairs.filter(([a, b]) => mustStayRelayed(a, b))) {
        expect({ pair: `${a}-${b}`, path: await matrix.path(a, b) }).toEqual({ pair: `${a}-${b}`, path: 'relayed' })
        const res = await matrix.node(a).cli(['exec', `@${b}`, '--', 'true'])
        expect({ pair: `${a}-${b}`, code: res.code }).toEqual({ pair: `${a}-${b}`, code: 0 })
      }
    }, 120_000)
  })
}

/** Symmetric NATs map every destination to a new port: with another symmetric or a port-restricted cone, no punch can land. */
function mustStayRelayed (a: string, b: string): boolean {
  const kinds = [kindOf(a), kindOf(b)].sort().join('-')
  return kinds === 'sym-sym' || kinds === 'prc-sym'
}
