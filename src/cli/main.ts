// aurae: the command line. The one module that touches `process`: it hands each command its I/O and exits
// with the code the command returns.
import { defaultPaths, VERSION } from '../common/node-defaults.ts'
import { endWith, quitNow } from '../common/exit.ts'
import { exitCodeOfSignal } from '../common/signals.ts'
import { help, parse } from './kit/args.ts'
import { context } from './kit/context.ts'
import { EXIT, report } from './kit/exit.ts'
import type { Io } from './kit/io.ts'
import { find, usage } from './dispatch.ts'

/**
 * A reader of aurae's output that went away (`aurae logs -f NAME | head`) ends aurae as SIGPIPE would end a program
 * that does not catch it, quietly, with 128+13: never a stack trace, never a wait for room that will not come.
 */
function quitOnBrokenPipe (): void {
  for (const out of [process.stdout, process.stderr]) {
    out.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') quitNow(exitCodeOfSignal('SIGPIPE'))
      throw err
    })
  }
}

/** This process's I/O, as commands take it. */
function processIo (): Io {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    // Made only when a command reads it: a stdin stream costs start time and may hold the process open.
    get stdin () { return process.stdin },
    env: process.env,
    uid: process.getuid?.() ?? 0,
    execPath: process.execPath,
    onSignal: (signals, handle) => {
      const handlers = signals.map(sig => [sig, () => handle(sig)] as const)
      for (const [sig, fn] of handlers) process.on(sig, fn)
      return () => { for (const [sig, fn] of handlers) process.off(sig, fn) }
    },
    quit: code => quitNow(code)
  }
}

/** Ends aurae with `code` once everything written has left (common/exit.ts). */
async function flushAndEnd (code: number): Promise<void> {
  await Promise.all([process.stdout, process.stderr].map(async out => await new Promise(resolve => out.write('', resolve))))
  endWith(code)
}

export async function main (argv: string[]): Promise<void> {
  quitOnBrokenPipe()
  const io = processIo()
  const args = [...argv]
  let sock = defaultPaths(io.env, io.uid).sock
  // --sock may also stand before the command. Parsed by hand: parseArgs cannot stop at the first positional
  // (the command), and everything after it is the command's to parse.
  while (args[0]?.startsWith('--sock') === true) {
    const [flag] = args.splice(0, 1)
    sock = flag.includes('=') ? flag.slice(flag.indexOf('=') + 1) : args.splice(0, 1)[0] ?? ''
  }
  const word = args.shift()
  if (word === undefined || word === 'help' || word === '--help' || word === '-h') {
    io.stdout.write(usage())
    return await flushAndEnd(word === undefined ? EXIT.usage : EXIT.ok)
  }
  if (word === 'version' || word === '--version') {
    io.stdout.write(`aurae ${VERSION}\n`)
    return await flushAndEnd(EXIT.ok)
  }
  const found = find(word, args)
  if ('unknown' in found) {
    io.stderr.write(`aurae: ${found.unknown}\n`)
    return await flushAndEnd(EXIT.usage)
  }
  if ('help' in found) {
    io.stdout.write(found.help)
    return await flushAndEnd(found.exitCode)
  }
  const { command } = found
  try {
    const parsed = parse(command.spec, found.args)
    if (parsed.flags.help === true) {
      io.stdout.write(help(command.spec))
      return await flushAndEnd(EXIT.ok)
    }
    if (typeof parsed.flags.sock === 'string') sock = parsed.flags.sock
    return await flushAndEnd(await command.run(parsed, context(io, sock)))
  } catch (err) {
    const { code, message } = report(err)
    io.stderr.write(`aurae: ${message}\n`)
    return await flushAndEnd(code)
  }
}
