// Exec into a running workload: the command its driver names runs under the daemon, its output streams back to the
// caller; in a session, the caller's input goes to it, on a terminal of its own (aurae-pty) with `tty`.
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { Readable, Writable } from 'node:stream'
import { firstEvent } from '../../common/first-event.ts'
import { FailedPreconditionError } from '../../errors.ts'
import type { WindowSize, WorkloadServiceExecInput, WorkloadServiceRunResponse } from '../../gen/aurae/workloads/v0/workloads.ts'
import { processFile, withProcess } from '../../common/process-fd.ts'
import type { EnterPlan } from '../../runtime/driver.ts'

/** The helper that gives a command a terminal of its own (src/runtime/monitor/aurae-pty.c). */
const PTY = fileURLToPath(new URL('../../runtime/monitor/aurae-pty', import.meta.url))

/** What a session adds to a command: the caller's input, and a terminal of this size when it asked for one. */
export interface Session {
  input: AsyncIterable<WorkloadServiceExecInput>
  size?: WindowSize
}

/** How the command runs: its output piped back, discarded (exec -d), or with the session's input too. */
async function start (plan: EnterPlan, detach: boolean, session?: Session): Promise<ChildProcess> {
  const { argv, env } = plan
  const file = await processFile(plan.process)
  try {
    if (detach) return spawn(argv[0], argv.slice(1), { env, stdio: withProcess(file, ['ignore', 'ignore', 'ignore']) })
    if (session === undefined) return spawn(argv[0], argv.slice(1), { env, stdio: withProcess(file, ['ignore', 'pipe', 'pipe']) })
    if (session.size === undefined) return spawn(argv[0], argv.slice(1), { env, stdio: withProcess(file, ['pipe', 'pipe', 'pipe']) })
    return spawn(PTY, [String(session.size.rows || 24), String(session.size.cols || 80), ...argv], { env, stdio: withProcess(file, ['pipe', 'pipe', 'pipe', 'pipe']) })
  } finally {
    await file?.close()
  }
}

/**
 * Runs the plan and sends its output, then its exit; a caller gone ends the command: SIGTERM to it (the runtime
 * passes it on), or, on a terminal, a hangup. With `detach` only the exit is sent, once the command has started.
 */
export async function streamCommand (plan: EnterPlan, send: (m: WorkloadServiceRunResponse) => Promise<void>, signal: AbortSignal, detach = false, session?: Session): Promise<void> {
  const { argv } = plan
  const child = await start(plan, detach, session)
  const tty = session?.size !== undefined
  const onAbort = (): void => { if (tty) child.stdin?.end(); else child.kill('SIGTERM') }
  signal.addEventListener('abort', onAbort, { once: true })
  if (session !== undefined) void feed(child, session.input, tty).catch(() => { if (!signal.aborted) onAbort() })
  // One send at a time, in order; a stream waits (paused) while its chunk is on its way, so memory stays bounded.
  let tail = Promise.resolve()
  let held: Buffer | undefined
  const relay = (stream: 'stdout' | 'stderr', from: Readable | null): void => {
    from?.on('data', (data: Buffer) => {
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

/** The caller's input to the command: stdin at the pace the command takes it, window sizes to the terminal. */
async function feed (child: ChildProcess, input: AsyncIterable<WorkloadServiceExecInput>, tty: boolean): Promise<void> {
  const stdin = child.stdin
  if (stdin === null) return
  // A command that has ended takes no more; what is still written then is dropped.
  stdin.on('error', () => {})
  const control = child.stdio[3] as Writable | undefined
  control?.on('error', () => {})
  for await (const msg of input) {
    if (msg.stdin.length > 0 && !stdin.write(msg.stdin)) await firstEvent([stdin, 'drain'], [child, 'close'])
    if (tty && msg.size !== undefined && msg.size.rows > 0) control?.write(sizeRecord(msg.size))
    if (msg.stdinEnd) break
  }
  // Without a terminal the command reads the end of its input; on one, the end of input is a hangup.
  stdin.end()
}

/** A window size as aurae-pty reads it on fd 3: rows and columns, big-endian u16 each. */
function sizeRecord (size: WindowSize): Buffer {
  const b = Buffer.alloc(4)
  b.writeUInt16BE(Math.min(size.rows, 0xffff), 0)
  b.writeUInt16BE(Math.min(size.cols, 0xffff), 2)
  return b
}
