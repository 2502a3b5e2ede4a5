import { randomBytes } from 'node:crypto'
import { readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { memoryImage, serveImage, startHostileRegistry, type HostileRegistry } from '../helpers/hostile-registry.ts'
import { layerTar } from '../helpers/oci-layout.ts'
import { isAlive, startNode, until, type TestNode } from '../helpers/node.ts'

describe('a registry that drips its bytes', () => {
  let registry: HostileRegistry
  let node: TestNode
  const ingest = (): string[] => readdirSync(join(node.data, 'content', 'ingest'))
  const images = async (): Promise<string[]> => JSON.parse((await node.cli(['images', '--json'])).stdout).map((i: any) => i.name)
  /** Serves `repo` whose one layer is sent a byte at a time, well inside the idle timeout; says what the server saw. */
  const dripping = async (repo: string): Promise<{ layer: string, sent: () => number, closed: () => boolean }> => {
    const image = memoryImage([await layerTar([{ name: 'noise', body: randomBytes(64 * 1024) }])])
    serveImage(registry, repo, 'latest', image)
    const layer = image.manifest.layers[0].digest as string
    const body = image.blobs.get(layer) as Buffer
    let sent = 0
    let closed = false
    registry.on(`/v2/${repo}/blobs/${layer}`, (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length })
      const drip = setInterval(() => { if (sent < body.length) res.write(body.subarray(sent, ++sent)) }, 50)
      res.on('close', () => { closed = true; clearInterval(drip) })
    })
    return { layer, sent: () => sent, closed: () => closed }
  }
  beforeAll(async () => {
    registry = await startHostileRegistry()
    node = await startNode('patient')
  })
  afterAll(async () => {
    await node?.stop()
    await registry?.stop()
  })

  it('cannot hold a pull past its deadline: the pull fails saying so and how much had arrived', async () => {
    // A deadline of a second plus the size at 100 kB/s, set per node (the default is 60 s plus 64 KiB/s).
    writeFileSync(join(node.data, 'registries.json'), JSON.stringify({ pull: { baseSeconds: 1, minBytesPerSecond: 100_000 } }))
    const { layer, closed } = await dripping('slow')
    const res = await node.cli(['pull', `${registry.host}/slow`])
    expect(res.code).toBe(1)
    expect(res.stderr.trim().split('\n').pop()).toMatch(new RegExp(`^aurae: cannot pull ${registry.host}/slow:latest: blob ${layer} from http://${registry.host} missed its deadline of 2 s \\(\\d+ of \\d+ bytes had arrived\\)$`))
    await until('the registry to see its connection closed', closed)
    expect(ingest()).toEqual([])
    expect(await images()).toEqual([])
  })

  it('refuses pull settings that make no sense, saying which', async () => {
    writeFileSync(join(node.data, 'registries.json'), JSON.stringify({ pull: { baseSeconds: -1 } }))
    const res = await node.cli(['pull', `${registry.host}/slow`])
    expect(res.code).toBe(1)
    expect(res.stderr.trim()).toBe(`aurae: ${join(node.data, 'registries.json')}: pull.baseSeconds must be a positive number`)
  })

  /** Starts `args` (which pull `repo`), kills the CLI once the layer is under way, and checks the pull ended with it. */
  const abandon = async (repo: string, args: string[]): Promise<void> => {
    writeFileSync(join(node.data, 'registries.json'), '{}')
    const { sent, closed } = await dripping(repo)
    const cli = node.spawnCli(args, { stdio: 'ignore' })
    try {
      await until('the layer to be under way', () => sent() > 0 && ingest().length > 0)
      cli.kill('SIGKILL')
      await until('the registry to see its connection closed', closed)
      await until('the half-written blob to be gone', () => ingest().length === 0)
      expect(await images()).toEqual([])
    } finally {
      if (cli.pid !== undefined && isAlive(cli.pid)) cli.kill('SIGKILL')
    }
  }

  it('cannot keep a pull going once its client has gone: the connection closes and nothing half-written stays', async () => {
    await abandon('abandoned', ['pull', `${registry.host}/abandoned`])
    expect((await node.cli(['status'])).code).toBe(0)
  })

  it('cannot keep a pull going that a run started once the run\'s client has gone', async () => {
    // Off a terminal the CLI asks for the run at once, and the daemon pulls what the run needs.
    await abandon('abandoned-run', ['run', '--name', 'never', `${registry.host}/abandoned-run`, '--', 'true'])
    const never = JSON.parse((await node.cli(['ps', '--all', '--json'])).stdout).find((w: any) => w.name === 'never')
    expect(never).toMatchObject({ state: 'exited', exitCode: 125, error: expect.stringMatching(/the client went away$/) })
  })
})
