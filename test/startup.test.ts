import { execFile, spawn } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile, copyFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as pause } from 'node:timers/promises'
import { promisify } from 'node:util'
import t from 'tap'
import { projectPath } from '../src/paths.js'
import { childEnv, compiledEntry } from './helpers/child-env.js'
import { serverUrl, testDatabase } from './helpers/database.js'
import { freePort } from './helpers/service.js'

const run = promisify(execFile)
/** As long as the test file may take (tap's TAP_TIMEOUT), less a margin: a busy machine slows every step alike. */
const PATIENCE_MS = Math.max(60, Number(process.env.TAP_TIMEOUT ?? 180) - 10) * 1000
/** How often the probe asks, as a load balancer's would, only faster. */
const PROBE_EVERY_MS = 50

t.test('a readiness probe polling from the moment the process starts sees no 503, and nothing is logged as an error', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'ttn-start-'))
  t.teardown(() => rm(dataDir, { recursive: true, force: true }))
  const port = await freePort()
  // On PostgreSQL (TEST_DATABASE_URL) a migrated database, as a restart finds it; else a fresh embedded folder.
  const database = serverUrl ? await testDatabase(t) : undefined
  // The overload protection keeps its defaults here: it is what answered 503 while the service came up.
  const child = spawn(process.execPath, [compiledEntry('src/server.ts')], {
    env: childEnv({ DATABASE_URL: database?.url ?? '', DATA_DIR: dataDir, PORT: String(port), METRICS_PORT: '0', LOG_LEVEL: 'info', OVERLOAD_EVENT_LOOP_DELAY_MS: undefined }),
    cwd: projectPath(),
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk })
  child.stderr.on('data', (chunk: Buffer) => { output += chunk })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    await exited
  })

  const seen = new Map<number, number>()
  const deadline = Date.now() + PATIENCE_MS
  let ready = false
  while (!ready && Date.now() < deadline && child.exitCode === null) {
    const status = await fetch(`http://127.0.0.1:${port}/health/ready`).then((response) => response.status, () => undefined)
    if (status !== undefined) seen.set(status, (seen.get(status) ?? 0) + 1)
    ready = status === 200
    if (!ready) await pause(PROBE_EVERY_MS)
  }
  t.ok(ready, 'ready before the deadline', { output })
  t.same([...seen.keys()], [200], 'every answer the probe got was 200')
  const errors = output.split('\n').filter((line) => /^\{"level":(5|6)0/.test(line))
  t.same(errors, [], 'no error logged while starting')
})

t.test('the build compiles again when a source changes, and not when nothing did', async (t) => {
  const build = (JSON.parse(await readFile(projectPath('package.json'), 'utf8')) as { scripts: { build: string } }).scripts.build
  // The compile step of the build, on a small project under the same compiler settings.
  const compile = build.split('&&')[0]!.trim().split(/\s+/)
  t.equal(compile[0], 'tsc')
  const dir = await mkdtemp(join(tmpdir(), 'ttn-build-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  for (const file of ['tsconfig.json', 'tsconfig.build.json']) await copyFile(projectPath(file), join(dir, file))
  await writeFile(join(dir, 'package.json'), JSON.stringify({ type: 'module' }))
  await symlink(projectPath('node_modules'), join(dir, 'node_modules'))
  for (const folder of ['src', 'schemas', 'migrations']) await mkdir(join(dir, folder))
  await writeFile(join(dir, 'schemas', 'index.ts'), 'export const schemas = 1\n')
  await writeFile(join(dir, 'migrations', 'index.ts'), 'export const migrations = 1\n')
  const source = join(dir, 'src', 'server.ts')
  const output = join(dir, 'dist', 'src', 'server.js')
  const tsc = () => run(process.execPath, [projectPath('node_modules', 'typescript', 'bin', 'tsc'), ...compile.slice(1)], { cwd: dir, env: childEnv(), timeout: PATIENCE_MS })

  await writeFile(source, 'export const answer: number = 1\n')
  await tsc()
  t.match(await readFile(output, 'utf8'), 'answer = 1')
  const compiledAt = (await stat(output)).mtimeMs
  await tsc()
  t.equal((await stat(output)).mtimeMs, compiledAt, 'nothing changed: nothing is written again')
  await writeFile(source, 'export const answer: number = 2\n')
  await tsc()
  t.match(await readFile(output, 'utf8'), 'answer = 2', 'a changed source is compiled again')
})
