// aurae pull (aurae image pull): fetch an image from its registry, showing each layer's progress.
import type { AuraeClient, Image } from '../../../client/index.ts'
import { formatBytes } from '../../../common/limits.ts'
import type { Command } from '../../kit/context.ts'
import { EXIT } from '../../kit/exit.ts'
import type { Out } from '../../kit/io.ts'
import { imageTarget } from './target.ts'

export const pull: Command = {
  spec: {
    name: 'pull',
    usage: 'pull IMAGE[@PEER]',
    summary: 'Pulls an image from its registry (docker.io/library/… by default), through any configured mirror, and unpacks it.',
    flags: {},
    maxPositionals: 1
  },
  async run (parsed, ctx) {
    const image = await pullShowingProgress(ctx.daemon(), imageTarget(parsed.positionals[0], 'pull'), ctx.io.stderr)
    if (image !== undefined) ctx.io.stdout.write(`${image.name}\n${image.digest}\n`)
    return EXIT.ok
  }
}

/** How each status reads; the unpack's share is of the layer's compressed bytes read so far. */
const STATUS: Record<string, (p: { current: number, total: number }) => string> = {
  downloading: p => `downloading ${formatBytes(p.current)} / ${formatBytes(p.total)}`,
  exists: () => 'already here',
  done: () => 'done',
  unpacking: p => `unpacking ${p.total > 0 ? Math.floor(100 * p.current / p.total) : 0}%`,
  unpacked: () => 'unpacked'
}

/** Pulls `reference` (`IMAGE[@PEER]`) with a line per layer on `stderr`, redrawn in place on a terminal. */
export async function pullShowingProgress (d: AuraeClient, reference: string, stderr: Out): Promise<Image | undefined> {
  const tty = stderr.isTTY === true
  const lines = new Map<string, string>()
  let drawn = 0
  const draw = (): void => {
    stderr.write(drawn > 0 ? `\x1b[${drawn}A` : '')
    for (const line of lines.values()) stderr.write(`\r\x1b[K${line}\n`)
    drawn = lines.size
  }
  let image: Image | undefined
  for await (const res of d.images.pull({ reference })) {
    const p = res.progress
    if (p !== undefined && p.layer !== '') {
      const text = `${p.layer}: ${STATUS[p.status]?.(p) ?? 'done'}`
      lines.set(p.layer, text)
      if (tty) draw()
      else if (p.status !== 'downloading' && p.status !== 'unpacking') stderr.write(text + '\n')
    }
    image = res.image ?? image
  }
  return image
}
