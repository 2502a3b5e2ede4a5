#!/usr/bin/env node
// Import cycles in src/, between files and between folders (type-only imports count: they tie the code together
// as much). Prints every cycle; fails when one is not among the cycles still to break, listed below, or when a
// listed one is gone (so the list only shrinks). Also fails on an import a room may not make (MAY_IMPORT below).
// Usage: node scripts/check-cycles.js [--json]
import { readFileSync, readdirSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const src = join(root, 'src')

/**
 * Cycles that were there when this check came (issue 10 breaks them), each as its members sorted and joined by
 * ' <-> '. Nothing may be added here: a new cycle fails the check.
 */
const STILL_TO_BREAK = new Set([])

/**
 * What the files of a room may import from src/, as path prefixes (a room's own files included). Clients reach a
 * node only through the SDK: the CLI imports the SDK (client/) and shared pure modules, never the daemon's rooms.
 */
const MAY_IMPORT = {
  'cli/': ['cli/', 'client/', 'common/', 'names/', 'errors.ts'],
  'client/': ['client/', 'common/', 'gen/', 'errors.ts', 'grpc-status.ts'],
  'common/': ['common/', 'errors.ts']
}

function files (dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap(e => {
    const p = join(dir, e.name)
    if (e.isDirectory()) return p === join(src, 'gen') ? [] : files(p)
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : []
  })
}

/** The src files a file imports (static, side-effect-only, re-exports and dynamic imports with a literal path),
 * generated ones too. */
function importsOf (file) {
  const text = readFileSync(file, 'utf8')
  const out = new Set()
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)|(?:^|\n)\s*import\s+['"](\.[^'"]+)['"]/g)) {
    const target = resolve(dirname(file), m[1] ?? m[2] ?? m[3])
    if (target.startsWith(src + '/')) out.add(target)
  }
  return [...out]
}

const isGenerated = f => f.startsWith('gen/')

/** Strongly connected components with more than one member (Tarjan). */
function cycles (graph) {
  let index = 0
  const stack = []
  const on = new Set()
  const idx = new Map()
  const low = new Map()
  const found = []
  const visit = v => {
    idx.set(v, index); low.set(v, index); index++
    stack.push(v); on.add(v)
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) { visit(w); low.set(v, Math.min(low.get(v), low.get(w))) } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)))
    }
    if (low.get(v) === idx.get(v)) {
      const scc = []
      let w
      do { w = stack.pop(); on.delete(w); scc.push(w) } while (w !== v)
      if (scc.length > 1) found.push(scc.sort())
    }
  }
  for (const v of graph.keys()) if (!idx.has(v)) visit(v)
  return found
}

const all = files(src)
const imports = new Map(all.map(f => [relative(src, f), importsOf(f).map(t => relative(src, t))]))
const fileGraph = new Map([...imports].map(([f, targets]) => [f, targets.filter(t => !isGenerated(t))]))
const forbidden = [...imports].flatMap(([f, targets]) => {
  const room = Object.keys(MAY_IMPORT).find(r => f.startsWith(r))
  if (room === undefined) return []
  return targets.filter(t => !MAY_IMPORT[room].some(allowed => t.startsWith(allowed))).map(t => `${f} imports ${t}`)
})
const folderGraph = new Map()
for (const [f, targets] of fileGraph) {
  const from = dirname(f)
  if (!folderGraph.has(from)) folderGraph.set(from, new Set())
  for (const t of targets) if (dirname(t) !== from) folderGraph.get(from).add(dirname(t))
}
const found = [
  ...cycles(fileGraph).map(c => ({ kind: 'files', members: c })),
  ...cycles(new Map([...folderGraph].map(([k, v]) => [k, [...v]]))).map(c => ({ kind: 'folders', members: c }))
].map(c => ({ ...c, key: `${c.kind}: ${c.members.join(' <-> ')}` }))

const fresh = found.filter(c => !STILL_TO_BREAK.has(c.key))
const gone = [...STILL_TO_BREAK].filter(k => !found.some(c => c.key === k))
if (process.argv.includes('--json')) {
  process.stdout.write(JSON.stringify({ cycles: found.map(c => c.key), new: fresh.map(c => c.key), gone, forbidden }, null, 2) + '\n')
} else {
  for (const c of found) process.stdout.write(`${STILL_TO_BREAK.has(c.key) ? 'still to break' : 'NEW'}  ${c.key}\n`)
  for (const k of gone) process.stdout.write(`gone (remove it from STILL_TO_BREAK in scripts/check-cycles.js)  ${k}\n`)
  for (const f of forbidden) process.stdout.write(`FORBIDDEN  ${f} (see MAY_IMPORT in scripts/check-cycles.js)\n`)
  process.stdout.write(`${found.length} import cycle(s) in src/: ${fresh.length} new, ${found.length - fresh.length} still to break, ${gone.length} listed but gone; ${forbidden.length} forbidden import(s)\n`)
}
process.exit(fresh.length > 0 || gone.length > 0 || forbidden.length > 0 ? 1 : 0)
