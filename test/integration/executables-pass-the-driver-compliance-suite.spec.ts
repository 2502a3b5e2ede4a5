import { driverCompliance } from '../compliance/driver.ts'

// An executable sees the host's files (the shared directory is outside daemon space) and dies by the signal itself.
driverCompliance({
  kind: 'executable',
  setup: async () => ({
    start: (name, argv, flags = []) => ['exec', name, ...flags, '--', ...argv],
    inside: host => host,
    share: () => [],
    killed: { exitCode: null, signal: 'SIGKILL' },
    close: async () => {}
  })
})
