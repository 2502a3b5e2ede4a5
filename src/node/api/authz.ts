// Authorization: the one module that decides whether a caller may call a method on a target. Each handler
// declares who may call it (api/serve.ts makes the declaration a required field); a method that declares
// nothing is refused to everyone, so a new method is closed until someone decides otherwise.
import { FailedPreconditionError, PermissionDeniedError } from '../../errors.ts'

/** Who is calling: the owner of the local socket, or (with the mesh) a remote peer. */
export type Caller =
  | { kind: 'local', uid: number }
  | { kind: 'peer', peerId: string, name: string }

/** Who may call a method: this machine's own user only, or trusted peers as well. */
export type Access = 'local' | 'peers'

/** What a method declares about itself, next to its handler. */
export interface MethodRule {
  /** `service.Method`, for messages. */
  method: string
  /** Undefined when the handler declared nothing: then no one may call it. */
  access: Access | undefined
  /** Served before `aurae up` has named the node (status, up, down, the daemon's own log). */
  beforeUp: boolean
}

export interface AuthzState {
  initialized: boolean
  /** `aurae down` is under way: nothing new starts. */
  stopping: boolean
  /** True when the peer has been trusted through a peering token. */
  trusts: (peerId: string) => boolean
  selfName: string
}

/** Where a call goes: here, or on to a peer (`forwardTo` names it). */
export interface Target {
  name: string
  forwardTo?: string
}

/**
 * Throws unless `caller` may call the method on `target`. The local socket is mode 0600, so a local caller is the
 * daemon's own user or root. The rules, in order:
 * - a method that declares no access is refused to everyone;
 * - a peer may call only on this node (trust is not transitive: no peer has this node relay its call to a
 *   third), only methods open to peers, and only when trusted;
 * - a local-only method is not forwarded to a peer (the peer would refuse it);
 * - before `aurae up`, and once `aurae down` has begun, only the methods that say so are served (status, up,
 *   down, the daemon's own log).
 */
export function authorize (caller: Caller, rule: MethodRule, target: Target, state: AuthzState): void {
  const { method, access } = rule
  if (access !== 'local' && access !== 'peers') throw new PermissionDeniedError(`${method} is not open to any caller`)
  if (caller.kind === 'peer') {
    if (target.forwardTo !== undefined) throw new PermissionDeniedError('trust is not transitive: a peer cannot relay calls to a third node')
    if (access !== 'peers') throw new PermissionDeniedError(`${method} may only be called on the node itself`)
    if (!state.trusts(caller.peerId)) {
      throw new PermissionDeniedError(`${state.selfName} does not trust ${caller.name || caller.peerId} — peer first with "aurae proxy"`)
    }
  } else if (target.forwardTo !== undefined && access !== 'peers') {
    throw new PermissionDeniedError(`${method} may only be called on the node itself, not on ${target.forwardTo}`)
  }
  if (state.stopping && !rule.beforeUp) throw new FailedPreconditionError(`auraed is shutting down; ${method} is refused`)
  if (!state.initialized && !rule.beforeUp) {
    throw new FailedPreconditionError(`this node is not initialized${target.name === '' ? '' : ` (asked for ${target.name})`}; run: aurae up NAME[@DOMAIN]`)
  }
}
