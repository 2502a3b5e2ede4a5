#!/usr/bin/env node
// Puts `aurae`, `auraed` and `auraescript` on PATH as links to this checkout's bins (which run on the project's own Node when the
// system's is too old): into DIR if given, else /usr/local/bin for root and ~/.local/bin for anyone else.
import { lstatSync, mkdirSync, readlinkSync, symlinkSync, unlinkSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const dir = process.argv[2] ?? (process.getuid?.() === 0 ? '/usr/local/bin' : join(homedir(), '.local', 'bin'))
mkdirSync(dir, { recursive: true })
for (const name of ['aurae', 'auraed', 'auraescript']) {
  const link = join(dir, name)
  const target = join(root, 'bin', `${name}.js`)
  let existing
  try {
    existing = lstatSync(link)
  } catch {}
  if (existing !== undefined) {
    if (!existing.isSymbolicLink()) {
      process.stderr.write(`link-bins: ${link} exists and is not a link; remove it first\n`)
      process.exit(1)
    }
    if (readlinkSync(link) !== target) unlinkSync(link)
    else continue
  }
  symlinkSync(target, link)
}
process.stdout.write(`aurae, auraed and auraescript are in ${dir}${(process.env.PATH ?? '').split(':').includes(dir) ? '' : ` (add it to PATH: export PATH="${dir}:$PATH")`}\n`)
