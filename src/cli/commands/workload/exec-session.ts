// aurae exec -i/-it over an ExecSession: the node (this one or a peer) runs the command, on a terminal of its own
// with -t; this side sends its stdin, its terminal's size as it changes, and the end of its input.
import { exitCodeOfSignal } from '../../../common/signals.ts'
import type { Context } from '../../kit/context.ts'
import { EXIT } from '../../kit/exit.ts'
import { write } from '../../kit/io.ts'
import { clean } from '../../kit/output.ts'
import { assertTerminal, callerInput } from './caller-input.ts'
import type { ExecInto } from './exec-into.ts'
import { isNoWorkload } from './exec-into.ts'
import { exitCodeOf } from './start.ts'

/**
 * Runs the command in the named workload with this side's stdin (and, with `tty`, a terminal that follows this
 * one's size, in raw mode while attached so Ctrl-C and Ctrl-D reach the command as keys). Returns its exit code,
 * or undefined when the node has no workload of that name.
 */
export async function execSession (ctx: Context, req: ExecInto, tty: boolean): Promise<number | undefined> {
  const { io } = ctx
  if (tty) assertTerminal(io)
  const ac = new AbortController()
  const input = callerInput(io, { stdin: true, tty })
  let cancelledBy: string | undefined
  // With a terminal Ctrl-C is a key; without one it ends the command (the node sends it SIGTERM), as exec does.
  const stopTaking = io.onSignal(tty ? ['SIGTERM', 'SIGHUP'] : ['SIGINT', 'SIGTERM', 'SIGHUP'], sig => {
    cancelledBy = sig
    ac.abort()
  })
  let code: number = EXIT.execFailed
  try {
    const first = { request: { ...req, tty }, size: tty ? input.size() : undefined }
    for await (const res of ctx.daemon().workloads.execSession(first, input.messages(), { signal: ac.signal })) {
      if (res.output !== undefined) await write(res.output.stream === 'stderr' ? io.stderr : io.stdout, res.output.data)
      if (res.exit !== undefined) {
        code = exitCodeOf(res.exit)
        if (res.exit.error !== '') io.stderr.write(`${tty ? '\r\n' : ''}aurae: ${clean(res.exit.error)}\n`)
      }
    }
  } catch (err) {
    if (cancelledBy !== undefined) return exitCodeOfSignal(cancelledBy)
    if (isNoWorkload(err)) return undefined
    throw err
  } finally {
    stopTaking()
    input.close()
  }
  return code
}
