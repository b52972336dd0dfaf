import { mkdir, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { Kysely } from 'kysely'
import { PGliteDialect } from 'kysely-pglite-dialect'
import { openPostgres } from '../../src/db/database.js'
import { migrateToLatest } from '../../src/db/migrator.js'
import type { Tables } from '../../src/db/tables.js'
import { EMBEDDED_TEMPLATE, TEMPLATE_DATABASE, onServer, serverUrl, withDatabaseName } from './database.js'

/** Migrates one template database before the suite; each test file then starts from a copy of it. */
if (serverUrl) {
  await onServer([`drop database if exists ${TEMPLATE_DATABASE} with (force)`, `create database ${TEMPLATE_DATABASE}`])
  const template = openPostgres({ url: withDatabaseName(serverUrl, TEMPLATE_DATABASE), poolMax: 1 })
  await migrateToLatest(template.db)
  await template.close()
} else {
  const pglite = await PGlite.create()
  const db = new Kysely<Tables>({ dialect: new PGliteDialect(pglite) })
  await migrateToLatest(db)
  const dump = await pglite.dumpDataDir('none')
  await mkdir(dirname(EMBEDDED_TEMPLATE), { recursive: true })
  await writeFile(EMBEDDED_TEMPLATE, Buffer.from(await dump.arrayBuffer()))
  await db.destroy()
}
