// aurae stop (aurae workload stop): SIGTERM, then SIGKILL after the timeout, to each named workload.
import { InvalidArgumentError } from '../../../errors.ts'
import type { CommandSpec, Parsed } from '../../kit/args.ts'
import type { Command } from '../../kit/context.ts'
import { each } from './each.ts'

/** A flag's whole seconds (`--timeout 5`), undefined when not given; anything else is bad usage. */
export function wholeSeconds (text: string | undefined, flag: string): number | undefined {
  if (text !== undefined && !/^\d+$/.test(text)) throw new InvalidArgumentError(`invalid ${flag} "${text}": expected whole seconds`)
  return text === undefined ? undefined : Number(text)
}

/** The --timeout flag of stop and restart. */
export const TIMEOUT_FLAG: CommandSpec['flags'] = { timeout: { type: 'string', short: 't', help: 'seconds to wait before SIGKILL (default: its --stop-timeout, else 10)', value: 'S' } }

/** --timeout in whole seconds, or undefined for the workload's own default. */
export function timeoutOf (flags: Parsed['flags']): number | undefined {
  return wholeSeconds(flags.timeout as string | undefined, '--timeout')
}

export const stop: Command = {
  spec: {
    name: 'stop',
    usage: 'stop NAME... [--timeout SECONDS]',
    summary: 'Stops workloads, all at once: its stop signal (SIGTERM unless its image or --stop-signal says\notherwise), then SIGKILL to the whole cell after the timeout.',
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
