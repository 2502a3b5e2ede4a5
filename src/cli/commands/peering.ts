// aurae proxy (alias peer), peers, unpeer: tokens and trust between nodes.
import { InvalidArgumentError } from '../../errors.ts'
import { formatNodeName, parseNodeName } from '../../names/parse.ts'
import type { Command } from '../context.ts'
import { EXIT } from '../exit.ts'
import { clean, duration, json, paint, progress, table } from '../output.ts'

const DURATION = /^(\d+)(s|m|h|d)$/
const UNIT_S = { s: 1, m: 60, h: 3600, d: 86400 } as const

/** `90s`, `15m`, `1h`, `7d` → seconds. */
export function parseTtl (text: string): number {
  const m = DURATION.exec(text)
  if (m === null) throw new InvalidArgumentError(`invalid --ttl "${text}": expected a duration such as 15m, 1h or 7d`)
  return Number(m[1]) * UNIT_S[m[2] as keyof typeof UNIT_S]
}

export const proxy: Command = {
  spec: {
    name: 'proxy',
    usage: 'proxy [--ttl 1h] [--uses 1]  |  proxy TOKEN',
    summary: 'Without a token: prints a peering token for another node (alone on stdout).\nWith one: peers with the node that issued it; both then trust each other.',
    flags: {
      ttl: { type: 'string', help: 'how long the token is valid (default 1h)', value: 'DURATION' },
      uses: { type: 'string', help: 'how many nodes may use it (default 1)', value: 'N' }
    },
    maxPositionals: 1
  },
  async run (parsed, ctx) {
    const d = ctx.daemon()
    const token = parsed.positionals[0]
    if (token === undefined) {
      const uses = parsed.flags.uses as string | undefined
      if (uses !== undefined && !/^\d+$/.test(uses)) throw new InvalidArgumentError(`invalid --uses "${uses}": expected a whole number`)
      const ttl = parsed.flags.ttl === undefined ? undefined : parseTtl(parsed.flags.ttl as string)
      const res = await d.mesh.token({ ttlSeconds: ttl, uses: uses === undefined ? undefined : Number(uses) })
      process.stdout.write(res.token + '\n')
      process.stderr.write(`On the other node run: aurae proxy <token>   (valid until ${new Date(res.expiresAtMs).toISOString()})\n`)
      if (res.warning !== '') process.stderr.write(clean(`aurae: warning: ${res.warning}`) + '\n')
      return EXIT.ok
    }
    if (parsed.flags.ttl !== undefined || parsed.flags.uses !== undefined) throw new InvalidArgumentError('--ttl and --uses are for issuing a token, not redeeming one')
    const p = progress('peering')
    try {
      const { peer } = await d.mesh.peer({ token })
      p.done()
      process.stderr.write(paint(clean(`peered with ${formatNodeName(peer?.name ?? '', peer?.domain ?? '')} (${peer?.peerId}); each now trusts the other`), 'green', process.stderr) + '\n')
      return EXIT.ok
    } finally {
      p.done()
    }
  }
}

export const peer: Command = { ...proxy, spec: { ...proxy.spec, name: 'peer', usage: proxy.spec.usage.replaceAll('proxy', 'peer'), summary: 'Same as aurae proxy.' } }

export const peers: Command = {
  spec: {
    name: 'peers',
    usage: 'peers [--json]',
    summary: 'Lists the nodes this one trusts: connected directly, through a relay, or not; where; and since when.',
    flags: { json: { type: 'boolean', help: 'print a JSON array' } },
    maxPositionals: 0
  },
  async run (parsed, ctx) {
    const d = ctx.daemon()
    const { peers: list } = await d.mesh.peers({})
    if (parsed.flags.json === true) {
      process.stdout.write(json(list.map(p => ({
        name: p.name,
        domain: p.domain,
        peerId: p.peerId,
        addrs: p.addrs,
        connected: p.connected,
        connection: p.connected ? p.connection : null,
        addr: p.connected ? p.addrs[0] ?? null : null,
        latencyMs: p.latencyMs < 0 ? null : p.latencyMs,
        since: p.connected ? new Date(p.connectedSinceMs).toISOString() : null,
        trustedAt: new Date(p.trustedAtMs).toISOString()
      }))))
      return EXIT.ok
    }
    const now = Date.now()
    // CONNECTED says how (direct, or relayed through another node), ADDR where, SINCE since when this connection is up.
    process.stdout.write(table(['NAME', 'PEERID', 'ADDR', 'CONNECTED', 'LATENCY', 'SINCE'], list.map(p => [
      clean(formatNodeName(p.name, p.domain)),
      clean(p.peerId),
      clean(p.addrs[0] ?? '-'),
      p.connected ? paint(clean(p.connection), p.connection === 'direct' ? 'green' : 'yellow') : paint('no', 'red'),
      p.latencyMs < 0 ? '-' : `${p.latencyMs.toFixed(1)}ms`,
      p.connected ? `${duration(now - p.connectedSinceMs)} ago` : '-'
    ])))
    return EXIT.ok
  }
}

export const unpeer: Command = {
  spec: {
    name: 'unpeer',
    usage: 'unpeer PEER',
    summary: 'Withdraws trust from a peer, on both sides when it can be reached.',
    flags: {},
    maxPositionals: 1
  },
  async run (parsed, ctx) {
    const who = parsed.positionals[0]
    if (who === undefined) throw new InvalidArgumentError('missing peer: aurae unpeer NAME')
    const d = ctx.daemon()
    const { notified } = await d.mesh.unpeer({ peer: who })
    process.stderr.write(notified ? `${who} and this node no longer trust each other\n` : `this node no longer trusts ${who}; it could not be reached to be told\n`)
    return EXIT.ok
  }
}

export const resolve: Command = {
  spec: {
    name: 'resolve',
    usage: 'resolve NAME[@DOMAIN] [--json]',
    summary: 'Looks a node up by name on the mesh\'s DHT: its PeerId and addresses.',
    flags: { json: { type: 'boolean', help: 'print one JSON object' } },
    maxPositionals: 1
  },
  async run (parsed, ctx) {
    const name = parsed.positionals[0]
    if (name === undefined) throw new InvalidArgumentError('missing name: aurae resolve NAME[@DOMAIN]')
    parseNodeName(name)
    const d = ctx.daemon()
    const p = progress(`looking up ${name}`)
    try {
      const { record, alsoClaimedBy, pinned } = await d.mesh.resolve({ name })
      p.done()
      if (parsed.flags.json === true) {
        process.stdout.write(json({ name: record?.name, domain: record?.domain, peerId: record?.peerId, addrs: record?.addrs, publishedAt: new Date(record?.seq ?? 0).toISOString(), pinned, alsoClaimedBy }))
      } else {
        process.stdout.write(clean(record?.peerId ?? '') + '\n' + (record?.addrs ?? []).map(a => `  ${clean(a)}\n`).join(''))
      }
      if (alsoClaimedBy.length > 0) {
        const why = pinned ? 'pinned to it by peering' : 'the first key seen with it'
        process.stderr.write(clean(`aurae: warning: ${name} is also claimed by ${alsoClaimedBy.join(', ')}; refused, ${record?.peerId} holds it (${why})`) + '\n')
      }
      return EXIT.ok
    } finally {
      p.done()
    }
  }
}
