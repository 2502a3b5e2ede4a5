// aurae images (aurae image ls): the images a node holds, as a table or JSON.
import type { Image } from '../../../client/index.ts'
import { familiarImageName, parseImageReference } from '../../../common/image-reference.ts'
import { formatBytes } from '../../../common/limits.ts'
import type { Command } from '../../kit/context.ts'
import { EXIT } from '../../kit/exit.ts'
import { ago, clean, json, table } from '../../kit/output.ts'
import { peerArg } from '../../kit/peer-arg.ts'

/** The JSON shape scripts rely on. */
function imageJson (i: Image): object {
  return { name: i.name, repository: i.repository, tag: i.tag, digest: i.digest, manifest: i.manifest, config: i.config, size: i.size, created: i.created || null, layers: i.layers.map(l => ({ digest: l.digest, size: l.size, mediaType: l.mediaType })) }
}

export const images: Command = {
  spec: {
    name: 'images',
    usage: 'images [@PEER] [--json]',
    summary: 'Lists pulled images.',
    flags: { json: { type: 'boolean', help: 'print a JSON array' } },
    maxPositionals: 1
  },
  async run (parsed, ctx) {
    const { stdout } = ctx.io
    const d = ctx.daemon()
    const { images: list } = await d.images.list({ peer: peerArg(parsed.positionals[0], 'images') })
    if (parsed.flags.json === true) {
      stdout.write(json(list.map(imageJson)))
      return EXIT.ok
    }
    const now = Date.now()
    stdout.write(table(['REPOSITORY', 'TAG', 'DIGEST', 'SIZE', 'CREATED'], list.map(i => [
      familiarImageName({ ...parseImageReference(i.name), tag: '', digest: '' }),
      i.tag === '' ? '<none>' : clean(i.tag),
      clean(i.digest.slice(0, 19)),
      formatBytes(i.size),
      i.created === '' || Number.isNaN(Date.parse(i.created)) ? '-' : ago(now - Date.parse(i.created))
    ])))
    return EXIT.ok
  }
}
