import { describe, expect, it } from 'vitest'
import { WorkloadServiceRunResponse } from '../../../src/gen/aurae/workloads/v0/workloads.ts'
import { encodeRunResponse, outputBuffer } from '../../../src/node/api/run-response.ts'

const generated = (res: WorkloadServiceRunResponse): Buffer => Buffer.from(WorkloadServiceRunResponse.encode(res).finish())

describe('Run responses on the wire', () => {
  it('encodes output as the generated encoder does, for every size of length prefix', () => {
    for (const size of [0, 1, 127, 128, 16383, 16384, 300_000, 512 * 1024]) {
      for (const stream of ['stdout', 'stderr', '']) {
        const res = { output: { stream, data: Buffer.alloc(size, size % 251) } }
        expect(encodeRunResponse(res).equals(generated(res))).toBe(true)
      }
    }
  })

  it('encodes output gathered in place without changing a byte, and other events through the generated encoder', () => {
    for (const size of [5, 70_000, 512 * 1024]) {
      const gathering = outputBuffer('stderr')
      gathering.buf.fill(7, 0, size)
      const data = gathering.finish(size)
      const bytes = encodeRunResponse({ output: { stream: 'stderr', data } })
      expect(Buffer.from(bytes).equals(generated({ output: { stream: 'stderr', data: Buffer.alloc(size, 7) } }))).toBe(true)
      expect(WorkloadServiceRunResponse.decode(bytes).output?.data.length).toBe(size)
    }
    const exit = { exit: { exitCode: 3, signal: '', oomKilled: false, error: '' } }
    expect(encodeRunResponse(exit).equals(generated(exit))).toBe(true)
  })

  it('encodes gathered data under another stream name by copying it', () => {
    const gathering = outputBuffer('stdout')
    gathering.buf.write('abc')
    const data = gathering.finish(3)
    const res = { output: { stream: 'stderr', data } }
    expect(encodeRunResponse(res).equals(generated(res))).toBe(true)
  })
})
