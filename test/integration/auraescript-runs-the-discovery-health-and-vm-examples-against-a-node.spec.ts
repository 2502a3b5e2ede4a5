// The examples in examples/ that need no cell service, run by the real auraescript bin against a real node on its
// owner-only socket: what each prints and how it exits; and a server stream read as an async iterable, left early.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runScript } from '../helpers/auraescript.ts'
import { ROOT, startNode, type TestNode } from '../helpers/node.ts'

const VERSION = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version

describe('auraescript runs the discovery, health and VM examples against a node', () => {
  let node: TestNode
  const home = mkdtempSync(join(tmpdir(), 'auraescript-examples-'))
  const example = async (name: string, args: string[] = []): Promise<Awaited<ReturnType<typeof runScript>>> =>
    await runScript(join(ROOT, 'examples', `${name}.ts`), args, home, { AURAE_SOCK: node.sock })
  beforeAll(async () => { node = await startNode('alice@example.org') })
  afterAll(async () => {
    await node?.stop()
    rmSync(home, { recursive: true, force: true })
  })

  it('discovery_discover: the node is healthy, and its version', async () => {
    expect(await example('discovery_discover')).toEqual({ code: 0, stdout: `{\n  "healthy": true,\n  "version": "${VERSION}"\n}\n`, stderr: '' })
  })

  it('grpc_health: the node and a service are serving; an unknown service is NOT_FOUND, which the script catches', async () => {
    const res = await example('grpc_health')
    expect(res.code).toBe(0)
    expect(res.stderr).toBe('')
    expect(res.stdout).toMatch(/^Overall: SERVING\naurae\.cells\.v0\.CellService: SERVING\naurae\.discovery\.v0\.DiscoveryService: SERVING\naurae\.cells\.v0\.UnknownService:\nNOT_FOUND .*aurae\.cells\.v0\.UnknownService.*\n$/)
  })

  it('vms_list: a node with no VMs lists none', async () => {
    expect(await example('vms_list')).toEqual({ code: 0, stdout: '0 VMs\n', stderr: '' })
  })

  it('reads a server stream (Health.Watch) as an async iterable, and ends when the script leaves it', async () => {
    const file = join(home, 'watch.ts')
    writeFileSync(file, `import * as aurae from "../auraescript/gen/aurae.ts";
import * as grpc_health from "../auraescript/gen/grpc_health.ts";
const health = new grpc_health.HealthClient(aurae.createClient());
for await (const seen of health.watch(<grpc_health.HealthCheckRequest>{ service: "aurae.vms.v0.VmService" })) {
  aurae.print("watch:", seen.status === grpc_health.HealthCheckResponse_ServingStatus.SERVING ? "SERVING" : seen.status);
  break;
}
`)
    expect(await runScript(file, [], home, { AURAE_SOCK: node.sock })).toEqual({ code: 0, stdout: 'watch: SERVING\n', stderr: '' })
  })
})
