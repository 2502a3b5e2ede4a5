// aurae stop (aurae workload stop): SIGTERM, then SIGKILL after the timeout, to each named workload.
import { InvalidArgumentError } from '../../../errors.ts'
import type { CommandSpec, Parsed } from '../../kit/args.ts'
import type { Command } from '../../kit/context.ts'
import { each } from './each.ts'

/** The --timeout flag of stop and restart. */
export const TIMEOUT_FLAG: CommandSpec['flags'] = { timeout: { type: 'string', short: 't', help: 'seconds to wait before SIGKILL (default 10)', value: 'S' } }

/** --timeout in whole seconds, or undefined for the node's default. */
export function timeoutOf (flags: Parsed['flags']): number | undefined {
  const t = flags.timeout as string | undefined
  if (t !== undefined && !/^\d+$/.test(t)) throw new InvalidArgumentError(`invalid --timeout "${t}": expected whole seconds`)
  return t === undefined ? undefined : Number(t)
}

export const stop: Command = {
  spec: {
    name: 'stop',
    usage: 'stop NAME... [--timeout SECONDS]',
    summary: 'Stops workloads, all at once: SIGTERM, then SIGKILL to the whole cell after the timeout.',
    flags: TIMEOUT_FLAG,
    maxPositionals: Infinity
  },
  async run (parsed, ctx) {
    const timeoutSeconds = timeoutOf(parsed.flags)
    return await each(ctx.io, parsed.positionals, 'stop', async name => {
      await ctx.daemon().workloads.stop({ name, timeoutSeconds })
    })
  }
}
