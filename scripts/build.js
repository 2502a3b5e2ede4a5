#!/usr/bin/env node
// Builds everything a node needs from source: protobuf types, the TypeScript, the monitor.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, rmSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const bin = join(root, 'node_modules', '.bin')
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } })

run('buf', ['generate'])
run('tsc', ['-p', 'tsconfig.json'])
// The CLI ships as one bundle: it starts noticeably faster than ~100 separate modules. It speaks gRPC
// through src/client/channel.ts, so the grpc-js client constructors in the generated code are left out, and
// grpc-js with them (loading it took longer than the rest of the CLI's start).
const { build } = await import('esbuild')
const requireBanner = { js: 'import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);' }
// `import { x } from 'node:util'` makes Node build util's whole ESM namespace, which reads every lazy export
// (worker_threads, assert, readline, fs/promises …: 6–8 ms of a start), and a static import loads a builtin a
// command may never use (node:http2, node:child_process). Here each builtin is an object of getters that loads it
// on the first read: a command loads only what it runs.
const builtinsOnFirstUse = {
  name: 'builtins-on-first-use',
  setup (b) {
    b.onResolve({ filter: /^node:/ }, args => ({ path: args.path, namespace: 'builtin' }))
    b.onLoad({ filter: /.*/, namespace: 'builtin' }, args => {
      const names = Object.getOwnPropertyNames(process.getBuiltinModule(args.path)).filter(n => n !== 'default')
      const getters = names.map(n => `${JSON.stringify(n)}: { get: () => load()[${JSON.stringify(n)}], enumerable: true }`)
      return { contents: `let m; const load = () => (m ??= process.getBuiltinModule(${JSON.stringify(args.path)}));\nmodule.exports = Object.defineProperties({}, {\n${getters.join(',\n')}\n})`, loader: 'js' }
    })
  }
}
const noGrpcJs = {
  name: 'no-grpc-js',
  setup (b) {
    b.onResolve({ filter: /^@grpc\/grpc-js$/ }, args => ({ path: args.path, external: true, sideEffects: false }))
    b.onLoad({ filter: /[\\/]dist[\\/]gen[\\/].*\.js$/ }, async args => ({
      contents: (await readFile(args.path, 'utf8')).replaceAll('= makeGenericClientConstructor(', '= /* @__PURE__ */ makeGenericClientConstructor('),
      loader: 'js'
    }))
  }
}
/** Throws if a bundle would load grpc-js. */
const withoutGrpcJs = (what, result) => {
  const imports = Object.values(result.metafile.outputs).flatMap(o => o.imports.map(i => i.path))
  if (imports.includes('@grpc/grpc-js')) throw new Error(`${what} would load @grpc/grpc-js; see scripts/build.js`)
}
const cli = await build({
  entryPoints: [join(root, 'dist', 'cli', 'main.js')],
  outfile: join(root, 'dist', 'aurae-cli.js'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  logLevel: 'warning',
  metafile: true,
  banner: requireBanner,
  plugins: [builtinsOnFirstUse, noGrpcJs]
})
withoutGrpcJs('the CLI bundle', cli)
// AuraeScript starts the same way: its runner and each of its modules are entry points of one bundle whose shared code
// is split into chunks, so a script's `import * as cells from "../auraescript/gen/cells.ts"` loads one module file
// and shares the client with the runner; esbuild, which only a script not yet in the transpile cache needs, stays out.
const { MODULES } = await import(join(root, 'dist', 'auraescript', 'modules.js'))
const scriptEntries = Object.fromEntries(['main', ...Object.values(MODULES)].map(f => [f, join(root, 'dist', 'auraescript', `${f}.js`)]))
rmSync(join(root, 'dist', 'script'), { recursive: true, force: true })
withoutGrpcJs('the AuraeScript bundle', await build({
  entryPoints: scriptEntries,
  outdir: join(root, 'dist', 'script'),
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  logLevel: 'warning',
  metafile: true,
  external: ['esbuild', 'esbuild/package.json'],
  banner: requireBanner,
  plugins: [builtinsOnFirstUse, noGrpcJs]
}))
// The daemon ships as one bundle too: it starts in a third of the time 1100 modules take (about 150 ms against 410
// here, and far more in a guest, which reads its files over virtiofs). Its native addons stay outside. Each module
// keeps its own import.meta.url (the file it was built as, beside the bundle in dist/), so the paths it makes
// from it (the monitor, the helpers, the diff-id worker) are what they were.
const daemonBundle = join(root, 'dist', 'auraed.js')
await build({
  entryPoints: [join(root, 'dist', 'node', 'main.js')],
  outfile: daemonBundle,
  bundle: true,
  platform: 'node',
  format: 'esm',
  logLevel: 'warning',
  external: ['node-datachannel', 'classic-level'],
  banner: requireBanner,
  plugins: [{
    name: 'module-urls',
    setup (b) {
      b.onLoad({ filter: /[\\/]dist[\\/].*\.js$/ }, async args => {
        const text = await readFile(args.path, 'utf8')
        if (!text.includes('import.meta.url')) return undefined
        const url = JSON.stringify(`./${relative(dirname(daemonBundle), args.path)}`)
        return { contents: text.replaceAll('import.meta.url', `new URL(${url}, import.meta.url).href`), loader: 'js' }
      })
    }
  }]
})
mkdirSync(join(root, 'dist', 'runtime', 'monitor'), { recursive: true })
run('cc', ['-O2', '-Wall', '-Wextra', '-Werror', '-o', 'dist/runtime/monitor/aurae-monitor', 'src/runtime/monitor/aurae-monitor.c'])
run('cc', ['-O2', '-Wall', '-Wextra', '-Werror', '-o', 'dist/runtime/monitor/aurae-pty', 'src/runtime/monitor/aurae-pty.c'])
// aurae-init is a guest's PID 1: static, since a VM's guest has no libc to load it with.
run('cc', ['-O2', '-Wall', '-Wextra', '-Werror', '-static', '-o', 'dist/runtime/monitor/aurae-init', 'src/runtime/monitor/aurae-init.c'])
run('cc', ['-O2', '-Wall', '-Wextra', '-Werror', '-o', 'dist/runtime/monitor/aurae-vm-exec', 'src/runtime/monitor/aurae-vm-exec.c'])
// aurae-enter compiles the containers' seccomp filters with libseccomp, as runc does.
if (!existsSync('/usr/include/seccomp.h')) {
  process.stderr.write('build: libseccomp-dev is missing (aurae-enter needs seccomp.h): apt-get install -y libseccomp-dev\n')
  process.exit(1)
}
run('cc', ['-O2', '-Wall', '-Wextra', '-Werror', '-o', 'dist/runtime/monitor/aurae-enter', 'src/runtime/monitor/aurae-enter.c', '-lseccomp'])
