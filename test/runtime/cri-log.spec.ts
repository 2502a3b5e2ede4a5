import { appendFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { CriParser, readLog, type LogEntry } from '../../src/runtime/cri-log.ts'

const T = '2026-11-24T14:00:00.123456789Z'
const line = (stream: string, tag: string, text: string): string => `${T} ${stream} ${tag} ${text}\n`
const text = (entries: LogEntry[]): string[] => entries.map(e => `${e.stream}:${e.data.toString()}`)

describe('CRI log records', () => {
  it('turns full records into lines and joins partial ones per stream', () => {
    const p = new CriParser()
    const out = p.push(Buffer.from(line('stdout', 'P', 'hel') + line('stderr', 'P', 'oo') + line('stdout', 'F', 'lo') + line('stderr', 'F', 'ps')))
    expect(text(out)).toEqual(['stdout:hello\n', 'stderr:oops\n'])
    expect(out[0].time).toBe(T)
  })

  it('keeps empty lines, bytes as they were, and hands back a dangling partial at the end', () => {
    const p = new CriParser()
    const raw = Buffer.concat([Buffer.from(`${T} stdout F `), Buffer.from([0x80, 0xff, 0x20, 0x41]), Buffer.from('\n')])
    const out = p.push(Buffer.concat([Buffer.from(line('stdout', 'F', '')), raw, Buffer.from(line('stdout', 'P', 'Password: '))]))
    expect(out.map(e => e.data)).toEqual([Buffer.from('\n'), Buffer.from([0x80, 0xff, 0x20, 0x41, 0x0a])])
    expect(text(p.flush())).toEqual(['stdout:Password: '])
  })

  it('skips lines that are not CRI records', () => {
    expect(new CriParser().push(Buffer.from('garbage\n' + `${T} bogus F x\n`))).toEqual([])
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

  const collect = async (gen: AsyncGenerator<LogEntry[]>, onBatch?: () => void): Promise<string[]> => {
    const out: string[] = []
    for await (const batch of gen) {
      out.push(...text(batch))
      onBatch?.()
    }
    return out
  }

  it('reads rotated files oldest first, then the live one, and tails', async () => {
    writeFileSync(`${path}.2`, line('stdout', 'F', 'one'))
    writeFileSync(`${path}.1`, line('stdout', 'F', 'two'))
    writeFileSync(path, line('stderr', 'F', 'three') + line('stdout', 'F', 'four'))
    expect(await collect(readLog(path, { follow: false, tail: -1, done: () => true }))).toEqual(['stdout:one\n', 'stdout:two\n', 'stderr:three\n', 'stdout:four\n'])
    expect(await collect(readLog(path, { follow: false, tail: 2, done: () => true }))).toEqual(['stderr:three\n', 'stdout:four\n'])
  })

  it('follows what is appended and across a rotation, without loss or repeats, until done', async () => {
    writeFileSync(path, line('stdout', 'F', 'a'))
    let finished = false
    let step = 0
    const out = await collect(readLog(path, { follow: true, tail: -1, done: () => finished }), () => {
      step++
      if (step === 1) appendFileSync(path, line('stdout', 'F', 'b'))
      if (step === 2) {
        appendFileSync(path, line('stdout', 'F', 'c'))
        renameSync(path, `${path}.1`)
        writeFileSync(path, line('stdout', 'F', 'd'))
        finished = true
      }
    })
    expect(out).toEqual(['stdout:a\n', 'stdout:b\n', 'stdout:c\n', 'stdout:d\n'])
  })

  it('still reads what was written when it is told to stop following', async () => {
    writeFileSync(path, line('stdout', 'F', 'first'))
    const stop = new AbortController()
    const out = await collect(readLog(path, { follow: true, tail: -1, done: () => false, signal: stop.signal }), () => {
      // The last line lands and the stop comes before the reader looks again, as at a workload's exit.
      appendFileSync(path, line('stdout', 'F', 'last'))
      stop.abort()
    })
    expect(out).toEqual(['stdout:first\n', 'stdout:last\n'])
  })

  it('waits for a log that does not exist yet', async () => {
    let finished = false
    setTimeout(() => { writeFileSync(path, line('stdout', 'F', 'late')); finished = true }, 50)
    expect(await collect(readLog(path, { follow: true, tail: -1, done: () => finished }))).toEqual(['stdout:late\n'])
  })
})
