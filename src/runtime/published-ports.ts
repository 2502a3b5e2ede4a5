// Host ports a container publishes: one workload's at a time, and none that something else on the host listens on.
import { createSocket } from 'node:dgram'
import { createServer } from 'node:net'
import { AlreadyExistsError } from '../errors.ts'
import type { PortMapping } from '../common/ports.ts'
import type { WorkloadRecord, WorkloadSpec } from './workload.ts'

/** The host ports a spec publishes (only containers publish any). */
export function publishedPorts (spec: WorkloadSpec): PortMapping[] {
  return spec.kind === 'container' ? spec.container.ports : []
}

/** Two mappings take the same host port when protocol and port match and either address covers the other. */
function overlaps (a: PortMapping, b: PortMapping): boolean {
  return a.protocol === b.protocol && a.hostPort === b.hostPort && (a.hostIP === '' || b.hostIP === '' || a.hostIP === b.hostIP)
}

/** Docker's words for a host port already taken, on one line. */
function allocated (p: PortMapping, by: string): AlreadyExistsError {
  return new AlreadyExistsError(`Bind for ${p.hostIP === '' ? '0.0.0.0' : p.hostIP}:${p.hostPort}/${p.protocol} failed: port is already allocated (${by})`)
}

/**
 * Refuses a spec whose host ports another workload that is not exited publishes. Synchronous on purpose: the caller
 * checks and records the workload in one step, so two runs at once cannot both take a port.
 */
export function assertPortsFree (spec: WorkloadSpec, records: Iterable<WorkloadRecord>): void {
  const wanted = publishedPorts(spec)
  if (wanted.length === 0) return
  for (const rec of records) {
    if (rec.spec.name === spec.name || rec.state === 'exited') continue
    for (const theirs of publishedPorts(rec.spec)) {
      const clash = wanted.find(p => overlaps(p, theirs))
      if (clash !== undefined) throw allocated(clash, `published by ${rec.spec.name}`)
    }
  }
}

/** Refuses host ports that a process outside aurae listens on: the port is bound here for a moment to find out. */
export async function assertPortsUnbound (spec: WorkloadSpec): Promise<void> {
  for (const p of publishedPorts(spec)) {
    if (await isBound(p)) throw allocated(p, 'something else on this host listens on it')
  }
}

async function isBound (p: PortMapping): Promise<boolean> {
  const host = p.hostIP === '' ? '0.0.0.0' : p.hostIP
  return await new Promise<boolean>(resolve => {
    const inUse = (err: NodeJS.ErrnoException): void => resolve(err.code === 'EADDRINUSE')
    if (p.protocol === 'udp') {
      const sock = createSocket('udp4')
      sock.once('error', err => { sock.close(); inUse(err) })
      sock.bind(p.hostPort, host, () => sock.close(() => resolve(false)))
      return
    }
    const server = createServer()
    server.once('error', inUse)
    server.listen({ port: p.hostPort, host, exclusive: true }, () => server.close(() => resolve(false)))
  })
}
