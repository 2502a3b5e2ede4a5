// Signal names as people and the wire write them, and their numbers on this platform.
import { constants } from 'node:os'

/** `SIGKILL` → 9, or undefined for an unknown name. */
export function signalNumber (name: string): number | undefined {
  return (constants.signals as Record<string, number>)[name]
}

/** `KILL`, `sigterm`, `SIGHUP` or `9` → the signal's name (`SIGKILL`); undefined for none this platform has. */
export function signalName (text: string): string | undefined {
  if (/^\d+$/.test(text)) return Object.entries(constants.signals).find(([, n]) => n === Number(text))?.[0]
  const name = text.toUpperCase().startsWith('SIG') ? text.toUpperCase() : `SIG${text.toUpperCase()}`
  return signalNumber(name) === undefined ? undefined : name
}

/** The exit code of a process that died of `name`, as shells and docker give it: 128 + the signal's number. */
export function exitCodeOfSignal (name: string): number {
  return 128 + (signalNumber(name) ?? 0)
}
