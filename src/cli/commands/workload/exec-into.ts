// aurae exec NAME -- CMD where NAME runs: CMD inside it, as docker exec; its output streams back and its exit code is aurae's.
import { NotFoundError } from '../../../errors.ts'
import { signalNumber } from '../../../common/signals.ts'
import type { Context } from '../../kit/context.ts'
import { EXIT } from '../../kit/exit.ts'
import { write } from '../../kit/io.ts'
import { clean } from '../../kit/output.ts'

/** What the command runs with besides the workload's own: more environment, another working directory. */
export interface ExecInto {
  name: string
  command: string[]
  env: Record<string, string>
  workdir: string
}

/**
 * Runs the command inside the named workload and returns its exit code, or undefined when no workload has that
 * name (the caller then starts a new executable, as exec always did). Ctrl-C ends the command (the node sends it
 * SIGTERM) and aurae with 130, as docker exec without a TTY.
 */
export async function execInto (ctx: Context, req: ExecInto): Promise<number | undefined> {
  const { io } = ctx
  const ac = new AbortController()
  let cancelledBy: string | undefined
  const stopTaking = io.onSignal(['SIGINT', 'SIGTERM', 'SIGHUP'], sig => {
    cancelledBy = sig
    ac.abort()
  })
  let code: number = EXIT.execFailed
  try {
    for await (const res of ctx.daemon().workloads.exec(req, { signal: ac.signal })) {
      if (res.output !== undefined) await write(res.output.stream === 'stderr' ? io.stderr : io.stdout, res.output.data)
      if (res.exit !== undefined) {
        const { exitCode, signal, error } = res.exit
        code = exitCode ?? (signal !== '' ? 128 + (signalNumber(signal) ?? 0) : EXIT.execFailed)
        if (error !== '') io.stderr.write(`aurae: ${clean(error)}\n`)
      }
    }
  } catch (err) {
    if (cancelledBy !== undefined) return 128 + (signalNumber(cancelledBy) ?? 0)
    if (err instanceof NotFoundError && err.message.startsWith('no workload named')) return undefined
    throw err
  } finally {
    stopTaking()
  }
  return code
}
