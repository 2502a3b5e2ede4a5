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
mkdirSync(join(root, 'dist', 'runtime', 'monitor'), { recursive: true })
run('cc', ['-O2', '-Wall', '-Wextra', '-Werror', '-o', 'dist/runtime/monitor/aurae-monitor', 'src/runtime/monitor/aurae-monitor.c'])
