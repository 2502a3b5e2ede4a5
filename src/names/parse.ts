// The one parser for `<entity>@<peer>@<domain>` names; every client uses it.
import { InvalidArgumentError } from '../errors.ts'

/** A parsed name. `peer` and `domain` are empty when the name is local. */
export interface Name {
  entity: string
  peer: string
  domain: string
}

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/
const ENTITY = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/
const DIGEST = /^[a-z0-9]+([+._-][a-z0-9]+)*:[a-fA-F0-9]{32,}$/

/** Splits `entity[@digest][@peer[@domain]]`; a digest segment stays with the entity. */
export function parseName (text: string): Name {
  const parts = text.split('@')
  let entity = parts.shift() ?? ''
  if (parts.length > 0 && DIGEST.test(parts[0])) entity += '@' + parts.shift()
  if (parts.length > 2) throw new InvalidArgumentError(`invalid name "${text}": expected entity@peer@domain at most`)
  const [peer = '', domain = ''] = parts
  if (parts.length > 0) assertPeer(peer, text)
  if (parts.length > 1) assertDomain(domain, text)
  return { entity, peer, domain }
}

/** Parses the node's own name, `peer[@domain]`, as given to `aurae up`. */
export function parseNodeName (text: string): { peer: string, domain: string } {
  const at = text.indexOf('@')
  const peer = at < 0 ? text : text.slice(0, at)
  const domain = at < 0 ? '' : text.slice(at + 1)
  assertPeer(peer, text)
  if (at >= 0) assertDomain(domain, text)
  return { peer, domain }
}

/** Checks a workload name: letters, digits, `_ . -`, up to 128 characters. */
export function assertWorkloadName (name: string): string {
  if (!ENTITY.test(name)) {
    throw new InvalidArgumentError(`invalid workload name "${name}": use letters, digits, "_", "." or "-" (at most 128, starting with a letter or digit)`)
  }
  return name
}

/** Checks `workload[@peer[@domain]]`, as the CLI takes workload names. */
export function assertWorkloadTarget (text: string): string {
  assertWorkloadName(parseName(text).entity)
  return text
}

/** `peer@domain`, or `peer` alone when there is no domain. */
export function formatNodeName (peer: string, domain: string): string {
  return domain === '' ? peer : `${peer}@${domain}`
}

function assertPeer (peer: string, text: string): void {
  if (!LABEL.test(peer)) {
    throw new InvalidArgumentError(`invalid peer name "${peer}" in "${text}": use lowercase letters, digits and "-" (at most 63)`)
  }
}

/** True when `peer[@domain]` (domain possibly empty) follows the node-name rules; for names other nodes send. */
export function isNodeName (peer: string, domain: string): boolean {
  return LABEL.test(peer) && (domain === '' || isDomain(domain))
}

function isDomain (domain: string): boolean {
  return domain.length <= 253 && domain.split('.').every(l => LABEL.test(l))
}

function assertDomain (domain: string, text: string): void {
  if (!isDomain(domain)) {
    throw new InvalidArgumentError(`invalid domain "${domain}" in "${text}": expected a DNS name such as example.org`)
  }
}
