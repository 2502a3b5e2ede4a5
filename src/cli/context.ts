// What every command gets: the socket it talks to and a lazily made connection.
import { connect, type Daemon } from './client.ts'

export interface Context {
  sock: string
  daemon: () => Daemon
}

export function context (sock: string): Context {
  let daemon: Daemon | undefined
  return { sock, daemon: () => (daemon ??= connect(sock)) }
}

/** A command: its spec (flags, help) and what it does; resolves to the exit code. */
export interface Command {
  spec: import('./args.ts').CommandSpec
  run: (parsed: import('./args.ts').Parsed, ctx: Context) => Promise<number>
}
