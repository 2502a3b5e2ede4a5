import { appendFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { BlobTail } from '../../../src/runtime/image/blob-tail.ts'
import { until } from '../../helpers/node.ts'

describe('reading a blob while it is written', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aurae-blob-tail-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  /** Everything a reader of `tail` gets, or the error it ends with. */
  const readAll = async (tail: BlobTail): Promise<Buffer | Error> => {
    const chunks: Buffer[] = []
    try {
      for await (const chunk of tail.read()) chunks.push(chunk)
      return Buffer.concat(chunks)
    } catch (err) {
      return err as Error
    }
  }

  it('follows the file as it grows, through a rename, and ends for every reader once it is sealed', async () => {
    const path = join(dir, 'growing')
    writeFileSync(path, '')
    const tail = new BlobTail()
    const early = readAll(tail)
    tail.attach(path)
    appendFileSync(path, 'first ')
    tail.grew(6)
    await until('the reader to wait at the end of what is written', () => tail.hungry)
    renameSync(path, join(dir, 'named'))
    appendFileSync(join(dir, 'named'), 'second')
    tail.grew(12)
    tail.seal()
    expect((await early).toString()).toBe('first second')
    expect((await readAll(tail)).toString()).toBe('first second')
    tail.close()
  })

  it('fails its readers with the writer\'s reason, and after it is let go', async () => {
    const path = join(dir, 'failing')
    writeFileSync(path, 'part')
    const tail = new BlobTail()
    tail.attach(path)
    tail.grew(4)
    const reading = readAll(tail)
    tail.fail(new Error('blob sha256:x failed verification'))
    expect(await reading).toEqual(new Error('blob sha256:x failed verification'))

    const other = new BlobTail()
    other.attach(path)
    const waiting = readAll(other)
    other.close()
    expect(await waiting).toEqual(new Error('the blob being read was let go'))
  })
})
