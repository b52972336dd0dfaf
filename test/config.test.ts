import t from 'tap'
import { ConfigError, loadConfig } from '../src/config.js'

t.test('defaults', async (t) => {
  const config = loadConfig({})
  t.match(config, { PORT: 8080, HOST: '127.0.0.1', DATA_DIR: './data', LOG_LEVEL: 'info' })
  t.equal(config.DATABASE_URL, undefined)
  t.equal(config.LOG_PRETTY, undefined, 'unset: whether standard output is a terminal decides')
  t.equal(loadConfig({ LOG_PRETTY: 'false' }).LOG_PRETTY, false)
})

t.test('values are converted to their types', async (t) => {
  const config = loadConfig({ PORT: '9000', LOG_PRETTY: 'true', DATABASE_URL: 'postgresql://u@h/db' })
  t.equal(config.PORT, 9000)
  t.equal(config.LOG_PRETTY, true)
  t.equal(config.DATABASE_URL, 'postgresql://u@h/db')
})

t.test('a bad value names the variable and what it expects', async (t) => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ PORT: 'eighty' }, /^PORT: expected TCP port the HTTP server listens on \(got "eighty"\)$/],
    [{ PORT: '70000' }, /^PORT: /],
    [{ LOG_LEVEL: 'loud' }, /^LOG_LEVEL: expected one of fatal, error/],
    [{ DATABASE_URL: 'mysql://x' }, /^DATABASE_URL: expected PostgreSQL connection string/],
    [{ BODY_LIMIT_BYTES: '10' }, /^BODY_LIMIT_BYTES: /],
  ]
  for (const [env, message] of cases) {
    const error = (() => { try { loadConfig(env) } catch (e) { return e } })()
    t.type(error, ConfigError, JSON.stringify(env))
    t.match((error as Error).message, message)
  }
})

t.test('the README documents every setting', async (t) => {
  const { readFile } = await import('node:fs/promises')
  const { ConfigSchema } = await import('../src/config.js')
  const { projectPath } = await import('../src/paths.js')
  const readme = await readFile(projectPath('README.md'), 'utf8')
  for (const key of Object.keys(ConfigSchema.properties)) t.match(readme, `| \`${key}\` |`, `${key} is in the configuration table`)
})

t.test('an env file adds its settings; the environment keeps the ones it sets', async (t) => {
  const { mkdtemp, rm, writeFile } = await import('node:fs/promises')
  const { tmpdir } = await import('node:os')
  const { join } = await import('node:path')
  const { readEnvFile } = await import('../src/config.js')
  const dir = await mkdtemp(join(tmpdir(), 'ttn-env-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const file = join(dir, 'ttn.env')
  await writeFile(file, "# a comment\nSYSTEMS_FILE='/srv/ttn setup/systems.json'\nPORT=9000\n")
  const env: NodeJS.ProcessEnv = { ENV_FILE: file, PORT: '7000' }
  t.equal(readEnvFile(env), file, 'names the file it read')
  t.same(env, { ENV_FILE: file, PORT: '7000', SYSTEMS_FILE: '/srv/ttn setup/systems.json' })
  t.equal(loadConfig(env).PORT, 7000)
  t.equal(readEnvFile({ ENV_FILE: '' }), undefined, 'ENV_FILE empty reads none')
  t.throws(() => readEnvFile({ ENV_FILE: join(dir, 'missing.env') }), { name: 'Error', message: /^ENV_FILE: cannot read .*missing\.env/ })
})
