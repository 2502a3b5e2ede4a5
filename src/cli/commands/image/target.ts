// How image commands name what they act on: `IMAGE[@PEER]`, or a bare `@PEER` for the whole store.
import { parseImageReference } from '../../../common/image-reference.ts'
import { InvalidArgumentError } from '../../../errors.ts'
import { parseName } from '../../../names/parse.ts'

/** `nginx@emily` → checked image reference plus the `@emily` to route by. */
export function imageTarget (text: string | undefined, verb: string): string {
  if (text === undefined) throw new InvalidArgumentError(`missing image: aurae ${verb} IMAGE[@PEER]`)
  parseImageReference(parseName(text).entity)
  return text
}

/** `@emily` → `emily`; nothing → this node. */
export function peerArg (text: string | undefined): string {
  if (text === undefined) return ''
  if (!text.startsWith('@')) throw new InvalidArgumentError('expected @PEER, as in: aurae images @emily')
  parseName(text)
  return text.slice(1)
}
