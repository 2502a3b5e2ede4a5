// The CLI on a pseudo-terminal of 30x100, with a script played against it (test/helpers/pty-script.py), for tests of
// -t and -it; every CLI started so is ended by `endTerminals` (afterAll), also when a test failed midway.
import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { AURAE, isAlive, ROOT, type TestNode } from './node.ts'

const SCRIPT = join(ROOT, 'test', 'helpers', 'pty-script.py')
const started: ChildProcess[] = []

/** Runs `node`'s CLI with `args` on a terminal and plays `script`; `out` is all it read, then `pty=… exit=N`. */
export function onTerminal (node: TestNode, args: string[], script: unknown[]): { cli: ChildProcess, out: Promise<string> } {
  const cli = spawn('python3', [SCRIPT, process.execPath, AURAE, '--sock', node.sock, ...args], { env: { ...process.env, PTY_SCRIPT: JSON.stringify(script), NO_COLOR: '1' } })
  started.push(cli)
  let out = ''
  cli.stdout?.on('data', d => { out += String(d) })
  cli.stderr?.on('data', d => { out += String(d) })
  return { cli, out: new Promise((resolve, reject) => { cli.once('error', reject); cli.once('close', () => resolve(out)) }) }
}

/** Kills the terminals' CLIs still running. */
export function endTerminals (): void {
  for (const cli of started.splice(0)) if (cli.exitCode === null && cli.pid !== undefined && isAlive(cli.pid)) cli.kill('SIGKILL')
}
