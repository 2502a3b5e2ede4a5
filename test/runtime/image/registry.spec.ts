import { describe, expect, it } from 'vitest'
import { Registry } from '../../../src/runtime/image/registry.ts'

describe('registry endpoints', () => {
  const registry = new Registry({
    mirrors: { 'docker.io': ['http://127.0.0.1:5000/', 'https://mirror.example.com'] },
    insecure: ['registry.lan:5000'],
    auth: {}
  })

  it('tries the mirrors first, then Docker Hub under its API host', () => {
    expect(registry.endpoints('docker.io')).toEqual(['http://127.0.0.1:5000', 'https://mirror.example.com', 'https://registry-1.docker.io'])
  })

  it('speaks plain HTTP only to registries named insecure and to loopback addresses', () => {
    expect(registry.endpoints('registry.lan:5000')).toEqual(['http://registry.lan:5000'])
    expect(registry.endpoints('registry.lan:5001')).toEqual(['https://registry.lan:5001'])
    expect(registry.endpoints('localhost:5000')).toEqual(['http://localhost:5000'])
    expect(registry.endpoints('127.0.0.1:5000')).toEqual(['http://127.0.0.1:5000'])
    expect(registry.endpoints('[::1]:5000')).toEqual(['http://[::1]:5000'])
    expect(registry.endpoints('ghcr.io')).toEqual(['https://ghcr.io'])
  })
})
