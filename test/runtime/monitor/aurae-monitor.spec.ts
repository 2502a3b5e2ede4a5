import { chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROOT, run } from '../../helpers/node.ts'

const MONITOR = join(ROOT, 'dist', 'runtime', 'monitor', 'aurae-monitor')
const NOBODY = 65534

/** The workload's output, from the monitor's CRI log: `<time> <stream> <tag> <line>`. */
const output = (log: string): string => readFileSync(log, 'utf8').split('\n').filter(Boolean).map(l => l.split(' ').slice(3).join(' ')).join('\n')

describe('the monitor hides daemon space from the executable of a daemon that is not root', () => {
  let dir: string
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'aurae-monitor-'))
    for (const d of ['data', 'run']) mkdirSync(join(dir, d))
    for (const d of ['', 'data', 'run']) chownSync(join(dir, d), NOBODY, NOBODY)
    writeFileSync(join(dir, 'key'), 'the node\'s key\n', { mode: 0o600 })
    writeFileSync(join(dir, 'data', 'store'), 'records\n')
    for (const f of ['key', join('data', 'store')]) chownSync(join(dir, f), NOBODY, NOBODY)
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('in a user namespace of its own, where it can neither unmount nor unshare its way past the hiding', async () => {
    const key = join(dir, 'key')
    const data = join(dir, 'data')
    // One stream for both, so the lines keep the order they were written in.
    const script = [
      'exec 2>&1',
      `cat ${key} || echo no key`,
      `ls -A ${data} | wc -l`,
      `cat ${data}/shown/key`,
      `umount ${key} || echo no umount`,
      `unshare -Urm sh -c "umount ${key} || echo no umount inside; cat ${key} || echo still no key"`
    ].join('; ')
    const res = await run('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', MONITOR,
      '--exit-file', join(dir, 'run', 'exit'), '--log', join(dir, 'run', 'log'),
      '--hide', key, '--hide', data, '--bind-ro', key, join(data, 'shown', 'key'), '--', 'sh', '-c', script])
    expect(res).toMatchObject({ code: 0, stderr: '' })
    expect(JSON.parse(readFileSync(join(dir, 'run', 'exit'), 'utf8'))).toMatchObject({ exitCode: 0 })
    expect(output(join(dir, 'run', 'log')).replaceAll(dir, '<dir>')).toBe([
      'cat: <dir>/key: Permission denied', 'no key',
      // The hidden directory lets the workload through to what was bound into it, and no further.
      'ls: cannot open directory \'<dir>/data\': Permission denied', '0',
      'the node\'s key',
      'umount: <dir>/key: must be superuser to unmount.', 'no umount',
      // Root in a user namespace of its own, the mounts it inherited are locked together.
      'umount: <dir>/key: not mounted.', 'no umount inside',
      'cat: <dir>/key: Permission denied', 'still no key'
    ].join('\n'))
    // Nothing of it reached the host's mount table, and the files are as they were.
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(dir)
    expect(readFileSync(key, 'utf8')).toBe('the node\'s key\n')
  })
})
