import { busyboxLayer, layerTar, pushImage, startRegistry } from '../helpers/registry.ts'
import { driverCompliance } from '../compliance/driver.ts'

// A container runs busybox from a registry on 127.0.0.1, sees the shared directory as a volume, and reports a
// SIGKILL of its process as its runtime does.
driverCompliance({
  kind: 'container',
  setup: async () => {
    const registry = await startRegistry()
    await pushImage(registry.host, 'compliance', 'latest', [await busyboxLayer()], { config: { Env: ['PATH=/bin'] } })
    const image = `${registry.host}/compliance`
    return {
      start: (name, argv, flags = []) => ['run', image, '--name', name, ...flags, '--', ...argv],
      inside: () => '/shared',
      share: host => ['-v', `${host}:/shared`],
      killed: { exitCode: 137, signal: null },
      close: async () => registry.stop()
    }
  }
})
