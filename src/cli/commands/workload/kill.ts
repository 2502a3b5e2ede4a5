// aurae kill (aurae workload kill): send a signal to each named workload's processes, SIGKILL unless told, as docker kill.
import { signalName } from '../../../common/signals.ts'
import { InvalidArgumentError } from '../../../errors.ts'
import type { Command } from '../../kit/context.ts'
import { each } from './each.ts'

export const kill: Command = {
  spec: {
    name: 'kill',
    usage: 'kill NAME... [--signal SIGNAL]',
    summary: 'Sends a signal (SIGKILL unless --signal says otherwise) to each workload\'s processes; its restart policy then applies.',
    flags: { signal: { type: 'string', short: 's', help: 'the signal: a name (HUP, SIGTERM) or a number (default KILL)', value: 'SIGNAL' } },
    maxPositionals: Infinity
  },
  async run (parsed, ctx) {
    const text = parsed.flags.signal as string | undefined ?? 'KILL'
    const signal = signalName(text)
    if (signal === undefined) throw new InvalidArgumentError(`invalid --signal "${text}": expected a signal name such as HUP or SIGTERM, or its number`)
    return await each(ctx.io, parsed.positionals, 'kill', async name => {
      await ctx.daemon().workloads.signal({ name, signal })
    })
  }
}
