#!/usr/bin/env node
// Builds everything a node needs from source: protobuf types, the TypeScript, the monitor.
import { execFileSync } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const bin = join(root, 'node_modules', '.bin')
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } })

run('buf', ['generate'])
run('tsc', ['-p', 'tsconfig.json'])
// The CLI ships as one bundle: it starts noticeably faster than ~100 separate modules.
run('esbuild', ['dist/cli/main.js', '--bundle', '--platform=node', '--format=esm', '--log-level=warning', '--outfile=dist/aurae-cli.js',
  '--banner:js=import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);'])
mkdirSync(join(root, 'dist', 'runtime', 'monitor'), { recursive: true })
run('cc', ['-O2', '-Wall', '-Wextra', '-Werror', '-o', 'dist/runtime/monitor/aurae-monitor', 'src/runtime/monitor/aurae-monitor.c'])
