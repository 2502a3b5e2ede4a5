// What exec and run share: their flags, and starting a workload detached or attached to this terminal.
import type { Exit, WorkloadSpec } from '../../../client/index.ts'
import { formatBytes, parseCpus, parseMemory, parsePids } from '../../../common/limits.ts'
import { exitCodeOfSignal } from '../../../common/signals.ts'
import { InvalidArgumentError } from '../../../errors.ts'
import { youngCollector } from '../../../common/young-gc.ts'
import type { CommandSpec, Parsed } from '../../kit/args.ts'
import type { Context } from '../../kit/context.ts'
import type { Io } from '../../kit/io.ts'
import { DirectOutput } from '../../kit/direct-output.ts'
import { CliError, EXIT, hint } from '../../kit/exit.ts'
import { write } from '../../kit/io.ts'
import { clean } from '../../kit/output.ts'
import type { CallerInput } from './caller-input.ts'

const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const

/** The flags exec and run share. */
export const WORKLOAD_FLAGS: CommandSpec['flags'] = {
  detach: { type: 'boolean', short: 'd', help: 'start it and return; print its name' },
  env: { type: 'list', short: 'e', help: 'set an environment variable (repeatable)', value: 'K=V' },
  workdir: { type: 'string', short: 'w', help: 'working directory (absolute)', value: 'DIR' },
  cpus: { type: 'string', help: 'CPU limit in cores, e.g. 0.5', value: 'N' },
  memory: { type: 'string', short: 'm', help: 'memory limit, e.g. 64M', value: 'SIZE' },
  pids: { type: 'string', help: 'most processes at once', value: 'N' },
  restart: { type: 'string', help: 'no | on-failure | always (default no)', value: 'POLICY' },
  rm: { type: 'boolean', help: 'remove the workload once it has exited (attached only)' }
}

/** `-e K=V` values → an environment map. */
export function envOf (pairs: string[]): Record<string, string> {
  const env: Record<string, string> = {}
  for (const pair of pairs) {
    const eq = pair.indexOf('=')
    if (eq <= 0) throw new InvalidArgumentError(`invalid -e "${pair}": expected KEY=VALUE`)
    env[pair.slice(0, eq)] = pair.slice(eq + 1)
  }
  return env
}

/** The limits flags every workload takes. */
export function limitsOf (flags: Parsed['flags']): WorkloadSpec['limits'] & object {
  return {
    cpus: flags.cpus === undefined ? 0 : parseCpus(flags.cpus as string),
    memoryBytes: flags.memory === undefined ? 0 : parseMemory(flags.memory as string),
    pids: flags.pids === undefined ? 0 : parsePids(flags.pids as string)
  }
}

/** Like `docker run`: every failure of aurae itself is 125, so it never looks like the workload's own code. */
export async function asWorkload (fn: () => Promise<number>): Promise<number> {
  try {
    return await fn()
  } catch (err) {
    if (err instanceof Error) throw new CliError(err.message + hint(err), EXIT.execFailed)
    throw err
  }
}

/** The exit code a run's (or a command's) end gives aurae, as docker gives it: its own, 128 + N for signal N. */
export function exitCodeOf ({ exitCode, signal }: Pick<Exit, 'exitCode' | 'signal'>): number {
  return exitCode ?? (signal !== '' ? exitCodeOfSignal(signal) : EXIT.execFailed)
}

/** A run's exit code, as docker run gives it, and its reasons (why it could not start, an OOM kill) said in one line each. */
function exitOf (exit: Exit, io: Io, name: string, spec: WorkloadSpec): number {
  const { oomKilled, error } = exit
  const code = exitCodeOf(exit)
  if (error !== '') io.stderr.write(`aurae: ${clean(error)}\n`)
  // The OOM killer may have taken a child only: the workload then ended by itself.
  const who = code === exitCodeOfSignal('SIGKILL') ? name : `a process of ${name}`
  if (oomKilled) io.stderr.write(`aurae: ${who} was killed for using more than its memory limit (${formatBytes(spec.limits?.memoryBytes ?? 0)})\n`)
  return code
}

/** Starts a workload; detached prints its name, attached streams it and returns its exit code (and says on stderr
 * when the node named it other than `expected`, the name it would have had were that free). With `input` (run -i/-t)
 * the caller's stdin and terminal size go to it: straight to its monitor here, through a RunSession to a peer. */
export async function startWorkload (ctx: Context, spec: WorkloadSpec, where: string, detach: boolean, rm: boolean, expected?: string, input?: CallerInput): Promise<number> {
  try {
    return await startAttachable(ctx, spec, where, detach, rm, expected, input)
  } finally {
    input?.close()
  }
}

async function startAttachable (ctx: Context, spec: WorkloadSpec, where: string, detach: boolean, rm: boolean, expected?: string, input?: CallerInput): Promise<number> {
  if (rm && detach) throw new InvalidArgumentError('--rm works only attached, not with -d')
  const { io } = ctx
  const d = ctx.daemon()
  if (detach) {
    // The answer comes once the process runs; a start that failed ends in an exit instead, and no name is printed.
    let started = ''
    for await (const res of d.workloads.run({ spec, detach: true, remove: false, directOutput: false })) {
      if (res.started !== undefined) started = res.started.name
      if (res.exit !== undefined) return exitOf(res.exit, io, started, spec)
    }
    io.stdout.write(started + '\n')
    return EXIT.ok
  }
  let name = ''
  let code: number = EXIT.execFailed
  // The first signal goes to the workload; a second one means the user wants aurae itself gone
  // (the workload stays, as it is), and so does a reader that has gone away.
  let forwarded: string | undefined
  const forward = (sig: string): void => { void d.workloads.signal({ name, signal: sig }).catch(() => {}) }
  // On a raw terminal Ctrl-C is a key; a signal to aurae itself (its terminal hung up) ends aurae alone, as docker
  // run -it leaves its container: the terminal is restored on the way out, the container keeps running.
  const ac = new AbortController()
  let leftBy: string | undefined
  const stopTaking = io.onSignal(FORWARDED, sig => {
    if (input?.raw === true) {
      leftBy ??= sig
      ac.abort()
      return
    }
    if (forwarded !== undefined) io.quit(exitCodeOfSignal(sig))
    forwarded = sig
    if (name !== '') forward(sig)
  })
  const streamed = youngCollector()
  // On this node the output is read from the workload's monitors here; a peer's comes through the daemon.
  const direct = where === '' ? new DirectOutput({ stdout: io.stdout, stderr: io.stderr }) : undefined
  const request = { spec, detach: false, remove: rm, directOutput: direct !== undefined }
  const events = input === undefined || direct !== undefined
    ? d.workloads.run(request, { signal: ac.signal })
    : d.workloads.runSession({ request, size: input.tty ? input.size() : undefined }, input.messages(), { signal: ac.signal })
  if (input !== undefined && direct !== undefined) void direct.feed(input)
  try {
    for await (const res of events) {
      if (res.attach !== undefined) direct?.add(res.attach.address, res.attach.run, () => name)
      if (res.started !== undefined) {
        name = res.started.name + where
        if (expected !== undefined && res.started.name !== expected) io.stderr.write(`aurae: ${expected} is taken; running as ${name}\n`)
        if (forwarded !== undefined) forward(forwarded)
      }
      if (res.output !== undefined) {
        await write(res.output.stream === 'stderr' ? io.stderr : io.stdout, res.output.data)
        streamed(res.output.data.length)
      }
      if (res.exit !== undefined) {
        await direct?.drained()
        // The terminal is itself again before aurae says anything of its own.
        input?.close()
        code = exitOf(res.exit, io, name, spec)
      }
    }
  } catch (err) {
    if (leftBy !== undefined) return exitCodeOfSignal(leftBy)
    throw err
  } finally {
    stopTaking()
    direct?.close()
  }
  return code
}
