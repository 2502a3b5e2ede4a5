// The original's observe service's pure parts: the daemon's log lines as the original writes its own, and a
// follower of the daemon's log that a slow reader cannot make grow without bound.
import { EventEmitter } from 'node:events'
import { describe, expect, it } from 'vitest'
import { daemonLine } from '../../../src/node/api/original-observe.ts'
import { daemonLog, type DaemonLogSource } from '../../../src/node/api/observe.ts'

describe('daemonLine', () => {
  it('writes a JSON record as LEVEL:auraed -- message key=value, with its time in Unix seconds', () => {
    const json = JSON.stringify({ time: '2026-12-02T07:42:53.186Z', level: 'warn', msg: 'cannot save', image: 'abc', tries: 2, err: { code: 'E' } })
    expect(daemonLine(json)).toEqual({ line: 'WARN:auraed -- cannot save image=abc tries=2 err={"code":"E"}', timestamp: Math.floor(Date.parse('2026-12-02T07:42:53.186Z') / 1000) })
  })

  it('passes a line that is not JSON on as it is, stamped now', () => {
    const before = Math.floor(Date.now() / 1000)
    const { line, timestamp } = daemonLine('not json {')
    expect(line).toBe('not json {')
    expect(timestamp).toBeGreaterThanOrEqual(before)
  })
})

describe('daemonLog', () => {
  /** A daemon log that keeps `recent` and emits what it is given. */
  function source (recent: string[]): DaemonLogSource & { emit: (line: string) => void } {
    const events = new EventEmitter()
    return {
      recent: n => n < 0 ? recent : recent.slice(recent.length - n, recent.length),
      on: (e, l) => events.on(e, l),
      off: (e, l) => events.off(e, l),
      emit: line => events.emit('line', line)
    }
  }

  it('gives the last lines asked for, then each new one, until its signal', async () => {
    const log = source(['a', 'b', 'c'])
    const stop = new AbortController()
    const lines = daemonLog(log, 2, true, stop.signal)
    expect([(await lines.next()).value, (await lines.next()).value]).toEqual(['b', 'c'])
    const next = lines.next()
    log.emit('d')
    expect((await next).value).toBe('d')
    const last = lines.next()
    stop.abort()
    expect(await last).toEqual({ done: true, value: undefined })
  })

  it('keeps at most 10,000 lines for a reader that does not read, and tells it how many it lost', async () => {
    const log = source([])
    const stop = new AbortController()
    const lines = daemonLog(log, 0, true, stop.signal)
    const first = lines.next()
    for (let i = 0; i < 10_005; i++) log.emit(`line ${i}`)
    // All came before the reader ran again: the oldest 5 beyond 10,000 are gone, and it hears so first.
    const told = JSON.parse((await first).value as string)
    expect(told).toMatchObject({ level: 'warn', msg: 'daemon log lines were dropped: this reader fell behind', dropped: 5 })
    expect((await lines.next()).value).toBe('line 5')
    stop.abort()
  })
})
