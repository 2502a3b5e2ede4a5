// aurae start and aurae restart (aurae workload start|restart): run workloads again from their recorded specs, as docker start and restart.
import type { Command } from '../../kit/context.ts'
import { each } from './each.ts'
import { TIMEOUT_FLAG, timeoutOf } from './stop.ts'

export const start: Command = {
  spec: {
    name: 'start',
    usage: 'start NAME...',
    summary: 'Starts exited workloads again, detached, with the spec they were run with (one that runs is left as it is).',
    flags: {},
    maxPositionals: Infinity
  },
  async run (parsed, ctx) {
    return await each(ctx.io, parsed.positionals, 'start', async name => {
      await ctx.daemon().workloads.start({ name })
    })
  }
}

export const restart: Command = {
  spec: {
    name: 'restart',
    usage: 'restart NAME... [--timeout SECONDS]',
    summary: 'Stops workloads (their stop signal, then SIGKILL after the timeout) and starts them again with the spec they were run with.',
    flags: TIMEOUT_FLAG,
    maxPositionals: Infinity
  },
  async run (parsed, ctx) {
    const timeoutSeconds = timeoutOf(parsed.flags)
    return await each(ctx.io, parsed.positionals, 'restart', async name => {
      await ctx.daemon().workloads.restart({ name, timeoutSeconds })
    })
  }
}
