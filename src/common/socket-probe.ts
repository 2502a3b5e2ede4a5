// Whether something answers on a Unix socket: the daemon asks before it takes a socket over, the CLI while it
// waits for a daemon to come up or go away.
import { createConnection } from 'node:net'

export async function answers (sock: string): Promise<boolean> {
  return await new Promise(resolve => {
    const c = createConnection(sock)
    c.once('connect', () => { c.destroy(); resolve(true) })
    c.once('error', () => resolve(false))
  })
}
