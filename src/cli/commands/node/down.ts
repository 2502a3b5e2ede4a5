// aurae down (aurae node down): stop the daemon cleanly (and its workloads, unless kept).
import { setTimeout as sleep } from 'node:timers/promises'
import { answers } from '../../../common/socket-probe.ts'
import type { Command } from '../../kit/context.ts'
import { CliError, EXIT } from '../../kit/exit.ts'
import { progress } from '../../kit/output.ts'

export const down: Command = {
  spec: {
    name: 'down',
    usage: 'down [--keep-workloads]',
    summary: 'Stops auraed: its workloads are stopped first unless --keep-workloads leaves them\nrunning for the next start to adopt.',
    flags: { 'keep-workloads': { type: 'boolean', help: 'leave workloads running' } },
    maxPositionals: 0
  },
  async run (parsed, ctx) {
    const { stderr } = ctx.io
    const d = ctx.daemon()
    const p = progress(stderr, 'stopping auraed')
    try {
      const { stopped } = await d.node.down({ keepWorkloads: parsed.flags['keep-workloads'] === true })
      const deadline = Date.now() + 15_000
      while (await answers(ctx.sock)) {
        if (Date.now() > deadline) throw new CliError('auraed did not stop within 15s', EXIT.failure)
        await sleep(20)
      }
      p.done()
      stderr.write(`auraed stopped${stopped > 0 ? ` (${stopped} workload${stopped === 1 ? '' : 's'} stopped)` : ''}\n`)
      return EXIT.ok
    } finally {
      p.done()
    }
  }
}
