// aurae system df: what a node's disk holds (images, unpacked roots, containers' writable layers, logs), as `docker system df`.
import { formatBytes } from '../../../common/limits.ts'
import type { Command } from '../../kit/context.ts'
import { EXIT } from '../../kit/exit.ts'
import { json, table } from '../../kit/output.ts'
import { peerArg } from '../../kit/peer-arg.ts'

const TYPES: Record<string, string> = { images: 'Images', roots: 'Unpacked roots', containers: 'Containers', logs: 'Logs' }

export const df: Command = {
  spec: {
    name: 'system df',
    usage: 'system df [@PEER] [--json]',
    summary: 'Shows the disk that images, unpacked roots, containers\' writable layers and logs take, and how much of it nothing running needs.',
    flags: { json: { type: 'boolean', help: 'print a JSON array, sizes in bytes' } },
    maxPositionals: 1
  },
  async run (parsed, ctx) {
    const { rows } = await ctx.daemon().images.diskUsage({ peer: peerArg(parsed.positionals[0], 'system df') })
    if (parsed.flags.json === true) {
      ctx.io.stdout.write(json(rows.map(r => ({ type: r.type, total: r.total, active: r.active, size: r.size, reclaimable: r.reclaimable }))))
      return EXIT.ok
    }
    ctx.io.stdout.write(table(['TYPE', 'TOTAL', 'ACTIVE', 'SIZE', 'RECLAIMABLE'], rows.map(r => [
      TYPES[r.type] ?? r.type,
      String(r.total),
      String(r.active),
      formatBytes(r.size),
      `${formatBytes(r.reclaimable)}${r.size > 0 ? ` (${Math.round(100 * r.reclaimable / r.size)}%)` : ''}`
    ])))
    return EXIT.ok
  }
}
