import { busyboxLayer, pushImage, startRegistry } from '../helpers/registry.ts'
import { driverCompliance } from '../compliance/driver.ts'

// A VM boots busybox from a registry on 127.0.0.1 (qemu, software emulation here), sees the shared directory over
// virtiofs, and reports its end as a container does: a SIGKILL, of its workload or of the VM, is 137.
driverCompliance({
  kind: 'vm',
  // Each start is a boot: seconds under software emulation, more on a loaded machine.
  patienceMs: 60_000,
  setup: async () => {
    const registry = await startRegistry()
    await pushImage(registry.host, 'compliance', 'latest', [await busyboxLayer()], { config: { Env: ['PATH=/bin'] } })
    const image = `${registry.host}/compliance`
    return {
      start: (name, argv, flags = []) => ['run', '--vm', image, '--name', name, ...flags, '--', ...argv],
      inside: () => '/shared',
      share: host => ['-v', `${host}:/shared`],
      killed: { exitCode: 137, signal: null },
      close: async () => registry.stop()
    }
  }
})
