// The one mapping from failures to CLI messages and exit codes.
import { ForeignSocketError } from '../../client/index.ts'
import { AuraeError, DaemonUnreachableError, messageOf, type ErrorCode } from '../../errors.ts'
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

/** The exit code of each kind of failure; a Record over the codes, so a new one does not compile without its own. */
const EXIT_OF: Record<ErrorCode, number> = {
  'invalid-argument': EXIT.usage,
  'not-found': EXIT.failure,
  'already-exists': EXIT.failure,
  'failed-precondition': EXIT.failure,
  'permission-denied': EXIT.failure,
  'peer-unreachable': EXIT.failure,
  'resource-exhausted': EXIT.failure,
  cancelled: EXIT.failure,
  internal: EXIT.failure,
  unimplemented: EXIT.failure,
  'daemon-unreachable': EXIT.unreachable
}

/** What a person can do about the failures the SDK reports in a client's own words. */
export function hint (err: unknown): string {
  if (err instanceof DaemonUnreachableError) return '; start it with: aurae up NAME[@DOMAIN]'
  if (err instanceof ForeignSocketError) return '; run as that user, or start your own node with --sock'
  return ''
}

/** The exit code and one-line message for anything a command threw; it may quote another node, so it is cleaned for the terminal. */
export function report (err: unknown): { code: number, message: string } {
  if (err instanceof CliError) return { code: err.exitCode, message: clean(err.message) }
  const code = err instanceof AuraeError ? EXIT_OF[err.code] : EXIT.failure
  return { code, message: clean(messageOf(err).split('\n')[0] + hint(err)) }
}
