import { describe, expect, it } from 'vitest'
import { familiarImageName, formatImageReference, isLoopbackRegistry, parseImageReference } from '../../src/common/image-reference.ts'

const D = 'sha256:' + 'a1'.repeat(32)

describe('image references', () => {
  it.each([
    ['nginx', 'docker.io/library/nginx:latest', 'nginx:latest'],
    ['nginx:1.27', 'docker.io/library/nginx:1.27', 'nginx:1.27'],
    ['library/nginx', 'docker.io/library/nginx:latest', 'nginx:latest'],
    ['docker.io/nginx', 'docker.io/library/nginx:latest', 'nginx:latest'],
    ['index.docker.io/library/nginx:1', 'docker.io/library/nginx:1', 'nginx:1'],
    ['user/app', 'docker.io/user/app:latest', 'user/app:latest'],
    ['ghcr.io/org/team/app:v2.0.1', 'ghcr.io/org/team/app:v2.0.1', 'ghcr.io/org/team/app:v2.0.1'],
    ['127.0.0.1:5000/busybox', '127.0.0.1:5000/busybox:latest', '127.0.0.1:5000/busybox:latest'],
    ['localhost/app:dev', 'localhost/app:dev', 'localhost/app:dev'],
    ['localhost:5000/a/b', 'localhost:5000/a/b:latest', 'localhost:5000/a/b:latest'],
    [`nginx@${D}`, `docker.io/library/nginx@${D}`, `nginx@${D}`],
    [`nginx:1.27@${D}`, `docker.io/library/nginx:1.27@${D}`, `nginx:1.27@${D}`],
    ['my-app/x.y-z__w', 'docker.io/my-app/x.y-z__w:latest', 'my-app/x.y-z__w:latest']
  ])('%s is %s', (text, full, familiar) => {
    const ref = parseImageReference(text)
    expect(formatImageReference(ref)).toBe(full)
    expect(familiarImageName(ref)).toBe(familiar)
  })

  it('splits the parts', () => {
    expect(parseImageReference(`127.0.0.1:5000/team/app:1@${D}`)).toEqual({ registry: '127.0.0.1:5000', repository: 'team/app', tag: '1', digest: D })
  })

  it.each([
    ['', /empty/],
    ['Nginx', /must be lowercase/],
    ['nginx:', /the tag ""/],
    ['nginx:-bad', /the tag "-bad"/],
    ['nginx@sha256:abc', /the digest/],
    ['nginx@md5:' + 'a'.repeat(32), /the digest/],
    ['a//b', /must be lowercase/],
    ['bad host!/app', /must be lowercase|is not a registry host/],
    ['../etc/passwd', /is not a registry host/],
    ['my_app.v2/x', /is not a registry host/]
  ])('refuses %j', (text, message) => {
    expect(() => parseImageReference(text)).toThrow(message)
  })

  it('knows which registries are plain HTTP by default', () => {
    expect(isLoopbackRegistry('127.0.0.1:5000')).toBe(true)
    expect(isLoopbackRegistry('localhost')).toBe(true)
    expect(isLoopbackRegistry('[::1]:5000')).toBe(true)
    expect(isLoopbackRegistry('docker.io')).toBe(false)
    expect(isLoopbackRegistry('127.example.com')).toBe(false)
  })
})
