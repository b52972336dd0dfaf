import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { projectPath } from '../../src/paths.js'
import { childEnv, compiledEntry } from './child-env.js'

const run = promisify(execFile)

/** A command may take nearly as long as its test file may (tap's TAP_TIMEOUT): a busy machine slows both alike. */
const COMMAND_TIMEOUT_MS = Math.max(60, Number(process.env.TAP_TIMEOUT ?? 180) - 10) * 1000

export interface CliResult { code: number, stdout: string, stderr: string }

/** Runs the real `ttn` command from the sources in a child process. */
export async function ttn(args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, [compiledEntry('src/cli/ttn.ts'), ...args], {
      env: childEnv({ DATABASE_URL: undefined, LOG_LEVEL: 'silent', ...env }),
      cwd: projectPath(),
      timeout: COMMAND_TIMEOUT_MS,
    })
    return { code: 0, stdout, stderr }
  } catch (error) {
    const e = error as { code?: number, stdout?: string, stderr?: string }
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }
  }
}
