// ObserveService: workload logs, lifecycle events and the daemon's own log, all followable.
import { ObserveServiceService } from '../../gen/aurae/node/v0/observe.ts'
import { assertWorkloadName } from '../../names/parse.ts'
import { FailedPreconditionError } from '../../errors.ts'
import { followFile } from '../../runtime/follow-file.ts'
import { readLog, type LogEntry } from '../../runtime/cri-log.ts'
import type { Supervisor } from '../../runtime/supervisor.ts'
import { youngCollector } from '../../common/young-gc.ts'
import { byName, byPeer, type Handlers } from './serve.ts'
import type { EventLog } from '../../runtime/events.ts'
import { streamEvents } from './events.ts'

/** The daemon's own log as GetDaemonLogs reads it: the recent lines, then each new one (node/log.ts is one). */
export interface DaemonLogSource {
  recent: (n: number) => string[]
  on: (event: 'line', listener: (line: string) => void) => unknown
  off: (event: 'line', listener: (line: string) => void) => unknown
}

/** Whether the workload's current run has ended for good: it exited, or was removed (or replaced) since. */
function runEnded (supervisor: Supervisor, name: string): () => boolean {
  const rec = supervisor.get(name)
  return () => !supervisor.has(name) || supervisor.get(name) !== rec || rec.state === 'exited'
}

/**
 * A workload's log entries (the last `tail` lines, all when negative), then with `follow` each new one until its run
 * ends for good or it is removed; in bounded pieces whatever their size.
 */
export async function * workloadLog (supervisor: Supervisor, name: string, opts: { follow: boolean, tail: number, join: boolean }, signal: AbortSignal): AsyncGenerator<LogEntry> {
  const done = runEnded(supervisor, name)
  const stop = new AbortController()
  const onExit = (): void => { if (done()) stop.abort() }
  supervisor.on('exit', onExit).on('change', onExit)
  signal.addEventListener('abort', () => stop.abort())
  try {
    const streamed = youngCollector()
    for await (const batch of readLog(supervisor.logPath(name), { ...opts, done, signal: stop.signal })) {
      for (const e of batch) {
        yield e
        streamed(e.data.length)
      }
    }
  } finally {
    supervisor.off('exit', onExit).off('change', onExit)
  }
}

/** How many daemon log lines wait for a reader that follows the log, at most. */
const DAEMON_LOG_BACKLOG = 10_000

/** The daemon's log lines (JSON): the last `tail` (all when negative), then with `follow` each new one until `signal`. */
export async function * daemonLog (log: DaemonLogSource, tail: number, follow: boolean, signal: AbortSignal): AsyncGenerator<string> {
  // A reader that does not keep up loses the oldest lines beyond DAEMON_LOG_BACKLOG, and is told how many.
  const queue: string[] = []
  let dropped = 0
  let wake: (() => void) | undefined
  const onLine = (line: string): void => {
    if (queue.push(line) > DAEMON_LOG_BACKLOG) {
      queue.shift()
      dropped++
    }
    wake?.()
  }
  // The recent lines and the listener for new ones in one step: no line falls between them.
  const recent = log.recent(tail)
  if (follow) log.on('line', onLine)
  const woken = (): void => wake?.()
  signal.addEventListener('abort', woken)
  try {
    for (const json of recent) yield json
    while (follow && !signal.aborted) {
      if (dropped > 0) {
        yield JSON.stringify({ time: new Date().toISOString(), level: 'warn', msg: 'daemon log lines were dropped: this reader fell behind', dropped })
        dropped = 0
      }
      const json = queue.shift()
      if (json !== undefined) yield json
      else await new Promise<void>(resolve => { wake = resolve })
    }
  } finally {
    log.off('line', onLine)
    signal.removeEventListener('abort', woken)
  }
}

/** Logs of workloads and of the daemon, streamed in bounded pieces whatever their size. */
export function observeHandlers (runtime: () => Supervisor, log: DaemonLogSource, events: () => EventLog): Handlers<typeof ObserveServiceService> {
  return {
    getWorkloadLogs: {
      access: 'peers',
      route: byName(),
      stream: async (req, send, signal) => {
        const supervisor = runtime()
        const name = assertWorkloadName(req.name)
        if (req.console === true) {
          const done = runEnded(supervisor, name)
          const path = supervisor.consolePath(name)
          if (path === undefined) throw new FailedPreconditionError(`workload ${name} has no console: only a VM has one`)
          for await (const data of followFile(path, { follow: req.follow, tail: req.tail ?? -1, done, signal })) await send({ stream: 'stdout', data, time: '' })
          return
        }
        for await (const e of workloadLog(supervisor, name, { follow: req.follow, tail: req.tail ?? -1, join: req.timestamps !== true }, signal)) {
          await send({ stream: e.stream, data: e.data, time: e.time })
        }
      }
    },
    getEvents: {
      access: 'peers',
      route: byPeer(),
      stream: async (req, send, signal) => await streamEvents(events(), req, send, signal)
    },
    getDaemonLogs: {
      access: 'local',
      beforeUp: true,
      stream: async (req, send, signal) => {
        for await (const json of daemonLog(log, req.tail ?? -1, req.follow, signal)) await send({ json })
      }
    }
  }
}
