// aurae stop (aurae workload stop): SIGTERM, then SIGKILL after the timeout, to each named workload.
import { InvalidArgumentError } from '../../../errors.ts'
import type { Command } from '../../kit/context.ts'
import { each } from './each.ts'

export const stop: Command = {
  spec: {
    name: 'stop',
    usage: 'stop NAME... [--timeout SECONDS]',
    summary: 'Stops workloads, all at once: SIGTERM, then SIGKILL to the whole cell after the timeout.',
    flags: { timeout: { type: 'string', short: 't', help: 'seconds to wait before SIGKILL (default 10)', value: 'S' } },
    maxPositionals: Infinity
  },
  async run (parsed, ctx) {
    const t = parsed.flags.timeout as string | undefined
    if (t !== undefined && !/^\d+$/.test(t)) throw new InvalidArgumentError(`invalid --timeout "${t}": expected whole seconds`)
    return await each(ctx.io, parsed.positionals, 'stop', async name => {
      await ctx.daemon().workloads.stop({ name, timeoutSeconds: t === undefined ? undefined : Number(t) })
    })
  }
}
