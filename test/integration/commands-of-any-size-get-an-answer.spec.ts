import { spawn } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AURAE, startNode, workload, type Result, type TestNode } from '../helpers/node.ts'

/** Runs a command to completion, killed after `ms` so that a call left unanswered fails the test instead of hanging it. */
async function within (ms: number, cmd: string, args: string[]): Promise<Result & { killed: boolean }> {
  return await new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    let killed = false
    child.stdout.on('data', d => { stdout += String(d) })
    child.stderr.on('data', d => { stderr += String(d) })
    const timer = setTimeout(() => { killed = true; child.kill('SIGKILL') }, ms)
    child.on('error', reject)
    child.on('close', code => {
      clearTimeout(timer)
      resolve({ code: code ?? -1, stdout, stderr, killed })
    })
  })
}

/** What execve takes for a process with this stack limit: a quarter of it, between 128 KiB and 6 MiB. */
function argSpace (pid: number): number {
  const soft = /^Max stack size\s+(\S+)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'))?.[1] ?? 'unlimited'
  const quarter = soft === 'unlimited' ? Infinity : Number(soft) / 4
  return Math.max(128 * 1024, Math.min(6 * 1024 * 1024, quarter))
}

describe('commands of any size get an answer', () => {
  let node: TestNode
  beforeAll(async () => { node = await startNode('sizes') })
  afterAll(async () => { await node?.stop() })

  it('runs a command of 5,000 arguments', async () => {
    const args = Array.from({ length: 5000 }, (_, i) => `arg${i}`)
    const res = await within(60_000, process.execPath, [AURAE, '--sock', node.sock, 'exec', 'wide', '--', 'sh', '-c', 'echo $#', 'sh', ...args])
    expect(res).toEqual({ code: 0, stdout: '5000\n', stderr: '', killed: false })
  })

  it('refuses arguments beyond what the kernel takes with one line and 125, and the name can be removed', async () => {
    const room = argSpace(await node.daemonPid())
    // Within what gRPC carries (4 MiB), beyond what a workload of this daemon can be given.
    expect(room).toBeLessThan(3 * 1024 * 1024)
    const count = Math.ceil((room + 256 * 1024) / 1000)
    // The CLI gets them through xargs under a larger stack limit, since this process could not pass them either.
    const list = join(node.dir, 'args')
    writeFileSync(list, Array.from({ length: count }, () => 'x'.repeat(999)).join('\0') + '\0')
    // (xargs says 123 for any exit from 1 to 125: the shell it runs writes the CLI's own code down.)
    const codeFile = join(node.dir, 'code')
    const cli = [process.execPath, AURAE, '--sock', node.sock, 'exec', 'huge', '--', 'true'].map(a => `'${a}'`).join(' ')
    const res = await within(60_000, 'sh', ['-c', `ulimit -s 65536 && exec xargs -0 -x -s 4000000 -a '${list}' sh -c '"$@"; echo $? > ${codeFile}' sh ${cli}`])
    expect(res.killed).toBe(false)
    expect(readFileSync(codeFile, 'utf8')).toBe('125\n')
    expect(res.stdout).toBe('')
    expect(res.stderr.trim().split('\n')).toHaveLength(1)
    expect(res.stderr).toMatch(new RegExp(`^aurae: the command cannot be run: its ${count + 1} arguments and environment take .*; the kernel takes at most`))
    expect(await workload(node, 'huge')).toMatchObject({ state: 'exited', exitCode: 125 })
    expect(await within(30_000, process.execPath, [AURAE, '--sock', node.sock, 'rm', '-f', 'huge'])).toMatchObject({ code: 0, killed: false })
    expect(await workload(node, 'huge')).toBeUndefined()
  })
})
