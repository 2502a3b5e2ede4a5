// WorkloadService: run, list, stop, remove, signal, stats.
import { AttachedOutput } from '../../runtime/attach.ts'
import { outputBuffer } from './run-response.ts'
import { DirectAttacher, attachDirect } from './direct-attacher.ts'
import { youngCollector } from '../../common/young-gc.ts'
import { StartError, type Supervisor } from '../../runtime/supervisor.ts'
import { NameTakenError } from '../../runtime/workload-names.ts'
import type { WorkloadRecord } from '../../runtime/workload.ts'
import type { CellUsage } from '../../runtime/cgroups.ts'
import { WorkloadServiceService, type WindowSize, type Workload, type WorkloadServiceRunInput, type WorkloadServiceRunRequest, type WorkloadServiceRunResponse, type WorkloadStats } from '../../gen/aurae/workloads/v0/workloads.ts'
import { exitToProto, processFromProto, specFromProto, stopTimeoutMs, workloadToProto } from './convert.ts'
import { FailedPreconditionError, InvalidArgumentError } from '../../errors.ts'
import { byName, byPeer, type Handlers, type UnaryHandler } from './serve.ts'
import type { Caller } from './authz.ts'
import { assertWorkloadName } from '../../names/parse.ts'
import { streamCommand } from './exec-into.ts'

/** Streams a workload's output, straight from its monitors, until it has exited for good; then its exit.
 * The caller detaches `output` afterwards. */
export async function attach (supervisor: Supervisor, rec: WorkloadRecord, output: AttachedOutput, send: (m: WorkloadServiceRunResponse) => Promise<void>, signal: AbortSignal): Promise<void> {
  const name = rec.spec.name
  const onAbort = (): void => output.close()
  signal.addEventListener('abort', onAbort)
  // Every run's connection is there before its exit is recorded: after the last exit, none comes.
  void supervisor.waitExit(name, signal).catch(() => {}).finally(() => output.finish())
  const streamed = youngCollector()
  try {
    for await (const batch of output.chunks()) {
      for (const chunk of batch) {
        await send({ output: chunk })
        streamed(chunk.data.length)
      }
    }
  } catch (err) {
    // A caller that went away is not a failure of the workload's.
    if (!signal.aborted) throw err
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
  if (signal.aborted) return
  const end = supervisor.has(name) ? supervisor.get(name) : rec
  await send({ exit: exitToProto(end) })
}

/** What a RunSession adds to a run: the caller's input, and its terminal's size to start with. */
interface RunInput {
  input: AsyncIterable<WorkloadServiceRunInput>
  size?: WindowSize
}

/** The caller's input to the container's monitor, one message at a time, each once the monitor's socket took it. */
async function feed (output: AttachedOutput, session: RunInput): Promise<void> {
  if (session.size !== undefined) await output.send({ size: session.size })
  for await (const msg of session.input) {
    await output.send({ stdin: msg.stdin, size: msg.size, stdinEnd: msg.stdinEnd })
    if (msg.stdinEnd) return
  }
}

/** Stop, as WorkloadService and CellService both serve it: by name, with the caller's timeout. */
export function stopHandler<Q extends { name: string, timeoutSeconds?: number }> (runtime: () => Supervisor): UnaryHandler<Q, { workload: Workload }> {
  return {
    access: 'peers',
    route: byName(),
    unary: async req => ({ workload: workloadToProto(await runtime().stopWorkload(assertWorkloadName(req.name), stopTimeoutMs(req.timeoutSeconds))) })
  }
}

/** One workload's use as `aurae stats` reads it, stamped with when it was read. */
function statsToProto (rec: WorkloadRecord, use: CellUsage): WorkloadStats {
  return { name: rec.spec.name, cpuUsageNs: use.cpuNs, memoryBytes: use.memoryBytes, memoryLimitBytes: use.memoryLimitBytes, pids: use.pids, sampledAtMs: Date.now(), cpus: rec.spec.limits.cpus }
}

/** A start that failed says why on one line, as a run's does (the record keeps the rest). */
async function started (fn: () => Promise<WorkloadRecord>): Promise<WorkloadRecord> {
  try {
    return await fn()
  } catch (err) {
    if (err instanceof StartError) throw new FailedPreconditionError(`${err.record.spec.name} did not start: ${err.record.error === '' ? `exit ${String(err.record.exitCode)}` : err.record.error}`)
    throw err
  }
}

export function workloadHandlers (runtime: () => Supervisor, ownName: () => string): Handlers<typeof WorkloadServiceService> {
  const runRoute = { get: (req: WorkloadServiceRunRequest) => req.spec?.name ?? '', set: (req: WorkloadServiceRunRequest, name: string) => ({ ...req, spec: req.spec === undefined ? undefined : { ...req.spec, name } }) }
  /** Run, detached or attached; with a session, the caller's input goes to the container (relayed, never direct). */
  const runWorkload = async (req: WorkloadServiceRunRequest, send: (m: WorkloadServiceRunResponse) => Promise<void>, signal: AbortSignal, caller: Caller, session?: RunInput): Promise<void> => {
        const spec = specFromProto(req.spec)
        // A monitor's socket is a path on this machine: only a caller here can read it.
        const direct = req.detach !== true && req.directOutput === true && caller.kind === 'local' ? new DirectAttacher(send) : undefined
        const relayed = req.detach === true || direct !== undefined ? undefined : new AttachedOutput(outputBuffer)
        const output = direct ?? relayed
        if (session !== undefined && relayed !== undefined) void feed(relayed, session).catch(() => {})
        const say = direct === undefined ? send : async (m: WorkloadServiceRunResponse) => await direct.say(m)
        // The monitors carry on with their logs alone once the caller is gone or the workload has ended.
        const detach = (): void => {
          if (output === undefined) return
          runtime().detach(spec.name, output)
          output.close()
        }
        let rec: WorkloadRecord
        try {
          // An unnamed workload takes the first free name of its default (redis, redis-2, …).
          rec = await runtime().run(spec, output, signal, req.spec?.name === '')
        } catch (err) {
          detach()
          // A peer's user removes it as NAME@<this node>.
          if (err instanceof NameTakenError && caller.kind === 'peer') throw new NameTakenError(err.workload, `${err.workload}@${ownName()}`)
          // A start that failed is told as an exit, attached or not, so the caller has its code and reason.
          if (!(err instanceof StartError)) throw err
          await say({ started: workloadToProto(err.record) })
          await say({ exit: exitToProto(err.record) })
          if (req.remove === true) await runtime().remove(spec.name, false)
          return
        }
        try {
          await say({ started: workloadToProto(rec) })
          if (direct !== undefined) await attachDirect(runtime(), rec, direct, signal)
          else if (relayed !== undefined) await attach(runtime(), rec, relayed, send, signal)
        } finally {
          detach()
        }
        if (output === undefined || req.remove !== true) return
        const removal = async (): Promise<void> => {
          await runtime().waitExit(rec.spec.name)
          await runtime().remove(rec.spec.name, false)
        }
        if (signal.aborted) void removal().catch(() => {})
        else await removal()
  }
  return {
    run: {
      access: 'peers',
      route: runRoute,
      stream: runWorkload
    },
    runSession: {
      access: 'peers',
      route: { get: first => first.request === undefined ? '' : runRoute.get(first.request), set: (first, name) => ({ ...first, request: first.request === undefined ? undefined : runRoute.set(first.request, name) }) },
      session: async (first, input, send, signal, caller) => {
        const req = first.request
        if (req === undefined) throw new InvalidArgumentError('the first message of a run session must carry its request')
        if (req.detach) throw new InvalidArgumentError('a run session is attached: leave out detach')
        await runWorkload({ ...req, directOutput: false }, send, signal, caller, { input, size: req.spec?.container?.tty === true || req.spec?.executable?.tty === true ? first.size : undefined })
      }
    },
    list: {
      access: 'peers',
      route: byPeer(),
      unary: async req => ({ workloads: runtime().list(req.all === true).map(workloadToProto) })
    },
    stop: stopHandler(runtime),
    remove: {
      access: 'peers',
      route: byName(),
      unary: async req => {
        await runtime().remove(assertWorkloadName(req.name), req.force === true)
        return {}
      }
    },
    signal: {
      access: 'peers',
      route: byName(),
      unary: async req => {
        await runtime().signal(assertWorkloadName(req.name), req.signal)
        return {}
      }
    },
    stats: {
      access: 'peers',
      route: byPeer(),
      unary: async req => {
        const supervisor = runtime()
        const recs = req.names.length === 0 ? supervisor.list(false).filter(r => r.state === 'running') : req.names.map(n => supervisor.get(assertWorkloadName(n)))
        return { stats: recs.map(rec => statsToProto(rec, supervisor.usage(rec.spec.name))) }
      }
    },
    start: {
      access: 'peers',
      route: byName(),
      unary: async req => ({ workload: workloadToProto(await started(async () => await runtime().startAgain(assertWorkloadName(req.name)))) })
    },
    restart: {
      access: 'peers',
      route: byName(),
      unary: async req => ({ workload: workloadToProto(await started(async () => await runtime().restart(assertWorkloadName(req.name), stopTimeoutMs(req.timeoutSeconds)))) })
    },
    inspect: {
      access: 'peers',
      route: byName(),
      unary: async req => ({ workload: workloadToProto(runtime().get(assertWorkloadName(req.name))) })
    },
    exec: {
      access: 'peers',
      route: byName(),
      stream: async (req, send, signal, caller) => {
        const { command, env, workdir } = processFromProto(req, true)
        // A terminal is the caller's own: only a caller on this machine can run the command on it.
        if ((req.direct || req.tty) && caller.kind !== 'local') throw new InvalidArgumentError('a terminal (-t) and -i work only on workloads of the node the CLI runs on')
        if (req.tty && !req.direct) throw new InvalidArgumentError('a terminal (-t) is given only to a caller that runs the command itself (direct), or in an ExecSession')
        const size = req.size !== undefined && req.size.rows > 0 ? req.size : undefined
        const plan = await runtime().enter(assertWorkloadName(req.name), { command, env, workdir, tty: req.tty, size, byCaller: req.direct, detach: req.detach })
        if (req.direct) await send({ enter: { argv: plan.argv, env: plan.env, process: Buffer.from(plan.process ?? '') } })
        else await streamCommand(plan, send, signal, req.detach)
      }
    },
    execSession: {
      access: 'peers',
      route: { get: first => first.request?.name ?? '', set: (first, name) => ({ ...first, request: first.request === undefined ? undefined : { ...first.request, name } }) },
      session: async (first, input, send, signal) => {
        const req = first.request
        if (req === undefined) throw new InvalidArgumentError('the first message of an exec session must carry its request')
        if (req.direct || req.detach) throw new InvalidArgumentError('an exec session runs its command on the node, attached')
        const { command, env, workdir } = processFromProto(req, true)
        const size = req.tty ? first.size !== undefined && first.size.rows > 0 ? first.size : { rows: 24, cols: 80 } : undefined
        const plan = await runtime().enter(assertWorkloadName(req.name), { command, env, workdir, tty: req.tty, size })
        await streamCommand(plan, send, signal, false, { input, size })
      }
    }
  }
}
