import { buildApp, type App } from '../../src/app.js'
import { loadConfig, type Config } from '../../src/config.js'
import type { Database } from '../../src/db/database.js'
import { testDatabase, type Teardown } from './database.js'

export interface TestApp {
  app: App
  database: Database
  config: Config
}

/** The real app on a clean database of its own, closed when the test ends. */
export async function buildTestApp(t: Teardown, env: Record<string, string> = {}, database?: Database): Promise<TestApp> {
  const db = database ?? await testDatabase(t)
  const config = loadConfig({ LOG_LEVEL: 'silent', ...env })
  const app = await buildApp({ config, database: db })
  t.teardown(() => app.close())
  await app.ready()
  return { app, database: db, config }
}
