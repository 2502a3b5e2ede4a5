import { describe, expect, it } from 'vitest'
import { assertWorkloadName, formatNodeName, isNodeName, parseName, parseNodeName } from '../../src/names/parse.ts'

const DIGEST = 'sha256:' + 'ab'.repeat(32)

describe('parseName', () => {
  it.each([
    ['nginx', { entity: 'nginx', peer: '', domain: '' }],
    ['nginx@emily', { entity: 'nginx', peer: 'emily', domain: '' }],
    ['nginx@emily@example.org', { entity: 'nginx', peer: 'emily', domain: 'example.org' }],
    ['docker.io/library/nginx:1.27@emily', { entity: 'docker.io/library/nginx:1.27', peer: 'emily', domain: '' }],
    [`nginx@${DIGEST}`, { entity: `nginx@${DIGEST}`, peer: '', domain: '' }],
    [`nginx@${DIGEST}@emily`, { entity: `nginx@${DIGEST}`, peer: 'emily', domain: '' }],
    [`nginx@${DIGEST}@emily@nivenly.com`, { entity: `nginx@${DIGEST}`, peer: 'emily', domain: 'nivenly.com' }],
    ['@emily', { entity: '', peer: 'emily', domain: '' }]
  ])('%s', (text, name) => {
    expect(parseName(text)).toEqual(name)
  })

  it.each([
    ['a@b@c.d@e', /expected entity@peer@domain at most/],
    ['nginx@Emily', /invalid peer name "Emily"/],
    ['nginx@emily.example.org', /invalid peer name "emily.example.org"/],
    ['nginx@emily@example..org', /invalid domain "example..org"/],
    ['nginx@emily@-bad.org', /invalid domain "-bad.org"/],
    ['nginx@', /invalid peer name ""/]
  ])('refuses %s', (text, message) => {
    expect(() => parseName(text)).toThrow(message)
    try { parseName(text) } catch (err: any) { expect(err.name).toBe('InvalidArgumentError') }
  })
})

describe('parseNodeName', () => {
  it.each([
    ['alice', { peer: 'alice', domain: '' }],
    ['alice@example.org', { peer: 'alice', domain: 'example.org' }],
    ['node-7@nivenly.com', { peer: 'node-7', domain: 'nivenly.com' }]
  ])('%s', (text, name) => {
    expect(parseNodeName(text)).toEqual(name)
  })

  it.each(['Alice', 'alice@', '-alice', 'a'.repeat(64), 'alice@bad_domain.org', ''])('refuses %j', text => {
    expect(() => parseNodeName(text)).toThrow(/invalid (peer name|domain)/)
  })
})

describe('names other nodes send', () => {
  it.each([['alice', ''], ['alice', 'example.org'], ['a-1', 'x.y.z']])('accepts %j @ %j', (peer, domain) => {
    expect(isNodeName(peer, domain)).toBe(true)
  })

  it.each([['', ''], ['bo\x1b[31mb', ''], ['a'.repeat(64), ''], ['../../etc', '../'], ['a/b', ''], ['bob', 'exa\x07mple.org'], ['bob', 'a.'.repeat(127) + 'org']])('refuses %j @ %j', (peer, domain) => {
    expect(isNodeName(peer, domain)).toBe(false)
  })
})

describe('workload names', () => {
  it.each(['web', 'web-1', 'a.b_c', 'X'.repeat(128)])('accepts %s', name => {
    expect(assertWorkloadName(name)).toBe(name)
  })

  it.each(['', '-web', 'we b', 'a/b', 'x'.repeat(129), '../etc'])('refuses %j', name => {
    expect(() => assertWorkloadName(name)).toThrow(/invalid workload name/)
  })

  it('formats node names with and without a domain', () => {
    expect(formatNodeName('alice', '')).toBe('alice')
    expect(formatNodeName('alice', 'example.org')).toBe('alice@example.org')
  })
})
