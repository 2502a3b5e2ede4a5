// aurae rm (aurae workload rm): forget ended workloads and their logs.
import type { Command } from '../../kit/context.ts'
import { each } from './each.ts'

export const rm: Command = {
  spec: {
    name: 'rm',
    usage: 'rm NAME... [--force]',
    summary: 'Removes ended workloads with their logs; --force stops running ones first.',
    flags: { force: { type: 'boolean', short: 'f', help: 'stop the workload (SIGKILL) if it runs' } },
    maxPositionals: Infinity
  },
  async run (parsed, ctx) {
    return await each(ctx.io, parsed.positionals, 'rm', async name => {
      const d = ctx.daemon()
      await d.workloads.remove({ name, force: parsed.flags.force === true })
    })
  }
}
