#!/usr/bin/env -S node --max-semi-space-size=4
// Kept to syntax every Node parses, so an old Node gets one line instead of a stack trace.
const major = Number(process.versions.node.split('.')[0])
if (major < 22) {
  process.stderr.write('auraed: Node.js 22 or newer is needed (this is ' + process.versions.node + '); run it through npx or npm, which use the Node the project installs\n')
  process.exit(1)
}
// V8's compiled code is kept beside the build (by whoever may write there): each start skips recompiling.
const { enableCompileCache } = await import('node:module')
if (typeof enableCompileCache === 'function') enableCompileCache(new URL('../dist/.compile-cache', import.meta.url).pathname)
const { main } = await import('../dist/node/main.js')
await main(process.argv.slice(2))
