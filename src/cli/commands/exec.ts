// aurae exec: run an executable in a cell, attached (output and exit code come back) or detached.
import type { WorkloadSpec } from '../../gen/aurae/workloads/v0/workloads.ts'
import { parseName } from '../../names/parse.ts'
import { formatBytes, parseCpus, parseMemory, parsePids } from '../../runtime/limits.ts'
import { signalNumber } from '../../runtime/proc.ts'
import { InvalidArgumentError } from '../../errors.ts'
import type { Command, Context } from '../context.ts'
import type { CommandSpec, Parsed } from '../args.ts'
import { CliError, EXIT } from '../exit.ts'
import { youngCollector } from '../../young-gc.ts'
import { clean } from '../output.ts'
import { DirectOutput } from '../direct-output.ts'

const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const

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

/** Writes and waits while the stream is full, so a slow terminal slows the sender instead of filling memory. */
export async function write (stream: NodeJS.WriteStream, data: Uint8Array | string): Promise<void> {
  if (!stream.write(data)) await new Promise(resolve => stream.once('drain', resolve))
}

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

/** `-v HOST[:PATH][:ro]` of exec → a host path shown at PATH (the same path when left out). */
export function bindOf (text: string): { host: string, container: string, readOnly: boolean } {
  const parts = text.split(':')
  const mode = parts.length > 1 && (parts.at(-1) === 'ro' || parts.at(-1) === 'rw') ? parts.pop() : undefined
  if (parts.length > 2 || parts[0] === '' || parts[1] === '') throw new InvalidArgumentError(`invalid -v "${text}": expected HOST[:PATH][:ro]`)
  return { host: parts[0], container: parts[1] ?? '', readOnly: mode === 'ro' }
}

export const exec: Command = {
  spec: {
    name: 'exec',
    usage: 'exec [NAME] [flags] -- COMMAND [ARG...]',
    summary: 'Runs COMMAND as a workload in a cell of its own. Attached by default: output streams back,\nCtrl-C reaches the workload, and aurae exits with its exit code (128+N for signal N).\nExit 125 means the workload could not be run at all. The node\'s key, data and socket are\nhidden from it unless bound in with -v.',
    flags: {
      ...WORKLOAD_FLAGS,
      volume: { type: 'list', short: 'v', help: 'show a host path to it, hidden or not (repeatable)', value: 'HOST[:PATH][:ro]' }
    },
    maxPositionals: 1,
    passthrough: true
  },
  async run (parsed, ctx) {
    const { flags } = parsed
    return await asWorkload(async () => {
      if (parsed.rest === undefined || parsed.rest.length === 0) {
        throw new InvalidArgumentError('missing command: put it after --, as in: aurae exec -- echo hi')
      }
      // `job@emily` runs on emily: the daemon routes the name as it is; later calls keep the `@emily`.
      const target = parsed.positionals[0] ?? ''
      const where = target.slice(parseName(target).entity.length)
      const spec = {
        name: target,
        kind: 'executable',
        executable: {
          command: parsed.rest,
          env: envOf(flags.env as string[] | undefined ?? []),
          workdir: flags.workdir as string ?? '',
          volumes: (flags.volume as string[] | undefined ?? []).map(bindOf)
        },
        limits: limitsOf(flags),
        restart: flags.restart as string ?? 'no',
        cell: '',
        container: undefined
      }
      return await startWorkload(ctx, spec, where, flags.detach === true, flags.rm === true)
    })
  }
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
    if (err instanceof Error) throw new CliError(err.message, EXIT.execFailed)
    throw err
  }
}

/** Starts a workload; detached prints its name, attached streams it and returns its exit code. */
export async function startWorkload (ctx: Context, spec: WorkloadSpec, where: string, detach: boolean, rm: boolean): Promise<number> {
  if (rm && detach) throw new InvalidArgumentError('--rm works only attached, not with -d')
  const d = ctx.daemon()
  if (detach) {
    for await (const res of d.workloads.run({ spec, detach: true, remove: false, directOutput: false })) {
      if (res.started !== undefined) process.stdout.write(res.started.name + '\n')
    }
    return EXIT.ok
  }
  let name = ''
  let code: number = EXIT.execFailed
  // The first signal goes to the workload; a second one means the user wants aurae itself gone
  // (the workload stays, as it is), and so does a reader that has gone away.
  let forwarded: string | undefined
  const forward = (sig: string): void => { void d.workloads.signal({ name, signal: sig }).catch(() => {}) }
  const onSignal = (sig: NodeJS.Signals) => () => {
    if (forwarded !== undefined) process.exit(128 + (signalNumber(sig) ?? 0))
    forwarded = sig
    if (name !== '') forward(sig)
  }
  const onBrokenPipe = (): never => process.exit(128 + (signalNumber('SIGPIPE') ?? 13))
  const handlers = FORWARDED.map(sig => [sig, onSignal(sig)] as const)
  for (const [sig, fn] of handlers) process.on(sig, fn)
  process.stdout.on('error', onBrokenPipe)
  process.stderr.on('error', onBrokenPipe)
  const streamed = youngCollector()
  // On this node the output is read from the workload's monitors here; a peer's comes through the daemon.
  const direct = where === '' ? new DirectOutput() : undefined
  try {
    for await (const res of d.workloads.run({ spec, detach: false, remove: rm, directOutput: direct !== undefined })) {
      if (res.attach !== undefined) direct?.add(res.attach.address, res.attach.run, () => name)
      if (res.started !== undefined) {
        name = res.started.name + where
        if (forwarded !== undefined) forward(forwarded)
      }
      if (res.output !== undefined) {
        await write(res.output.stream === 'stderr' ? process.stderr : process.stdout, res.output.data)
        streamed(res.output.data.length)
      }
      if (res.exit !== undefined) {
        await direct?.drained()
        const { exitCode, signal, oomKilled, error } = res.exit
        code = exitCode ?? (signal !== '' ? 128 + (signalNumber(signal) ?? 0) : EXIT.execFailed)
        if (error !== '') process.stderr.write(`aurae: ${clean(error)}\n`)
        if (oomKilled) process.stderr.write(`aurae: ${name} was killed for using more than its memory limit (${formatBytes(spec.limits?.memoryBytes ?? 0)})\n`)
      }
    }
  } finally {
    for (const [sig, fn] of handlers) process.off(sig, fn)
  }
  return code
}
