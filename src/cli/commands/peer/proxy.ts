// aurae proxy (aurae peer proxy, or aurae peer TOKEN): issue a peering token, or redeem one.
import { formatNodeName } from '../../../names/parse.ts'
import { InvalidArgumentError } from '../../../errors.ts'
import type { Command } from '../../kit/context.ts'
import { EXIT } from '../../kit/exit.ts'
import { clean, painter, progress } from '../../kit/output.ts'

const DURATION = /^(\d+)(s|m|h|d)$/
const UNIT_S = { s: 1, m: 60, h: 3600, d: 86400 } as const

/** `90s`, `15m`, `1h`, `7d` → seconds. */
function parseTtl (text: string): number {
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
    const { stdout, stderr } = ctx.io
    const d = ctx.daemon()
    const token = parsed.positionals[0]
    if (token === undefined) {
      const uses = parsed.flags.uses as string | undefined
      if (uses !== undefined && !/^\d+$/.test(uses)) throw new InvalidArgumentError(`invalid --uses "${uses}": expected a whole number`)
      const ttl = parsed.flags.ttl === undefined ? undefined : parseTtl(parsed.flags.ttl as string)
      const res = await d.mesh.token({ ttlSeconds: ttl, uses: uses === undefined ? undefined : Number(uses) })
      stdout.write(res.token + '\n')
      stderr.write(`On the other node run: aurae proxy <token>   (valid until ${new Date(res.expiresAtMs).toISOString()})\n`)
      if (res.warning !== '') stderr.write(clean(`aurae: warning: ${res.warning}`) + '\n')
      return EXIT.ok
    }
    if (parsed.flags.ttl !== undefined || parsed.flags.uses !== undefined) throw new InvalidArgumentError('--ttl and --uses are for issuing a token, not redeeming one')
    const p = progress(stderr, 'peering')
    try {
      const { peer } = await d.mesh.peer({ token })
      p.done()
      stderr.write(painter(stderr, ctx.io.env)(clean(`peered with ${formatNodeName(peer?.name ?? '', peer?.domain ?? '')} (${peer?.peerId}); each now trusts the other`), 'green') + '\n')
      return EXIT.ok
    } finally {
      p.done()
    }
  }
}

export const peer: Command = { ...proxy, spec: { ...proxy.spec, name: 'peer', usage: proxy.spec.usage.replaceAll('proxy', 'peer'), summary: 'Same as aurae proxy.' } }
