#!/usr/bin/env -S node --max-semi-space-size=4
// Kept to syntax every Node parses: an old Node re-runs this on the project's own (own-node.js).
const { onOwnNode } = await import('./own-node.js')
await onOwnNode('auraed', import.meta.url)
const { main } = await import('../dist/node/main.js')
await main(process.argv.slice(2))
