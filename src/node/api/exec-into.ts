// Exec into a running workload: the command its driver names runs under the daemon, its output streams back to the caller.
import { spawn } from 'node:child_process'
import type { Readable } from 'node:stream'
import { FailedPreconditionError } from '../../errors.ts'
import type { WorkloadServiceRunResponse } from '../../gen/aurae/workloads/v0/workloads.ts'

/** Runs `argv` and sends its output, then its exit; a caller gone sends SIGTERM to it (the runtime passes it on). */
export async function streamCommand (argv: string[], env: Record<string, string>, send: (m: WorkloadServiceRunResponse) => Promise<void>, signal: AbortSignal): Promise<void> {
  const child = spawn(argv[0], argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] })
  const onAbort = (): void => { child.kill('SIGTERM') }
  signal.addEventListener('abort', onAbort, { once: true })
  // One send at a time, in order; a stream waits (paused) while its chunk is on its way, so memory stays bounded.
  let tail = Promise.resolve()
  const relay = (stream: 'stdout' | 'stderr', from: Readable): void => {
    from.on('data', (data: Buffer) => {
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
    if (signal.aborted) return
    await send({ exit: { exitCode: end.code ?? undefined, signal: end.sig ?? '', oomKilled: false, error: '' } })
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}
