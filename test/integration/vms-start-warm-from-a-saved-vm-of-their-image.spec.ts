// Warm starts: the first VM of an image boots, and the node saves a VM of that image beside it; the next ones are
// restored from it, each one itself — its own clock, random state, MAC, address and name — and they behave as a
// booted VM does: output, exit code, exec, published ports, a stop by the power button.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startNode, until, type TestNode } from '../helpers/node.ts'
import { busyboxLayer, freePort, pushImage, startRegistry } from '../helpers/registry.ts'

describe('VMs start warm from a saved VM of their image', () => {
  let node: TestNode
  let registry: Awaited<ReturnType<typeof startRegistry>>
  let image: string
  let templates: string
  /** The state of the saved VM of a 64 MB workload (a 192 MB guest), once there is one. */
  const saved = (): string | undefined => readdirSync(templates).filter(f => !f.includes('.tmp-') && f !== 'disks')
    .find(f => existsSync(join(templates, f, 'state')) && JSON.parse(readFileSync(join(templates, f, 'meta.json'), 'utf8')).memoryMb === 192)
    ?.replace(/.*/, f => join(templates, f, 'state'))
  const vm = async (name: string): Promise<any> => (JSON.parse((await node.cli(['vm', 'ls', '--all', '--json'])).stdout) as any[]).find(v => v.name === name)

  beforeAll(async () => {
    templates = mkdtempSync(join(tmpdir(), 'aurae-templates-'))
    registry = await startRegistry()
    await pushImage(registry.host, 'warm', 'latest', [await busyboxLayer([{ name: 'www/' }, { name: 'www/index.html', body: 'warm\n' }])], { config: { Env: ['PATH=/bin'] } })
    image = `${registry.host}/warm`
    node = await startNode('vm-warm', ['--listen', '/ip4/127.0.0.1/tcp/0', '--vm-templates', templates])
  })
  afterAll(async () => {
    await node?.stop()
    await registry?.stop()
    rmSync(templates, { recursive: true, force: true })
  })

  it('boots the first VM of an image, and saves one of it for the next', async () => {
    const first = await node.cli(['run', '--vm', '-d', '--name', 'first', '--memory', '64M', image, '--', 'sh', '-c', 'echo up; sleep 1000'])
    expect(first).toEqual({ code: 0, stdout: 'first\n', stderr: '' })
    expect(await vm('first')).toMatchObject({ state: 'running', boot: 'cold' })
    await until('a VM of the image to be saved', saved, 180_000)
    // Its root as a disk of its own (a saved VM cannot have a virtiofs share), read by every VM restored from it.
    expect(readdirSync(join(templates, 'disks')).filter(f => f.endsWith('.ext4'))).toHaveLength(1)
    expect((await node.cli(['rm', '-f', 'first'])).code).toBe(0)
  }, 240_000)

  it('restores the next one, which runs its command with its output and exit code', async () => {
    const res = await node.cli(['run', '--vm', '--name', 'once', '--memory', '64M', image, '--', 'sh', '-c', 'echo out; echo err >&2; hostname; exit 3'])
    expect(res).toEqual({ code: 3, stdout: 'out\nonce\n', stderr: 'err\n' })
    expect(await vm('once')).toMatchObject({ state: 'exited', exitCode: 3, boot: 'warm' })
  }, 120_000)

  it('gives each restored VM its own clock, random state and MAC', async () => {
    // The saved VM's clock is a second or more behind by now: a restored VM that kept it would say so.
    const savedAt = Math.floor(statSync(saved() as string).mtimeMs / 1000)
    while (Math.floor(Date.now() / 1000) <= savedAt) await sleep(100)
    const before = Math.floor(Date.now() / 1000)
    const probe = 'cat /proc/sys/kernel/random/uuid; busybox date +%s; cat /sys/class/net/eth0/address'
    const [a, b] = await Promise.all(['a', 'b'].map(async name => await node.cli(['run', '--vm', '--name', name, '--memory', '64M', image, '--', 'sh', '-c', probe])))
    const after = Math.ceil(Date.now() / 1000)
    expect(a.code).toBe(0)
    expect(b.code).toBe(0)
    expect(await vm('a')).toMatchObject({ boot: 'warm' })
    expect(await vm('b')).toMatchObject({ boot: 'warm' })
    const [uuidA, clockA, macA] = a.stdout.trim().split('\n')
    const [uuidB, clockB, macB] = b.stdout.trim().split('\n')
    // Two guests restored from one state must not draw the same random numbers. (Each also gets its own entropy
    // from the host before anything runs; under qemu's -cpu max, RDRAND alone would keep these apart too.)
    expect(uuidA).toMatch(/^[0-9a-f-]{36}$/)
    expect(uuidA).not.toBe(uuidB)
    for (const clock of [Number(clockA), Number(clockB)]) {
      expect(clock).toBeGreaterThanOrEqual(before)
      expect(clock).toBeLessThanOrEqual(after)
    }
    // Each has its own MAC (its bridge port's), not the one the saved VM's card was made with.
    expect(macA).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/)
    expect(macA).not.toBe(macB)
    expect([macA, macB]).not.toContain('52:54:00:00:00:01')
  }, 120_000)

  it('serves a published port, runs exec commands and stops by its power button', async () => {
    const port = await freePort()
    const started = await node.cli(['run', '--vm', '-d', '--name', 'web', '--memory', '64M', '-p', `${port}:8080`, image, '--', 'httpd', '-f', '-p', '8080', '-h', '/www'])
    expect(started.code).toBe(0)
    const web = await vm('web')
    expect(web).toMatchObject({ state: 'running', boot: 'warm' })
    expect(web.address).toMatch(/^10\.\d+\.\d+\.\d+$/)
    const body = await until('the VM to answer on its published port', async () => await fetch(`http://127.0.0.1:${port}/`).then(async r => await r.text(), () => undefined), 60_000)
    expect(body).toBe('warm\n')
    expect(await node.cli(['exec', 'web', '--', 'hostname'])).toEqual({ code: 0, stdout: 'web\n', stderr: '' })
    // httpd ends on SIGTERM, which the guest's power button turns into: a clean stop, not a kill.
    expect((await node.cli(['stop', 'web', '--timeout', '30'])).code).toBe(0)
    expect(await vm('web')).toMatchObject({ state: 'exited', exitCode: 143 })
  }, 120_000)

  it('boots a VM with volumes, and one of other memory, as before', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aurae-warm-vol-'))
    try {
      const res = await node.cli(['run', '--vm', '--name', 'vol', '--memory', '64M', '-v', `${dir}:/data`, image, '--', 'sh', '-c', 'echo kept > /data/f'])
      expect(res.code).toBe(0)
      expect(await vm('vol')).toMatchObject({ boot: 'cold' })
      const other = await node.cli(['run', '--vm', '--name', 'other', '--memory', '65M', image, '--', 'true'])
      expect(other.code).toBe(0)
      expect(await vm('other')).toMatchObject({ boot: 'cold' })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 120_000)

  it('drops a saved VM it cannot restore, says so, and boots the next run', async () => {
    const state = saved() as string
    writeFileSync(state, 'not a saved VM')
    const broken = await node.cli(['run', '--vm', '--name', 'broken', '--memory', '64M', image, '--', 'true'])
    expect(broken.code).toBe(125)
    expect(broken.stderr).toMatch(/restored from a saved VM, which is dropped: the next run boots/)
    expect(broken.stderr.trim().split('\n')).toHaveLength(1)
    expect(existsSync(state)).toBe(false)
    const next = await node.cli(['run', '--vm', '--name', 'next', '--memory', '64M', image, '--', 'true'])
    expect(next).toEqual({ code: 0, stdout: '', stderr: '' })
    expect(await vm('next')).toMatchObject({ boot: 'cold' })
  }, 120_000)
})
