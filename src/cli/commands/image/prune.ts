// aurae image prune: delete the blobs no image uses.
import { formatBytes } from '../../../common/limits.ts'
import type { Command } from '../../kit/context.ts'
import { EXIT } from '../../kit/exit.ts'
import { peerArg } from './target.ts'

export const prune: Command = {
  spec: { name: 'image prune', usage: 'image prune [@PEER]', summary: 'Deletes the blobs no image uses.', flags: {}, maxPositionals: 1 },
  async run (parsed, ctx) {
    const d = ctx.daemon()
    const res = await d.images.prune({ peer: peerArg(parsed.positionals[0]) })
    ctx.io.stderr.write(`removed ${res.blobs} blob${res.blobs === 1 ? '' : 's'}, ${formatBytes(res.bytes)}\n`)
    return EXIT.ok
  }
}
