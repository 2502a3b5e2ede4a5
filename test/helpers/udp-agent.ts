// A UDP socket in a network namespace that a test drives: it sends what it is told, records what it
// receives, and answers a "?" with the address the "?" came from, as a STUN server would.
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { until } from './node.ts'

// Times are the agent's own monotonic clock in ms, taken before each send and on each arrival.
const SCRIPT = `
const sock = require('node:dgram').createSocket('udp4')
const now = () => Number(process.hrtime.bigint()) / 1e6
const out = o => process.stdout.write(JSON.stringify(o) + '\\n')
sock.on('message', (msg, from) => {
  const text = String(msg)
  out({ t: now(), from: from.address + ':' + from.port, text })
  if (text === '?') sock.send('seen ' + from.address + ':' + from.port, from.port, from.address)
})
sock.bind(Number(process.argv[1]), () => out({ port: sock.address().port }))
require('node:readline').createInterface({ input: process.stdin }).on('line', line => {
  const [id, host, port, ...text] = line.split(' ')
  const t = now()
  sock.send(text.join(' '), Number(port), host, () => out({ sent: Number(id), t }))
}).on('close', () => process.exit(0))
`

export interface Datagram { t: number, from: string, text: string }

export class UdpAgent {
  readonly received: Datagram[] = []
  private readonly sent = new Map<number, (t: number) => void>()
  private sends = 0
  port = 0

  private constructor (private readonly child: ChildProcess) {}

  /** Binds `port` (0: any) in namespace `ns`. */
  static async start (ns: string, port = 0): Promise<UdpAgent> {
    const agent = new UdpAgent(spawn('nsenter', [`--net=/run/netns/${ns}`, process.execPath, '-e', SCRIPT, String(port)], { stdio: ['pipe', 'pipe', 'inherit'] }))
    createInterface({ input: agent.child.stdout! }).on('line', line => {
      const o = JSON.parse(line)
      if (o.port !== undefined) agent.port = o.port
      else if (o.sent !== undefined) agent.sent.get(o.sent)?.(o.t)
      else agent.received.push(o)
    })
    await until(`a UDP agent bound in ${ns}`, () => agent.port !== 0, 10_000)
    return agent
  }

  /** Sends `text` to `to` ("ip:port"); resolves with the agent's time just before it sent. */
  async send (to: string, text: string): Promise<number> {
    const id = this.sends++
    const [host, port] = to.split(':')
    return await new Promise(resolve => {
      this.sent.set(id, resolve)
      this.child.stdin!.write(`${id} ${host} ${port} ${text}\n`)
    })
  }

  /** The first datagram from `from` with `text`, waiting for it. */
  async receive (from: string, text: string, ms = 10_000): Promise<Datagram> {
    return await until(`"${text}" from ${from}`, () => this.received.find(d => d.from === from && d.text === text), ms) as Datagram
  }

  /** The address this socket is seen from by the reflector agent at `reflector`, asking again until it answers. */
  async mapping (reflector: string): Promise<string> {
    let asked = 0
    const answer = await until(`an answer from ${reflector}`, async () => {
      if (Date.now() - asked > 500) {
        asked = Date.now()
        await this.send(reflector, '?')
      }
      return this.received.find(d => d.from === reflector && d.text.startsWith('seen '))
    }, 10_000) as Datagram
    return answer.text.slice('seen '.length)
  }

  /** Ends the agent (the process this agent started) and waits until it is gone. */
  async stop (): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return
    const exited = new Promise(resolve => this.child.on('exit', resolve))
    this.child.kill()
    await exited
  }
}
