import { ConfigError, loadConfig, readEnvFile, type Config } from './config.js'
import { buildApp } from './app.js'
import { DataDirInUseError, openConfigured, openPostgres } from './db/database.js'
import { migrateToLatest } from './db/migrator.js'
import { createLogger } from './logger.js'
import { serveMetrics } from './observability/metrics.js'
import { loadServiceKeys } from './auth/service-keys.js'
import { applySystemsFile, systemsFileWarnings } from './modules/systems/file.js'
import { outboundPolicy } from './http/outbound.js'
import { MonthlyPartitions } from './modules/status/partitions.js'
import { ServiceKeyHistory } from './modules/receipts/key-history.js'

/** Process entry: configuration, database, migrations, app, listen; drains on SIGTERM and SIGINT. */
async function main(): Promise<void> {
  let config: Config
  let envFile: string | undefined
  try {
    envFile = readEnvFile()
    config = loadConfig()
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`ttn-interop: invalid configuration: ${error.message}\n`)
      process.exit(2)
    }
    throw error
  }
  const logger = createLogger(config)
  if (envFile) logger.info({ envFile }, `settings read from ${envFile}; the environment overrides them`)
  const database = await openConfigured(config).catch((error: unknown) => {
    if (error instanceof DataDirInUseError) {
      logger.fatal(error.message)
      process.exit(1)
    }
    throw error
  })
  const applied = await migrateToLatest(database.db)
  if (applied.length > 0) logger.info({ migrations: applied.map((m) => m.migrationName) }, 'database migrated')
  await MonthlyPartitions.history(database.db).ensureAhead()
  await MonthlyPartitions.days(database.db).ensureAhead()
  const serviceKeys = await loadServiceKeys(config, (message) => logger.warn(message))
  // What this instance signs with is published from now on, by every instance, for good.
  await new ServiceKeyHistory(database.db).record(serviceKeys.current)
  if (config.SYSTEMS_FILE) {
    const outcome = await applySystemsFile(config.SYSTEMS_FILE, database.db, outboundPolicy(config.OUTBOUND_ALLOWED_HOSTS))
    logger.info({ file: config.SYSTEMS_FILE, registered: outcome.registered, updated: outcome.updated, unchanged: outcome.unchanged }, 'systems file applied')
    for (const warning of systemsFileWarnings(outcome)) logger.warn(warning)
  }

  const readDatabase = config.DATABASE_READ_URL
    ? openPostgres({ url: config.DATABASE_READ_URL, poolMax: config.DATABASE_POOL_MAX, statementTimeoutMs: config.DATABASE_STATEMENT_TIMEOUT_MS, preparedStatements: config.DATABASE_PREPARED_STATEMENTS })
    : undefined
  const app = await buildApp({ config, database, readDatabase, serviceKeys, logger })
  const address = await app.listen({ port: config.PORT, host: config.HOST })
  const metrics = config.METRICS_PORT ? await serveMetrics(app.metrics, config.METRICS_HOST, config.METRICS_PORT) : undefined
  const base = config.PUBLIC_URL ?? address
  logger.info({
    api: `${base}/v2`, docs: `${base}/docs`, contract: `${base}/openapi.json`, jwks: `${base}/.well-known/jwks.json`,
    serviceId: config.SERVICE_ID, signingKey: serviceKeys.current.kid,
    database: database.kind === 'embedded' ? `embedded in ${config.DATA_DIR}` : 'postgresql', metrics: metrics?.address ?? 'off',
  }, `ttn-interop listening on ${address}; docs at ${base}/docs`)

  let stopping = false
  const stop = async (signal: string) => {
    if (stopping) return
    stopping = true
    logger.info({ signal }, 'stopping: finishing in-flight requests')
    const timer = setTimeout(() => {
      logger.error('in-flight requests did not finish in time; exiting')
      process.exit(1)
    }, config.SHUTDOWN_TIMEOUT_MS)
    timer.unref()
    await app.close()
    await metrics?.close()
    await database.close()
    await readDatabase?.close()
    logger.info('stopped')
    process.exit(0)
  }
  process.on('SIGTERM', () => void stop('SIGTERM'))
  process.on('SIGINT', () => void stop('SIGINT'))
}

main().catch((error: unknown) => {
  process.stderr.write(`ttn-interop: failed to start: ${(error as Error).stack ?? String(error)}\n`)
  process.exit(1)
})
