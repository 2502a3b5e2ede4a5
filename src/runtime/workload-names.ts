// Names for workloads: the one asked for, or (a run without --name, as Docker's `run redis` twice) the first free one
// of NAME, NAME-2, NAME-3, …; and the error for a name a workload already has.
import { AlreadyExistsError } from '../errors.ts'

/** A run under a name a workload already has; `as` is the name the caller knows it by (`job@emily` from a peer). */
export class NameTakenError extends AlreadyExistsError {
  override name = 'NameTakenError'
  constructor (readonly workload: string, as = workload) {
    super(`a workload named ${workload} already exists (remove it with: aurae rm ${as})`)
  }
}

/** The names a run may take, in order: only `name` itself, or with `pickName` also NAME-2, NAME-3, … without end. */
export function * candidateNames (name: string, pickName: boolean): Generator<string> {
  yield name
  if (!pickName) return
  for (let n = 2; ; n++) yield `${name.slice(0, 120)}-${n}`
}
