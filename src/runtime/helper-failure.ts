// How the helpers that run a command inside a workload (aurae-enter, aurae-vm-exec) say it did not run: one line,
// `CODE MESSAGE`, in a file of its own, so that the command's stderr stays the command's.
import { readFile, rm } from 'node:fs/promises'

/** The failure a helper wrote to `file` (removed once read), its message after `what: `; undefined when it ran. */
export async function helperFailure (file: string, what: string): Promise<{ exitCode: number, error: string } | undefined> {
  const said = (await readFile(file, 'utf8').catch(() => '')).trim()
  await rm(file, { force: true })
  const m = /^(\d+) (.*)$/s.exec(said)
  return m === null ? undefined : { exitCode: Number(m[1]), error: `${what}: ${m[2]}` }
}
