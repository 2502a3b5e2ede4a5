// Where a node keeps its socket, key and data, its version, and how auraed is started; shared by auraed and its
// clients, so it stays import-light and reads no environment of its own (callers pass theirs).
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'

export interface NodePaths {
  sock: string
  key: string
  data: string
}

/** Environment variables, as `process.env` holds them. */
export type Env = Readonly<Record<string, string | undefined>>

/** The socket, key and data directory (../shared/DESIGN.md names them), with a home-directory data dir for users but root. */
export function defaultPaths (env: Env, uid: number): NodePaths {
  const home = env.HOME ?? homedir()
  return {
    sock: env.AURAE_SOCK ?? MACHINE_SOCK,
    key: env.AURAE_KEY ?? join(home, '.ssh', 'id_aura'),
    data: env.AURAE_DATA ?? (uid === 0 ? '/var/lib/aurae' : join(env.XDG_DATA_HOME ?? join(home, '.local', 'share'), 'aurae'))
  }
}

/** Fills in defaults and makes every path absolute, so a daemon started elsewhere sees the same files. */
export function resolvePaths (given: Partial<NodePaths>, env: Env, uid: number): NodePaths {
  const d = defaultPaths(env, uid)
  return {
    sock: resolve(given.sock ?? d.sock),
    key: resolve(given.key ?? d.key),
    data: resolve(given.data ?? d.data)
  }
}

export const VERSION = '0.1.0'

/**
 * Node flags auraed runs with (`aurae up` passes them; bin/auraed.js's first line says the same):
 * a 4 MB young generation keeps the idle daemon ~13 MB smaller than V8's default.
 */
export const AURAED_NODE_FLAGS = ['--max-semi-space-size=4']

/** Where a machine keeps the VMs of images it saved for warm starts (auraed --vm-templates; runtime/vm/templates.ts). */
export const VM_TEMPLATES = '/var/cache/aurae/vm/templates'

/** How long a VM of an image has to start its workload before it is ended (auraed --vm-ready-timeout). */
export const VM_READY_SECONDS = 120

/** The name the mTLS socket's server certificate is for (CN and DNS SAN), as the original's clients expect it. */
export const TLS_SERVER_NAME = 'server.unsafe.aurae.io'
/** A client certificate's CN is its name and this (`nova.unsafe.aurae.io`), as the original's. */
export const TLS_CLIENT_SUFFIX = '.unsafe.aurae.io'

/** Where the node serves the original Aurae's mTLS socket and keeps its certificates (auraed --tls-sock, --pki). */
export interface TlsPaths {
  /** `off` when the node serves no mTLS socket. */
  sock: string
  pki: string
}

/** The socket of the machine's node, the one that serves the machine's mTLS socket by default. */
export const MACHINE_SOCK = '/run/aurae.sock'

/**
 * The mTLS socket by default: the original's `/var/run/aurae/aurae.sock` for root (a user's runtime directory, else
 * `~/.aurae`, for others), served by the machine's node, the one on /run/aurae.sock. Another node on the machine (its
 * own --sock or AURAE_SOCK) serves none unless given --tls-sock: two nodes cannot share one socket. Certificates in
 * `/etc/aurae/pki` for root, the user's config directory for others.
 */
export function defaultTls (sock: string, env: Env, uid: number): TlsPaths {
  const home = env.HOME ?? homedir()
  return {
    sock: resolve(sock) === MACHINE_SOCK ? machineTlsSock(env, uid) : 'off',
    pki: uid === 0 ? '/etc/aurae/pki' : join(env.XDG_CONFIG_HOME ?? join(home, '.config'), 'aurae', 'pki')
  }
}

/** The mTLS socket of the machine's node (the one on /run/aurae.sock). */
export function machineTlsSock (env: Env, uid: number): string {
  if (uid === 0) return '/var/run/aurae/aurae.sock'
  return env.XDG_RUNTIME_DIR !== undefined ? join(env.XDG_RUNTIME_DIR, 'aurae', 'aurae.sock') : join(env.HOME ?? homedir(), '.aurae', 'aurae.sock')
}
