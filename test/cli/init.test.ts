import { execFile } from 'node:child_process'
import { chmod, mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t, { type Test } from 'tap'
import { projectPath } from '../../src/paths.js'
import { childEnv } from '../helpers/child-env.js'
import { ttn } from '../helpers/cli.js'
import { freePort, serviceDatabaseEnv, startService } from '../helpers/service.js'

const run = promisify(execFile)
const SHELL_TIMEOUT_MS = Math.max(60, Number(process.env.TAP_TIMEOUT ?? 180) - 10) * 1000

const PRIVATE_FILES = ['service-keys.json', 'ops-console/private.jwk.json', 'province-79/private.jwk.json']

async function setupDir(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ttn-init-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return join(dir, 'local')
}

const modeOf = async (file: string) => (await stat(file)).mode & 0o777

t.test('ttn init writes a setup the service starts with, and the curl it prints makes a signed call that succeeds', async (t) => {
  const dir = await setupDir(t)
  const port = await freePort()
  const init = await ttn(['init', '--dir', dir, '--url', `http://127.0.0.1:${port}`])
  t.equal(init.code, 0, init.stderr)
  const start = /^ {2}ENV_FILE=(\S+) npm start$/m.exec(init.stdout)
  t.ok(start, 'says how to start the service with the setup')
  t.equal(start?.[1], join(dir, 'ttn.env'))
  const curl = /^ {2}(curl .+)$/m.exec(init.stdout)?.[1]
  t.ok(curl, 'prints the first signed call')

  const service = await startService(t, { ...await serviceDatabaseEnv(t), ENV_FILE: start![1]!, PORT: String(port) })
  t.match(service.output(), /"registered":\["ops-console","province-79"\]/, 'the systems file registers both systems')
  t.match(service.output(), /"msg":"settings read from [^"]+ttn\.env/, 'the log names the settings file')
  t.notMatch(service.output(), /generated a service signing key/, 'the service signs with the key of the setup')

  const { stdout } = await run('sh', ['-c', curl!], { cwd: projectPath(), env: childEnv(), timeout: SHELL_TIMEOUT_MS })
  t.match(JSON.parse(stdout), { id: 'province-79', role: 'province', provinceCode: '79', status: 'active', keys: [{ status: 'active' }] })
})

t.test('ttn init refuses to replace a setup; --force replaces it, keys included, owner-only again', async (t) => {
  const dir = await setupDir(t)
  t.equal((await ttn(['init', '--dir', dir])).code, 0)
  const before = await readFile(join(dir, 'province-79/private.jwk.json'), 'utf8')

  const again = await ttn(['init', '--dir', dir])
  t.equal(again.code, 1)
  t.match(again.stderr, /holds a setup already .*--force replaces it/)
  t.equal(await readFile(join(dir, 'province-79/private.jwk.json'), 'utf8'), before, 'the key is kept')

  await chmod(join(dir, 'province-79/private.jwk.json'), 0o644)
  const forced = await ttn(['init', '--dir', dir, '--force'])
  t.equal(forced.code, 0, forced.stderr)
  t.match(forced.stdout, /keeps their former keys/, 'warns that a database registered before keeps the old keys')
  t.not(await readFile(join(dir, 'province-79/private.jwk.json'), 'utf8'), before, 'a new key')
  for (const file of PRIVATE_FILES) t.equal(await modeOf(join(dir, file)), 0o600, `${file} is readable by its owner only`)
})

t.test('private keys are written readable by their owner only, in a folder only its owner opens', async (t) => {
  const dir = await setupDir(t)
  t.equal((await ttn(['init', '--dir', dir, '--province', '48'])).code, 0)
  for (const file of ['service-keys.json', 'ops-console/private.jwk.json', 'province-48/private.jwk.json']) {
    t.equal(await modeOf(join(dir, file)), 0o600, file)
  }
  t.equal(await modeOf(dir), 0o700, 'the folder too')
  const systems = JSON.parse(await readFile(join(dir, 'systems.json'), 'utf8')) as { id: string, provinceCode?: string, name: string }[]
  t.match(systems, [{ id: 'ops-console', role: 'central' }, { id: 'province-48', provinceCode: '48', name: 'HTTTN Đà Nẵng' }])
})

t.test('an unknown province is refused, and nothing is written', async (t) => {
  const dir = await setupDir(t)
  const result = await ttn(['init', '--dir', dir, '--province', '99'])
  t.equal(result.code, 1)
  t.match(result.stderr, /--province 99 is not a province in force; one of 01, /)
  await t.rejects(stat(dir), { code: 'ENOENT' })
})
