// aurae down (aurae node down): stop the daemon cleanly (and its workloads, unless kept).
import { setTimeout as sleep } from 'node:timers/promises'
import type { AuraeClient } from '../../../client/index.ts'
import { answers } from '../../../common/socket-probe.ts'
import type { Command } from '../../kit/context.ts'
import { CliError, EXIT } from '../../kit/exit.ts'
import { progress } from '../../kit/output.ts'

/** A stop that names no timeout waits this long before SIGKILL (the node's default). */
const DEFAULT_STOP_TIMEOUT_S = 10
/** What the node needs beyond its workloads' stops: the mesh and its other parts, the server, the store. */
const MARGIN_S = 15
/** How long the node may take to list what it runs before aurae assumes the default stop timeouts. */
const ASK_MS = 5_000

/** The stop timeout of each running workload, in seconds; undefined when the node does not answer in time. */
async function stopTimeouts (d: AuraeClient): Promise<number[] | undefined> {
  try {
    const { workloads } = await d.workloads.list({ all: false }, { signal: AbortSignal.timeout(ASK_MS) })
    return workloads.map(w => w.spec?.container?.stopTimeout ?? DEFAULT_STOP_TIMEOUT_S)
  } catch {
    return undefined
  }
}

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
    const keep = parsed.flags['keep-workloads'] === true
    const timeouts = keep ? [] : await stopTimeouts(d)
    const live = timeouts?.length ?? 0
    // As long as the slowest workload's stop may take (its stop signal, then SIGKILL at its timeout), and the rest.
    const budgetS = (timeouts === undefined ? DEFAULT_STOP_TIMEOUT_S : Math.max(0, ...timeouts)) + MARGIN_S
    const deadline = Date.now() + budgetS * 1000
    const hung = new CliError(`auraed did not stop within ${budgetS}s`, EXIT.failure)
    const p = progress(stderr, live > 0 ? `stopping ${live} workload${live === 1 ? '' : 's'}…` : 'stopping auraed')
    try {
      const timer = AbortSignal.timeout(budgetS * 1000)
      const { stopped } = await d.node.down({ keepWorkloads: keep }, { signal: timer }).catch(err => { throw timer.aborted ? hung : err })
      while (await answers(ctx.sock)) {
        if (Date.now() > deadline) throw hung
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
