// aurae exec (aurae workload exec): run an executable in a cell, attached (output and exit code come back) or detached.
import { InvalidArgumentError, NotFoundError } from '../../../errors.ts'
import { parseName } from '../../../names/parse.ts'
import type { Command, Context } from '../../kit/context.ts'
import { execInto, execOnTerminal, type ExecInto } from './exec-into.ts'
import { execSession } from './exec-session.ts'
import { assertTerminal, callerInput } from './caller-input.ts'
import { asWorkload, envOf, limitsOf, startWorkload, WORKLOAD_FLAGS } from './start.ts'

/** `-v HOST[:PATH][:ro]` of exec → a host path shown at PATH (the same path when left out). */
function bindOf (text: string): { host: string, container: string, readOnly: boolean } {
  const parts = text.split(':')
  const mode = parts.length > 1 && (parts.at(-1) === 'ro' || parts.at(-1) === 'rw') ? parts.pop() : undefined
  if (parts.length > 2 || parts[0] === '' || parts[1] === '') throw new InvalidArgumentError(`invalid -v "${text}": expected HOST[:PATH][:ro]`)
  return { host: parts[0], container: parts[1] ?? '', readOnly: mode === 'ro' }
}

/**
 * -i/-t: a container or a VM of this node is entered by aurae itself (`runc exec -t` or aurae-vm-exec on this
 * terminal, the fastest way); a peer's workload, or an executable that needs a terminal of its own, through a
 * session the node serves.
 */
async function enter (ctx: Context, req: ExecInto, where: string, tty: boolean): Promise<number | undefined> {
  // Asked first, so that a new executable gets the keys typed meanwhile, not a session that found nothing to enter.
  const kind = await kindOf(ctx, req.name)
  if (kind === '') return undefined
  if (where === '' && (!tty || kind === 'container' || kind === 'vm')) return await execOnTerminal(ctx, req, tty)
  return await execSession(ctx, req, tty)
}

/** Whether the allocated cell NAME is a VM of its own (a nested node); an unknown cell is the node's to refuse. */
async function isVmCell (ctx: Context, name: string): Promise<boolean> {
  const { cells } = await ctx.daemon().cells.list({})
  return cells.some(c => c.name === name && c.isolation === 'vm')
}

/** The kind of workload NAME (NAME@peer on the peer); '' when there is none (exec then starts one). */
async function kindOf (ctx: Context, name: string): Promise<string> {
  try {
    return (await ctx.daemon().workloads.inspect({ name })).workload?.kind ?? ''
  } catch (err) {
    if (err instanceof NotFoundError) return ''
    throw err
  }
}

export const exec: Command = {
  spec: {
    name: 'exec',
    usage: 'exec [NAME] [--cell CELL] [flags] -- COMMAND [ARG...]',
    summary: 'Runs COMMAND inside the running workload NAME (as docker exec), or as a new workload.\nInside a workload: its namespaces, cgroup, user and env; -e and -w apply. Otherwise COMMAND runs\nin a cell of its own (named NAME when given). Attached by default: output streams back,\nCtrl-C reaches the workload, and aurae exits with its exit code (128+N for signal N).\nHere or on NAME@peer, -i sends stdin to COMMAND, -t gives it a terminal of its own (also to a new\nexecutable); into a running workload -d starts it and returns at once (its output discarded).\nExit 125 means the workload could not be run at all. The node\'s key, data and socket are\nhidden from it unless bound in with -v.',
    flags: {
      ...WORKLOAD_FLAGS,
      volume: { type: 'list', short: 'v', help: 'show a host path to it, hidden or not (repeatable)', value: 'HOST[:PATH][:ro]' },
      cell: { type: 'string', help: 'run it in this allocated cell (in the cell\'s VM, for one of --isolation vm)', value: 'CELL' },
      interactive: { type: 'boolean', short: 'i', help: 'keep stdin open to the command (here or NAME@peer)' },
      tty: { type: 'boolean', short: 't', help: 'give the command a terminal (with -i: as docker exec -it)' }
    },
    maxPositionals: 1,
    passthrough: true
  },
  async run (parsed, ctx) {
    const { flags } = parsed
    // A bad limit is bad usage (exit 2), not a workload that failed to run.
    const limits = limitsOf(flags)
    return await asWorkload(async () => {
      if (parsed.rest === undefined || parsed.rest.length === 0) {
        throw new InvalidArgumentError('missing command: put it after --, as in: aurae exec -- echo hi')
      }
      // `job@emily` runs on emily: the daemon routes the name as it is; later calls keep the `@emily`. A cell that is
      // a VM is a nested node of its name: its workloads are NAME@CELL.
      const asked = parsed.positionals[0] ?? ''
      const cellName = flags.cell as string | undefined ?? ''
      const inVm = cellName !== '' && await isVmCell(ctx, cellName)
      if (inVm && asked.includes('@')) throw new InvalidArgumentError(`--cell ${cellName} is a VM of its own: name the workload without @, as NAME --cell ${cellName}`)
      const target = inVm ? `${asked}@${cellName}` : asked
      const where = target.slice(parseName(target).entity.length)
      const env = envOf(flags.env as string[] | undefined ?? [])
      // A workload of that name that runs gets the command inside it, as docker exec; otherwise it is a new executable.
      // `@emily` alone names only a node: a new executable there, as ever.
      const named = where !== target
      const onTerminal = flags.interactive === true || flags.tty === true
      if (onTerminal && flags.detach === true) throw new InvalidArgumentError('-d does not go with -i or -t: aurae has no attach to reach the command later')
      if (named) {
        const req = { name: target, command: parsed.rest, env, workdir: flags.workdir as string ?? '' }
        const code = onTerminal ? await enter(ctx, req, where, flags.tty === true) : await execInto(ctx, { ...req, detach: flags.detach === true })
        if (code !== undefined) return code
        // Said to a person at a terminal; a script's stderr stays the workload's own, as it always was.
        if (ctx.io.stderr.isTTY === true) ctx.io.stderr.write(`aurae: no workload named ${target}; starting a new executable of that name\n`)
      }
      // A new executable with -i/-t: its stdin (and terminal, which its monitor keeps) are this side's, as run -it.
      if (flags.tty === true) assertTerminal(ctx.io)
      const spec = {
        name: target,
        executable: {
          command: parsed.rest,
          env,
          workdir: flags.workdir as string ?? '',
          volumes: (flags.volume as string[] | undefined ?? []).map(bindOf),
          tty: flags.tty === true,
          interactive: flags.interactive === true
        },
        limits,
        restart: flags.restart as string ?? 'no',
        cell: inVm ? '' : cellName
      }
      const input = onTerminal ? callerInput(ctx.io, { stdin: flags.interactive === true, tty: flags.tty === true }) : undefined
      return await startWorkload(ctx, spec, where, flags.detach === true, flags.rm === true, undefined, input)
    })
  }
}
