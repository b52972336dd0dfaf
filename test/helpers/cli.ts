import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { projectPath } from '../../src/paths.js'
import { childEnv } from './child-env.js'

const run = promisify(execFile)

export interface CliResult { code: number, stdout: string, stderr: string }

/** Runs the real `ttn` command from the sources in a child process. */
export async function ttn(args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', projectPath('src/cli/ttn.ts'), ...args], {
      env: childEnv({ DATABASE_URL: undefined, LOG_LEVEL: 'silent', ...env }),
      cwd: projectPath(),
      timeout: 60_000,
    })
    return { code: 0, stdout, stderr }
  } catch (error) {
    const e = error as { code?: number, stdout?: string, stderr?: string }
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }
  }
}
