// What every command gets: its I/O, the socket it talks to and a client for it, made on first use.
import { connect, type AuraeClient } from '../../client/index.ts'
import type { CommandSpec, Parsed } from './args.ts'
import type { Io } from './io.ts'

export interface Context {
  io: Io
  sock: string
  /** The SDK's client for the node at `sock`; connecting checks that the socket is there and the caller's. */
  daemon: () => AuraeClient
}

/** A context whose client connects on first use. */
export function context (io: Io, sock: string): Context {
  let client: AuraeClient | undefined
  return { io, sock, daemon: () => (client ??= connect({ socket: sock, uid: io.uid })) }
}

/** A command: its spec (flags, help) and what it does; resolves to the exit code. */
export interface Command {
  spec: CommandSpec
  run: (parsed: Parsed, ctx: Context) => Promise<number>
}
