// Daemon space as an executable must not see it: the node's key, its data directory and its sockets.
import { homedir } from 'node:os'
import { dirname, resolve } from 'node:path'
import { frameSocketOf } from '../common/call-frames.ts'

/** Directories many programs share, where hiding the whole directory would hide theirs too. */
const SHARED = new Set(['/var/run', '/var/tmp', '/var/lib', '/var/cache', '/run/user', '/dev/shm', '/usr/local'])

/** True for `/`, a top-level directory, a well-known shared one, a user's runtime directory or a home. */
export function isSharedDirectory (dir: string, home: string = homedir()): boolean {
  const d = resolve(dir)
  if (d === '/' || dirname(d) === '/' || SHARED.has(d) || d === resolve(home)) return true
  return /^\/run\/user\/\d+$/.test(d) || /^\/home\/[^/]+$/.test(d)
}

/**
 * What to make inaccessible in an executable's mount namespace: the key, the data directory and the
 * sockets' directory, or only the sockets where their directory is shared; with `tls`, the mTLS socket the same
 * way and its certificates' directory (the CA's key). A path inside another one already hidden is left out.
 */
export function daemonSpace (paths: { key: string, data: string, sock: string, tls?: { sock: string, pki: string } }, home: string = homedir()): string[] {
  const socket = (path: string, beside: string[]): string[] => {
    const sock = resolve(path)
    return isSharedDirectory(dirname(sock), home) ? [sock, ...beside] : [dirname(sock)]
  }
  const all = [resolve(paths.key), resolve(paths.data), ...socket(paths.sock, [frameSocketOf(resolve(paths.sock))]),
    ...paths.tls === undefined ? [] : [resolve(paths.tls.pki), ...socket(paths.tls.sock, [])]]
  const unique = [...new Set(all)].filter(p => p !== '/')
  return unique.filter(p => !unique.some(q => q !== p && p.startsWith(`${q}/`))).sort()
}
