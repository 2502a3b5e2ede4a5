// GetEvents: the kept events since a time, then each new one until the caller goes or `until` passes.
import type { ObserveServiceGetEventsRequest, ObserveServiceGetEventsResponse } from '../../gen/aurae/node/v0/observe.ts'
import { ResourceExhaustedError } from '../../errors.ts'
import type { EventLog, LifecycleEvent } from '../../runtime/events.ts'

/** How many events may wait for a slow follower before the stream gives up on it (the daemon's memory stays bounded). */
const BACKLOG = 4096

function eventToProto (e: LifecycleEvent): ObserveServiceGetEventsResponse {
  return { type: e.type, name: e.name, kind: e.kind, timeMs: e.timeMs, exitCode: e.exitCode, signal: e.signal ?? '', image: e.image ?? '' }
}

/** Streams the events the request asks for; new events are queued from the moment the call starts, so none is lost between the two. */
export async function streamEvents (log: EventLog, req: ObserveServiceGetEventsRequest, send: (m: ObserveServiceGetEventsResponse) => Promise<void>, signal: AbortSignal): Promise<void> {
  const until = req.untilMs > 0 ? req.untilMs : Infinity
  const queue: LifecycleEvent[] = []
  let wake: (() => void) | undefined
  let overflow = false
  const onEvent = (e: LifecycleEvent): void => {
    if (queue.length >= BACKLOG) overflow = true
    else queue.push(e)
    wake?.()
  }
  log.on('event', onEvent)
  const onAbort = (): void => wake?.()
  signal.addEventListener('abort', onAbort)
  let timer: NodeJS.Timeout | undefined
  try {
    const start = Date.now()
    const past = req.sinceMs > 0 ? log.since(req.sinceMs) : []
    for (const e of past) if (e.timeMs < until) await send(eventToProto(e))
    if (until <= start) return
    if (until !== Infinity) timer = setTimeout(() => wake?.(), until - start)
    while (!signal.aborted && Date.now() < until && !overflow) {
      const e = queue.shift()
      if (e !== undefined) await send(eventToProto(e))
      else await new Promise<void>(resolve => { wake = resolve })
    }
    if (overflow) throw new ResourceExhaustedError('events came faster than this caller read them; run aurae events again with --since')
  } finally {
    clearTimeout(timer)
    log.off('event', onEvent)
    signal.removeEventListener('abort', onAbort)
  }
}
