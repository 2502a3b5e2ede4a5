// aurae status (aurae node status): the node's state, identity, uptime and workload counts.
import { DaemonUnreachableError } from '../../../client/index.ts'
import { formatNodeName } from '../../../names/parse.ts'
import type { Command } from '../../kit/context.ts'
import { EXIT } from '../../kit/exit.ts'
import { clean, duration, json, painter, table } from '../../kit/output.ts'

export const status: Command = {
  spec: {
    name: 'status',
    usage: 'status [--json]',
    summary: 'Shows whether the node is up, its name, PeerId, uptime and workloads, and its sockets.',
    flags: { json: { type: 'boolean', help: 'print one JSON object' } },
    maxPositionals: 0
  },
  async run (parsed, ctx) {
    const { stdout } = ctx.io
    const paint = painter(stdout, ctx.io.env)
    let s
    try {
      const d = ctx.daemon()
      s = await d.node.status({})
    } catch (err) {
      if (parsed.flags.json === true && err instanceof DaemonUnreachableError) {
        stdout.write(JSON.stringify({ state: 'stopped', socket: ctx.sock }) + '\n')
      }
      throw err
    }
    const uptimeSeconds = Math.floor((Date.now() - s.startedAtMs) / 1000)
    if (parsed.flags.json === true) {
      stdout.write(json({
        state: s.state,
        name: s.name,
        domain: s.domain,
        peerId: s.peerId,
        version: s.version,
        pid: s.pid,
        startedAt: new Date(s.startedAtMs).toISOString(),
        uptimeSeconds,
        workloads: s.workloads ?? { running: 0, exited: 0, total: 0 },
        cgroups: s.cgroups,
        cgroupsProblem: s.cgroupsProblem === '' ? null : s.cgroupsProblem,
        socket: s.socket,
        mtls: s.tlsSocket === '' ? null : { socket: s.tlsSocket, pki: s.pkiDir },
        dataDir: s.dataDir,
        keyPath: s.keyPath,
        mesh: {
          addrs: s.addrs,
          observedAddrs: s.observedAddrs,
          reachability: s.reachability,
          reachabilityCheckedAt: s.reachabilityCheckedAtMs > 0 ? new Date(s.reachabilityCheckedAtMs).toISOString() : null,
          connectedPeers: s.connectedPeers,
          trustedPeers: s.trustedPeers
        }
      }))
      return EXIT.ok
    }
    const w = s.workloads
    const rows = [
      ['state', s.state === 'running' ? paint('running', 'green') : paint(s.state, 'yellow')],
      ['name', s.name === '' ? '- (run: aurae up NAME[@DOMAIN])' : formatNodeName(s.name, s.domain)],
      ['peer id', s.peerId === '' ? '-' : s.peerId],
      ['uptime', duration(uptimeSeconds * 1000)],
      ['workloads', `${w?.running ?? 0} running, ${w?.exited ?? 0} exited`],
      ['cgroups', s.cgroups === '' ? '-' : s.cgroups],
      ['peers', `${s.trustedPeers} trusted, ${s.connectedPeers} connected`],
      ...s.addrs.map((a, i) => [i === 0 ? 'addrs' : '', clean(a)]),
      // Observed addresses are what trusted peers said they saw.
      ...s.observedAddrs.map((a, i) => [i === 0 ? 'observed' : '', clean(a)]),
      ['reachable', s.reachability === '' ? '-' : s.reachability + (s.reachabilityCheckedAtMs > 0 ? ` (checked by a trusted peer ${duration(Date.now() - s.reachabilityCheckedAtMs)} ago)` : '')],
      ['version', s.version],
      ['pid', String(s.pid)],
      ['socket', s.socket],
      ['mtls', s.tlsSocket === '' ? 'off' : `${s.tlsSocket} (certificates in ${s.pkiDir})`],
      ['data', s.dataDir]
    ]
    stdout.write(table(['', ''], rows).split('\n').slice(1).join('\n'))
    return EXIT.ok
  }
}
