// aurae unpeer (aurae peer rm): withdraw trust from a peer.
import { InvalidArgumentError } from '../../../errors.ts'
import type { Command } from '../../kit/context.ts'
import { EXIT } from '../../kit/exit.ts'

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
    ctx.io.stderr.write(notified ? `${who} and this node no longer trust each other\n` : `this node no longer trusts ${who}; it could not be reached to be told\n`)
    return EXIT.ok
  }
}
