import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startRegistry, type TestRegistry } from '../helpers/registry.ts'
import { PGDATA, POSTGRES_UID, pushPostgresLike } from '../helpers/postgres-like.ts'
import { startNode, until, workload, type TestNode } from '../helpers/node.ts'

/** The real uid of a host process, from its status. */
const uidOf = (pid: number): number => Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1])

describe('containers whose entrypoint drops privileges run as its user', () => {
  let registry: TestRegistry
  let node: TestNode
  let image: string
  let volume: string
  const logs = async (name: string): Promise<string> => (await node.cli(['logs', name])).stdout
  beforeAll(async () => {
    registry = await startRegistry()
    await pushPostgresLike(registry.host)
    image = `${registry.host}/postgres`
    volume = mkdtempSync(join(tmpdir(), 'aurae-pgdata-'))
    node = await startNode('drops')
    for (const [name, args] of [['pg', []], ['pg-vol', ['-v', `${volume}:${PGDATA}`]]] as const) {
      const res = await node.cli(['run', image, '--name', name, '-d', ...args])
      if (res.code !== 0) throw new Error(res.stderr)
      await until(`${name} to be ready`, async () => (await logs(name)).includes('ready\n'))
        .catch(async err => { throw new Error(`${String(err)}: ${(await node.cli(['logs', name])).stderr}`) })
    }
  })
  afterAll(async () => {
    await node?.stop()
    registry?.stop()
    if (volume !== undefined) rmSync(volume, { recursive: true, force: true })
  })

  it('runs the main process as the user the entrypoint dropped to, as ps and inspect show it', async () => {
    const listed = await workload(node, 'pg')
    expect(uidOf(listed.pid)).toBe(POSTGRES_UID)
    const inspected = JSON.parse((await node.cli(['inspect', 'pg'])).stdout)
    expect(JSON.stringify(inspected)).toContain(String(listed.pid))
    expect(await logs('pg')).toMatch(new RegExp(`^initialized ${PGDATA}\nrunning as postgres\n`))
  })

  it('leaves the data directory, a volume from the host too, to that user', async () => {
    const inside = await node.cli(['exec', 'pg', '--', 'stat', '-c', '%u %g %a', PGDATA, `${PGDATA}/PG_VERSION`, `${PGDATA}/postmaster.pid`])
    expect(inside).toEqual({ code: 0, stdout: `${POSTGRES_UID} ${POSTGRES_UID} 700\n${POSTGRES_UID} ${POSTGRES_UID} 644\n${POSTGRES_UID} ${POSTGRES_UID} 644\n`, stderr: '' })
    for (const path of [volume, join(volume, 'PG_VERSION'), join(volume, 'postmaster.pid')]) {
      expect(statSync(path)).toMatchObject({ uid: POSTGRES_UID, gid: POSTGRES_UID })
    }
    expect(readFileSync(join(volume, 'PG_VERSION'), 'utf8')).toBe('16\n')
  })

  it('execs as the image\'s user (root here, as docker exec does), not as the main process\'s', async () => {
    expect(await node.cli(['exec', 'pg', '--', 'id', '-u'])).toEqual({ code: 0, stdout: '0\n', stderr: '' })
    expect(await node.cli(['exec', 'pg', '--', 'setpriv', '--reuid=postgres', '--regid=postgres', '--clear-groups', 'id', '-un'])).toEqual({ code: 0, stdout: 'postgres\n', stderr: '' })
  })

  it('resolves localhost as the dropped user', async () => {
    expect(await logs('pg')).toMatch(/running as postgres\n(127\.0\.0\.1|::1)\s+localhost\b.*\nready\n/)
  })

  it('stops with the image\'s StopSignal reaching the dropped process: a clean shutdown, not SIGKILL', async () => {
    for (const name of ['pg', 'pg-vol']) {
      expect(await node.cli(['stop', name])).toMatchObject({ code: 0, stderr: '' })
      expect(await workload(node, name)).toMatchObject({ state: 'exited', exitCode: 0 })
      expect(await logs(name)).toMatch(/ready\nfast shutdown\n$/)
    }
    expect(() => statSync(join(volume, 'postmaster.pid'))).toThrow()
  })

  it('starts again on its initialised volume, already owned by its user', async () => {
    expect((await node.cli(['start', 'pg-vol'])).code).toBe(0)
    await until('pg-vol to be ready again', async () => (await logs('pg-vol')).split('ready\n').length === 3)
    expect((await logs('pg-vol')).match(/initialized/g)).toHaveLength(1)
    expect(uidOf((await workload(node, 'pg-vol')).pid)).toBe(POSTGRES_UID)
  })
})
