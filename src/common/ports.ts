// Published ports as users write them (`-p 8080:80`), in the shape the node's CNI portmap takes them.
import { InvalidArgumentError } from '../errors.ts'

export interface PortMapping {
  hostPort: number
  containerPort: number
  protocol: 'tcp' | 'udp'
  hostIP: string
}

/** A TCP or UDP port a mapping may name: 1 to 65535. */
export function isPort (n: number): boolean {
  return Number.isInteger(n) && n >= 1 && n <= 65535
}

/** A dotted IPv4 address, as a mapping's host address is written. */
export const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/

/** `8080:80`, `127.0.0.1:8080:80/udp` → a port mapping. The node checks the numbers again (other clients send them). */
export function parsePort (text: string): PortMapping {
  const m = /^(?:([\d.]+):)?(\d{1,5}):(\d{1,5})(?:\/(tcp|udp))?$/.exec(text)
  if (m === null || (m[1] !== undefined && !IPV4.test(m[1])) || !isPort(Number(m[2])) || !isPort(Number(m[3]))) {
    throw new InvalidArgumentError(`invalid port "${text}": expected HOST:CONTAINER[/udp], as in 8080:80`)
  }
  return { hostIP: m[1] ?? '', hostPort: Number(m[2]), containerPort: Number(m[3]), protocol: (m[4] ?? 'tcp') as 'tcp' | 'udp' }
}
