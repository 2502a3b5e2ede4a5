// When the Node running a bin is older than the project needs (Debian 12's is 20), runs the bin again on the Node
// the project installs (node_modules/node) and passes on its exit. Kept to syntax every Node parses. Loads nothing
// on a Node that is new enough: every start of aurae passes here, and child_process and fs cost 3–4 ms to load.
import { fileURLToPath } from 'node:url'

const NEEDED = 22
const TERMINAL_SIGNALS = ['SIGINT', 'SIGQUIT', 'SIGWINCH']

/** Whether this process's group is its terminal's foreground group (so Ctrl-C reached the child too). */
function inTerminalForeground (readFileSync) {
  try {
    const fields = readFileSync('/proc/self/stat', 'utf8').replace(/^.*\) /s, '').split(' ')
    return fields[2] === fields[5]
  } catch {
    return false
  }
}

/** Returns when this Node is new enough; otherwise re-runs `bin` on the project's Node and never returns. */
export async function onOwnNode (name, bin) {
  if (Number(process.versions.node.split('.')[0]) >= NEEDED) return
  const { spawn } = await import('node:child_process')
  const { existsSync, readFileSync } = await import('node:fs')
  const own = fileURLToPath(new URL('../node_modules/node/bin/node', import.meta.url))
  if (!existsSync(own) || own === process.execPath) {
    process.stderr.write(`${name}: Node.js ${NEEDED} or newer is needed (this is ${process.versions.node}); run npm ci in ${fileURLToPath(new URL('..', import.meta.url))} to install the project's own\n`)
    process.exit(1)
  }
  const child = spawn(own, [...process.execArgv, fileURLToPath(bin), ...process.argv.slice(2)], { stdio: 'inherit' })
  // Signals are passed on, except those a terminal sends to its whole foreground group: the child has them already.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGWINCH', 'SIGUSR1', 'SIGUSR2']) {
    process.on(sig, () => { if (!(TERMINAL_SIGNALS.includes(sig) && inTerminalForeground(readFileSync))) child.kill(sig) })
  }
  child.on('error', err => {
    process.stderr.write(`${name}: cannot run ${own}: ${err.message}\n`)
    process.exit(1)
  })
  const [code, signal] = await new Promise(resolve => child.on('exit', (c, s) => resolve([c, s])))
  if (signal !== null) {
    process.removeAllListeners(signal)
    process.kill(process.pid, signal)
  }
  process.exit(code ?? 1)
}
