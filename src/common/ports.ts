// Published ports as users write them (`-p 8080:80`), in the shape the node's CNI portmap takes them.
import { InvalidArgumentError } from '../errors.ts'

export interface PortMapping {
  hostPort: number
  containerPort: number
  protocol: 'tcp' | 'udp'
  hostIP: string
}

/** `8080:80`, `127.0.0.1:8080:80/udp` → a port mapping. */
export function parsePort (text: string): PortMapping {
  const m = /^(?:(\d{1,3}(?:\.\d{1,3}){3}):)?(\d{1,5}):(\d{1,5})(?:\/(tcp|udp))?$/.exec(text)
  const valid = (n: number): boolean => n >= 1 && n <= 65535
  if (m === null || !valid(Number(m[2])) || !valid(Number(m[3]))) {
    throw new InvalidArgumentError(`invalid port "${text}": expected HOST:CONTAINER[/udp], as in 8080:80`)
  }
  return { hostIP: m[1] ?? '', hostPort: Number(m[2]), containerPort: Number(m[3]), protocol: (m[4] ?? 'tcp') as 'tcp' | 'udp' }
}
