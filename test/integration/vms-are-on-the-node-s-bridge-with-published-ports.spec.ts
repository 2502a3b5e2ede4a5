// A VM on the node's bridge network, as a container is: the address the bridge gave it, the node's name files, and
// its published ports answered from inside the guest (qemu in the namespace the bridge made, the guest's card on a
// tap whose traffic and the namespace's are passed to each other).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startNode, until, VM_BOOT_MS, type TestNode } from '../helpers/node.ts'
import { busyboxLayer, freePort, pushImage, startRegistry } from '../helpers/registry.ts'

describe('VMs are on the node\'s bridge, with published ports', () => {
  let node: TestNode
  let registry: Awaited<ReturnType<typeof startRegistry>>
  let image: string
  beforeAll(async () => {
    registry = await startRegistry()
    await pushImage(registry.host, 'vmnet', 'latest', [await busyboxLayer([{ name: 'bin/ip', linkname: 'busybox' }, { name: 'bin/mkdir', linkname: 'busybox' }])], { config: { Env: ['PATH=/bin'] } })
    image = `${registry.host}/vmnet`
    node = await startNode('vm-net')
  })
  afterAll(async () => {
    await node?.stop()
    await registry?.stop()
  })

  it('serves a published port from inside the guest, on the address the bridge gave it, until it stops', async () => {
    const port = await freePort()
    const started = await node.cli(['run', '--vm', image, '-d', '--name', 'web', '-p', `${port}:80`, '--', 'sh', '-c', 'mkdir -p /www; echo hello from a vm > /www/index.html; exec httpd -f -p 80 -h /www'])
    expect(started).toEqual({ code: 0, stdout: 'web\n', stderr: '' })
    const page = await until('the VM to answer on its published port', async () => await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2000) }).then(async r => await r.text(), () => undefined), VM_BOOT_MS)
    expect(page).toBe('hello from a vm\n')
    const inside = await node.cli(['exec', 'web', '--', 'sh', '-c', 'ip -4 -o addr show dev eth0; ip route; cat /etc/hostname'])
    expect(inside.code).toBe(0)
    expect(inside.stdout).toMatch(/^\d+: eth0 +inet 10\.\d+\.\d+\.\d+\/24 /)
    expect(inside.stdout).toMatch(/^default via 10\.\d+\.\d+\.1 dev eth0/m)
    expect(inside.stdout).toMatch(/\nweb\n$/)
    expect((await node.cli(['stop', 'web'])).code).toBe(0)
    expect(await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2000) }).then(() => 'answered', () => 'refused')).toBe('refused')
  }, VM_BOOT_MS + 60_000)

  it('has only its loopback with --net none, and refuses the host\'s network', async () => {
    const none = await node.cli(['run', '--vm', image, '--net', 'none', '--', 'ls', '/sys/class/net'])
    expect(none).toEqual({ code: 0, stdout: 'lo\n', stderr: '' })
    expect(await node.cli(['run', '--vm', image, '--net', 'host', '--', 'true'])).toEqual({ code: 125, stdout: '', stderr: 'aurae: --net host does not apply to a VM (--vm)\n' })
  })
})
