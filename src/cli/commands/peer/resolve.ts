// aurae resolve (aurae peer resolve): look a node up by name on the mesh's DHT.
import { InvalidArgumentError } from '../../../errors.ts'
import { parseNodeName } from '../../../names/parse.ts'
import type { Command } from '../../kit/context.ts'
import { EXIT } from '../../kit/exit.ts'
import { clean, json, progress } from '../../kit/output.ts'

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
    const { stdout, stderr } = ctx.io
    const d = ctx.daemon()
    const p = progress(stderr, `looking up ${name}`)
    try {
      const { record, alsoClaimedBy, pinned } = await d.mesh.resolve({ name })
      p.done()
      if (parsed.flags.json === true) {
        stdout.write(json({ name: record?.name, domain: record?.domain, peerId: record?.peerId, addrs: record?.addrs, publishedAt: new Date(record?.seq ?? 0).toISOString(), pinned, alsoClaimedBy }))
      } else {
        stdout.write(clean(record?.peerId ?? '') + '\n' + (record?.addrs ?? []).map(a => `  ${clean(a)}\n`).join(''))
      }
      if (alsoClaimedBy.length > 0) {
        const why = pinned ? 'pinned to it by peering' : 'the first key seen with it'
        stderr.write(clean(`aurae: warning: ${name} is also claimed by ${alsoClaimedBy.join(', ')}; refused, ${record?.peerId} holds it (${why})`) + '\n')
      }
      return EXIT.ok
    } finally {
      p.done()
    }
  }
}
