// How image commands name what they act on: `IMAGE[@PEER]` (a bare `@PEER` for the whole store is kit/peer-arg.ts).
import { parseImageReference } from '../../../common/image-reference.ts'
import { InvalidArgumentError } from '../../../errors.ts'
import { parseName } from '../../../names/parse.ts'

/** `nginx@emily` → checked image reference plus the `@emily` to route by. */
export function imageTarget (text: string | undefined, verb: string): string {
  if (text === undefined) throw new InvalidArgumentError(`missing image: aurae ${verb} IMAGE[@PEER]`)
  parseImageReference(parseName(text).entity)
  return text
}
