// Signal names as people and the wire write them, and their numbers on this platform.
import { constants } from 'node:os'

/** `SIGKILL` → 9, or undefined for an unknown name. */
export function signalNumber (name: string): number | undefined {
  return (constants.signals as Record<string, number>)[name]
}
