import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { busyboxLayer, pushImage, startRegistry, type TestRegistry } from '../helpers/registry.ts'
import { childrenOf, startNode, workload, type TestNode } from '../helpers/node.ts'

const MISSING = 'aurae: cannot start the container\'s process: exec: "/nope": stat /nope: no such file or directory\n'

describe('containers say when they cannot start', () => {
  let registry: TestRegistry
  let node: TestNode
  let image: string
  beforeAll(async () => {
    registry = await startRegistry()
    image = `${registry.host}/busybox`
    await pushImage(registry.host, 'busybox', 'latest', [await busyboxLayer()], { config: { Env: ['PATH=/bin'] } })
    node = await startNode('failures')
  })
  afterAll(async () => {
    await node?.stop()
    registry?.stop()
  })

  it('fails a detached run whose command does not exist, with 127 and one line, and prints no name', async () => {
    expect(await node.cli(['run', image, '--name', 'gone', '-d', '--', '/nope'])).toEqual({ code: 127, stdout: '', stderr: MISSING })
    expect(await workload(node, 'gone')).toMatchObject({ state: 'exited', exitCode: 127 })
  })

  it('fails a detached executable the same way, as the same command serves both', async () => {
    const res = await node.cli(['exec', 'gone-exe', '-d', '--', 'no-such-command-here'])
    expect(res.code).toBe(127)
    expect(res.stdout).toBe('')
    expect(res.stderr).toMatch(/^aurae: [^\n]*no-such-command-here[^\n]*No such file or directory\n$/)
  })

  it('says so in one line attached: the runtime\'s own message is not the container\'s output', async () => {
    expect(await node.cli(['run', image, '--name', 'gone2', '--rm', '--', '/nope'])).toEqual({ code: 127, stdout: '', stderr: MISSING })
    const dir = await node.cli(['run', image, '--name', 'dir', '--rm', '--', '/bin'])
    expect(dir.code).toBe(126)
    expect(dir.stderr.split('\n')).toEqual(['aurae: cannot start the container\'s process: exec: "/bin": permission denied', ''])
    await node.cli(['run', image, '--name', 'logs-clean', '-d', '--', '/nope'])
    expect(await node.cli(['logs', 'logs-clean'])).toEqual({ code: 0, stdout: '', stderr: '' })
  })

  it('exits 125 with one line when the runtime cannot make the container, attached or detached', async () => {
    for (const mode of [[], ['-d']]) {
      const res = await node.cli(['run', image, '--name', `cwd${mode.length}`, ...mode, '-w', '/bin/sh', '--', 'true'])
      expect(res.code).toBe(125)
      expect(res.stdout).toBe('')
      expect(res.stderr).toMatch(/^aurae: [^\n]*not a directory\n$/)
    }
  })

  it('returns from a detached run once the container\'s own process runs, and shows that process\'s PID', async () => {
    expect(await node.cli(['run', image, '--name', 'up', '-d', '--', 'sleep', '60'])).toEqual({ code: 0, stdout: 'up\n', stderr: '' })
    const { pid } = await workload(node, 'up')
    // The container's main process (PID 1 inside it), already past exec: no runtime stays behind beside it.
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]).toBe('sleep')
    const monitor = Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1])
    expect(childrenOf(monitor)).toEqual([pid])
    expect((await node.cli(['rm', '-f', 'up'])).code).toBe(0)
  })
})
