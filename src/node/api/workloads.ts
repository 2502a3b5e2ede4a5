// WorkloadService: run, list, stop, remove, signal.
import { readLog } from '../../runtime/cri-log.ts'
import { StartError, type Supervisor } from '../../runtime/supervisor.ts'
import type { WorkloadRecord } from '../../runtime/workload.ts'
import { WorkloadServiceService, type WorkloadServiceRunResponse } from '../../gen/aurae/workloads/v0/workloads.ts'
import { specFromProto, stopTimeoutMs, workloadToProto } from './convert.ts'
import { byName, byPeer, type Handlers } from './serve.ts'
import { assertWorkloadName } from '../../names/parse.ts'

/** Streams a workload's output from its start until it has exited for good, then its exit. */
export async function attach (supervisor: Supervisor, rec: WorkloadRecord, send: (m: WorkloadServiceRunResponse) => Promise<void>, signal: AbortSignal): Promise<void> {
  const name = rec.spec.name
  const done = (): boolean => !supervisor.has(name) || supervisor.get(name).state === 'exited'
  const stop = new AbortController()
  const onExit = (r: WorkloadRecord): void => { if (r.spec.name === name && r.state === 'exited') stop.abort() }
  supervisor.on('exit', onExit)
  signal.addEventListener('abort', () => stop.abort())
  try {
    for await (const batch of readLog(supervisor.logPath(name), { follow: true, tail: -1, done, signal: stop.signal })) {
      for (const e of batch) await send({ output: { stream: e.stream, data: e.data } })
    }
  } catch (err) {
    // A caller that went away is not a failure of the workload's.
    if (!signal.aborted) throw err
  } finally {
    supervisor.off('exit', onExit)
  }
  if (signal.aborted) return
  const end = supervisor.has(name) ? supervisor.get(name) : rec
  await send({ exit: { exitCode: end.exitCode ?? undefined, signal: end.signal ?? '', oomKilled: end.oomKilled, error: end.error } })
}

export function workloadHandlers (runtime: () => Supervisor): Handlers<typeof WorkloadServiceService> {
  return {
    run: {
      route: { get: req => req.spec?.name ?? '', set: (req, name) => ({ ...req, spec: req.spec === undefined ? undefined : { ...req.spec, name } }) },
      stream: async (req, send, signal) => {
        const spec = specFromProto(req.spec)
        let rec: WorkloadRecord
        try {
          rec = await runtime().run(spec)
        } catch (err) {
          if (!(err instanceof StartError) || req.detach === true) throw err
          await send({ started: workloadToProto(err.record) })
          await send({ exit: { exitCode: err.record.exitCode ?? undefined, signal: '', oomKilled: false, error: err.record.error } })
          if (req.remove === true) await runtime().remove(spec.name, false)
          return
        }
        await send({ started: workloadToProto(rec) })
        if (req.detach === true) return
        await attach(runtime(), rec, send, signal)
        if (req.remove !== true) return
        const removal = async (): Promise<void> => {
          await runtime().waitExit(rec.spec.name)
          await runtime().remove(rec.spec.name, false)
        }
        if (signal.aborted) void removal().catch(() => {})
        else await removal()
      }
    },
    list: {
      route: byPeer(),
      unary: async req => ({ workloads: runtime().list(req.all === true).map(workloadToProto) })
    },
    stop: {
      route: byName(),
      unary: async req => {
        return { workload: workloadToProto(await runtime().stopWorkload(assertWorkloadName(req.name), stopTimeoutMs(req.timeoutSeconds))) }
      }
    },
    remove: {
      route: byName(),
      unary: async req => {
        await runtime().remove(assertWorkloadName(req.name), req.force === true)
        return {}
      }
    },
    signal: {
      route: byName(),
      unary: async req => {
        await runtime().signal(assertWorkloadName(req.name), req.signal)
        return {}
      }
    }
  }
}
