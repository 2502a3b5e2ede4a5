// The one mapping from failures to CLI messages and exit codes.
import { messageOf } from '../errors.ts'
import { clean } from './output.ts'

/** Exit codes: a workload's own code passes through `aurae exec`; these are the CLI's. */
export const EXIT = {
  ok: 0,
  /** The daemon refused or failed: no such workload, a name in use, a node not up. */
  failure: 1,
  /** The command line is wrong: unknown flag, bad name, bad limit. */
  usage: 2,
  /** No daemon answers on the socket. */
  unreachable: 3,
  /** `aurae exec` could not run the workload at all (for the others, see above). */
  execFailed: 125
} as const

export class CliError extends Error {
  override name = 'CliError'
  constructor (message: string, readonly exitCode: number) {
    super(message)
  }
}

/** The exit code and one-line message for anything a command threw; it may quote another node, so it is cleaned for the terminal. */
export function report (err: unknown): { code: number, message: string } {
  if (err instanceof CliError) return { code: err.exitCode, message: clean(err.message) }
  if (err instanceof Error && err.name === 'InvalidArgumentError') return { code: EXIT.usage, message: clean(err.message) }
  return { code: EXIT.failure, message: clean(messageOf(err).split('\n')[0]) }
}
