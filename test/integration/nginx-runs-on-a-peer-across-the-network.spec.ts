import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TestNet } from '../helpers/netns.ts'
import { peeredPair, type PeeredPair } from '../helpers/peered-pair.ts'
import { run, until, workload, type TestNode } from '../helpers/node.ts'
import { nginxLayer, pushImage, startRegistry, type TestRegistry } from '../helpers/registry.ts'

/** The page at `url` as a client on host `ns` gets it, or undefined while nothing answers. */
async function fetchFrom (ns: string, url: string): Promise<string | undefined> {
  const script = `fetch(${JSON.stringify(url)}, { signal: AbortSignal.timeout(2000) }).then(async r => { if (!r.ok) process.exit(2); process.stdout.write(await r.text()) }, () => process.exit(1))`
  const res = await run('ip', ['netns', 'exec', ns, process.execPath, '-e', script])
  return res.code === 0 ? res.stdout : undefined
}

// The README's walk-through: alice runs nginx on emily, and emily's address serves its page.
describe('nginx runs on a peer across the network', () => {
  let registry: TestRegistry
  let pair: PeeredPair | undefined
  let net: TestNet
  let alice: TestNode
  let emily: TestNode
  beforeAll(async () => {
    registry = await startRegistry()
    await pushImage(registry.host, 'nginx', 'latest', [await nginxLayer('<h1>nginx on emily</h1>\n')], { config: { Cmd: ['/usr/sbin/nginx'] } })
    pair = await peeredPair(registry)
    ;({ net, alice, emily } = pair)
  })
  afterAll(async () => {
    try {
      await pair?.stop()
    } finally {
      registry?.stop()
    }
  })

  it('aurae run nginx@emily -p 8080:80 -d on alice; alice gets the page from emily\'s address', async () => {
    const image = `${pair?.inside.host ?? ''}/nginx`
    expect(await alice.cli(['run', `${image}@emily`, '-p', '8080:80', '-d'])).toEqual({ code: 0, stdout: 'nginx\n', stderr: '' })
    const page = await until('nginx on emily to answer alice', async () => await fetchFrom(net.ns('alice'), `http://${net.addr('emily')}:8080/`))
    expect(page).toBe('<h1>nginx on emily</h1>\n')
    expect(await workload(emily, 'nginx')).toMatchObject({ kind: 'container', state: 'running' })
    expect(await workload(alice, 'nginx')).toBeUndefined()
    expect(JSON.parse((await alice.cli(['images', '@emily', '--json'])).stdout).map((i: any) => i.name)).toEqual([`${image}:latest`])
    await until('the request in nginx\'s log', async () => (await alice.cli(['logs', 'nginx@emily'])).stdout.includes('"GET / HTTP/1.1" 200'))

    expect((await alice.cli(['stop', 'nginx@emily'])).code).toBe(0)
    expect(await fetchFrom(net.ns('alice'), `http://${net.addr('emily')}:8080/`)).toBeUndefined()
    expect((await alice.cli(['rm', 'nginx@emily'])).code).toBe(0)
  })
})
