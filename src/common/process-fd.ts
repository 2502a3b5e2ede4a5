// A process spec handed to an entering command at fd PROCESS_FD (`runc exec --process /proc/self/fd/4`), by the
// daemon for its own runs and by a CLI that runs the command on its terminal alike. Node's pipes are sockets, which
// cannot be opened through /proc, so the spec is in a file that is unlinked before the command starts: none is left.
import type { IOType, StdioNull, StdioPipe } from 'node:child_process'
import { mkdtemp, open, rm, type FileHandle } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** The fd on which an entering command reads its process (fd 3 is aurae-pty's, for window sizes). */
export const PROCESS_FD = 4

type Stdio = Array<IOType | StdioNull | StdioPipe | 'inherit' | number>

/** An open, already unlinked file holding the process; undefined when there is none. Close it once the command runs. */
export async function processFile (process: string | Uint8Array | undefined): Promise<FileHandle | undefined> {
  if (process === undefined || process.length === 0) return undefined
  const dir = await mkdtemp(join(tmpdir(), 'aurae-process-'))
  try {
    const file = await open(join(dir, 'process.json'), 'w+', 0o600)
    await file.writeFile(process).catch(async err => { await file.close(); throw err })
    return file
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** `stdio` with the process's file at PROCESS_FD when there is one; what is between stays closed. */
export function withProcess (file: FileHandle | undefined, stdio: Stdio): Stdio {
  if (file === undefined) return stdio
  const padded: Stdio = [...stdio]
  while (padded.length < PROCESS_FD) padded.push('ignore')
  padded[PROCESS_FD] = file.fd
  return padded
}
