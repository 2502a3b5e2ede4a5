#!/usr/bin/env node
// Builds, runs every test with vitest, and ends with the plain line `N passed, N failed`.
import { spawnSync } from 'node:child_process'
import { readFileSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const bin = join(root, 'node_modules', '.bin')
const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` }
const report = join(root, 'test-results.json')
rmSync(report, { force: true })

const build = spawnSync(process.execPath, [join(root, 'scripts', 'build.js')], { cwd: root, stdio: 'inherit', env })
if (build.status !== 0) {
  console.log('0 passed, 1 failed')
  process.exit(1)
}
// Import cycles in src/ (scripts/check-cycles.js): a new one counts as a failed test.
const cycles = spawnSync(process.execPath, [join(root, 'scripts', 'check-cycles.js')], { cwd: root, stdio: 'inherit', env })
const args = ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...process.argv.slice(2)]
const tests = spawnSync(join(bin, 'vitest'), args, { cwd: root, stdio: 'inherit', env })
let passed = 0
let failed = 1
try {
  const r = JSON.parse(readFileSync(report, 'utf8'))
  // A file that fails to load has no failed test of its own; count it as one failure.
  const brokenFiles = r.testResults.filter(f => f.status === 'failed' && !f.assertionResults.some(a => a.status === 'failed')).length
  passed = r.numPassedTests
  failed = r.numFailedTests + brokenFiles
} catch {}
if (cycles.status === 0) passed++
else failed++
console.log(`${passed} passed, ${failed} failed`)
process.exit(tests.status === 0 && failed === 0 ? 0 : 1)
