import { Migrator, type MigrationResult } from 'kysely'
import { migrations } from '../../migrations/index.js'
import type { Db } from './database.js'

const migrator = (db: Db) => new Migrator({
  db,
  provider: { getMigrations: async () => migrations },
})

export class MigrationError extends Error {}

/** Applies every pending migration; concurrent instances are serialised by Kysely's lock. */
export async function migrateToLatest(db: Db): Promise<MigrationResult[]> {
  const { error, results = [] } = await migrator(db).migrateToLatest()
  if (error) {
    const failed = results.find((r) => r.status === 'Error')
    throw new MigrationError(`migration ${failed?.migrationName ?? '?'} failed: ${(error as Error).message}`, { cause: error })
  }
  return results
}

/** Names of known migrations not yet applied: empty when the schema is current. */
export async function pendingMigrations(db: Db): Promise<string[]> {
  const all = await migrator(db).getMigrations()
  return all.filter((m) => m.executedAt === undefined).map((m) => m.name)
}
