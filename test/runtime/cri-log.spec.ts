import { appendFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { readLog, type FollowOptions, type LogEntry } from '../../src/runtime/cri-log.ts'
import { CriParser, MAX_RECORD } from '../../src/runtime/cri-record.ts'

const T = '2026-11-24T14:00:00.123456789Z'
const line = (stream: string, tag: string, text: string): string => `${T} ${stream} ${tag} ${text}\n`
const text = (entries: LogEntry[]): string[] => entries.map(e => `${e.stream}:${e.data.toString()}`)
const numbered = (from: number, to: number): string => {
  let s = ''
  for (let i = from; i <= to; i++) s += line('stdout', 'F', String(i))
  return s
}
const range = (from: number, to: number): string[] => Array.from({ length: to - from + 1 }, (_, i) => `stdout:${from + i}\n`)

describe('CRI log records', () => {
  it('passes partial records on as they come, per stream, never joined into a whole line', () => {
    const out = new CriParser().push(Buffer.from(line('stdout', 'P', 'hel') + line('stderr', 'P', 'oo') + line('stdout', 'F', 'lo') + line('stderr', 'F', 'ps')))
    expect(text(out)).toEqual(['stdout:hel', 'stderr:oo', 'stdout:lo\n', 'stderr:ps\n'])
    expect(out[0].time).toBe(T)
  })

  it('keeps empty lines, bytes as they were, and a dangling partial record', () => {
    const raw = Buffer.concat([Buffer.from(`${T} stdout F `), Buffer.from([0x80, 0xff, 0x20, 0x41]), Buffer.from('\n')])
    const out = new CriParser().push(Buffer.concat([Buffer.from(line('stdout', 'F', '')), raw, Buffer.from(line('stdout', 'P', 'Password: '))]))
    expect(out.map(e => e.data)).toEqual([Buffer.from('\n'), Buffer.from([0x80, 0xff, 0x20, 0x41, 0x0a]), Buffer.from('Password: ')])
  })

  it('reads records whose time is not the monitor\'s 30 characters, and ones with no content at all', () => {
    // Content where a 30-character time's header would be: a stream name, and the newline where its tag would be.
    const log = '2026-11-24T14:00:00Z stdout F  stdout \n' + '2026-11-24T14:00:00Z stdout F  mmmmmm F x\n' + `${T} stdout F\n` +
      '2026-11-24T14:00:00.5Z stderr F z\n'
    for (const join of [false, true]) {
      expect(text(new CriParser(join).push(Buffer.from(log)))).toEqual(join
        ? ['stdout: stdout \n mmmmmm F x\n\n', 'stderr:z\n']
        : ['stdout: stdout \n', 'stdout: mmmmmm F x\n', 'stdout:\n', 'stderr:z\n'])
    }
  })

  it('skips lines that are not CRI records', () => {
    expect(new CriParser().push(Buffer.from('garbage\n' + `${T} bogus F x\n` + `${T} stdout X x\n`))).toEqual([])
  })

  it('carries a record cut by the end of a read into the next, wherever the cut falls', () => {
    const log = Buffer.from(line('stdout', 'F', 'one') + line('stderr', 'P', 'two ') + line('stderr', 'F', 'three') + line('stdout', 'F', ''))
    const whole = text(new CriParser().push(log))
    for (let cut = 0; cut <= log.length; cut++) {
      for (let cut2 = cut; cut2 <= log.length; cut2 += 7) {
        const p = new CriParser()
        const got = [...p.push(log.subarray(0, cut)), ...p.push(log.subarray(cut, cut2)), ...p.push(log.subarray(cut2))]
        expect(text(got)).toEqual(whole)
      }
    }
  })

  it('drops a run of bytes too long to be a record without holding it, and reads on after it', () => {
    const p = new CriParser()
    const junk = Buffer.alloc(1024 * 1024, 'x')
    expect(p.push(junk.subarray(0, MAX_RECORD / 2))).toEqual([])
    for (let i = MAX_RECORD / 2; i < junk.length; i += MAX_RECORD) expect(p.push(junk.subarray(i, i + MAX_RECORD))).toEqual([])
    expect(text(p.push(Buffer.from('\n' + line('stdout', 'F', 'after'))))).toEqual(['stdout:after\n'])
  })

  it('joins consecutive records of a stream when asked, stamped with the first one\'s time', () => {
    const later = '2026-11-24T14:00:01.000000000Z'
    const log = line('stdout', 'F', 'a') + `${later} stdout P b\n` + line('stdout', 'F', 'c') + line('stderr', 'F', 'e') + line('stdout', 'F', 'd')
    const out = new CriParser(true).push(Buffer.from(log))
    expect(text(out)).toEqual(['stdout:a\nbc\n', 'stderr:e\n', 'stdout:d\n'])
    expect(out[0].time).toBe(T)
  })
})

describe('reading a log', () => {
  let dir: string
  let path: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cri-'))
    path = join(dir, 'x.log')
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  const collect = async (opts: Partial<FollowOptions>, onBatch?: (n: number) => void): Promise<string[]> => {
    const out: string[] = []
    for await (const batch of readLog(path, { follow: false, tail: -1, done: () => true, ...opts })) {
      out.push(...text(batch))
      onBatch?.(out.length)
    }
    return out
  }
  /** What the monitor does when it rotates: the live file gets the next number, the oldest beyond `keep` goes. */
  let rotations = 0
  const rotate = (keep = Infinity): void => {
    rotations++
    renameSync(path, `${path}.${rotations}`)
    if (rotations - keep >= 1) rmSync(`${path}.${rotations - keep}`, { force: true })
    writeFileSync(path, '')
  }
  beforeEach(() => { rotations = 0 })

  it('reads rotated files by number, oldest first, then the live one, and tails', async () => {
    writeFileSync(`${path}.9`, line('stdout', 'F', 'one'))
    writeFileSync(`${path}.10`, line('stdout', 'F', 'two'))
    writeFileSync(`${path}.log`, line('stdout', 'F', 'another workload\'s'))
    writeFileSync(path, line('stderr', 'F', 'three') + line('stdout', 'F', 'four'))
    expect(await collect({})).toEqual(['stdout:one\n', 'stdout:two\n', 'stderr:three\n', 'stdout:four\n'])
    expect(await collect({ tail: 2 })).toEqual(['stderr:three\n', 'stdout:four\n'])
    expect(await collect({ tail: 3 })).toEqual(['stdout:two\n', 'stderr:three\n', 'stdout:four\n'])
    expect(await collect({ tail: 0 })).toEqual([])
  })

  it('returns every line of a rotated file of 300,000 records and of the live file after it', async () => {
    writeFileSync(`${path}.1`, numbered(1, 300_000))
    writeFileSync(path, numbered(300_001, 300_100))
    const out = await collect({})
    expect(out.length).toBe(300_100)
    expect(out).toEqual(range(1, 300_100))
  })

  it('tails exactly the last N lines across files and read boundaries', async () => {
    writeFileSync(`${path}.1`, numbered(1, 40_000))
    writeFileSync(`${path}.2`, numbered(40_001, 50_000))
    writeFileSync(path, numbered(50_001, 60_000))
    for (const n of [1, 9_999, 10_000, 10_001, 25_000, 59_999, 60_000, 70_000]) {
      expect(await collect({ tail: n })).toEqual(range(Math.max(1, 60_001 - n), 60_000))
    }
  })

  it('counts a stream\'s unfinished last line as a line when tailing', async () => {
    writeFileSync(path, line('stdout', 'F', 'a') + line('stdout', 'F', 'b') + line('stdout', 'P', 'c1') + line('stderr', 'F', 'e') + line('stdout', 'P', 'c2'))
    expect(await collect({ tail: 1 })).toEqual(['stdout:c2'])
    expect(await collect({ tail: 2 })).toEqual(['stdout:c1', 'stderr:e\n', 'stdout:c2'])
    expect(await collect({ tail: 3 })).toEqual(['stdout:b\n', 'stdout:c1', 'stderr:e\n', 'stdout:c2'])
  })

  it('ignores a record still being written at the end when tailing and reading', async () => {
    writeFileSync(path, numbered(1, 3) + `${T} stdout F 4`)
    expect(await collect({ tail: 2 })).toEqual(range(2, 3))
    expect(await collect({})).toEqual(range(1, 3))
  })

  it('without follow, stops at the end the log had when reading began', async () => {
    writeFileSync(path, numbered(1, 10_000))
    const out = await collect({}, () => appendFileSync(path, numbered(1, 10_000)))
    expect(out).toEqual(range(1, 10_000))
  })

  it('follows what is appended and across rotations, without loss or repeats, until done', async () => {
    writeFileSync(path, line('stdout', 'F', '1'))
    let finished = false
    const out = await collect({ follow: true, done: () => finished }, seen => {
      if (seen === 1) appendFileSync(path, line('stdout', 'F', '2'))
      if (seen === 2) {
        appendFileSync(path, line('stdout', 'F', '3'))
        rotate()
        appendFileSync(path, line('stdout', 'F', '4'))
        finished = true
      }
    })
    expect(out).toEqual(range(1, 4))
  })

  /** Follows the log while, between two of its reads, a writer fills and rotates the live file `perRead` times, keeping `keep` rotated files. */
  const followRotations = async (perRead: number, keep: number): Promise<string[]> => {
    writeFileSync(path, numbered(1, 100))
    let next = 101
    let finished = false
    return await collect({ follow: true, done: () => finished }, () => {
      for (let r = 0; r < perRead && next <= 3000; r++) {
        appendFileSync(path, numbered(next, next + 99))
        next += 100
        rotate(keep)
      }
      if (next > 3000) finished = true
    })
  }

  it('reads every file rotated while it was reading another, in order, none skipped', async () => {
    expect(await followRotations(3, Infinity)).toEqual(range(1, 3000))
  })

  it('loses only what retention deleted before a slow reader got to it, and keeps the order', async () => {
    const out = await followRotations(6, 2)
    const numbers = out.map(s => Number(s.slice('stdout:'.length)))
    expect(numbers.slice(0, 100)).toEqual(range(1, 100).map((_, i) => i + 1))
    expect(numbers.at(-1)).toBe(3000)
    for (let i = 1; i < numbers.length; i++) expect(numbers[i]).toBeGreaterThan(numbers[i - 1])
    // Whole files of 100 lines go, never parts of one.
    expect(numbers.length % 100).toBe(0)
  })

  it('streams a line of any length in bounded pieces while it is written', async () => {
    const piece = 'z'.repeat(16 * 1024)
    let written = 0
    let finished = false
    const write = (): void => { for (let i = 0; i < 64 && written < 4000; i++, written++) appendFileSync(path, line('stdout', 'P', piece)) }
    write()
    let largest = 0
    let total = 0
    for await (const batch of readLog(path, { follow: true, tail: -1, done: () => finished })) {
      for (const e of batch) {
        largest = Math.max(largest, e.data.length)
        total += e.data.length
      }
      write()
      if (written === 4000) finished = true
    }
    expect(total).toBe(4000 * piece.length)
    expect(largest).toBe(piece.length)
  })

  it('still reads what was written when it is told to stop following', async () => {
    writeFileSync(path, line('stdout', 'F', 'first'))
    const stop = new AbortController()
    const out = await collect({ follow: true, done: () => false, signal: stop.signal }, seen => {
      // The last line lands and the stop comes before the reader looks again, as at a workload's exit.
      if (seen === 1) appendFileSync(path, line('stdout', 'F', 'last'))
      stop.abort()
    })
    expect(out).toEqual(['stdout:first\n', 'stdout:last\n'])
  })

  it('waits for a log that does not exist yet', async () => {
    let finished = false
    setTimeout(() => { writeFileSync(path, line('stdout', 'F', 'late')); finished = true }, 50)
    expect(await collect({ follow: true, done: () => finished })).toEqual(['stdout:late\n'])
  })
})
