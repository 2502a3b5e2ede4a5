import { createHash, randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AURAE, startNode, until, type TestNode } from '../helpers/node.ts'

// The socket in a directory of the node's own (hidden whole), or in /tmp (only the socket is hidden).
const layouts = [
  { where: 'a directory of its own', sock: (): string | undefined => undefined },
  { where: 'a shared directory', sock: (): string | undefined => join(tmpdir(), `aurae-${randomBytes(4).toString('hex')}.sock`) }
]

for (const layout of layouts) {
  describe(`executables stay out of daemon space (socket in ${layout.where})`, () => {
    let node: TestNode
    let work: string
    beforeAll(async () => {
      node = await startNode('keeper', undefined, undefined, layout.sock())
      work = mkdtempSync(join(tmpdir(), 'aurae-work-'))
      expect((await node.cli(['exec', 'other', '-d', '--', 'sh', '-c', 'echo a line only the daemon may read; exec sleep 300'])).code).toBe(0)
      await until('the other workload\'s log', async () => (await node.cli(['logs', 'other'])).stdout.includes('only the daemon'))
    })
    afterAll(async () => {
      await node?.stop()
      rmSync(work, { recursive: true, force: true })
    })

    it('cannot read the node\'s key, list its data, read another workload\'s log or reach its socket', async () => {
      const key = await node.cli(['exec', '--', 'cat', node.key])
      expect(key.code).not.toBe(0)
      expect(key.stdout).toBe('')
      // Gone with its hidden directory, or covered by a node nothing may open.
      expect(key.stderr).toMatch(/No such file or directory|Permission denied/)
      const data = await node.cli(['exec', '--', 'ls', '-A', node.data])
      expect(data.stdout).toBe('')
      const log = await node.cli(['exec', '--', 'cat', join(node.data, 'logs', 'other.log')])
      expect(log.code).not.toBe(0)
      expect(log.stdout).toBe('')
      // The real CLI, run as the workload, finds no daemon behind the socket.
      const ps = await node.cli(['exec', '--', process.execPath, AURAE, '--sock', node.sock, 'ps'])
      expect(ps.code).toBe(3)
      expect(ps.stderr).toContain('auraed is not running')
      // All of it is there for the daemon (and for this test).
      expect(readFileSync(join(node.data, 'logs', 'other.log'), 'utf8')).toContain('only the daemon')
    })

    it('shows what the user binds in with -v, read-only with :ro', async () => {
      const hash = createHash('sha256').update(readFileSync(node.key)).digest('hex')
      const key = await node.cli(['exec', '-v', node.key, '--', 'sha256sum', node.key])
      expect(key).toEqual({ code: 0, stdout: `${hash}  ${node.key}\n`, stderr: '' })
      const logs = join(node.data, 'logs')
      const ro = await node.cli(['exec', '-v', `${logs}:${logs}:ro`, '--', 'sh', '-c', `cat ${logs}/other.log; echo x > ${logs}/new.log`])
      expect(ro.stdout).toContain('a line only the daemon may read')
      expect(ro.stderr).toContain('Read-only file system')
      expect(existsSync(join(logs, 'new.log'))).toBe(false)
    })

    it('makes a bind target only where daemon space is hidden, never on the host', async () => {
      const target = join(work, 'missing', 'hostname')
      const res = await node.cli(['exec', '-v', `/etc/hostname:${target}`, '--', 'true'])
      expect(res.code).toBe(127)
      expect(res.stderr).toBe(`aurae: cannot bind /etc/hostname at ${target}: No such file or directory\n`)
      expect(existsSync(join(work, 'missing'))).toBe(false)
      const bad = await node.cli(['exec', '-v', 'relative/path', '--', 'true'])
      expect(bad).toMatchObject({ code: 125, stderr: 'aurae: invalid volume "relative/path:relative/path": both sides must be absolute paths\n' })
    })

    it('gives workloads umask 022, not the daemon\'s 077', async () => {
      expect((await node.cli(['exec', '-w', work, '--', 'sh', '-c', 'echo x > file; mkdir dir; umask'])).stdout).toBe('0022\n')
      expect(statSync(join(work, 'file')).mode & 0o777).toBe(0o644)
      expect(statSync(join(work, 'dir')).mode & 0o777).toBe(0o755)
    })
  })
}
