// Commands over several workloads of one node (`stats web db@emily`…): which node, and the names there.
import { InvalidArgumentError } from '../../../errors.ts'
import { assertWorkloadName, formatNodeName, parseName } from '../../../names/parse.ts'

/** The node (`''` for this one, else `peer[@domain]`) and the workload names the positionals give; all on one node. */
export function oneNode (command: string, positionals: string[]): { peer: string, names: string[] } {
  const peers = new Set<string>()
  const names: string[] = []
  for (const text of positionals) {
    const { entity, peer, domain } = parseName(text)
    peers.add(peer === '' ? '' : formatNodeName(peer, domain))
    if (entity !== '') names.push(assertWorkloadName(entity))
  }
  if (peers.size > 1) throw new InvalidArgumentError(`aurae ${command} shows one node at a time; run it once per node`)
  return { peer: [...peers][0] ?? '', names }
}
