// `auraescript FILE.ts [args…]`: runs a TypeScript file as an ES module (top-level await) with AuraeScript's modules.
// Exit codes: 0 the script ran to its end; 1 it failed (it threw, a call failed, the node could not be reached);
// 2 usage; 3 the script could not be loaded (no such file, a syntax error, an import that does not resolve).
import { existsSync, statSync } from 'node:fs'
import { resolve, sep } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { AuraeError } from '../errors.ts'
import { registerScriptHooks, ScriptSyntaxError, UnknownModuleError } from './loader.ts'
import { VERSION } from '../common/node-defaults.ts'
import { quitNow } from '../common/exit.ts'

export const EXIT = { failed: 1, usage: 2, unloadable: 3 } as const

const USAGE = `usage: auraescript FILE.ts [ARGS…]

Runs FILE as a TypeScript module with top-level await and AuraeScript's modules (import them as the original Aurae's
scripts do, e.g. "../auraescript/gen/cells.ts"). The script's arguments are process.argv.slice(2).
The node: $AURAE_SOCK (its owner-only socket) if set, else the client config (~/.aurae/config, /etc/aurae/config,
/var/lib/aurae/config). Exit codes: 0 done, 1 the script failed, 2 usage, 3 the script could not be loaded.
`

/** The SDK's own files (the bundle, the bins, dependencies): frames there are left out of a script's error. */
const INTERNAL = [fileURLToPath(new URL('..', import.meta.url)), fileURLToPath(new URL('../../bin/', import.meta.url)), `${sep}node_modules${sep}`]

/** Runs the script `argv` names (its arguments after it); returns once it is started, reports how it ends. */
export async function main (argv: string[]): Promise<void> {
  const [file, ...args] = argv
  if (file === undefined || file === '-h' || file === '--help') {
    process[file === undefined ? 'stderr' : 'stdout'].write(USAGE)
    if (file === undefined) process.exitCode = EXIT.usage
    return
  }
  if (file === '--version') {
    process.stdout.write(`auraescript ${VERSION}\n`)
    return
  }
  if (file.startsWith('-')) return fail(`unknown option ${file}\n${USAGE}`, EXIT.usage)
  const path = resolve(file)
  if (!existsSync(path)) return fail(`no such file: ${file}`, EXIT.unloadable)
  if (statSync(path).isDirectory()) return fail(`${file} is a directory, not a script`, EXIT.unloadable)

  process.setSourceMapsEnabled(true)
  try {
    registerScriptHooks(new URL('./', import.meta.url))
  } catch (err) {
    return fail(`error: ${(err as Error).message}`, EXIT.failed)
  }
  process.argv = [process.argv[0], path, ...args]
  process.on('uncaughtException', err => fail(report(err), EXIT.failed))
  process.on('unhandledRejection', err => fail(report(err), EXIT.failed))
  let settled = false
  // A script whose top-level await waits on something nothing can settle any more: the process runs out of work.
  // (The script is not awaited here, so Node sees no unsettled top-level await of its own, with its warning.) Not on
  // 'exit', which a script's own process.exit() emits too.
  process.on('beforeExit', () => {
    if (!settled && !ending) fail('error: the script ended while awaiting a promise that nothing could settle', EXIT.failed)
  })
  import(pathToFileURL(path).href).then(() => { settled = true }, (err: unknown) => {
    settled = true
    const unloadable = err instanceof ScriptSyntaxError || err instanceof UnknownModuleError || (err as NodeJS.ErrnoException)?.code === 'ERR_MODULE_NOT_FOUND'
    fail(unloadable ? loadReport(err as Error) : report(err), unloadable ? EXIT.unloadable : EXIT.failed)
  })
}

/** Set once the runner ends the process itself, with its own report. */
let ending = false

function fail (message: string, code: number): void {
  ending = true
  process.stderr.write(`auraescript: ${message.replace(/\n?$/, '\n')}`)
  quitNow(code)
}

/** Why the script could not be loaded, in a line (a syntax error with its line and a caret). */
function loadReport (err: Error): string {
  if (err instanceof ScriptSyntaxError) return `syntax error: ${err.message}\n    ${err.lineText}\n    ${' '.repeat(err.column)}^`
  return `error: ${err.message.split('\n')[0]}`
}

/** What the script threw: its message (a failed call's with its gRPC status) and where in the script it was. */
export function report (err: unknown): string {
  if (!(err instanceof Error)) return `error: uncaught ${String(err)}`
  const status = (err as { grpcStatus?: string }).grpcStatus
  const head = status !== undefined ? `${status}: ${err.message}` : err instanceof AuraeError ? err.message : `${err.name}: ${err.message}`
  const frames = scriptFrames(err.stack ?? '')
  return `error: ${head}${frames.length > 0 ? `\n${frames.join('\n')}` : ''}`
}

/** The stack's frames in the script's own files, as paths (not URLs). */
export function scriptFrames (stack: string): string[] {
  const frames: string[] = []
  for (const line of stack.split('\n')) {
    const m = /^\s+at (?:(.*?) \()?(file:\/\/[^\s()]+|\/[^\s()]+):(\d+):(\d+)\)?$/.exec(line)
    if (m === null) continue
    const [, fn, where, row, col] = m
    const path = where.startsWith('file:') ? fileURLToPath(where) : where
    if (INTERNAL.some(dir => path.startsWith(dir) || path.includes(dir))) continue
    const name = fn === undefined || /^(async )?<anonymous>$/.test(fn) ? '' : `${fn.replace(/^async /, '')} `
    frames.push(`    at ${name}${path}:${row}:${col}`)
  }
  return frames
}
