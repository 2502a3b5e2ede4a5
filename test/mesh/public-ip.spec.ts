import { afterEach, describe, expect, it } from 'vitest'
import { isLinkLocalIp, isLoopbackIp, isPublicIp, sameIp } from '../../src/mesh/public-ip.ts'

describe('isPublicIp', () => {
  afterEach(() => { delete process.env.AURAE_TEST_PUBLIC_RANGES })

  it.each([
    ['10.1.2.3', false], ['172.16.0.1', false], ['172.31.255.255', false], ['172.32.0.1', true], ['192.168.1.1', false],
    ['100.64.0.1', false], ['100.127.255.254', false], ['100.128.0.1', true], ['127.0.0.1', false], ['169.254.1.1', false],
    ['0.0.0.0', false], ['8.8.8.8', true], ['192.0.2.7', true], ['203.0.113.9', true],
    ['::1', false], ['::', false], ['fe80::1', false], ['fd12:3456::1', false], ['fc00::1', false], ['2001:db8::1', true],
    ['::ffff:10.0.0.1', false], ['::ffff:8.8.8.8', true], ['not an ip', false], ['', false]
  ])('%s is public: %s', (ip, expected) => {
    expect(isPublicIp(ip)).toBe(expected)
  })

  it('counts the test-only ranges as public, and only those', () => {
    process.env.AURAE_TEST_PUBLIC_RANGES = '10.213.0.0/16, 192.168.7.0/24,fd00::/8'
    expect(isPublicIp('10.213.4.5')).toBe(true)
    expect(isPublicIp('192.168.7.2')).toBe(true)
    expect(isPublicIp('fd00::5')).toBe(true)
    expect(isPublicIp('10.214.0.1')).toBe(false)
    expect(isPublicIp('192.168.8.2')).toBe(false)
  })

  it('reads the setting again when it changes, and skips entries that are not CIDRs', () => {
    process.env.AURAE_TEST_PUBLIC_RANGES = '10.1.0.0/16'
    expect(isPublicIp('10.1.0.1')).toBe(true)
    process.env.AURAE_TEST_PUBLIC_RANGES = 'garbage,10.2.0.0/99,10.3.0.0,10.4.0.0/x,/8,10.5.0.0/16'
    expect(isPublicIp('10.1.0.1')).toBe(false)
    expect(isPublicIp('10.2.0.1')).toBe(false)
    expect(isPublicIp('10.3.0.1')).toBe(false)
    expect(isPublicIp('10.5.0.1')).toBe(true)
  })
})

describe('loopback, link-local and one spelling per address', () => {
  it('knows loopback and link-local in both families', () => {
    expect([isLoopbackIp('127.3.4.5'), isLoopbackIp('::1'), isLoopbackIp('::ffff:127.0.0.1'), isLoopbackIp('10.0.0.1')]).toEqual([true, true, true, false])
    expect([isLinkLocalIp('169.254.9.9'), isLinkLocalIp('fe80::1'), isLinkLocalIp('febf::1'), isLinkLocalIp('fec0::1')]).toEqual([true, true, true, false])
  })

  it('compares IPv4-mapped IPv6 with plain IPv4, and IPv6 without regard to case', () => {
    expect(sameIp('::ffff:10.0.0.1', '10.0.0.1')).toBe(true)
    expect(sameIp('FE80::1', 'fe80::1')).toBe(true)
    expect(sameIp('10.0.0.1', '10.0.0.2')).toBe(false)
  })
})
