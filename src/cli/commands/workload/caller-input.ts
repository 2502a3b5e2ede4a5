// The caller's side of an interactive session (exec -i/-it, run -i/-it): its stdin as input messages taken at the
// node's pace, and with a terminal, the terminal raw while attached and its size as it changes.
import { spawnSync } from 'node:child_process'
import { InvalidArgumentError } from '../../../errors.ts'
import type { Io } from '../../kit/io.ts'

type Stdin = NodeJS.ReadableStream & { isTTY?: boolean, fd?: number, setRawMode?: (raw: boolean) => unknown, pause: () => unknown, resume: () => unknown }
type Terminal = { isTTY?: boolean, rows?: number, columns?: number, on?: (e: 'resize', f: () => void) => unknown, off?: (e: 'resize', f: () => void) => unknown }

/** One input message: stdin bytes, the terminal's new size, or the end of stdin. */
export interface Input { stdin?: Buffer, size?: { rows: number, cols: number }, stdinEnd?: boolean }

export interface CallerInput {
  /** The node gives the workload a terminal that follows this one's size. */
  readonly tty: boolean
  /** The terminal is raw: Ctrl-C and Ctrl-D reach the workload as keys, not aurae as signals. */
  readonly raw: boolean
  /** The terminal's size now (24x80 when it does not say). */
  size: () => { rows: number, cols: number }
  /** The input, one message at a time, until the end of stdin or close(). */
  messages: () => AsyncGenerator<Input>
  /** Ends the messages, lets go of stdin and restores the terminal; safe to call more than once. */
  close: () => void
}

/** Input messages held before stdin is paused: the call takes them at the node's pace. */
const HELD = 8

/** Refuses -t when aurae's stdin is no terminal, as docker does: there would be no keys to pass on. */
export function assertTerminal (io: Io): void {
  if ((io.stdin as unknown as Stdin).isTTY !== true) throw new InvalidArgumentError('the input device is not a TTY; leave out -t')
}

/** The size of the terminal aurae writes to (24x80 when it does not say). */
export function terminalSize (io: Io): { rows: number, cols: number } {
  const terminal = io.stdout as unknown as Terminal
  return { rows: terminal.rows ?? 24, cols: terminal.columns ?? 80 }
}

/** Starts taking the caller's input: its stdin when `stdin`, its terminal's size when `tty`; both raw the terminal. */
export function callerInput (io: Io, { stdin: reading, tty }: { stdin: boolean, tty: boolean }): CallerInput {
  const stdin = io.stdin as unknown as Stdin
  const terminal = io.stdout as unknown as Terminal
  const size = (): { rows: number, cols: number } => terminalSize(io)
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
  const onResize = (): void => push({ size: size() })
  const raw = reading && tty
  if (reading) {
    stdin.on('data', onData)
    stdin.once('end', onEnd)
  }
  if (tty) terminal.on?.('resize', onResize)
  if (raw) {
    stdin.setRawMode?.(true)
    // Raw as docker's terminal is: Node's raw mode keeps the output's newline translation, which would turn the
    // remote terminal's \r\n into \r\r\n. Leaving raw mode (and Node, at exit) restores the terminal as it was.
    if (stdin.fd !== undefined) spawnSync('stty', ['-opost'], { stdio: [stdin.fd, 'ignore', 'ignore'] })
  }
  const close = (): void => {
    if (closed) return
    closed = true
    if (raw) stdin.setRawMode?.(false)
    terminal.off?.('resize', onResize)
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
      if (held.length < HELD && reading) stdin.resume()
      yield next
      // Without stdin the call stays open for the sizes; with it, its end is the input's end.
      if (next.stdinEnd === true) return
    }
  }
  return { tty, raw, size, messages, close }
}
