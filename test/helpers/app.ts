import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildApp } from '../../src/app.js'
import type { App } from '../../src/app-type.js'
import { ephemeralServiceKeys, type ServiceKeys } from '../../src/auth/service-keys.js'
import { loadConfig, type Config } from '../../src/config.js'
import type { Database } from '../../src/db/database.js'
import { testDatabase, type Teardown } from './database.js'

export interface TestApp {
  app: App
  database: Database
  config: Config
  serviceKeys: ServiceKeys
}

export interface TestAppOptions {
  env?: Record<string, string>
  database?: Database
  readDatabase?: Database
  serviceKeys?: ServiceKeys
  /** Changes the app before it is ready, to build a deliberately broken variant. */
  beforeReady?: (app: App) => void
}

/** The real app on a clean database of its own, closed when the test ends. */
export async function buildTestApp(t: Teardown, options: TestAppOptions = {}): Promise<TestApp> {
  let built: App | undefined
  // Every problem a test provoked must be one the contract declares for its operation. Teardowns
  // run last first and stop at the first that throws: registered first, this one runs after every
  // close, so a failure leaves no database open to hold the test process alive.
  t.teardown(() => {
    if (built && built.undeclaredProblems.size > 0) throw new Error(`problems answered that the contract does not declare: ${[...built.undeclaredProblems].join('; ')}`)
  })
  const database = options.database ?? await testDatabase(t)
  // The suite runs many processes on few cores: event-loop delay says nothing about the service here.
  // Receivers and JWKS servers of the tests listen on 127.0.0.1: the operator's test network, as OUTBOUND_ALLOWED_HOSTS names it.
  // Media files of a test go to a folder of its own, never into the project's DATA_DIR.
  const mediaDir = options.env?.MEDIA_DIR ?? await mkdtemp(join(tmpdir(), 'ttn-media-'))
  if (!options.env?.MEDIA_DIR) t.teardown(() => rm(mediaDir, { recursive: true, force: true }))
  const config = loadConfig({ LOG_LEVEL: 'silent', OVERLOAD_EVENT_LOOP_DELAY_MS: '0', OUTBOUND_ALLOWED_HOSTS: '127.0.0.1', MEDIA_DIR: mediaDir, ...options.env })
  const serviceKeys = options.serviceKeys ?? await ephemeralServiceKeys()
  const app = await buildApp({ config, database, readDatabase: options.readDatabase, serviceKeys })
  built = app
  t.teardown(() => app.close())
  options.beforeReady?.(app)
  await app.ready()
  return { app, database, config, serviceKeys }
}
