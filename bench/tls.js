// The mTLS socket (issue 13, part 4): one unary call (Discover) over it, on one warm connection, next to the same call
// over the owner-only socket on a warm connection of its own, interleaved so that both see the same machine.
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { credentials } from '@grpc/grpc-js'
import { DiscoveryServiceClient } from '../dist/gen/aurae/discovery/v0/discovery.js'

const N = 1000
const WARM = 100
const median = xs => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const signed = ms => `${ms >= 0 ? '+' : ''}${ms.toFixed(3)} ms`
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]

/** Milliseconds one Discover takes on `client`. */
const discover = client => new Promise((resolve, reject) => {
  const t0 = process.hrtime.bigint()
  client.discover({}, err => err === null ? resolve(Number(process.hrtime.bigint() - t0) / 1e6) : reject(err))
})

export async function tlsBench ({ dir, aurae, listen }) {
  const sock = join(dir, 'tls-bench.sock')
  const tlsSock = join(dir, 'tls-bench-mtls.sock')
  const pki = join(dir, 'tls-bench-pki')
  const out = join(dir, 'tls-bench-client')
  const cli = (...args) => spawnSync(process.execPath, [aurae, '--sock', sock, ...args], { encoding: 'utf8' })
  const up = cli('up', 'tlsbench', '--key', join(dir, 'tls-bench.key'), '--data', join(dir, 'tls-bench'), '--vm-templates', 'off', '--tls-sock', tlsSock, '--pki', pki, ...listen)
  if (up.status !== 0) throw new Error(up.stderr)
  const plain = new DiscoveryServiceClient(`unix:${sock}`, credentials.createInsecure())
  let mtls
  try {
    const issued = cli('pki', 'client', 'bench', '--pki', pki, '--out', out, '--config', join(dir, 'tls-bench-config'))
    if (issued.status !== 0) throw new Error(issued.stderr)
    const creds = credentials.createSsl(readFileSync(join(out, 'ca.crt')), readFileSync(join(out, 'client.bench.key')), readFileSync(join(out, '_signed.client.bench.crt')))
    mtls = new DiscoveryServiceClient(`unix:${tlsSock}`, creds, { 'grpc.ssl_target_name_override': 'server.unsafe.aurae.io' })
    for (let i = 0; i < WARM; i++) {
      await discover(plain)
      await discover(mtls)
    }
    const ours = []
    const bare = []
    for (let i = 0; i < N; i++) {
      bare.push(await discover(plain))
      ours.push(await discover(mtls))
    }
    // A new connection's first call: the TLS handshake (ECDSA P-256, client certificate verified) next to none. Each
    // client has a subchannel pool of its own, or grpc-js would reuse the warm connection.
    const cold = []
    const coldBare = []
    const own = { 'grpc.use_local_subchannel_pool': 1 }
    for (let i = 0; i < 20; i++) {
      const c = new DiscoveryServiceClient(`unix:${sock}`, credentials.createInsecure(), own)
      coldBare.push(await discover(c))
      c.close()
      const t = new DiscoveryServiceClient(`unix:${tlsSock}`, creds, { ...own, 'grpc.ssl_target_name_override': 'server.unsafe.aurae.io' })
      cold.push(await discover(t))
      t.close()
    }
    const [o, b] = [median(ours), median(bare)]
    return [
      [`Discover over the mTLS socket, one warm connection (median of ${N})`, `${o.toFixed(3)} ms`, `owner-only socket: ${b.toFixed(3)} ms`, signed(o - b), '<= +2 ms'],
      ['  the same, p95', `${pct(ours, 0.95).toFixed(3)} ms`, `owner-only socket: ${pct(bare, 0.95).toFixed(3)} ms`, signed(pct(ours, 0.95) - pct(bare, 0.95)), ''],
      ['  a new connection\'s first Discover, handshake included (median of 20)', `${median(cold).toFixed(1)} ms`, `owner-only socket: ${median(coldBare).toFixed(1)} ms`, signed(median(cold) - median(coldBare)), '']
    ]
  } finally {
    plain.close()
    mtls?.close()
    cli('down')
  }
}
