import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startNode, until, workload, type TestNode } from '../helpers/node.ts'

const SIZE = 300 * 1024 * 1024
/** What following may add to the daemon's resident memory. What it holds at once is one 256 KiB read,
 * the records cut from it and what gRPC has not yet sent (16 messages and a 64 KiB HTTP/2 window): about
 * 2 MiB. Around that, buffers die as fast as they are made (a read, a message, a frame: three for each
 * piece of output); the daemon collects the young generation every 4 MiB streamed, so about 12 MiB of
 * them wait at a time, plus what malloc keeps after freeing. Without those collections V8 lets 64 MiB
 * pile up. 48 MiB leaves room for all of that and is a sixth of the 300 MiB line. */
const BOUND_MB = 48

const rssMb = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024

describe('a line without end holds no daemon memory', () => {
  let node: TestNode
  // Outside daemon space, which workloads cannot see.
  const gates = mkdtempSync(join(tmpdir(), 'aurae-gates-'))
  beforeAll(async () => {
    // Retention for all of it (20 MiB files), so that what the follower gets depends on the daemon alone.
    node = await startNode('flat', ['--log-files', '40', '--listen', '/ip4/127.0.0.1/tcp/0'])
  })
  afterAll(async () => {
    await node?.stop()
    rmSync(gates, { recursive: true, force: true })
  })

  it('streams 300 MiB printed with no newline to a follower, every byte, with the daemon\'s memory flat', async () => {
    // A step that never ends says which it was, what the follower had and what the node says of the workload.
    let step = 'the warm-up exec'
    let bytes = 0
    const stalled = setTimeout(() => {
      void workload(node, 'zeros').then(w => { console.error(`stalled in ${step} after 150 s; the follower has ${bytes} of ${SIZE} bytes; the workload: ${JSON.stringify(w)}`) })
    }, 150_000).unref()
    const pid = await node.daemonPid()
    // Warm the paths the follow takes, so what is measured after is the follow itself.
    await node.cli(['exec', 'warm', '--', 'sh', '-c', 'head -c 2000000 /dev/zero; echo'])
    step = 'the warm-up logs'
    await node.cli(['logs', 'warm'])
    step = 'the start of zeros'
    await new Promise(resolve => setTimeout(resolve, 500))
    const idle = rssMb(pid)

    const gate = join(gates, 'go')
    expect((await node.cli(['exec', 'zeros', '-d', '--', 'sh', '-c', `echo ready; while [ ! -e ${gate} ]; do sleep 0.02; done; head -c ${SIZE} /dev/zero`])).code).toBe(0)
    step = 'the follower\'s start'
    const follower = node.spawnCli(['logs', 'zeros', '-f'], { stdio: ['ignore', 'pipe', 'pipe'] })
    const zeros = Buffer.alloc(1024 * 1024)
    let head = ''
    let wrong = 0
    follower.stdout?.on('data', (d: Buffer) => {
      let chunk = d
      if (head.length < 6) {
        const take = Math.min(6 - head.length, chunk.length)
        head += chunk.subarray(0, take).toString()
        chunk = chunk.subarray(take)
      }
      bytes += chunk.length
      for (let i = 0; i < chunk.length; i += zeros.length) {
        const part = chunk.subarray(i, i + zeros.length)
        if (!part.equals(zeros.subarray(0, part.length))) wrong++
      }
    })
    follower.stderr?.resume()
    const exited = new Promise(resolve => follower.on('exit', resolve))
    let peak = idle
    const sampler = setInterval(() => { peak = Math.max(peak, rssMb(pid)) }, 20)
    try {
      await until('the follower to be following', () => head === 'ready\n')
      step = 'the follow'
      writeFileSync(gate, '')
      expect(await exited).toBe(0)
    } finally {
      clearTimeout(stalled)
      clearInterval(sampler)
      follower.kill('SIGKILL')
    }
    expect(await workload(node, 'zeros')).toMatchObject({ state: 'exited', exitCode: 0 })
    expect(bytes).toBe(SIZE)
    expect(wrong).toBe(0)
    expect(peak - idle).toBeLessThan(BOUND_MB)
  }, 180_000) // 300 MiB through the monitor, the log files, the daemon and gRPC: a loaded machine needs more than a minute
})
