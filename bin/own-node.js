// When the Node running a bin is older than the project needs (Debian 12's is 20), runs the bin again on the Node
// the project installs (node_modules/node) and passes on its exit. Kept to syntax every Node parses.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const NEEDED = 22

/** Returns when this Node is new enough; otherwise re-runs `bin` on the project's Node and never returns. */
export async function onOwnNode (name, bin) {
  if (Number(process.versions.node.split('.')[0]) >= NEEDED) return
  const own = fileURLToPath(new URL('../node_modules/node/bin/node', import.meta.url))
  if (!existsSync(own) || own === process.execPath) {
    process.stderr.write(`${name}: Node.js ${NEEDED} or newer is needed (this is ${process.versions.node}); run npm ci in ${fileURLToPath(new URL('..', import.meta.url))} to install the project's own\n`)
    process.exit(1)
  }
  const child = spawn(own, [...process.execArgv, fileURLToPath(bin), ...process.argv.slice(2)], { stdio: 'inherit' })
  // A terminal's Ctrl-C reaches both processes; a signal sent to this one alone is passed on.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGWINCH', 'SIGUSR1', 'SIGUSR2']) {
    process.on(sig, () => { if (sig !== 'SIGINT') child.kill(sig) })
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
