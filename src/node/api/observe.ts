// ObserveService: workload logs, lifecycle events and the daemon's own log, all followable.
import { ObserveServiceService } from '../../gen/aurae/node/v0/observe.ts'
import { assertWorkloadName } from '../../names/parse.ts'
import { FailedPreconditionError } from '../../errors.ts'
import { followFile } from '../../runtime/follow-file.ts'
import { readLog } from '../../runtime/cri-log.ts'
import type { Supervisor } from '../../runtime/supervisor.ts'
import { youngCollector } from '../../young-gc.ts'
import { byName, byPeer, type Handlers } from './serve.ts'
import type { EventLog } from '../../runtime/events.ts'
import { streamEvents } from './events.ts'

/** The daemon's own log as GetDaemonLogs reads it: the recent lines, then each new one (node/log.ts is one). */
export interface DaemonLogSource {
  recent: (n: number) => string[]
  on: (event: 'line', listener: (line: string) => void) => unknown
  off: (event: 'line', listener: (line: string) => void) => unknown
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
        const rec = supervisor.get(name)
        const done = (): boolean => !supervisor.has(name) || supervisor.get(name) !== rec || rec.state === 'exited'
        if (req.console === true) {
          const path = supervisor.consolePath(name)
          if (path === undefined) throw new FailedPreconditionError(`workload ${name} has no console: only a VM has one`)
          for await (const data of followFile(path, { follow: req.follow, tail: req.tail ?? -1, done, signal })) await send({ stream: 'stdout', data, time: '' })
          return
        }
        const stop = new AbortController()
        const onExit = (): void => { if (done()) stop.abort() }
        supervisor.on('exit', onExit).on('change', onExit)
        signal.addEventListener('abort', () => stop.abort())
        try {
          const opts = { follow: req.follow, tail: req.tail ?? -1, done, signal: stop.signal, join: req.timestamps !== true }
          const streamed = youngCollector()
          for await (const batch of readLog(supervisor.logPath(name), opts)) {
            for (const e of batch) {
              await send({ stream: e.stream, data: e.data, time: e.time })
              streamed(e.data.length)
            }
          }
        } finally {
          supervisor.off('exit', onExit).off('change', onExit)
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
        for (const json of log.recent(req.tail ?? -1)) await send({ json })
        if (!req.follow) return
        const queue: string[] = []
        let wake: (() => void) | undefined
        const onLine = (line: string): void => { queue.push(line); wake?.() }
        log.on('line', onLine)
        signal.addEventListener('abort', () => wake?.())
        try {
          while (!signal.aborted) {
            const json = queue.shift()
            if (json !== undefined) await send({ json })
            else await new Promise<void>(resolve => { wake = resolve })
          }
        } finally {
          log.off('line', onLine)
        }
      }
    }
  }
}
