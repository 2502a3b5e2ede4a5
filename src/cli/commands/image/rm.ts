// aurae rmi (aurae image rm): forget images and their unpacked roots; their blobs stay until a prune.
import { InvalidArgumentError } from '../../../errors.ts'
import type { Command } from '../../kit/context.ts'
import { EXIT } from '../../kit/exit.ts'
import { imageTarget } from './target.ts'

export const rmi: Command = {
  spec: {
    name: 'rmi',
    usage: 'rmi [-f] IMAGE[@PEER]...',
    summary: 'Forgets images and their unpacked roots; their blobs go with "aurae image prune".',
    flags: { force: { type: 'boolean', short: 'f', help: 'remove an image even though workloads use it' } },
    maxPositionals: Infinity
  },
  async run (parsed, ctx) {
    if (parsed.positionals.length === 0) throw new InvalidArgumentError('missing image: aurae rmi IMAGE')
    const d = ctx.daemon()
    for (const text of parsed.positionals) {
      const { image } = await d.images.remove({ reference: imageTarget(text, 'rmi'), force: parsed.flags.force === true })
      ctx.io.stdout.write(`${image?.name}\n`)
    }
    return EXIT.ok
  }
}
