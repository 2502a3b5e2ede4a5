// aurae stop (aurae workload stop): SIGTERM, then SIGKILL after the timeout, to each named workload.
import { InvalidArgumentError } from '../../../errors.ts'
import type { Command } from '../../kit/context.ts'
import { each } from './each.ts'

/** A flag's whole seconds (`--timeout 5`), undefined when not given; anything else is bad usage. */
export function wholeSeconds (text: string | undefined, flag: string): number | undefined {
  if (text !== undefined && !/^\d+$/.test(text)) throw new InvalidArgumentError(`invalid ${flag} "${text}": expected whole seconds`)
  return text === undefined ? undefined : Number(text)
}

export const stop: Command = {
  spec: {
    name: 'stop',
    usage: 'stop NAME... [--timeout SECONDS]',
    summary: 'Stops workloads, all at once: its stop signal (SIGTERM unless its image or --stop-signal says\notherwise), then SIGKILL to the whole cell after the timeout.',
    flags: { timeout: { type: 'string', short: 't', help: 'seconds to wait before SIGKILL (default: its --stop-timeout, else 10)', value: 'S' } },
    maxPositionals: Infinity
  },
  async run (parsed, ctx) {
    const timeoutSeconds = wholeSeconds(parsed.flags.timeout as string | undefined, '--timeout')
    return await each(ctx.io, parsed.positionals, 'stop', async name => {
      await ctx.daemon().workloads.stop({ name, timeoutSeconds })
    })
  }
}
