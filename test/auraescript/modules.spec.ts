import { describe, expect, it } from 'vitest'
import { MODULES, sdkModuleOf } from '../../src/auraescript/modules.ts'

describe('which imports are AuraeScript\'s modules', () => {
  it('takes the original\'s paths with any prefix, with or without .ts, and auraescript/<name>', () => {
    for (const [specifier, name] of [
      ['../auraescript/gen/cells.ts', 'cells'],
      ['../../aurae/auraescript/gen/aurae', 'aurae'],
      ['/opt/aurae/auraescript/gen/grpc_health.ts', 'grpc_health'],
      ['../auraescript/aurae.ts', 'aurae'],
      ['auraescript/workload_cells', 'workload_cells'],
      ['../auraescript/gen/runtime.ts', 'runtime']
    ]) expect({ specifier, name: sdkModuleOf(specifier) }).toEqual({ specifier, name })
  })

  it('leaves every other import alone, a script\'s own auraescript/ folder included', () => {
    for (const specifier of ['./cells.ts', 'node:fs', 'esbuild', './auraescript/helpers.ts', '../auraescript/gen/sub/cells.ts', '../my-auraescript/gen/cells.ts']) {
      expect({ specifier, name: sdkModuleOf(specifier) }).toEqual({ specifier, name: undefined })
    }
  })

  it('has the original\'s six modules and the node\'s own under names of their own', () => {
    expect(Object.keys(MODULES)).toEqual(expect.arrayContaining(['aurae', 'cells', 'discovery', 'observe', 'vms', 'grpc_health', 'workloads', 'workload_cells', 'node', 'node_observe', 'images', 'mesh']))
    expect(MODULES.runtime).toBeUndefined()
  })
})
