// aurae exec -i/-it over an ExecSession: the node (this one or a peer) runs the command, on a terminal of its own
// with -t; this side sends its stdin, its terminal's size as it changes, and the end of its input.
import { InvalidArgumentError } from '../../../errors.ts'
import { exitCodeOfSignal } from '../../../common/signals.ts'
import type { Context } from '../../kit/context.ts'
import { EXIT } from '../../kit/exit.ts'
import { write } from '../../kit/io.ts'
import { clean } from '../../kit/output.ts'
import type { ExecInto } from './exec-into.ts'
import { isNoWorkload } from './exec-into.ts'
import { exitCodeOf } from './start.ts'

type Stdin = NodeJS.ReadableStream & { isTTY?: boolean, setRawMode?: (raw: boolean) => unknown, pause: () => unknown, resume: () => unknown }
type Terminal = { isTTY?: boolean, rows?: number, columns?: number, on?: (e: 'resize', f: () => void) => unknown, off?: (e: 'resize', f: () => void) => unknown }
interface Input { stdin?: Buffer, size?: { rows: number, cols: number }, stdinEnd?: boolean }

/** Input messages held before the stdin is paused: the call takes them at the node's pace. */
const HELD = 8

/**
 * Runs the command in the named workload with this side's stdin (and, with `tty`, a terminal that follows this
 * one's size, in raw mode while attached so Ctrl-C and Ctrl-D reach the command as keys). Returns its exit code,
 * or undefined when the node has no workload of that name.
 */
export async function execSession (ctx: Context, req: ExecInto, tty: boolean): Promise<number | undefined> {
  const { io } = ctx
  const stdin = io.stdin as unknown as Stdin
  const terminal = io.stdout as unknown as Terminal
  if (tty && stdin.isTTY !== true) throw new InvalidArgumentError('the input device is not a TTY; leave out -t')
  const sizeNow = (): { rows: number, cols: number } => ({ rows: terminal.rows ?? 24, cols: terminal.columns ?? 80 })
  const ac = new AbortController()
  const queue = inputQueue(stdin)
  const onResize = (): void => queue.push({ size: sizeNow() })
  if (tty) terminal.on?.('resize', onResize)
  let cancelledBy: string | undefined
  // With a terminal Ctrl-C is a key; without one it ends the command (the node sends it SIGTERM), as exec does.
  const stopTaking = io.onSignal(tty ? ['SIGTERM', 'SIGHUP'] : ['SIGINT', 'SIGTERM', 'SIGHUP'], sig => {
    cancelledBy = sig
    ac.abort()
  })
  if (tty) stdin.setRawMode?.(true)
  let code: number = EXIT.execFailed
  try {
    const first = { request: { ...req, tty }, size: tty ? sizeNow() : undefined }
    for await (const res of ctx.daemon().workloads.execSession(first, queue.messages(), { signal: ac.signal })) {
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
    if (tty) stdin.setRawMode?.(false)
    terminal.off?.('resize', onResize)
    stopTaking()
    queue.close()
  }
  return code
}

/** stdin as input messages: read while the call takes them, paused while HELD wait, ended by EOF or by close(). */
function inputQueue (stdin: Stdin): { push: (m: Input) => void, messages: () => AsyncGenerator<Input>, close: () => void } {
  const held: Input[] = []
  let closed = false
  let wake: (() => void) | undefined
  const poke = (): void => {
    const w = wake
    wake = undefined
    w?.()
  }
  const push = (m: Input): void => {
    held.push(m)
    if (held.length >= HELD) stdin.pause()
    poke()
  }
  const onData = (chunk: Buffer | string): void => push({ stdin: Buffer.from(chunk) })
  const onEnd = (): void => push({ stdinEnd: true })
  stdin.on('data', onData)
  stdin.once('end', onEnd)
  const close = (): void => {
    closed = true
    stdin.off('data', onData)
    stdin.off('end', onEnd)
    stdin.pause()
    poke()
  }
  async function * messages (): AsyncGenerator<Input> {
    while (!closed) {
      const next = held.shift()
      if (next === undefined) {
        await new Promise<void>(resolve => { wake = resolve })
        continue
      }
      if (held.length < HELD) stdin.resume()
      yield next
      if (next.stdinEnd === true) return
    }
  }
  return { push, messages, close }
}
