import { describe, expect, it } from 'vitest'
import { FailedPreconditionError, PermissionDeniedError } from '../../../src/errors.ts'
import { authorize, callerName, type Access, type AuthzState, type Caller, type MethodRule } from '../../../src/node/api/authz.ts'
import { services } from '../../../src/node/api/services.ts'
import type { ServiceDeps } from '../../../src/node/api/services.ts'

const local: Caller = { kind: 'local', uid: 0 }
const friend: Caller = { kind: 'peer', peerId: 'friend-id', name: 'emily' }
const stranger: Caller = { kind: 'peer', peerId: 'stranger-id', name: 'mallory' }
const alice: Caller = { kind: 'identity', name: 'alice', spiffe: 'spiffe://example.org/user/alice' }
const up: AuthzState = { initialized: true, stopping: false, trusts: id => id === 'friend-id', selfName: 'alice' }
const notUp: AuthzState = { ...up, initialized: false }

const rule = (access: Access | undefined, beforeUp = false): MethodRule => ({ method: 'svc.Method', access, beforeUp })
/** What authorize says: 'ok', or the class and message of its refusal. */
const verdict = (caller: Caller, r: MethodRule, state = up, forwardTo?: string): string => {
  try {
    authorize(caller, r, { name: 'job', forwardTo }, state)
    return 'ok'
  } catch (err) {
    if (err instanceof PermissionDeniedError) return `denied: ${err.message}`
    if (err instanceof FailedPreconditionError) return `not up: ${err.message}`
    throw err
  }
}

describe('authorization', () => {
  it('refuses a method that declares no access to every caller, the local user included', () => {
    for (const caller of [local, friend, stranger]) expect(verdict(caller, rule(undefined))).toBe('denied: svc.Method is not open to any caller')
    // A declaration that is not one of the two is no declaration.
    expect(verdict(local, rule('everyone' as Access))).toMatch(/^denied/)
  })

  it('lets the local user call every declared method, peers only those open to peers and only when trusted', () => {
    expect(verdict(local, rule('local'))).toBe('ok')
    expect(verdict(local, rule('peers'))).toBe('ok')
    expect(verdict(friend, rule('peers'))).toBe('ok')
    expect(verdict(friend, rule('local'))).toBe('denied: svc.Method may only be called on the node itself')
    expect(verdict(stranger, rule('peers'))).toBe('denied: alice does not trust mallory — peer first with "aurae proxy"')
    expect(verdict(stranger, rule('local'))).toMatch(/^denied/)
  })

  it('does not let a peer relay a call through this node to a third one, trusted or not', () => {
    expect(verdict(friend, rule('peers'), up, 'bob')).toBe('denied: trust is not transitive: a peer cannot relay calls to a third node')
    expect(verdict(stranger, rule('peers'), up, 'bob')).toMatch(/^denied/)
  })

  it('forwards the local user\'s calls to peers only for methods open to peers', () => {
    expect(verdict(local, rule('peers'), up, 'emily')).toBe('ok')
    expect(verdict(local, rule('local'), up, 'emily')).toBe('denied: svc.Method may only be called on the node itself, not on emily')
  })

  it('lets a client with a verified certificate call what the local user may, and names it when it refuses', () => {
    for (const r of [rule('local'), rule('peers'), rule('local', true)]) expect(verdict(alice, r)).toBe('ok')
    expect(verdict(alice, rule('peers'), up, 'emily')).toBe('ok')
    expect(verdict(alice, rule('local'), up, 'emily')).toBe('denied: svc.Method may only be called on the node itself, not on emily (asked by alice (spiffe://example.org/user/alice))')
    expect(verdict({ ...alice, spiffe: '' }, rule('local'), up, 'emily')).toBe('denied: svc.Method may only be called on the node itself, not on emily (asked by alice)')
    expect(verdict(alice, rule(undefined))).toBe('denied: svc.Method is not open to any caller')
    expect(verdict(alice, rule('peers'), notUp)).toMatch(/^not up/)
    expect(verdict({ ...alice, name: '' }, rule('peers'))).toBe('denied: svc.Method is not open to a certificate that names no one')
  })

  it('fails closed for a caller of a kind it does not know', () => {
    const unknown = { kind: 'robot', name: 'r2' } as unknown as Caller
    expect(verdict(unknown, rule('peers'))).toBe('denied: svc.Method is not open to callers of kind robot')
    expect(verdict(unknown, rule('local', true), notUp)).toMatch(/^denied/)
  })

  it('names each kind of caller as messages name it', () => {
    expect([local, alice, { ...alice, spiffe: '' }, friend, { ...friend, name: '' }].map(callerName))
      .toEqual(['the local user (uid 0)', 'alice (spiffe://example.org/user/alice)', 'alice', 'emily', 'friend-id'])
  })

  it('serves only the methods that say so before the node is up', () => {
    expect(verdict(local, rule('local', true), notUp)).toBe('ok')
    expect(verdict(local, rule('peers'), notUp)).toBe('not up: this node is not initialized (asked for job); run: aurae up NAME[@DOMAIN]')
    // Who may call still comes first: a stranger learns nothing about the node's state.
    expect(verdict(stranger, rule('peers'), notUp)).toMatch(/^denied/)
  })

  it('starts nothing new once the node is going down: only the methods served before up are served', () => {
    const going: AuthzState = { ...up, stopping: true }
    expect(verdict(local, rule('peers'), going)).toBe('not up: auraed is shutting down; svc.Method is refused')
    expect(verdict(friend, rule('peers'), going)).toMatch(/^not up: auraed is shutting down/)
    expect(verdict(local, rule('local', true), going)).toBe('ok')
  })
})

describe('who may call each method the node serves', () => {
  // Handlers look up what they use only when called: none is called here.
  const unused = (): never => { throw new Error('not used in this test') }
  const deps = { daemon: {}, supervisor: unused, cells: unused, images: unused, mesh: unused, ownDomain: unused, log: {} } as unknown as ServiceDeps
  const declared = Object.fromEntries(services(deps).flatMap(s => Object.entries(s.handlers).map(([key, h]: [string, any]) => {
    const path: string = s.definition[key].path
    return [`${s.name}.${path.split('/').pop() ?? key}`, { access: h.access, beforeUp: h.beforeUp === true }]
  })))

  it('declares, for every method, the access decided for it', () => {
    // A new method must be added here on purpose: who may call it is a decision, not a default.
    expect(declared).toEqual({
      'node.Status': { access: 'peers', beforeUp: true },
      'node.Up': { access: 'local', beforeUp: true },
      'node.Down': { access: 'local', beforeUp: true },
      'workloads.Run': { access: 'peers', beforeUp: false },
      'workloads.List': { access: 'peers', beforeUp: false },
      'workloads.Stop': { access: 'peers', beforeUp: false },
      'workloads.Remove': { access: 'peers', beforeUp: false },
      'workloads.Signal': { access: 'peers', beforeUp: false },
      'workloads.Stats': { access: 'peers', beforeUp: false },
      'workloads.Start': { access: 'peers', beforeUp: false },
      'workloads.Restart': { access: 'peers', beforeUp: false },
      'workloads.Inspect': { access: 'peers', beforeUp: false },
      'workloads.Exec': { access: 'peers', beforeUp: false },
      'workloads.ExecSession': { access: 'peers', beforeUp: false },
      'workloads.RunSession': { access: 'peers', beforeUp: false },
      'cells.Allocate': { access: 'peers', beforeUp: false },
      'cells.Free': { access: 'peers', beforeUp: false },
      'cells.Start': { access: 'peers', beforeUp: false },
      'cells.Stop': { access: 'peers', beforeUp: false },
      'cells.List': { access: 'peers', beforeUp: false },
      'observe.GetWorkloadLogs': { access: 'peers', beforeUp: false },
      'observe.GetDaemonLogs': { access: 'local', beforeUp: true },
      'observe.GetEvents': { access: 'peers', beforeUp: false },
      'images.Pull': { access: 'peers', beforeUp: false },
      'images.List': { access: 'peers', beforeUp: false },
      'images.Remove': { access: 'peers', beforeUp: false },
      'images.Prune': { access: 'peers', beforeUp: false },
      'images.Login': { access: 'local', beforeUp: false },
      'images.DiskUsage': { access: 'peers', beforeUp: false },
      'mesh.Token': { access: 'local', beforeUp: false },
      'mesh.Peer': { access: 'local', beforeUp: false },
      'mesh.Peers': { access: 'local', beforeUp: false },
      'mesh.Resolve': { access: 'local', beforeUp: false },
      'mesh.Unpeer': { access: 'local', beforeUp: false },
      // The original's VM API takes the host's paths (kernels, disk images): never a peer's to name.
      'vms.Allocate': { access: 'local', beforeUp: false },
      'vms.Free': { access: 'local', beforeUp: false },
      'vms.Start': { access: 'local', beforeUp: false },
      'vms.Stop': { access: 'local', beforeUp: false },
      'vms.List': { access: 'local', beforeUp: false },
      // Whether a node is there and well, as the original's clients ask it: before up too, and of a peer.
      'discovery.Discover': { access: 'peers', beforeUp: true },
      'health.Check': { access: 'peers', beforeUp: true },
      'health.Watch': { access: 'peers', beforeUp: true },
      // The original's cells, as the node's own: a trusted peer may use them.
      'original-cells.Allocate': { access: 'peers', beforeUp: false },
      'original-cells.Free': { access: 'peers', beforeUp: false },
      'original-cells.Start': { access: 'peers', beforeUp: false },
      'original-cells.Stop': { access: 'peers', beforeUp: false },
      'original-cells.List': { access: 'peers', beforeUp: false },
      // The original's observe service: the daemon's own log is its user's alone, as the node's own API has it.
      'original-observe.GetAuraeDaemonLogStream': { access: 'local', beforeUp: true },
      'original-observe.GetSubProcessStream': { access: 'peers', beforeUp: false },
      'original-observe.GetPosixSignalsStream': { access: 'peers', beforeUp: false }
    })
  })

  it('keeps every method from strangers, opens each to certified clients, and keeps the node\'s trust, names, credentials and life from every peer', () => {
    for (const [method, d] of Object.entries(declared)) {
      const r = { method, ...d }
      expect({ method, stranger: verdict(stranger, r) }).toEqual({ method, stranger: expect.stringMatching(/^denied/) })
      expect({ method, local: verdict(local, r) }).toEqual({ method, local: 'ok' })
      expect({ method, identity: verdict(alice, r) }).toEqual({ method, identity: 'ok' })
      const peerMay = verdict(friend, r) === 'ok'
      const keptFromPeers = /^(mesh\.|vms\.|images\.Login|node\.(Up|Down)|observe\.GetDaemonLogs|original-observe\.GetAuraeDaemonLogStream)/.test(method)
      expect({ method, peerMay }).toEqual({ method, peerMay: !keptFromPeers })
    }
  })
})
