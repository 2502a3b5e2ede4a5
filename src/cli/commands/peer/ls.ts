// aurae peers (aurae peer ls): the nodes this one trusts, and how each is connected.
import { formatNodeName } from '../../../names/parse.ts'
import type { Command } from '../../kit/context.ts'
import { EXIT } from '../../kit/exit.ts'
import { clean, duration, json, painter, table } from '../../kit/output.ts'

export const peers: Command = {
  spec: {
    name: 'peers',
    usage: 'peers [--json]',
    summary: 'Lists the nodes this one trusts: connected directly, through a relay, or not; where; and since when.',
    flags: { json: { type: 'boolean', help: 'print a JSON array' } },
    maxPositionals: 0
  },
  async run (parsed, ctx) {
    const { stdout } = ctx.io
    const paint = painter(stdout, ctx.io.env)
    const d = ctx.daemon()
    const { peers: list } = await d.mesh.peers({})
    if (parsed.flags.json === true) {
      stdout.write(json(list.map(p => ({
        name: p.name,
        domain: p.domain,
        peerId: p.peerId,
        addrs: p.addrs,
        connected: p.connected,
        connection: p.connected ? p.connection : null,
        addr: p.connected ? p.addrs[0] ?? null : null,
        latencyMs: p.latencyMs < 0 ? null : p.latencyMs,
        since: p.connected ? new Date(p.connectedSinceMs).toISOString() : null,
        trustedAt: new Date(p.trustedAtMs).toISOString(),
        nested: p.nested
      }))))
      return EXIT.ok
    }
    const now = Date.now()
    // CONNECTED says how (direct, or relayed through another node), ADDR where, SINCE since when this connection is up.
    stdout.write(table(['NAME', 'PEERID', 'ADDR', 'CONNECTED', 'LATENCY', 'SINCE'], list.map(p => [
      clean(formatNodeName(p.name, p.domain)) + (p.nested ? ' (nested)' : ''),
      clean(p.peerId),
      clean(p.addrs[0] ?? '-'),
      p.connected ? paint(clean(p.connection), p.connection === 'direct' ? 'green' : 'yellow') : paint('no', 'red'),
      p.latencyMs < 0 ? '-' : `${p.latencyMs.toFixed(1)}ms`,
      p.connected ? `${duration(now - p.connectedSinceMs)} ago` : '-'
    ])))
    return EXIT.ok
  }
}
