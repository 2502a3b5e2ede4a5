// aurae exec -i/-it over an ExecSession: the node (this one or a peer) runs the command, on a terminal of its own
// with -t; this side sends its stdin, its terminal's size as it changes, and the end of its input.
import type { Context } from '../../kit/context.ts'
import { assertTerminal, callerInput } from './caller-input.ts'
import { streamInside, type ExecInto } from './exec-into.ts'

/**
 * Runs the command in the named workload with this side's stdin (and, with `tty`, a terminal that follows this
 * one's size, in raw mode while attached so Ctrl-C and Ctrl-D reach the command as keys). Returns its exit code,
 * or undefined when the node has no workload of that name.
 */
export async function execSession (ctx: Context, req: ExecInto, tty: boolean): Promise<number | undefined> {
  if (tty) assertTerminal(ctx.io)
  const input = callerInput(ctx.io, { stdin: true, tty })
  const first = { request: { ...req, tty }, size: tty ? input.size() : undefined }
  try {
    return await streamInside(ctx, signal => ctx.daemon().workloads.execSession(first, input.messages(), { signal }), tty)
  } finally {
    input.close()
  }
}
