import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { followFile } from '../../src/runtime/follow-file.ts'

describe('a file followed as it grows', () => {
  let dir: string
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'aurae-follow-')) })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))
  const read = async (path: string, opts: { follow?: boolean, tail?: number, done?: () => boolean }): Promise<string> => {
    let text = ''
    for await (const b of followFile(path, { follow: opts.follow ?? false, tail: opts.tail ?? -1, done: opts.done ?? (() => true), signal: new AbortController().signal })) text += String(b)
    return text
  }

  it('gives what it holds, or its last lines, and nothing for a file not there', async () => {
    const path = join(dir, 'console.log')
    writeFileSync(path, 'a\nb\nc\n')
    expect(await read(path, {})).toBe('a\nb\nc\n')
    expect(await read(path, { tail: 2 })).toBe('b\nc\n')
    expect(await read(path, { tail: 0 })).toBe('')
    expect(await read(path, { tail: 9 })).toBe('a\nb\nc\n')
    writeFileSync(path, 'a\nb\nhalf')
    expect(await read(path, { tail: 1 })).toBe('half')
    expect(await read(join(dir, 'none'), {})).toBe('')
  })

  it('followed, gives what is added until the writer is done and nothing more comes', async () => {
    const path = join(dir, 'console.log')
    writeFileSync(path, 'boot\n')
    let writes = 0
    // Each look at "done" adds a line until three were added: then it is done.
    const done = (): boolean => {
      if (writes === 3) return true
      appendFileSync(path, `line ${++writes}\n`)
      return false
    }
    expect(await read(path, { follow: true, done })).toBe('boot\nline 1\nline 2\nline 3\n')
  })
})
