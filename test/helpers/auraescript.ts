// Running the real auraescript bin in tests: as a user with no client config of their own, whose transpile cache is
// the test's.
import { join } from 'node:path'
import { ROOT, run, type Result } from './node.ts'

export const AURAESCRIPT = join(ROOT, 'bin', 'auraescript.js')

/** The environment of a user whose home is `home`: no client config, no $AURAE_SOCK, unless `extra` says so. */
export function scriptEnv (home: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...process.env, HOME: home, XDG_CACHE_HOME: join(home, 'cache'), AURAE_SOCK: undefined, ...extra }
}

/** Runs `auraescript file ...args` to completion as a user whose home is `home`. */
export async function runScript (file: string, args: string[], home: string, env: NodeJS.ProcessEnv = {}): Promise<Result> {
  return await run(process.execPath, [AURAESCRIPT, file, ...args], { env: scriptEnv(home, env), cwd: home })
}
