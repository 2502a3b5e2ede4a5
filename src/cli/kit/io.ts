// What a command may touch of the world, handed to it as parameters: only src/cli/main.ts reaches `process`.
import type { Env } from '../../common/node-defaults.ts'
import { firstEvent } from '../../common/first-event.ts'

/** An output stream: a terminal, a pipe or a file (process.stdout), or anything a test writes into. */
export type Out = NodeJS.WritableStream & { writableLength: number, isTTY?: boolean }

export interface Io {
  stdout: Out
  stderr: Out
  stdin: AsyncIterable<Buffer | string>
  env: Env
  /** The caller's uid: the SDK refuses a socket of another user's, and the default data directory depends on it. */
  uid: number
  /** The Node binary running aurae, to start auraed with. */
  execPath: string
  /** Hands each of `signals` to `handle` instead of letting it end aurae, until the returned function is called. */
  onSignal: (signals: readonly NodeJS.Signals[], handle: (signal: NodeJS.Signals) => void) => () => void
  /** Ends aurae at once with `code`, output unflushed: for a second Ctrl-C, or a reader that has gone away. */
  quit: (code: number) => never
}

/**
 * Writes and waits while the stream is full, so a slow terminal slows the sender instead of filling memory. A reader
 * that goes away ends the wait too (the stream's error or close), never leaving aurae waiting for a drain that will
 * not come.
 */
export async function write (stream: Out, data: Uint8Array | string): Promise<void> {
  if (!stream.write(data)) await firstEvent([stream, 'drain'], [stream, 'error'], [stream, 'close'])
}
