// aurae exec NAME -- CMD where NAME runs: CMD inside it, as docker exec; its output streams back and its exit code is aurae's.
import { spawn } from 'node:child_process'
import { InvalidArgumentError, NotFoundError } from '../../../errors.ts'
import { exitCodeOfSignal } from '../../../common/signals.ts'
import { processFile, withProcess } from '../../../common/process-fd.ts'
import type { WorkloadServiceRunResponse } from '../../../client/index.ts'
import type { Context } from '../../kit/context.ts'
import { CliError, EXIT } from '../../kit/exit.ts'
import { write } from '../../kit/io.ts'
import { clean } from '../../kit/output.ts'
import { exitCodeOf } from './start.ts'
import { terminalSize } from './caller-input.ts'

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
export async function execInto (ctx: Context, req: ExecInto & { detach?: boolean }): Promise<number | undefined> {
  return await streamInside(ctx, signal => ctx.daemon().workloads.exec(req, { signal }), false)
}

/**
 * Streams a command that runs inside a workload (an Exec, or an ExecSession): its output here, its exit code
 * returned; undefined when the node has no workload of that name. A signal to aurae ends the call (the node then
 * ends the command), except Ctrl-C on a raw terminal (`tty`), where it is a key the command gets.
 */
export async function streamInside (ctx: Context, call: (signal: AbortSignal) => AsyncIterable<WorkloadServiceRunResponse>, tty: boolean): Promise<number | undefined> {
  const { io } = ctx
  const ac = new AbortController()
  let cancelledBy: string | undefined
  const stopTaking = io.onSignal(tty ? ['SIGTERM', 'SIGHUP'] : ['SIGINT', 'SIGTERM', 'SIGHUP'], sig => {
    cancelledBy = sig
    ac.abort()
  })
  let code: number = EXIT.execFailed
  try {
    for await (const res of call(ac.signal)) {
      if (res.output !== undefined) await write(res.output.stream === 'stderr' ? io.stderr : io.stdout, res.output.data)
      if (res.exit !== undefined) {
        code = exitCodeOf(res.exit)
        // On a raw terminal a line starts only after a carriage return.
        if (res.exit.error !== '') io.stderr.write(`${tty ? '\r\n' : ''}aurae: ${clean(res.exit.error)}\n`)
      }
    }
  } catch (err) {
    if (cancelledBy !== undefined) return exitCodeOfSignal(cancelledBy)
    if (isNoWorkload(err)) return undefined
    throw err
  } finally {
    stopTaking()
  }
  return code
}

/**
 * `exec -i`/`-it` on this node's own workload: the node says how to enter it and aurae runs that itself, on its own
 * terminal, as docker exec -it: the runtime gives the command a TTY of its own (Ctrl-C and Ctrl-D reach it as
 * keys, a resize follows the terminal's); an executable shares this terminal. Returns undefined as execInto does.
 */
export async function execOnTerminal (ctx: Context, req: ExecInto, tty: boolean): Promise<number | undefined> {
  const { io } = ctx
  if (tty && (io.stdin as { isTTY?: boolean }).isTTY !== true) throw new InvalidArgumentError('the input device is not a TTY; leave out -t')
  let entered: { argv: string[], env: Record<string, string>, process: Uint8Array } | undefined
  try {
    const size = tty ? terminalSize(io) : undefined
    for await (const res of ctx.daemon().workloads.exec({ ...req, tty, size, direct: true })) entered ??= res.enter
  } catch (err) {
    if (isNoWorkload(err)) return undefined
    throw err
  }
  if (entered === undefined) throw new CliError('the node did not say how to enter the workload', EXIT.execFailed)
  const file = await processFile(entered.process)
  const child = spawn(entered.argv[0], entered.argv.slice(1), { env: entered.env, stdio: withProcess(file, ['inherit', 'inherit', 'inherit']) })
  await file?.close()
  // Ctrl-C on a shared terminal reaches the command itself; aurae stays to pass on its exit code.
  const stopTaking = io.onSignal(['SIGINT', 'SIGTERM', 'SIGHUP'], sig => { if (sig !== 'SIGINT') child.kill(sig) })
  try {
    return await new Promise<number>((resolve, reject) => {
      child.once('error', err => reject(new CliError(`cannot run ${entered.argv[0]}: ${err.message}`, EXIT.execFailed)))
      child.once('close', (code, sig) => resolve(code ?? exitCodeOfSignal(sig ?? '')))
    })
  } finally {
    stopTaking()
  }
}

/** The node has no workload of that name: exec then starts a new executable, as it always did. */
function isNoWorkload (err: unknown): boolean {
  return err instanceof NotFoundError && err.message.startsWith('no workload named')
}
