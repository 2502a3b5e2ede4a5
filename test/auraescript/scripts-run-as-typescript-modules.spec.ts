// The auraescript bin on scripts that need no node: casts transpiled, the original's SDK paths resolved from any
// directory, top-level await, the script's arguments, and the one-line reports of each way a script can fail.
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { AURAESCRIPT, runScript, scriptEnv } from '../helpers/auraescript.ts'
import { run, type Result } from '../helpers/node.ts'

const dir = mkdtempSync(join(tmpdir(), 'auraescript-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Writes `source` at `path` (under the test's directory) and runs it with auraescript. */
async function script (path: string, source: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<Result> {
  const file = join(dir, path)
  mkdirSync(join(file, '..'), { recursive: true })
  writeFileSync(file, source)
  return await runScript(file, args, dir, env)
}

describe('auraescript runs a TypeScript file', () => {
  it('transpiles casts Node\'s type stripping refuses, with the original\'s SDK imported from any directory', async () => {
    const source = `import * as aurae from "../../auraescript/gen/aurae.ts";
import * as cells from "../auraescript/gen/cells.ts";
import * as grpc_health from "/anywhere/at/all/auraescript/gen/grpc_health.ts";
import { print } from "../../auraescript/aurae.ts";
interface Shape { sides: number }
const request = <cells.CellServiceAllocateRequest>{ cell: cells.Cell.fromPartial({ name: "ae-cast", cpu: cells.CpuController.fromPartial({ weight: 2 }) }) };
aurae.print(request.cell?.name, request.cell?.cpu?.weight, (<Shape>{ sides: 4 }).sides, typeof grpc_health.HealthClient, print === aurae.print);
`
    for (const path of ['a/b/deep.ts', 'flat.ts']) {
      const res = await script(path, source)
      expect(res).toEqual({ code: 0, stdout: 'ae-cast 2 4 function true\n', stderr: '' })
    }
  })

  it('loads the script\'s own .ts modules transpiled too', async () => {
    await script('lib/shapes.ts', 'export interface Shape { sides: number }\nexport const square = <Shape>{ sides: 4 }\n')
    const res = await script('uses-lib.ts', 'import { square, type Shape } from "./lib/shapes.ts"\nconst s: Shape = square\nconsole.log(s.sides)\n')
    expect(res).toEqual({ code: 0, stdout: '4\n', stderr: '' })
  })

  it('awaits at the top level, passes the script its arguments, and prints objects as indented JSON', async () => {
    const res = await script('tla.ts', `import * as aurae from "../auraescript/gen/aurae.ts";
const later = await new Promise<string>(resolve => setTimeout(() => resolve("later"), 20));
aurae.print(later, process.argv.slice(2).join("+"), { a: [1] });
`, ['one', 'two'])
    expect(res).toEqual({ code: 0, stdout: 'later one+two {\n  "a": [\n    1\n  ]\n}\n', stderr: '' })
  })

  it('runs as an executable file through its shebang', async () => {
    const file = join(dir, 'bang.ts')
    writeFileSync(file, '#!/usr/bin/env auraescript\nconst n: number = 6 * 7\nconsole.log(n)\n')
    chmodSync(file, 0o755)
    const bin = join(dir, 'bin')
    mkdirSync(bin, { recursive: true })
    rmSync(join(bin, 'auraescript'), { force: true })
    writeFileSync(join(bin, 'auraescript'), `#!/bin/sh\nexec ${process.execPath} ${AURAESCRIPT} "$@"\n`)
    chmodSync(join(bin, 'auraescript'), 0o755)
    const res = await run(file, [], { env: scriptEnv(dir, { PATH: `${bin}:${process.env.PATH ?? ''}` }) })
    expect(res).toEqual({ code: 0, stdout: '42\n', stderr: '' })
  })

  it('keeps what it transpiled, and transpiles a changed file again', async () => {
    const cache = join(dir, 'cache', 'auraescript')
    rmSync(cache, { recursive: true, force: true })
    expect((await script('cached.ts', 'console.log(<number>1)\n')).stdout).toBe('1\n')
    const entries = readdirSync(cache)
    expect(entries).toHaveLength(1)
    expect((await script('cached.ts', 'console.log(<number>1)\n')).stdout).toBe('1\n')
    expect(readdirSync(cache)).toEqual(entries)
    expect((await script('cached.ts', 'console.log(<number>2)\n')).stdout).toBe('2\n')
    expect(readdirSync(cache)).toHaveLength(2)
  })
})

describe('a script that fails says why in its own terms', () => {
  it('reports a thrown error with its message and the script\'s lines, no frame of the SDK or the loader', async () => {
    const res = await script('throws.ts', `import * as aurae from "../auraescript/gen/aurae.ts";
function check (n: number): void {
  if (n > 1) throw new RangeError(\`too many: \${n}\`);
}
aurae.print("before");
check(<number>2);
`)
    expect(res).toEqual({ code: 1, stdout: 'before\n', stderr: `auraescript: error: RangeError: too many: 2\n    at check ${join(dir, 'throws.ts')}:3:20\n    at ${join(dir, 'throws.ts')}:6:1\n` })
  })

  it('reports a rejected promise nobody awaited', async () => {
    const res = await script('rejects.ts', 'void Promise.reject(new Error("nobody caught me"))\nawait new Promise(resolve => setTimeout(resolve, 50))\n')
    expect(res.code).toBe(1)
    expect(res.stderr).toBe(`auraescript: error: Error: nobody caught me\n    at ${join(dir, 'rejects.ts')}:1:21\n`)
  })

  it('says so when the script awaits what nothing can settle any more', async () => {
    const res = await script('never.ts', 'console.log("waiting")\nawait new Promise(() => {})\n')
    expect(res).toEqual({ code: 1, stdout: 'waiting\n', stderr: 'auraescript: error: the script ended while awaiting a promise that nothing could settle\n' })
  })

  it('exits with the code the script gives process.exit, also in the middle of its top-level await', async () => {
    expect(await script('exits.ts', 'await new Promise(resolve => setTimeout(resolve, 10))\nprocess.exit(7)\n')).toEqual({ code: 7, stdout: '', stderr: '' })
  })

  it('names the line and column of a syntax error, with a caret, and exits 3', async () => {
    const res = await script('syntax.ts', 'const ok = 1\nconst broken = (<number>ok;\n')
    expect(res.code).toBe(3)
    expect(res.stdout).toBe('')
    expect(res.stderr).toMatch(new RegExp(`^auraescript: syntax error: ${join(dir, 'syntax.ts')}:2:27: Expected "\\)" but found ";"\n    const broken = \\(<number>ok;\n {4}\\s{26}\\^\n$`))
  })

  it('says there is no such file (3), no such module (3), and how it is used (2)', async () => {
    const missing = await run(process.execPath, [AURAESCRIPT, 'nope.ts'], { env: scriptEnv(dir), cwd: dir })
    expect(missing).toEqual({ code: 3, stdout: '', stderr: 'auraescript: no such file: nope.ts\n' })
    const unknown = await script('unknown.ts', 'import * as x from "../auraescript/gen/kubernetes.ts"\nconsole.log(x)\n')
    expect(unknown.code).toBe(3)
    expect(unknown.stderr).toMatch(/^auraescript: error: AuraeScript has no module kubernetes \(imported as \.\.\/auraescript\/gen\/kubernetes\.ts\); it has aurae, cells, discovery, observe, vms, grpc_health, .*\n$/)
    const usage = await run(process.execPath, [AURAESCRIPT], { env: scriptEnv(dir) })
    expect(usage.code).toBe(2)
    expect(usage.stderr).toMatch(/^usage: auraescript FILE\.ts/)
  })

  it('says in one line that there is no client config, naming where it looked', async () => {
    const res = await script('no-config.ts', 'import * as aurae from "../auraescript/gen/aurae.ts";\nconst client = await aurae.createClient();\n')
    expect(res.code).toBe(1)
    expect(res.stdout).toBe('')
    const [line, at, ...rest] = res.stderr.split('\n')
    expect(line).toMatch(/^auraescript: error: .*config/)
    for (const path of [join(dir, '.aurae', 'config'), '/etc/aurae/config', '/var/lib/aurae/config']) expect(line).toContain(path)
    expect([at, ...rest]).toEqual([`    at ${join(dir, 'no-config.ts')}:2:28`, ''])
  })

  const discover = `import * as aurae from "../auraescript/gen/aurae.ts";
import * as discovery from "../auraescript/gen/discovery.ts";
const client = aurae.createClient();
await new discovery.DiscoveryServiceClient(client).discover(<discovery.DiscoverRequest>{});
`

  it('says a node\'s socket is not there, at the line of the call', async () => {
    const sock = join(dir, 'gone.sock')
    const res = await script('unreachable.ts', discover, [], { AURAE_SOCK: sock })
    expect(res).toEqual({ code: 1, stdout: '', stderr: `auraescript: error: cannot reach the node at ${sock}: no such socket (is auraed running?)\n    at ${join(dir, 'unreachable.ts')}:4:52\n` })
  })

  it('says a socket nothing listens on refused the connection', async () => {
    const sock = join(dir, 'refusing.sock')
    rmSync(sock, { force: true })
    // Bound and never listening: connecting to it is refused.
    const python = await run('python3', ['-c', `import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])`, sock])
    expect(python.code).toBe(0)
    const res = await script('refused.ts', discover, [], { AURAE_SOCK: sock })
    expect(res.stderr).toBe(`auraescript: error: cannot reach the node at ${sock}: connection refused (nothing serves the socket)\n    at ${join(dir, 'refused.ts')}:4:52\n`)
    expect(res.code).toBe(1)
  })
})
