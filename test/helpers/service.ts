import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { projectPath } from '../../src/paths.js'
import { serverUrl, testDatabase, type Teardown } from './database.js'
import { childEnv, compiledEntry } from './child-env.js'

export interface ServiceProcess {
  child: ChildProcess
  url: string
  output: () => string
  exited: Promise<number | null>
}

/** A free TCP port on loopback, to start a service on a port known in advance. */
export const freePort = () => new Promise<number>((resolve) => {
  const server = net.createServer().listen(0, '127.0.0.1', () => {
    const { port } = server.address() as net.AddressInfo
    server.close(() => resolve(port))
  })
})

/** The settings that give a service process a clean database of its own: on the test server, else embedded in a temporary folder. */
export async function serviceDatabaseEnv(t: Teardown): Promise<Record<string, string>> {
  if (serverUrl) {
    const database = await testDatabase(t)
    return { DATABASE_URL: database.url! }
  }
  const dir = await mkdtemp(join(tmpdir(), 'ttn-server-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return { DATA_DIR: dir }
}

/** Starts the real service process from the sources and waits for the line that says where it listens. */
export async function startService(t: Teardown, env: Record<string, string>): Promise<ServiceProcess> {
  const child = spawn(process.execPath, [compiledEntry('src/server.ts')], {
    // ENV_FILE empty: a local setup `ttn init` wrote in the project folder stays out of the tests.
    env: childEnv({ DATABASE_URL: '', ENV_FILE: '', PORT: '0', LOG_LEVEL: 'info', OVERLOAD_EVENT_LOOP_DELAY_MS: '0', OUTBOUND_ALLOWED_HOSTS: '127.0.0.1', METRICS_PORT: '0', ...env }),
    cwd: projectPath(),
  })
  let output = ''
  const keep = (chunk: Buffer) => { if (output.length < 200_000) output += chunk }
  child.stdout!.on('data', keep)
  child.stderr!.on('data', keep)
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no listening line within 60 s:\n' + output)), 60_000)
    const check = () => {
      const match = /listening on (http:\/\/[^;\s"]+)/.exec(output)
      if (match) { clearTimeout(timer); resolve(match[1]!) }
    }
    child.stdout!.on('data', check)
    void exited.then(() => { clearTimeout(timer); reject(new Error('service exited:\n' + output)) })
  })
  return { child, url, output: () => output, exited }
}
