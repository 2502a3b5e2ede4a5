#!/usr/bin/env node
// Kept to syntax every Node parses: an old Node re-runs this on the project's own (own-node.js).
const { onOwnNode } = await import('./own-node.js')
await onOwnNode('auraescript', import.meta.url)
// V8's compiled code is kept beside the build (by whoever may write there): each start skips recompiling.
const { enableCompileCache } = await import('node:module')
if (typeof enableCompileCache === 'function') enableCompileCache(new URL('../dist/.compile-cache', import.meta.url).pathname)
const { main } = await import('../dist/script/main.js')
await main(process.argv.slice(2))
