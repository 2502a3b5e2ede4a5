// How listing commands name the node they list: nothing for this one, `@PEER` for a trusted peer.
import { InvalidArgumentError } from '../../errors.ts'
import { parseName } from '../../names/parse.ts'

/** `@emily` → `emily`; nothing → this node ('') ; anything else is refused with `aurae COMMAND @emily` as the example. */
export function peerArg (text: string | undefined, command: string): string {
  if (text === undefined || text === '') return ''
  if (!text.startsWith('@')) throw new InvalidArgumentError(`expected @PEER, as in: aurae ${command} @emily`)
  parseName(text)
  return text.slice(1)
}
