// Authorization: the one module that decides whether a caller may call a method on a target. Each handler
// declares who may call it (api/serve.ts makes the declaration a required field); a method that declares
// nothing is refused to everyone, so a new method is closed until someone decides otherwise.
import { FailedPreconditionError, PermissionDeniedError } from '../../errors.ts'

/**
 * Who is calling: the owner of the local socket, a client whose certificate the mTLS socket verified (`name` is its
 * subject CN without `.unsafe.aurae.io`, `spiffe` its SPIFFE ID, '' if none), or (with the mesh) a remote peer.
 */
export type Caller =
  | { kind: 'local', uid: number }
  | { kind: 'identity', name: string, spiffe: string }
  | { kind: 'peer', peerId: string, name: string }

/** The caller as messages name it. */
export function callerName (caller: Caller): string {
  switch (caller.kind) {
    case 'local': return `the local user (uid ${caller.uid})`
    case 'identity': return caller.spiffe === '' ? caller.name : `${caller.name} (${caller.spiffe})`
    case 'peer': return caller.name === '' ? caller.peerId : caller.name
  }
}

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
 * - a method that declares no access is refused to everyone, and so is a caller of a kind not named here;
 * - an mTLS identity may do what the local user may (as in the original, where every client with a certificate the
 *   node's CA signed may call everything); per-identity policy would go here;
 * - a peer may call only on this node (trust is not transitive: no peer has this node relay its call to a
 *   third), only methods open to peers, and only when trusted;
 * - a local-only method is not forwarded to a peer (the peer would refuse it);
 * - before `aurae up`, and once `aurae down` has begun, only the methods that say so are served (status, up,
 *   down, the daemon's own log).
 */
export function authorize (caller: Caller, rule: MethodRule, target: Target, state: AuthzState): void {
  const { method, access } = rule
  if (access !== 'local' && access !== 'peers') throw new PermissionDeniedError(`${method} is not open to any caller`)
  const kind: string = caller.kind
  if (caller.kind === 'peer') {
    if (target.forwardTo !== undefined) throw new PermissionDeniedError('trust is not transitive: a peer cannot relay calls to a third node')
    if (access !== 'peers') throw new PermissionDeniedError(`${method} may only be called on the node itself`)
    if (!state.trusts(caller.peerId)) {
      throw new PermissionDeniedError(`${state.selfName} does not trust ${callerName(caller)} — peer first with "aurae proxy"`)
    }
  } else if (caller.kind === 'local' || caller.kind === 'identity') {
    if (caller.kind === 'identity' && caller.name === '') throw new PermissionDeniedError(`${method} is not open to a certificate that names no one`)
    if (target.forwardTo !== undefined && access !== 'peers') {
      const by = caller.kind === 'identity' ? ` (asked by ${callerName(caller)})` : ''
      throw new PermissionDeniedError(`${method} may only be called on the node itself, not on ${target.forwardTo}${by}`)
    }
  } else {
    throw new PermissionDeniedError(`${method} is not open to callers of kind ${kind}`)
  }
  if (state.stopping && !rule.beforeUp) throw new FailedPreconditionError(`auraed is shutting down; ${method} is refused`)
  if (!state.initialized && !rule.beforeUp) {
    throw new FailedPreconditionError(`this node is not initialized${target.name === '' ? '' : ` (asked for ${target.name})`}; run: aurae up NAME[@DOMAIN]`)
  }
}
