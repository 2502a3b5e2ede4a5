import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import type { Writable } from 'node:stream'
import { afterEach, describe, expect, it } from 'vitest'
import { ROOT, until } from '../../helpers/node.ts'

const PTY = join(ROOT, 'dist', 'runtime', 'monitor', 'aurae-pty')

describe('aurae-pty', () => {
  const started: ChildProcess[] = []
  afterEach(() => { for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL') })

  /** Runs the helper on pipes, with fd 3 for window sizes; `out` holds all it wrote. */
  const helper = (rows: number, cols: number, ...command: string[]): { child: ChildProcess, out: () => string, exited: Promise<number | null> } => {
    const child = spawn(PTY, [String(rows), String(cols), ...command], { stdio: ['pipe', 'pipe', 'pipe', 'pipe'] })
    started.push(child)
    let out = ''
    child.stdout?.on('data', d => { out += String(d) })
    child.stderr?.on('data', d => { out += String(d) })
    const exited = new Promise<number | null>(resolve => child.once('close', code => resolve(code)))
    return { child, out: () => out, exited }
  }
  const resize = (child: ChildProcess, rows: number, cols: number): void => {
    const size = Buffer.alloc(4)
    size.writeUInt16BE(rows, 0)
    size.writeUInt16BE(cols, 2)
    ;(child.stdio[3] as Writable).write(size)
  }

  it('gives the command a terminal of the size asked, and a new size sent on fd 3', async () => {
    const { child, out, exited } = helper(30, 100, 'sh', '-c', 'stty size; read x; stty size; test -t 0 && echo tty')
    await until('the first size', () => out().includes('30 100'))
    resize(child, 40, 120)
    child.stdin?.write('go\n')
    expect(await exited).toBe(0)
    expect(out()).toContain('40 120')
    expect(out()).toContain('tty')
  })

  it('turns Ctrl-C (0x03) into SIGINT for the command and exits 130', async () => {
    const { child, out, exited } = helper(24, 80, 'sh', '-c', 'echo ready; exec sleep 100')
    await until('the command to start', () => out().includes('ready'))
    child.stdin?.write(Buffer.from([3]))
    expect(await exited).toBe(130)
  })

  it('ends `cat` on Ctrl-D (0x04) with its exit status', async () => {
    const { child, out, exited } = helper(24, 80, 'sh', '-c', 'cat; exit 3')
    child.stdin?.write('hello\n')
    await until('the echo and cat\'s copy', () => out().split('hello').length > 2)
    child.stdin?.write(Buffer.from([4]))
    expect(await exited).toBe(3)
  })

  it('hangs up the command when its input ends (the caller went away)', async () => {
    const { child, out, exited } = helper(24, 80, 'sh', '-c', 'echo ready; exec sleep 100')
    await until('the command to start', () => out().includes('ready'))
    child.stdin?.end()
    expect(await exited).toBe(129)
  })

  it('says in one line that a command cannot be found, with 127', async () => {
    const { out, exited } = helper(24, 80, 'no-such-command-here')
    expect(await exited).toBe(127)
    expect(out().trim()).toBe('aurae-pty: cannot run no-such-command-here: No such file or directory')
  })
})
