// A TCP proxy on 127.0.0.1 in front of a registry that can cut or stall the response to one
// request part-way, as a flaky link or a dead peer would.
import { createConnection, createServer, type Socket } from 'node:net'

export interface CutProxy {
  host: string
  /** From now on, the response to any request whose first line contains `match` is cut (or stalled) after `afterBytes`. */
  arm: (match: string, afterBytes: number, mode: 'cut' | 'stall') => void
  disarm: () => void
  /** How many responses were cut or stalled so far. */
  hits: () => number
  stop: () => Promise<void>
}

export async function startCutProxy (target: string): Promise<CutProxy> {
  const [targetHost, targetPort] = target.split(':')
  let rule: { match: string, afterBytes: number, mode: 'cut' | 'stall' } | undefined
  let hits = 0
  const sockets = new Set<Socket>()
  const server = createServer(client => {
    const upstream = createConnection(Number(targetPort), targetHost)
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on('error', () => {})
      s.on('close', () => { sockets.delete(s); client.destroy(); upstream.destroy() })
    }
    // The response being passed back, and how much of it may still go through.
    let budget = Infinity
    let mode: 'cut' | 'stall' = 'cut'
    client.on('data', (chunk: Buffer) => {
      const line = chunk.toString('latin1').split('\r\n')[0]
      if (rule !== undefined && /^[A-Z]+ /.test(line) && line.includes(rule.match)) {
        budget = rule.afterBytes
        mode = rule.mode
      }
      upstream.write(chunk)
    })
    upstream.on('data', (chunk: Buffer) => {
      if (budget === Infinity) {
        client.write(chunk)
        return
      }
      if (budget <= 0) return
      if (chunk.length < budget) {
        budget -= chunk.length
        client.write(chunk)
        return
      }
      client.write(chunk.subarray(0, budget))
      budget = 0
      hits++
      if (mode === 'cut') {
        client.destroy()
        upstream.destroy()
      }
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return {
    host: `127.0.0.1:${port}`,
    arm: (match, afterBytes, mode) => { rule = { match, afterBytes, mode } },
    disarm: () => { rule = undefined },
    hits: () => hits,
    stop: async () => {
      for (const s of sockets) s.destroy()
      await new Promise(resolve => server.close(resolve))
    }
  }
}
