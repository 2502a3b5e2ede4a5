// aurae image prune: delete the blobs no image uses and the unpacked roots nothing uses.
import { formatBytes } from '../../../common/limits.ts'
import type { Command } from '../../kit/context.ts'
import { EXIT } from '../../kit/exit.ts'
import { peerArg } from '../../kit/peer-arg.ts'

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`

export const prune: Command = {
  spec: { name: 'image prune', usage: 'image prune [@PEER]', summary: 'Deletes the blobs no image uses and the unpacked roots nothing uses.', flags: {}, maxPositionals: 1 },
  async run (parsed, ctx) {
    const d = ctx.daemon()
    const res = await d.images.prune({ peer: peerArg(parsed.positionals[0], 'image prune') })
    ctx.io.stderr.write(`removed ${plural(res.blobs, 'blob')} and ${plural(res.roots, 'unpacked root')}, ${formatBytes(res.bytes + res.rootBytes)}\n`)
    return EXIT.ok
  }
}
