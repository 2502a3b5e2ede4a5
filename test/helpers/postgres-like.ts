// A fixture image that starts as the official postgres one does: no User, an entrypoint script that runs as root,
// makes its data directory (a Volumes entry) belong to `postgres` and runs itself again as that user (Debian's
// setpriv in gosu's place, by its path: Debian's static busybox runs its own applet for a bare name), then a server
// that answers SIGINT (its StopSignal) with a clean shutdown.
import { readFileSync } from 'node:fs'
import { binaryEntries, layerTar } from './oci-layout.ts'
import { pushImage } from './registry.ts'

const APPLETS = ['sh', 'echo', 'cat', 'ls', 'sleep', 'true', 'id', 'chown', 'chmod', 'mkdir', 'rm', 'stat', 'touch', 'env', 'hostname']

/** The uid and gid of the image's `postgres` user. */
export const POSTGRES_UID = 999

/** Where the image keeps its data: its Volumes entry. */
export const PGDATA = '/var/lib/postgresql/data'

// As docker-entrypoint.sh: as root, prepare the data directory and drop to postgres; as postgres, initialise once.
const ENTRYPOINT = `#!/bin/sh
set -e
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA"
  chown -R postgres:postgres "$PGDATA"
  chmod 700 "$PGDATA"
  exec /usr/bin/setpriv --reuid=postgres --regid=postgres --clear-groups "$0" "$@"
fi
if [ ! -s "$PGDATA/PG_VERSION" ]; then echo 16 > "$PGDATA/PG_VERSION"; echo "initialized $PGDATA"; fi
exec "$@"
`

// The server: SIGINT is postgres's fast shutdown; SIGTERM waits for clients that never leave.
const SERVER = `#!/bin/sh
trap 'echo fast shutdown; rm -f "$PGDATA/postmaster.pid"; exit 0' INT
trap 'echo smart shutdown requested' TERM
echo $$ > "$PGDATA/postmaster.pid"
echo "running as $(id -un)"
getent hosts localhost
echo ready
while :; do sleep 0.1; done
`

/** Pushes `repo:latest`: Entrypoint docker-entrypoint.sh, Cmd postgres, StopSignal SIGINT, Volumes PGDATA. */
export async function pushPostgresLike (registryHost: string, repo = 'postgres'): Promise<void> {
  const layer = await layerTar([
    { name: 'bin/' },
    { name: 'bin/busybox', body: readFileSync('/bin/busybox'), mode: 0o755 },
    ...APPLETS.map(a => ({ name: `bin/${a}`, linkname: 'busybox' })),
    ...binaryEntries(['/usr/bin/setpriv', '/usr/bin/getent']),
    { name: 'usr/local/' },
    { name: 'usr/local/bin/' },
    { name: 'usr/local/bin/docker-entrypoint.sh', body: ENTRYPOINT, mode: 0o755 },
    { name: 'usr/local/bin/postgres', body: SERVER, mode: 0o755 },
    { name: 'etc/' },
    { name: 'etc/passwd', body: `root:x:0:0:root:/root:/bin/sh\npostgres:x:${POSTGRES_UID}:${POSTGRES_UID}::/var/lib/postgresql:/bin/sh\n` },
    { name: 'etc/group', body: `root:x:0:\npostgres:x:${POSTGRES_UID}:\n` },
    { name: 'etc/nsswitch.conf', body: 'passwd: files\ngroup: files\nhosts: files dns\n' },
    { name: 'var/' },
    { name: 'var/lib/' },
    { name: 'var/lib/postgresql/', mode: 0o755 },
    { name: 'tmp/', mode: 0o1777 }
  ])
  await pushImage(registryHost, repo, 'latest', [layer], {
    config: {
      Env: ['PATH=/usr/local/bin:/usr/bin:/bin', `PGDATA=${PGDATA}`],
      Entrypoint: ['docker-entrypoint.sh'],
      Cmd: ['postgres'],
      StopSignal: 'SIGINT',
      Volumes: { [PGDATA]: {} },
      ExposedPorts: { '5432/tcp': {} }
    }
  })
}
