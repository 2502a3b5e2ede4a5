// Authorization: the one function that decides whether a caller may call a method on a target.
import { FailedPreconditionError, PermissionDeniedError } from '../errors.ts'

/** Who is calling: the owner of the local socket, or (with the mesh) a remote peer. */
export type Caller =
  | { kind: 'local', uid: number }
  | { kind: 'peer', peerId: string, name: string }

export interface AuthzState {
  initialized: boolean
  /** True when the peer has been trusted through a peering token. */
  trusts: (peerId: string) => boolean
  selfName: string
}

/** Methods an uninitialized node serves. */
const BEFORE_UP = new Set(['node.Status', 'node.Up', 'node.Down', 'observe.GetDaemonLogs'])
/** Methods only the machine's own user may call, never a peer. */
const LOCAL_ONLY = new Set(['node.Up', 'node.Down', 'mesh.Token', 'mesh.Peer', 'mesh.Unpeer', 'mesh.Peers', 'mesh.Resolve', 'images.Login', 'observe.GetDaemonLogs'])

/**
 * Throws unless `caller` may call `method` (as `service.Method`) on `target`.
 * The local socket is mode 0600, so a local caller is the daemon's own user or root.
 */
export function authorize (caller: Caller, method: string, target: string, state: AuthzState): void {
  if (caller.kind === 'peer') {
    if (LOCAL_ONLY.has(method)) throw new PermissionDeniedError(`${method} may only be called on the node itself`)
    if (!state.trusts(caller.peerId)) {
      throw new PermissionDeniedError(`${state.selfName} does not trust ${caller.name || caller.peerId} — peer first with "aurae proxy"`)
    }
  }
  if (!state.initialized && !BEFORE_UP.has(method)) {
    throw new FailedPreconditionError(`this node is not initialized${target === '' ? '' : ` (asked for ${target})`}; run: aurae up NAME[@DOMAIN]`)
  }
}
