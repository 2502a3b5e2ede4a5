// What a VM cannot be, said in one line before anything is made, and a VM that fails or ends without a word, said
// in one line after: each time nothing of it is left running and none of its run's files are left behind.
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startNode, until, workload, type TestNode } from '../helpers/node.ts'
import { busyboxLayer, pushImage, startRegistry } from '../helpers/registry.ts'

describe('VMs that cannot start', () => {
  let node: TestNode
  let registry: Awaited<ReturnType<typeof startRegistry>>
  let image: string
  beforeAll(async () => {
    registry = await startRegistry()
    await pushImage(registry.host, 'vmbad', 'latest', [await busyboxLayer()], { config: { Env: ['PATH=/bin'] } })
    image = `${registry.host}/vmbad`
    node = await startNode('vm-bad-input')
  })
  afterAll(async () => {
    await node?.stop()
    await registry?.stop()
  })

  /** qemu or virtiofsd processes of this node still running. */
  const leftovers = (): string[] => spawnSync('ps', ['-eo', 'args='], { encoding: 'utf8' }).stdout.split('\n').filter(l => /qemu-system|virtiofsd/.test(l) && l.includes(node.data))
  /** What is left in a VM's directory once its run has ended: the image it was made from, its console and its end. */
  const files = (name: string): string[] => readdirSync(join(node.data, 'containers', name)).sort()

  it('refuses what a VM does not have, and limits no machine could give, before anything is made', async () => {
    const refused = async (args: string[]): Promise<string> => {
      const res = await node.cli(['run', '--vm', image, '--name', 'never', ...args, '--', 'true'])
      expect(res.code).toBe(125)
      expect(res.stderr.split('\n')).toHaveLength(2)
      return res.stderr
    }
    expect(await refused(['--net', 'host'])).toBe('aurae: --net host does not apply to a VM (--vm)\n')
    expect(await refused(['--memory', '1M'])).toBe('aurae: --memory 1M is below the least a VM\'s workload may have: 6M\n')
    expect(await refused(['--cpus', String(availableParallelism() + 1)])).toBe(`aurae: --cpus ${availableParallelism() + 1}: a VM has at most as many vCPUs as the machine has CPUs (${availableParallelism()})\n`)
    expect(await workload(node, 'never')).toBeUndefined()
  })

  it('says in one line what qemu said when it cannot start the machine (125), and leaves nothing running', async () => {
    // More than TCG's CPU addresses (1 TiB): qemu refuses it. Just over it, since qemu takes the longer to refuse the
    // more it is asked for (tens of TiB cost it half a minute of CPU).
    const res = await node.cli(['run', '--vm', image, '--name', 'huge', '--memory', '2T', '--', 'true'])
    expect(res).toMatchObject({ code: 125, stdout: '' })
    expect(res.stderr).toMatch(/^aurae: qemu exited with 1: .*phys-bits too low.*\n$/)
    expect(await workload(node, 'huge')).toMatchObject({ state: 'exited', exitCode: 125 })
    expect(leftovers()).toEqual([])
    expect(files('huge')).toEqual(['console.log', 'image.json'])
  })

  it('says so when the guest powered off without saying how its workload ended (125), with its console\'s last words', async () => {
    // Its workload is the guest's root: it can power the guest off under its PID 1.
    const res = await node.cli(['run', '--vm', image, '--name', 'gone', '--', 'busybox', 'poweroff', '-f'])
    expect(res).toMatchObject({ code: 125, stdout: '' })
    expect(res.stderr).toMatch(/^aurae: the guest ended without saying how its workload ended(: .*)?\n$/)
    expect(leftovers()).toEqual([])
    expect(files('gone')).toEqual(['console.log', 'image.json'])
    // Its console, kept: the kernel's last word.
    const console = await node.cli(['logs', '--console', 'gone'])
    expect(console.code).toBe(0)
    expect(console.stdout).toMatch(/reboot: Power down\r?\n$/)
    expect((await node.cli(['logs', '--console', '--tail', '1', 'gone'])).stdout).toMatch(/^\[ *[\d.]+\] reboot: Power down\r?\n$/)
    // Only a VM has one.
    expect((await node.cli(['exec', 'plain', '--', 'true'])).code).toBe(0)
    expect(await node.cli(['logs', '--console', 'plain'])).toEqual({ code: 1, stdout: '', stderr: 'aurae: workload plain has no console: only a VM has one\n' })
  })

  it('ends a VM that never starts its workload once --vm-ready-timeout has passed (125), and says so in one line', async () => {
    // A node that gives its VMs 3 s; this VM's qemu is stopped before its guest gets anywhere (a hung guest).
    const impatient = await startNode('vm-impatient', ['--vm-ready-timeout', '3', '--listen', '/ip4/127.0.0.1/tcp/0'])
    try {
      expect((await impatient.cli(['run', '--vm', image, '-d', '--name', 'stuck', '--', 'sleep', '100'])).code).toBe(0)
      // Its qemu once it is there (the run answered once its monitor started it); never pid 0, the test's own group.
      const qemu = await until('the VM\'s qemu', () => spawnSync('pgrep', ['-f', `^qemu-system-x86_64 .*${impatient.data}`], { encoding: 'utf8' }).stdout.split('\n').map(Number).find(pid => pid > 0))
      process.kill(qemu, 'SIGSTOP')
      const ended = await until('the stuck VM to be ended', async () => { const w = await workload(impatient, 'stuck'); return w?.state === 'exited' ? w : undefined }, 60_000)
      expect(ended).toMatchObject({ exitCode: 125, error: expect.stringMatching(/^the guest did not start its workload within 3 s(: [^\n]*)?$/) })
      expect(spawnSync('ps', ['-eo', 'args='], { encoding: 'utf8' }).stdout.split('\n').filter(l => /qemu-system|virtiofsd/.test(l) && l.includes(impatient.data))).toEqual([])
    } finally {
      await impatient.stop()
    }
  }, 120_000)

  it('takes a command the image lacks as 127, from the guest, and a --rm VM leaves no directory', async () => {
    const res = await node.cli(['run', '--vm', '--rm', image, '--name', 'lacking', '--', 'nginx'])
    expect(res).toEqual({ code: 127, stdout: '', stderr: 'aurae: exec "nginx": no such file or directory\n' })
    expect(readdirSync(join(node.data, 'containers'))).not.toContain('lacking')
    expect(leftovers()).toEqual([])
  })
})
