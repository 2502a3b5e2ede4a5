import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { busyboxLayer, layerTar, nginxLayer, pushImage, startRegistry, type PushedImage, type TestRegistry } from '../helpers/registry.ts'
import { AURAE, run, startNode, type TestNode } from '../helpers/node.ts'

describe('a pull unpacks the image, as Docker does, so its first run starts at once', () => {
  let registry: TestRegistry
  let node: TestNode
  let nginx: PushedImage
  const root = (image: PushedImage): string => join(node.data, 'rootfs', image.config.slice(7))
  beforeAll(async () => {
    registry = await startRegistry()
    // Like the official nginx: a worker user, a volume, SIGQUIT to stop; big enough that the unpack is seen going.
    const padding = await layerTar([{ name: 'usr/' }, { name: 'usr/share/' }, { name: 'usr/share/pad/' }, ...Array.from({ length: 400 }, (_, i) => ({ name: `usr/share/pad/f${i}`, body: Buffer.alloc(20_000, i) }))])
    nginx = await pushImage(registry.host, 'nginx', 'latest', [await busyboxLayer(), await nginxLayer('<h1>hi</h1>'), padding], {
      config: { User: 'root', Volumes: { '/usr/share/nginx/html': {} }, StopSignal: 'SIGQUIT', Cmd: ['/usr/sbin/nginx'] }
    })
    node = await startNode('unpacker')
  })
  afterAll(async () => {
    await node?.stop()
    registry?.stop()
  })

  it('shows each layer unpacking on a terminal, and leaves the root complete before any run', async () => {
    // script(1) gives the CLI a terminal, as a person at a shell has.
    const res = await run('script', ['-qec', [process.execPath, AURAE, '--sock', node.sock, 'pull', `${registry.host}/nginx`].join(' '), '/dev/null'])
    expect(res.code, res.stdout).toBe(0)
    // busybox's layer is read in many chunks, so it is seen part-way.
    expect(res.stdout).toMatch(new RegExp(`${nginx.layers[0].slice(7, 19)}: unpacking \\d+%\\r\\n`))
    for (const layer of nginx.layers) expect(res.stdout).toContain(`${layer.slice(7, 19)}: unpacked\r\n`)
    expect(existsSync(join(root(nginx), '.aurae-complete'))).toBe(true)
    expect(existsSync(join(root(nginx), 'rootfs', 'usr/share/pad/f399'))).toBe(true)
  })

  it('says each layer unpacked in plain lines off a terminal, and the run uses the root the pull made', async () => {
    const other = await pushImage(registry.host, 'other', 'latest', [await busyboxLayer(), await layerTar([{ name: 'etc/' }, { name: 'etc/motd', body: 'unpacked at pull\n' }])])
    const res = await node.cli(['pull', `${registry.host}/other`])
    expect(res.code).toBe(0)
    const short = other.layers.map(l => l.slice(7, 19))
    expect(res.stderr.split('\n').filter(l => l.endsWith(': unpacked')).sort()).toEqual(short.map(s => `${s}: unpacked`).sort())
    expect(res.stderr).not.toContain('unpacking')
    const made = readdirSync(join(node.data, 'rootfs')).sort()
    const ran = await node.cli(['run', '--rm', '--net', 'none', `${registry.host}/other`, '--', 'cat', '/etc/motd'])
    expect(ran).toEqual({ code: 0, stdout: 'unpacked at pull\n', stderr: '' })
    expect(readdirSync(join(node.data, 'rootfs')).sort()).toEqual(made)
    // A second pull finds the root made and says nothing of unpacking.
    expect((await node.cli(['pull', `${registry.host}/other`])).stderr).not.toContain('unpack')
  })

  it('refuses at the pull a layer that climbs out of its root, in one line, leaving nothing outside and no root', async () => {
    await pushImage(registry.host, 'evil', 'latest', [await busyboxLayer(), await layerTar([{ name: '../../../escaped-at-pull', body: 'gotcha' }])])
    const before = readdirSync(join(node.data, 'rootfs')).sort()
    const res = await node.cli(['pull', `${registry.host}/evil`])
    expect(res.code).toBe(1)
    expect(res.stderr.trim().split('\n').pop()).toBe(`aurae: cannot unpack ${registry.host}/evil:latest: layer entry "../../../escaped-at-pull" points outside the root`)
    expect(readdirSync(join(node.data, 'rootfs')).sort()).toEqual(before)
    for (const dir of [node.data, node.dir, join(node.data, '..', '..')]) expect(existsSync(join(dir, 'escaped-at-pull'))).toBe(false)
    expect((await node.cli(['status'])).code).toBe(0)
  })
})
