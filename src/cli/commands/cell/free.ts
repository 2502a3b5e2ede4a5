// aurae cell free: a cell given back; a VM cell's VM (and what runs in it) stopped.
import type { Command } from '../../kit/context.ts'
import { each } from '../workload/each.ts'

export const cellFree: Command = {
  spec: {
    name: 'cell free',
    usage: 'cell free NAME... [--force]',
    summary: 'Frees cells; refused while executables run in one unless --force stops them first.\nA cell that is a VM is stopped, with everything in it.',
    flags: { force: { type: 'boolean', short: 'f', help: 'stop what runs in the cell first' } },
    maxPositionals: Infinity
  },
  async run (parsed, ctx) {
    return await each(ctx.io, parsed.positionals, 'cell free', async name => {
      await ctx.daemon().cells.free({ name, force: parsed.flags.force === true })
    })
  }
}
