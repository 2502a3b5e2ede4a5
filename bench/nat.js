// NAT traversal in the NAT testbed (network namespaces, 20 ms on every uplink): how long peering takes to a
// first call across NATs, how long a relayed connection takes to go direct, how often a punch lands, what a call
// costs direct against relayed against local, and one stream's throughput over WebRTC against TCP.
import { spawnSync } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'
import { AURAE } from '../test/helpers/node.ts'
import { NatMatrix } from '../test/helpers/nat-matrix.ts'

const TRIALS = Number(process.env.BENCH_PUNCH_TRIALS ?? 20)
const CONE_PAIRS = [['prc1', 'prc2'], ['full1', 'full2'], ['full1', 'prc1']]
const median = xs => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

/** Runs the CLI on a node of the matrix and gives the milliseconds it took; throws if it failed. */
const timer = m => (node, args) => {
  const t0 = process.hrtime.bigint()
  const r = spawnSync(process.execPath, [AURAE, '--sock', m.node(node).sock, ...args], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`aurae ${args[0]} on ${node} exited ${r.status}: ${r.stderr.trim().slice(0, 300)}`)
  return Number(process.hrtime.bigint() - t0) / 1e6
}

/** Peers b with a by a token of a's, then runs one exec on a from b: the milliseconds from `proxy` to the exec's end. */
const peeringTimer = (m, ms) => async (a, b) => {
  const token = await m.token(a)
  const t0 = process.hrtime.bigint()
  ms(b, ['proxy', token])
  ms(b, ['exec', `@${a}`, '--', 'true'])
  return Number(process.hrtime.bigint() - t0) / 1e6
}

/** From `aurae proxy <token>` to a first exec across two symmetric NATs (relayed for good): first, and again after unpeer. */
export async function firstCalls (m) {
  const ms = timer(m)
  const peerAndCall = peeringTimer(m, ms)
  const rows = []
  const first = await peerAndCall('sym1', 'sym2')
  rows.push(['NAT: aurae proxy <token> to the first exec, relayed (symmetric to symmetric), first peering', `${first.toFixed(0)} ms`, '', '', '<= 1500 ms'])
  const again = []
  for (let i = 0; i < 5; i++) {
    ms('sym2', ['unpeer', 'sym1'])
    again.push(await peerAndCall('sym1', 'sym2'))
  }
  rows.push(['NAT: the same again after unpeer (median of 5)', `${median(again).toFixed(0)} ms`, `max ${Math.max(...again).toFixed(0)} ms`, '', '<= 1500 ms'])
  return rows
}

export async function natBench () {
  const rows = []
  // Peering to a first call is timed on a pair alone (with their relay), as a user's two nodes would be: the full
  // matrix runs nine daemons on this machine's two cores, and its load would be timed as well.
  const pair = await NatMatrix.create('public', 20, ['sym1', 'sym2'])
  try {
    rows.push(...await firstCalls(pair))
  } finally {
    await pair.destroy()
  }
  const m = await NatMatrix.create('public', 20)
  try {
    const ms = timer(m)
    const peerAndCall = peeringTimer(m, ms)
    const failures = []
    const waitPath = async (a, b, want, limitMs) => {
      const t0 = Date.now()
      while (Date.now() - t0 < limitMs) {
        if (await m.path(a, b) === want) return Date.now() - t0
        await sleep(50)
      }
      return undefined
    }
    const cone = await peerAndCall('prc1', 'prc2')
    const toDirect = await waitPath('prc2', 'prc1', 'direct', 20_000)
    rows.push(['NAT: aurae proxy <token> to the first exec, port-restricted cones (with the full matrix running)', `${cone.toFixed(0)} ms`, '', '', ''])
    rows.push(['NAT: first exec to a direct connection, port-restricted cones', toDirect === undefined ? 'not within 20 s' : `${toDirect} ms`, '', '', ''])

    // A punch trial: peer afresh (the previous trust withdrawn), time from the token's redemption to direct.
    for (const [a, b] of CONE_PAIRS) {
      const times = []
      for (let i = 0; i < TRIALS; i++) {
        if (i > 0 || a !== 'prc1' || b !== 'prc2') {
          spawnSync(process.execPath, [AURAE, '--sock', m.node(b).sock, 'unpeer', a], { stdio: 'ignore' })
          try {
            ms(b, ['proxy', await m.token(a)])
          } catch (err) {
            // A peering that failed is not a punch that failed: say so, and peer again.
            failures.push(`${a}-${b} trial ${i + 1}: ${err.message}`)
            ms(b, ['proxy', await m.token(a)])
          }
        }
        const t = await waitPath(b, a, 'direct', 20_000)
        if (t !== undefined) times.push(t)
      }
      rows.push([`NAT: punches that land within 20 s, ${a}-${b} (of ${TRIALS})`, `${times.length}/${TRIALS}`, '', '', '100 %'])
      if (times.length > 0) rows.push([`NAT: relayed to direct, ${a}-${b} (median, max)`, `${median(times)} ms, ${Math.max(...times)} ms`, '', '', '<= 5000 ms'])
    }

    if (failures.length > 0) console.error(`peerings that failed and were repeated:\n${failures.join('\n')}`)
    rows.push(['NAT: peerings that failed during the punch trials (repeated)', `${failures.length}/${TRIALS * CONE_PAIRS.length - 1}`, '', '', ''])
    const calls = (from, to) => { ms(from, ['exec', `@${to}`, '--', 'true']); return median(Array.from({ length: 10 }, () => ms(from, ['exec', `@${to}`, '--', 'true']))) }
    const local = median(Array.from({ length: 10 }, () => ms('prc2', ['exec', '--', 'true'])))
    const direct = calls('prc2', 'prc1')
    await m.peer('sym1', 'sym2')
    const viaRelay = calls('sym2', 'sym1')
    rows.push(['NAT: exec @peer -- true, direct over WebRTC (median of 10)', `${direct.toFixed(1)} ms`, `local exec: ${local.toFixed(1)} ms`, `+${(direct - local).toFixed(1)} ms`, ''])
    rows.push(['NAT: exec @peer -- true, relayed (median of 10)', `${viaRelay.toFixed(1)} ms`, `direct: ${direct.toFixed(1)} ms`, `+${(viaRelay - direct).toFixed(1)} ms`, ''])
  } finally {
    await m.destroy()
  }

  // Throughput without the testbed's delay: one attached exec streaming zeros back across the mesh.
  const fast = await NatMatrix.create('public', 0)
  try {
    for (const [a, b] of [['none1', 'none2'], ['prc1', 'prc2']]) await fast.peer(a, b)
    if (await fast.path('prc2', 'prc1') !== 'direct') await sleep(3000)
    const SIZE = 64 * 2 ** 20
    const mbits = (from, to) => {
      const t0 = process.hrtime.bigint()
      const r = spawnSync(process.execPath, [AURAE, '--sock', fast.node(from).sock, 'exec', `@${to}`, '--', 'head', '-c', String(SIZE), '/dev/zero'], { maxBuffer: 2 * SIZE })
      if (r.status !== 0 || r.stdout.length !== SIZE) throw new Error(`exec @${to} streamed ${r.stdout?.length} of ${SIZE} bytes`)
      return SIZE * 8 / (Number(process.hrtime.bigint() - t0) / 1e9) / 1e6
    }
    const tcp = median([1, 2, 3].map(() => mbits('none2', 'none1')))
    const webrtc = median([1, 2, 3].map(() => mbits('prc2', 'prc1')))
    rows.push(['NAT: one stream, 64 MB of exec output, direct over WebRTC (median of 3)', `${webrtc.toFixed(0)} Mbit/s`, `TCP: ${tcp.toFixed(0)} Mbit/s`, `${(webrtc / tcp).toFixed(2)}x`, ''])
  } finally {
    await fast.destroy()
  }
  return rows
}
