import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { busyboxLayer, pushAs, pushImage, startTokenRegistry, type PushedImage, type TokenRegistry } from '../helpers/registry.ts'
import { startNode, type TestNode } from '../helpers/node.ts'

describe('a registry that hands out bearer tokens', () => {
  const user = { name: 'ci', password: 'hunter2' }
  let registry: TokenRegistry
  let node: TestNode
  let pushed: PushedImage
  let image: string
  beforeAll(async () => {
    registry = await startTokenRegistry(user)
    image = `${registry.host}/team/busybox`
    pushAs(user)
    pushed = await pushImage(registry.host, 'team/busybox', 'latest', [await busyboxLayer()])
    node = await startNode('bearer')
  })
  afterAll(async () => {
    pushAs(undefined)
    await node?.stop()
    registry?.stop()
  })

  it('checks the tokens it is given, so what follows means something', async () => {
    // The push above traded ci's password for a pull+push token on the repository it named (the registry
    // lists the actions in Go map order, so either way round).
    expect(registry.tokenRequests.at(-1)).toMatchObject({ service: registry.service, scope: expect.stringMatching(/^repository:team\/busybox:(pull,push|push,pull)$/), user: 'ci', status: 200 })
    const manifest = `http://${registry.host}/v2/team/busybox/manifests/latest`
    const uploads = `http://${registry.host}/v2/team/busybox/blobs/uploads/`
    const accept = 'application/vnd.oci.image.manifest.v1+json'
    expect((await fetch(manifest, { headers: { accept } })).status).toBe(401)
    const realm = `${registry.realm}?service=${registry.service}&scope=repository:team/busybox:pull`
    const { token } = await (await fetch(realm, { headers: { authorization: `Basic ${Buffer.from(`${user.name}:${user.password}`).toString('base64')}` } })).json() as { token: string }
    expect((await fetch(manifest, { headers: { authorization: `Bearer ${token}`, accept } })).status).toBe(200)
    // A pull-only token does not let its holder push, nor does rewriting its claims (the signature no longer holds).
    expect((await fetch(uploads, { method: 'POST', headers: { authorization: `Bearer ${token}` } })).status).toBe(401)
    const [header, claims, signature] = token.split('.')
    const escalated = JSON.parse(Buffer.from(claims, 'base64url').toString())
    escalated.access[0].actions = ['pull', 'push']
    const forged = `${header}.${Buffer.from(JSON.stringify(escalated)).toString('base64url')}.${signature}`
    expect((await fetch(uploads, { method: 'POST', headers: { authorization: `Bearer ${forged}` } })).status).toBe(401)
    expect((await fetch(manifest, { headers: { authorization: `Bearer ${forged}`, accept } })).status).toBe(401)
  })

  it('refuses an anonymous pull in one line that says how to log in', async () => {
    registry.tokenRequests.length = 0
    const res = await node.cli(['pull', image])
    expect(res.code).toBe(1)
    expect(res.stdout).toBe('')
    expect(res.stderr).toBe(`aurae: cannot pull ${image}:latest: ${registry.host} needs credentials; run: aurae login ${registry.host}\n`)
    // The client asked the realm for exactly what it needed, for this registry's service, without credentials.
    expect(registry.tokenRequests).toEqual([{ service: registry.service, scope: 'repository:team/busybox:pull', user: undefined, status: 401 }])
  })

  it('refuses a wrong password at login in one line, asking the realm, and stores nothing', async () => {
    registry.tokenRequests.length = 0
    const res = await node.cli(['login', registry.host, '--username', user.name, '--password-stdin'], { input: 'wrong\n' })
    expect(res).toEqual({ code: 1, stdout: '', stderr: `aurae: ${registry.host} refused the credentials of ci\n` })
    expect(registry.tokenRequests).toEqual([{ service: registry.service, scope: null, user: 'ci', status: 401 }])
    expect(existsSync(join(node.data, 'auth.json'))).toBe(false)
    const pull = await node.cli(['pull', image])
    expect(pull.stderr).toBe(`aurae: cannot pull ${image}:latest: ${registry.host} needs credentials; run: aurae login ${registry.host}\n`)
  })

  it('says which stored credentials the registry no longer takes at a pull', async () => {
    // As after the password was changed on the registry's side.
    writeFileSync(join(node.data, 'auth.json'), JSON.stringify({ [registry.host]: { username: user.name, password: 'stale' } }), { mode: 0o600 })
    registry.tokenRequests.length = 0
    const res = await node.cli(['pull', image])
    expect(res.code).toBe(1)
    expect(res.stderr).toBe(`aurae: cannot pull ${image}:latest: ${registry.host} refused the credentials of ci; run: aurae login ${registry.host}\n`)
    expect(registry.tokenRequests).toEqual([{ service: registry.service, scope: 'repository:team/busybox:pull', user: 'ci', status: 401 }])
  })

  it('pulls after aurae login with one pull-only token, and lists the image', async () => {
    const login = await node.cli(['login', registry.host, '--username', user.name, '--password-stdin'], { input: `${user.password}\n` })
    expect(login.code).toBe(0)
    registry.tokenRequests.length = 0
    const res = await node.cli(['pull', image])
    expect(res.code).toBe(0)
    expect(res.stdout).toBe(`${image}:latest\n${pushed.manifest}\n`)
    // One token for the manifest, reused for the config and layer; granted pull only, as asked.
    expect(registry.tokenRequests).toEqual([{
      service: registry.service,
      scope: 'repository:team/busybox:pull',
      user: 'ci',
      status: 200,
      granted: [{ type: 'repository', name: 'team/busybox', actions: ['pull'] }]
    }])
    const images = JSON.parse((await node.cli(['images', '--json'])).stdout)
    expect(images).toEqual([expect.objectContaining({ name: `${image}:latest`, digest: pushed.manifest, config: pushed.config })])
  })

  it('runs a container from it, pulling again through a fresh token', async () => {
    expect((await node.cli(['rmi', image])).code).toBe(0)
    registry.tokenRequests.length = 0
    const res = await node.cli(['run', image, '--rm', '--', 'sh', '-c', 'echo ok'])
    expect(res).toEqual({ code: 0, stdout: 'ok\n', stderr: '' })
    expect(registry.tokenRequests).toMatchObject([{ service: registry.service, scope: 'repository:team/busybox:pull', user: 'ci', status: 200 }])
  })
})
