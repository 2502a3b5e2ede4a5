// How a script is loaded: module hooks in this thread (module.registerHooks) that resolve the original's SDK paths to
// AuraeScript's modules and load `.ts` files transpiled by esbuild (casts like `<cells.Cell>{…}` included, which
// Node's type stripping refuses), with an inline source map so errors name the script's own lines. A file's
// transpiled text is kept in a cache keyed by its contents: esbuild, which takes longer to start than the rest of a
// script, runs only for a file not seen before.
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { createRequire, registerHooks } from 'node:module'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { MODULES, sdkModuleOf } from './modules.ts'

/** The script's source could not be parsed: where, and what esbuild said. */
export class ScriptSyntaxError extends Error {
  override name = 'ScriptSyntaxError'
  constructor (message: string, readonly lineText: string, readonly column: number) {
    super(message)
  }
}

/** An import of `…/auraescript/gen/<name>.ts` for a module AuraeScript does not have. */
export class UnknownModuleError extends Error {
  override name = 'UnknownModuleError'
}

/** Where the cache of transpiled scripts is kept; undefined when there is no place for it. */
function cacheDir (env: NodeJS.ProcessEnv): string | undefined {
  const base = env.XDG_CACHE_HOME ?? join(env.HOME ?? homedir(), '.cache')
  return base === '' ? undefined : join(base, 'auraescript')
}

/** Installs the hooks; `sdk` is the directory of AuraeScript's built modules (`<name>.js`). */
export function registerScriptHooks (sdk: URL, env: NodeJS.ProcessEnv = process.env): void {
  const cache = cacheDir(env)
  if (typeof registerHooks !== 'function') throw new Error(`auraescript needs Node.js 22.15 or newer (module.registerHooks); this is ${process.versions.node}`)
  registerHooks({
    resolve (specifier, context, nextResolve) {
      const name = sdkModuleOf(specifier)
      if (name === undefined) return nextResolve(specifier, context)
      const file = MODULES[name]
      if (file === undefined) throw new UnknownModuleError(`AuraeScript has no module ${name} (imported as ${specifier}); it has ${Object.keys(MODULES).join(', ')}`)
      return { url: new URL(`./${file}.js`, sdk).href, format: 'module', shortCircuit: true }
    },
    load (url, context, nextLoad) {
      if (!url.startsWith('file:') || !/\.m?ts$/.test(url)) return nextLoad(url, context)
      const path = fileURLToPath(url)
      return { format: 'module', source: transpiled(path, readFileSync(path, 'utf8'), cache), shortCircuit: true }
    }
  })
}

let esbuild: typeof import('esbuild') | undefined

/** esbuild, loaded on the first file the cache does not have. Without worker threads: its synchronous API then
 * runs its service as a child process directly, which starts in a third of the time. */
function loadEsbuild (): typeof import('esbuild') {
  if (esbuild !== undefined) return esbuild
  const before = process.env.ESBUILD_WORKER_THREADS
  process.env.ESBUILD_WORKER_THREADS = '0'
  try {
    esbuild = createRequire(import.meta.url)('esbuild') as typeof import('esbuild')
  } finally {
    if (before === undefined) delete process.env.ESBUILD_WORKER_THREADS
    else process.env.ESBUILD_WORKER_THREADS = before
  }
  return esbuild
}

const esbuildVersion = (): string => (createRequire(import.meta.url)('esbuild/package.json') as { version: string }).version

/** `source` (the file at `path`) as JavaScript, from the cache when it has it. */
export function transpiled (path: string, source: string, cache?: string): string {
  const key = cache === undefined ? '' : createHash('sha256').update(`${esbuildVersion()}\0${path}\0${source}`).digest('hex')
  const entry = cache === undefined ? '' : join(cache, `${key}.js`)
  if (cache !== undefined) {
    try {
      return readFileSync(entry, 'utf8')
    } catch {}
  }
  let code: string
  try {
    code = loadEsbuild().transformSync(source, { loader: 'ts', format: 'esm', target: 'esnext', sourcemap: 'inline', sourcefile: path }).code
  } catch (err) {
    const first = (err as { errors?: Array<{ text: string, location: { line: number, column: number, lineText: string } | null }> }).errors?.[0]
    if (first === undefined) throw err
    const at = first.location === null ? path : `${path}:${first.location.line}:${first.location.column + 1}`
    throw new ScriptSyntaxError(`${at}: ${first.text}`, first.location?.lineText ?? '', first.location?.column ?? 0)
  }
  if (cache !== undefined) {
    // Written aside and renamed: a script run twice at once never reads half an entry.
    try {
      mkdirSync(cache, { recursive: true })
      const part = `${entry}.${process.pid}`
      writeFileSync(part, code)
      renameSync(part, entry)
    } catch {}
  }
  return code
}
