#!/usr/bin/env -S node --max-semi-space-size=4
// Kept to syntax every Node parses, so an old Node gets one line instead of a stack trace.
const major = Number(process.versions.node.split('.')[0])
if (major < 22) {
  process.stderr.write('auraed: Node.js 22 or newer is needed (this is ' + process.versions.node + '); run it through npx or npm, which use the Node the project installs\n')
  process.exit(1)
}
const { main } = await import('../dist/node/main.js')
await main(process.argv.slice(2))
