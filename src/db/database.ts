import { existsSync } from 'node:fs'
import { cp, mkdir, open, readFile, rm } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'
import { PGlite } from '@electric-sql/pglite'
import { PGliteDialect } from 'kysely-pglite-dialect'
import { EMBEDDED_START_PARAMS } from './embedded-params.js'
import { PreparingClient } from './prepared.js'
import type { Tables } from './tables.js'

export type Db = Kysely<Tables>

export interface Database {
  db: Db
  /** `postgresql` for a server reached through `pg`, `embedded` for PGlite in a folder or in memory. */
  kind: 'postgresql' | 'embedded'
  /** Answers whether a trivial query succeeds within `timeoutMs`. */
  ping(timeoutMs?: number): Promise<boolean>
  /** Connections of the pool: all, idle, and requests waiting for one. */
  stats(): { total: number, idle: number, waiting: number }
  close(): Promise<void>
}

const INT8 = 20
const DATE = 1082
const NUMERIC = 1700
const BYTEA = 17

/**
 * int8 values (counts, sequence numbers) stay below 2^53 in this service, so both drivers
 * return them as numbers; dates stay the calendar strings they are, never a local midnight.
 */
const parseInt8 = (value: string) => Number(value)
const keepText = (value: string) => value
/** bytea as a Buffer, as pg gives it: PGlite would give a plain Uint8Array. */
const parseHexBytes = (value: string) => Buffer.from(value.slice(2), 'hex')

export interface PostgresOptions {
  url: string
  poolMax?: number
  statementTimeoutMs?: number
  connectionTimeoutMs?: number
  applicationName?: string
  /** Named prepared statements (see PreparingClient); off behind a pooler that cannot keep them. */
  preparedStatements?: boolean
}

export function openPostgres(options: PostgresOptions): Database {
  const pool = new pg.Pool({
    ...(options.preparedStatements === false ? {} : { Client: PreparingClient }),
    connectionString: options.url,
    max: options.poolMax ?? 20,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 3000,
    idleTimeoutMillis: 30_000,
    statement_timeout: options.statementTimeoutMs ?? 15_000,
    application_name: options.applicationName ?? 'ttn-interop',
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
        if (oid === INT8 || oid === NUMERIC) return parseInt8
        if (oid === DATE) return keepText
        return pg.types.getTypeParser(oid, format)
      }) as typeof pg.types.getTypeParser,
    },
  })
  // A client losing its server (a restart, a cut link) must not crash the process: the query it
  // was running fails and becomes a 503, and the pool replaces the client.
  pool.on('error', () => {})
  pool.on('connect', (client) => client.on('error', () => {}))
  const db = new Kysely<Tables>({ dialect: new PostgresDialect({ pool }) })
  // Readiness has a connection of its own: a pool busy with callers' work says nothing about whether the database answers.
  const health = new pg.Pool({ connectionString: options.url, max: 1, connectionTimeoutMillis: 2000, idleTimeoutMillis: 60_000, statement_timeout: 2000, application_name: `${options.applicationName ?? 'ttn-interop'} health` })
  health.on('error', () => {})
  health.on('connect', (client) => client.on('error', () => {}))
  return {
    db,
    kind: 'postgresql',
    ping: (timeoutMs) => within(health.query('select 1').then(() => true, () => false), timeoutMs),
    stats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    close: async () => {
      await db.destroy()
      await health.end()
    },
  }
}

export interface EmbeddedOptions {
  /** A folder to keep the data in; omitted for a database in memory. */
  dataDir?: string
  /** A dump of a data folder to start from (tests clone a migrated database this way). */
  loadFrom?: Blob
  /** A data folder to copy when `dataDir` holds no database yet; undefined to initialise an empty one. */
  freshImage?: () => Promise<string | undefined>
}

/**
 * PGlite's data folder may be opened by one process only, so the folder carries a lock file
 * naming the process that holds it; a second opener is refused with a clear message.
 */
export async function openEmbedded(options: EmbeddedOptions = {}): Promise<Database> {
  const release = options.dataDir ? await lockDataDir(options.dataDir) : async () => {}
  try {
    const dataDir = options.dataDir ? join(resolve(options.dataDir), 'pglite') : undefined
    const image = dataDir && !options.loadFrom && !existsSync(join(dataDir, 'PG_VERSION')) ? await options.freshImage?.() : undefined
    if (dataDir && image) {
      await rm(dataDir, { recursive: true, force: true })
      await cp(image, dataDir, { recursive: true })
    }
    const pglite = await PGlite.create({
      ...(dataDir ? { dataDir } : {}),
      ...(options.loadFrom ? { loadDataDir: options.loadFrom } : {}),
      startParams: EMBEDDED_START_PARAMS,
      parsers: { [INT8]: parseInt8, [NUMERIC]: parseInt8, [DATE]: keepText, [BYTEA]: parseHexBytes },
    })
    const db = new Kysely<Tables>({ dialect: new PGliteDialect(pglite) })
    return {
      db,
      kind: 'embedded',
      ping: (timeoutMs) => ping(db, timeoutMs),
      // One connection, shared in turn; the dialect queues the rest, which is not observable.
      stats: () => ({ total: 1, idle: 1, waiting: 0 }),
      close: async () => {
        await db.destroy()
        // Kysely closes PGlite only if a query ever ran; an instance left open keeps the process alive.
        if (!pglite.closed) await pglite.close()
        await release()
      },
    }
  } catch (error) {
    await release()
    throw error
  }
}

export class DataDirInUseError extends Error {}

async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  await mkdir(dataDir, { recursive: true })
  const lockFile = join(dataDir, 'pglite.lock')
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(lockFile, 'wx')
      await handle.writeFile(String(process.pid))
      await handle.close()
      return () => rm(lockFile, { force: true })
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      const holder = Number((await readFile(lockFile, 'utf8').catch(() => '')).trim())
      if (holder && holder !== process.pid && isAlive(holder)) {
        throw new DataDirInUseError(
          `the embedded database in ${resolve(dataDir)} is in use by process ${holder}; ` +
          'stop that process or use the running service through its HTTP API',
        )
      }
      await rm(lockFile, { force: true })
    }
  }
  throw new DataDirInUseError(`could not lock ${resolve(dataDir)}`)
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

const ping = (db: Db, timeoutMs?: number) => within(sql`select 1`.execute(db).then(() => true, () => false), timeoutMs)

async function within(answer: Promise<boolean>, timeoutMs = 2000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs)
  })
  try {
    return await Promise.race([answer, timeout])
  } finally {
    clearTimeout(timer)
  }
}

export interface DatabaseSettings {
  DATABASE_URL?: string | undefined
  DATABASE_POOL_MAX: number
  DATABASE_STATEMENT_TIMEOUT_MS: number
  DATABASE_PREPARED_STATEMENTS: boolean
  DATA_DIR: string
}

/** The database the configuration names: PostgreSQL when `DATABASE_URL` is set, else the embedded one. */
export function openConfigured(settings: DatabaseSettings, embedded: Pick<EmbeddedOptions, 'freshImage'> = {}): Promise<Database> {
  if (settings.DATABASE_URL) {
    return Promise.resolve(openPostgres({
      url: settings.DATABASE_URL,
      poolMax: settings.DATABASE_POOL_MAX,
      statementTimeoutMs: settings.DATABASE_STATEMENT_TIMEOUT_MS,
      preparedStatements: settings.DATABASE_PREPARED_STATEMENTS,
    }))
  }
  return openEmbedded({ dataDir: settings.DATA_DIR, ...embedded })
}
