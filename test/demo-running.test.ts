import { execFile, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { promisify } from 'node:util'
import t from 'tap'
import { parse } from 'csv-parse/sync'
import { projectPath } from '../src/paths.js'
import { childEnv, compiledEntry } from './helpers/child-env.js'

const run = promisify(execFile)
const COMMAND_TIMEOUT_MS = Math.max(60, Number(process.env.TAP_TIMEOUT ?? 180) - 10) * 1000

t.test('kept running, the demo prints a command that calls it with its keys; Ctrl+C stops it and removes its data', async (t) => {
  const child = spawn(process.execPath, [compiledEntry('src/demo/run.ts')], { cwd: projectPath(), env: childEnv({ PORT: '0' }) })
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  let stdout = ''
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk })
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve))
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', () => { if (stdout.includes('the service keeps running')) resolve() })
    void exited.then(() => reject(new Error('the demo exited:\n' + stdout)))
  })
  const command = /^ {2}(npm run --silent ttn -- summary .+)$/m.exec(stdout)?.[1]
  t.ok(command, 'prints a command to try')
  const dataDir = /embedded database in (\S+)/.exec(stdout)![1]!
  const { stdout: csv } = await run('sh', ['-c', command!], { cwd: projectPath(), env: childEnv(), timeout: COMMAND_TIMEOUT_MS })
  const rows = parse(csv, { bom: true, columns: true }) as Record<string, string>[]
  t.match(rows.find((row) => row.province === '79'), { name: 'Hồ Chí Minh', 'stations.total': '6' }, 'the command works while the demo runs')

  child.kill('SIGINT')
  t.equal(await exited, 0)
  t.notOk(existsSync(dataDir), 'its data and keys are removed')
})
