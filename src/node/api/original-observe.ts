// aurae.observe.v0.ObserveService, the original Aurae's, over this node's logs: the daemon's log as it is written,
// and a workload's output by the PID of its process (an executable of the original's cells: the PID its Start gave),
// each line a LogItem on the original's channel names (`auraed`; `<executable>::stdout`). The node's own, richer
// log API is aurae.node.v0.ObserveService (observe.ts).
import { LogChannelType, type ObserveServiceService } from '../../gen/aurae/observe/v0/observe.ts'
import { InvalidArgumentError, NotFoundError, UnimplementedError } from '../../errors.ts'
import { executableNameOf, executablePid } from '../../runtime/original-cell.ts'
import type { Supervisor } from '../../runtime/supervisor.ts'
import { daemonLog, workloadLog, type DaemonLogSource } from './observe.ts'
import type { Handlers } from './serve.ts'

/** Unix seconds of an RFC 3339 time; now when it has none. */
function seconds (time: string | undefined): number {
  const ms = time !== undefined ? Date.parse(time) : NaN
  return Math.floor((Number.isNaN(ms) ? Date.now() : ms) / 1000)
}

/** One line of the daemon's log (JSON) as the original writes its own: `LEVEL:auraed -- message key=value …`. */
export function daemonLine (json: string): { line: string, timestamp: number } {
  let record: Record<string, unknown>
  try {
    record = JSON.parse(json) as Record<string, unknown>
  } catch {
    return { line: json, timestamp: seconds(undefined) }
  }
  const { time, level, msg, ...fields } = record
  const rest = Object.entries(fields).map(([k, v]) => ` ${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join('')
  return { line: `${String(level ?? 'info').toUpperCase()}:auraed -- ${String(msg ?? '')}${rest}`, timestamp: seconds(typeof time === 'string' ? time : undefined) }
}

export function originalObserveHandlers (runtime: () => Supervisor, log: DaemonLogSource): Handlers<typeof ObserveServiceService> {
  return {
    // As the node's own daemon log: for the node's own user, before up too.
    getAuraeDaemonLogStream: {
      access: 'local',
      beforeUp: true,
      stream: async (_req, send, signal) => {
        for await (const json of daemonLog(log, 0, true, signal)) await send({ channel: 'auraed', ...daemonLine(json) })
      }
    },
    getSubProcessStream: {
      access: 'peers',
      stream: async (req, send, signal) => {
        const stream = req.channelType === LogChannelType.LOG_CHANNEL_TYPE_STDOUT ? 'stdout' : req.channelType === LogChannelType.LOG_CHANNEL_TYPE_STDERR ? 'stderr' : undefined
        if (stream === undefined) throw new InvalidArgumentError('channel_type must be LOG_CHANNEL_TYPE_STDOUT or LOG_CHANNEL_TYPE_STDERR')
        const supervisor = runtime()
        const rec = req.processId > 0 ? supervisor.list(false).find(w => w.state === 'running' && (w.pid === req.processId || executablePid(w.spec, w.pid) === req.processId)) : undefined
        if (rec === undefined) throw new NotFoundError(`no running workload's process has PID ${req.processId}`)
        const channel = `${executableNameOf(rec.spec)}::${stream}`
        for await (const e of workloadLog(supervisor, rec.spec.name, { follow: true, tail: -1, join: false }, signal)) {
          if (e.stream !== stream) continue
          await send({ channel, line: e.data.toString('utf8').replace(/\n$/, ''), timestamp: seconds(e.time) })
        }
      }
    },
    getPosixSignalsStream: {
      access: 'peers',
      stream: async () => {
        throw new UnimplementedError('GetPosixSignalsStream is not served by this node: watching the signals its processes get needs eBPF, which it does not use')
      }
    }
  }
}
