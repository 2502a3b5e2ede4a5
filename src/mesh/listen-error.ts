// Why the mesh could not listen, in the user's terms: which port is taken and the flag that picks another.
import { createServer } from 'node:net'

/** The TCP `/ip4|ip6/HOST/tcp/PORT` addresses among `listen`, with a fixed port. */
function tcpAddresses (listen: string[]): Array<{ addr: string, host: string, port: number }> {
  const out = []
  for (const addr of listen) {
    const m = /^\/ip[46]\/([^/]+)\/tcp\/(\d+)(?:\/|$)/.exec(addr)
    if (m !== null && Number(m[2]) > 0) out.push({ addr, host: m[1], port: Number(m[2]) })
  }
  return out
}

async function inUse (host: string, port: number): Promise<boolean> {
  return await new Promise(resolve => {
    const s = createServer()
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'EADDRINUSE'))
    s.listen({ host, port, exclusive: true }, () => s.close(() => resolve(false)))
  })
}

/** One line for a mesh that failed to listen: the port in use and the flag to change it when that is the cause. */
export async function listenFailure (listen: string[], cause: string): Promise<string> {
  for (const { addr, host, port } of tcpAddresses(listen)) {
    if (await inUse(host, port)) {
      return `port ${port} is in use (the mesh listens on ${addr}); pick another with: aurae up --listen ${addr.replace(/\/tcp\/\d+/, `/tcp/${port + 1}`)}`
    }
  }
  // libp2p's text goes on about its own settings after the first sentence.
  return `cannot listen on ${listen.join(', ')}: ${cause.split(/[,:]\s*you may need|\n/)[0]}`
}
