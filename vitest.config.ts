import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.spec.ts'],
    pool: 'forks',
    // Integration tests start real daemons and workloads; two at a time fits two cores.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // No test reaches the machine's own node: a CLI call that names no socket fails here instead of using /run/aurae.sock.
    env: { AURAE_SOCK: '/nonexistent/tests-name-their-own-socket.sock' }
  }
})
