// A fixture image that behaves like the official redis one, built from Debian's busybox: a non-root User, a
// StopSignal, a Volumes entry, a server that listens on 6379 (busybox httpd serving /data) and stops on its stop signal and a redis-cli that pings it.
import { readFileSync } from 'node:fs'
import { layerTar } from './oci-layout.ts'
import { pushImage } from './registry.ts'

const APPLETS = ['sh', 'echo', 'cat', 'ls', 'sleep', 'true', 'id', 'httpd', 'hostname', 'pwd', 'readlink', 'setpriv', 'chown', 'env', 'wget']
// redis-cli's ping, asked of the server as the real one does: PONG is its answer.
const REDIS_CLI = '#!/bin/sh\n[ "$1" = ping ] || { echo "(error) only ping here" >&2; exit 1; }\nexec wget -qO- http://127.0.0.1:6379/\n'

/** The uid and gid of the image's `redis` user. */
export const REDIS_UID = 999

/** Pushes `repo:latest` to the registry: User redis, StopSignal SIGINT, Volumes /data, env and workdir of its own. */
export async function pushRedisLike (registryHost: string, repo = 'redis'): Promise<void> {
  const layer = await layerTar([
    { name: 'bin/' },
    { name: 'bin/busybox', body: readFileSync('/bin/busybox'), mode: 0o755 },
    ...APPLETS.map(a => ({ name: `bin/${a}`, linkname: 'busybox' })),
    { name: 'bin/redis-cli', body: REDIS_CLI, mode: 0o755 },
    { name: 'etc/' },
    { name: 'etc/passwd', body: `root:x:0:0:root:/root:/bin/sh\nredis:x:${REDIS_UID}:${REDIS_UID}::/data:/bin/sh\n` },
    { name: 'etc/group', body: `root:x:0:\nredis:x:${REDIS_UID}:\n` },
    { name: 'data/', mode: 0o777 },
    { name: 'data/index.html', body: 'PONG\n' },
    { name: 'tmp/', mode: 0o1777 }
  ])
  await pushImage(registryHost, repo, 'latest', [layer], {
    config: {
      User: 'redis',
      Env: ['PATH=/bin', 'REDIS_VERSION=7.2.4'],
      WorkingDir: '/data',
      Volumes: { '/data': {} },
      StopSignal: 'SIGINT',
      ExposedPorts: { '6379/tcp': {} },
      // As redis-server, it shuts down on its stop signal (a PID 1 without a handler would ignore it).
      Cmd: ['sh', '-c', 'httpd -f -p 6379 -h /data & trap "kill $!; exit 0" INT TERM; wait']
    }
  })
}
