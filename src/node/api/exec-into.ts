// Exec into a running workload: the command its driver names runs under the daemon, its output streams back to the caller.
import { spawn } from 'node:child_process'
import type { Readable } from 'node:stream'
import { FailedPreconditionError } from '../../errors.ts'
import type { WorkloadServiceRunResponse } from '../../gen/aurae/workloads/v0/workloads.ts'
import type { EnterPlan } from '../../runtime/driver.ts'

/** Runs the plan and sends its output, then its exit; a caller gone sends SIGTERM to it (the runtime passes it on). */
export async function streamCommand (plan: EnterPlan, send: (m: WorkloadServiceRunResponse) => Promise<void>, signal: AbortSignal): Promise<void> {
  const { argv, env } = plan
  const child = spawn(argv[0], argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] })
  const onAbort = (): void => { child.kill('SIGTERM') }
  signal.addEventListener('abort', onAbort, { once: true })
  // One send at a time, in order; a stream waits (paused) while its chunk is on its way, so memory stays bounded.
  let tail = Promise.resolve()
  let held: Buffer | undefined
  const relay = (stream: 'stdout' | 'stderr', from: Readable): void => {
    from.on('data', (data: Buffer) => {
      if (stream === 'stderr' && held === undefined && plan.runtimeSays?.(data.toString('latin1')) === true) {
        held = data
        return
      }
      from.pause()
      tail = tail.then(async () => await send({ output: { stream, data } })).finally(() => from.resume())
    })
  }
  relay('stdout', child.stdout)
  relay('stderr', child.stderr)
  try {
    const end = await new Promise<{ code: number | null, sig: NodeJS.Signals | null }>((resolve, reject) => {
      child.once('error', err => reject(new FailedPreconditionError(`cannot run ${argv[0]}: ${err.message}`)))
      child.once('close', (code, sig) => resolve({ code, sig }))
    })
    await tail
    const failure = await plan.explain?.(end.code)
    if (signal.aborted) return
    if (held !== undefined && failure === undefined) await send({ output: { stream: 'stderr', data: held } })
    await send({ exit: { exitCode: failure?.exitCode ?? end.code ?? undefined, signal: end.sig ?? '', oomKilled: false, error: failure?.error ?? '' } })
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}
