import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const EXIT_TS = fileURLToPath(new URL('../../src/common/exit.ts', import.meta.url))

/** Runs `body` as a module in a Node of its own, with endWith and quitNow imported; its exit code and output. */
async function script (body: string): Promise<{ code: number | null, stdout: string }> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', `import { endWith, quitNow } from ${JSON.stringify(EXIT_TS)}\n${body}`], { stdio: ['ignore', 'pipe', 'inherit'] })
  let stdout = ''
  child.stdout.on('data', d => { stdout += String(d) })
  const code = await new Promise<number | null>(resolve => child.on('exit', resolve))
  return { code, stdout }
}

// 'beforeExit' is emitted only when a process runs out of work, never on process.exit: it tells the two ways apart.
const SAYS_HOW = "process.on('beforeExit', () => process.stdout.write('ran out of work\\n')); process.on('exit', c => process.stdout.write(`exit ${c}\\n`))"

describe('ending a process of ours', () => {
  it('ends with its code by running out of work, not through process.exit', async () => {
    expect(await script(`${SAYS_HOW}; endWith(3)`)).toEqual({ code: 3, stdout: 'ran out of work\nexit 3\n' })
  })

  it('waits for what is still under way, then ends', async () => {
    expect(await script(`${SAYS_HOW}; endWith(4); setTimeout(() => process.stdout.write('done\\n'), 100)`)).toEqual({ code: 4, stdout: 'done\nran out of work\nexit 4\n' })
  })

  it('ends anyway, with its code, when a handle no one closes would hold it open for good', async () => {
    const held = `${SAYS_HOW}; const { createServer } = await import('node:net'); createServer().listen(0, '127.0.0.1', () => endWith(5, 200))`
    expect(await script(held)).toEqual({ code: 5, stdout: 'exit 5\n' })
  })

  it('quits at once with its code, whatever is open', async () => {
    expect(await script(`${SAYS_HOW}; setInterval(() => {}, 1000); quitNow(6)`)).toEqual({ code: 6, stdout: 'exit 6\n' })
  })
})
