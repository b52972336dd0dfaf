import t from 'tap'
import { ConfigError, loadConfig } from '../src/config.js'

t.test('defaults', async (t) => {
  const config = loadConfig({})
  t.match(config, { PORT: 8080, HOST: '127.0.0.1', DATA_DIR: './data', LOG_LEVEL: 'info', LOG_PRETTY: false })
  t.equal(config.DATABASE_URL, undefined)
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
