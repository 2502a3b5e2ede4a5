import { describe, expect, it } from 'vitest'
import { EventLog, type LifecycleEvent } from '../../src/runtime/events.ts'

const event = (i: number): LifecycleEvent => ({ type: 'started', name: `w${i}`, kind: 'executable', timeMs: 1000 + i })

describe('the event log', () => {
  it('keeps only the newest events past its bound, oldest first', () => {
    const log = new EventLog(3)
    for (let i = 0; i < 5; i++) log.add(event(i))
    expect(log.since(0).map(e => e.name)).toEqual(['w2', 'w3', 'w4'])
    expect(log.since(1004).map(e => e.name)).toEqual(['w4'])
  })

  it('tells followers of each event as it is added', () => {
    const log = new EventLog()
    const told: string[] = []
    log.on('event', e => told.push(e.name))
    log.add(event(1))
    expect(told).toEqual(['w1'])
  })
})
