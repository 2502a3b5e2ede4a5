import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { busyboxLayer, layerTar, Layout, pushAs, pushImage, pushLayout, sha256, startRegistry, type TestRegistry } from '../helpers/registry.ts'
import { startNode, type TestNode } from '../helpers/node.ts'

describe('images are pulled from a real registry', () => {
  let registry: TestRegistry
  let node: TestNode
  let layoutDir: string
  const blob = (digest: string): string => join(node.data, 'content', 'sha256', digest.slice(7))
  const images = async (): Promise<any[]> => JSON.parse((await node.cli(['images', '--json'])).stdout)
  beforeAll(async () => {
    registry = await startRegistry()
    node = await startNode('puller')
    layoutDir = mkdtempSync(join(tmpdir(), 'aurae-layout-'))
  })
  afterAll(async () => {
    await node?.stop()
    registry?.stop()
    rmSync(layoutDir, { recursive: true, force: true })
  })

  it('pulls by host and tag, verifies every blob, and lists the image', async () => {
    const pushed = await pushImage(registry.host, 'busybox', 'latest', [await busyboxLayer()])
    const res = await node.cli(['pull', `${registry.host}/busybox`])
    expect(res.code).toBe(0)
    expect(res.stdout).toBe(`${registry.host}/busybox:latest\n${pushed.manifest}\n`)
    for (const d of [pushed.manifest, pushed.config, ...pushed.layers]) expect(sha256(readFileSync(blob(d)))).toBe(d)
    expect(await images()).toEqual([expect.objectContaining({ name: `${registry.host}/busybox:latest`, tag: 'latest', digest: pushed.manifest, config: pushed.config, created: '2026-11-01T00:00:00Z' })])
    const table = (await node.cli(['images'])).stdout.split('\n')
    expect(table[0].split(/\s+/)).toEqual(['REPOSITORY', 'TAG', 'DIGEST', 'SIZE', 'CREATED'])
    expect(table[1]).toMatch(new RegExp(`^${registry.host}/busybox +latest +sha256:[0-9a-f]{12} `))
    // Pulling again fetches nothing new.
    expect((await node.cli(['pull', `${registry.host}/busybox`])).stderr).toContain('already here')
  })

  it('pulls docker.io names through a configured mirror', async () => {
    const pushed = await pushImage(registry.host, 'library/busybox', '1.35', [await busyboxLayer()])
    writeFileSync(join(node.data, 'registries.json'), JSON.stringify({ mirrors: { 'docker.io': [`http://${registry.host}`] } }))
    const res = await node.cli(['pull', 'busybox:1.35'])
    expect(res.code).toBe(0)
    expect(res.stdout).toBe(`docker.io/library/busybox:1.35\n${pushed.manifest}\n`)
  })

  it('resolves a manifest list to this machine\'s platform', async () => {
    const layout = new Layout(layoutDir)
    const amd = layout.writeImage('amd64', [await layerTar([{ name: 'arch', body: 'amd64' }])], { architecture: 'amd64' })
    const arm = layout.writeImage('arm64', [await layerTar([{ name: 'arch', body: 'arm64' }])], { architecture: 'arm64' })
    const index = layout.writeIndex('latest', ['arm64', 'amd64'])
    await pushLayout(registry.host, 'multi', layout, 'latest')
    expect((await node.cli(['pull', `${registry.host}/multi`])).code).toBe(0)
    const image = (await images()).find(i => i.name === `${registry.host}/multi:latest`)
    expect(image).toMatchObject({ digest: index, manifest: amd.manifest, config: amd.config })
    expect(existsSync(blob(arm.layers[0]))).toBe(false)
  })

  it('pulls Docker\'s media types: a manifest list of schema 2 manifests', async () => {
    const layout = new Layout(join(layoutDir, 'docker'))
    const amd = layout.writeImage('amd64', [await busyboxLayer()], { architecture: 'amd64', format: 'docker' })
    layout.writeImage('arm64', [await layerTar([{ name: 'arch', body: 'arm64' }])], { architecture: 'arm64', format: 'docker' })
    const list = layout.writeIndex('latest', ['amd64', 'arm64'], 'docker')
    await pushLayout(registry.host, 'dockerish', layout, 'latest')
    expect((await node.cli(['pull', `${registry.host}/dockerish`])).stdout).toBe(`${registry.host}/dockerish:latest\n${list}\n`)
    const image = (await images()).find(i => i.name === `${registry.host}/dockerish:latest`)
    expect(image).toMatchObject({ digest: list, manifest: amd.manifest, config: amd.config })
    expect(image.layers).toEqual([{ digest: amd.layers[0], size: expect.any(Number), mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip' }])
  })

  it('refuses a corrupted blob and keeps nothing half-stored', async () => {
    const pushed = await pushImage(registry.host, 'broken', 'latest', [await layerTar([{ name: 'file', body: 'x'.repeat(4096) }])])
    const stored = registry.blobPath(pushed.layers[0])
    const bytes = readFileSync(stored)
    bytes[bytes.length - 20] ^= 0xff
    writeFileSync(stored, bytes)
    const res = await node.cli(['pull', `${registry.host}/broken`])
    expect(res.code).toBe(1)
    expect(res.stderr).toMatch(new RegExp(`^aurae: blob ${pushed.layers[0]} failed verification`))
    expect(existsSync(blob(pushed.layers[0]))).toBe(false)
    expect(readdirSync(join(node.data, 'content', 'ingest'))).toEqual([])
    expect((await images()).some(i => i.name.includes('/broken:'))).toBe(false)
  })

  it('says what is missing', async () => {
    const res = await node.cli(['pull', `${registry.host}/nope:1`])
    expect(res.code).toBe(1)
    expect(res.stderr.trim()).toBe(`aurae: cannot pull ${registry.host}/nope:1: nope:1 not found at http://${registry.host}`)
    expect((await node.cli(['pull', 'Bad:Ref'])).code).toBe(2)
  })

  it('forgets images with rmi, and prune deletes the blobs nothing uses', async () => {
    expect((await node.cli(['rmi', `${registry.host}/multi`])).stdout).toBe(`${registry.host}/multi:latest\n`)
    const pruned = await node.cli(['image', 'prune'])
    expect(pruned.code).toBe(0)
    expect(pruned.stderr).toMatch(/^removed \d+ blobs and \d+ unpacked roots?, /)
    // What is left is exactly what the remaining images use.
    const used = new Set((await images()).flatMap(i => [i.digest, i.manifest, i.config, ...i.layers.map((l: any) => l.digest)]).map(d => d.slice(7)))
    expect(readdirSync(join(node.data, 'content', 'sha256')).sort()).toEqual([...used].sort())
    expect((await node.cli(['rmi', `${registry.host}/multi`])).stderr.trim()).toBe(`aurae: no image ${registry.host}/multi:latest`)
  })
})

describe('a registry that demands credentials', () => {
  const user = { name: 'ci', password: 'hunter2' }
  let registry: TestRegistry
  let node: TestNode
  beforeAll(async () => {
    registry = await startRegistry(user)
    pushAs(user)
    node = await startNode('authed')
  })
  afterAll(async () => {
    pushAs(undefined)
    await node?.stop()
    registry?.stop()
  })

  it('is refused without a login and pulls after aurae login', async () => {
    await pushImage(registry.host, 'private', 'latest', [await busyboxLayer()])
    const refused = await node.cli(['pull', `${registry.host}/private`])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain(`${registry.host} needs credentials; run: aurae login ${registry.host}`)
    const login = await node.cli(['login', registry.host, '--username', user.name, '--password-stdin'], { input: `${user.password}\n` })
    expect(login.code).toBe(0)
    expect((await node.cli(['pull', `${registry.host}/private`])).code).toBe(0)
  })

  it('checks a login against the registry: a wrong password is refused in one line and the good credentials stay', async () => {
    const stored = readFileSync(join(node.data, 'auth.json'), 'utf8')
    const wrong = await node.cli(['login', registry.host, '--username', user.name, '--password-stdin'], { input: 'wrong\n' })
    expect(wrong).toEqual({ code: 1, stdout: '', stderr: `aurae: ${registry.host} refused the credentials of ci\n` })
    const stranger = await node.cli(['login', registry.host, '--username', 'mallory', '--password-stdin'], { input: `${user.password}\n` })
    expect(stranger).toEqual({ code: 1, stdout: '', stderr: `aurae: ${registry.host} refused the credentials of mallory\n` })
    expect(readFileSync(join(node.data, 'auth.json'), 'utf8')).toBe(stored)
    expect((await node.cli(['rmi', `${registry.host}/private`])).code).toBe(0)
    expect((await node.cli(['pull', `${registry.host}/private`])).code).toBe(0)
  })

  it('says so in one line when the registry cannot be reached, storing nothing', async () => {
    const stored = readFileSync(join(node.data, 'auth.json'), 'utf8')
    const res = await node.cli(['login', '127.0.0.1:1', '--username', user.name, '--password-stdin'], { input: `${user.password}\n` })
    expect(res.code).toBe(1)
    expect(res.stderr).toMatch(/^aurae: cannot reach http:\/\/127\.0\.0\.1:1: [^\n]+\n$/)
    expect(readFileSync(join(node.data, 'auth.json'), 'utf8')).toBe(stored)
  })
})
