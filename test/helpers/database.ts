import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { sql, type Kysely } from 'kysely'
import pg from 'pg'
import { openEmbedded, openPostgres, type Database } from '../../src/db/database.js'
import { projectPath } from '../../src/paths.js'

/** Set TEST_DATABASE_URL to run the suite on a PostgreSQL server instead of the embedded database. */
export const serverUrl = process.env.TEST_DATABASE_URL || undefined
/** Named after the database CI made, so two suites on one server never share a template. */
export const TEMPLATE_DATABASE = serverUrl ? `${new URL(serverUrl).pathname.slice(1) || 'ttn'}_template` : ''
export const EMBEDDED_TEMPLATE = projectPath('.tap', 'ttn-embedded-template.tar')

/** What the helpers need of a tap test: somewhere to register cleanup. */
export interface Teardown { teardown(fn: () => unknown): void }

export function withDatabaseName(url: string, name: string): string {
  const parsed = new URL(url)
  parsed.pathname = '/' + name
  return parsed.toString()
}

/** Runs statements that cannot run inside a transaction (CREATE/DROP DATABASE) on the server. */
export async function onServer(statements: string[]): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl })
  await client.connect()
  try {
    for (const statement of statements) await client.query(statement)
  } finally {
    await client.end()
  }
}

/**
 * Moves the transaction counter on by about `count` ids cheaply: each subtransaction that
 * writes takes an id of its own. Lets a test reach transaction ids of another length.
 */
export async function burnTransactionIds(db: Kysely<any>, count: number): Promise<void> {
  if (count <= 0) return
  await sql.raw(`do $$ begin
    create temp table if not exists xid_burn (n int);
    for i in 1..${Math.floor(count)} loop begin insert into xid_burn values (i); exception when others then null; end; end loop;
    delete from xid_burn;
  end $$`).execute(db)
}

/** The id the next transaction will get, as a bigint. */
export async function nextTransactionId(db: Kysely<any>): Promise<bigint> {
  const { rows } = await sql<{ next: string }>`select pg_snapshot_xmax(pg_current_snapshot())::text as next`.execute(db)
  return BigInt(rows[0]!.next)
}

/**
 * A clean, migrated database of its own for one test file: a copy of the template the
 * `before` step migrated, on the server when TEST_DATABASE_URL is set, else embedded.
 */
export async function testDatabase(t: Teardown, options: { poolMax?: number } = {}): Promise<Database & { url?: string }> {
  if (serverUrl) {
    const name = `ttn_test_${process.pid}_${randomBytes(4).toString('hex')}`
    await onServer([`create database ${name} template ${TEMPLATE_DATABASE}`])
    const url = withDatabaseName(serverUrl, name)
    const database = openPostgres({ url, poolMax: options.poolMax ?? 10 })
    t.teardown(async () => {
      await database.close()
      await onServer([`drop database if exists ${name} with (force)`])
    })
    return Object.assign(database, { url })
  }
  const dump = await readFile(EMBEDDED_TEMPLATE)
  const database = await openEmbedded({ loadFrom: new Blob([dump]) })
  t.teardown(() => database.close())
  return database
}

/** How long a test waits for the server to settle, with the time-outs of the test files (TAP_TIMEOUT). */
const SETTLE_PATIENCE_MS = Number(process.env.TAP_TIMEOUT ?? 180) * 500

/**
 * Waits until every transaction begun before the call has ended, on the whole server. Feeds serve
 * only rows older than the oldest transaction still running, and on the suite's shared server that
 * can be another test file's, in another database: a test that reads a feed right after writing
 * waits for this first, as a real reader would poll again. At once on the embedded database.
 */
export async function feedsSettled(db: Kysely<any>): Promise<void> {
  if (!serverUrl) return
  const { rows: [begun] } = await sql<{ xmax: string }>`select pg_snapshot_xmax(pg_current_snapshot())::text as xmax`.execute(db)
  const deadline = Date.now() + SETTLE_PATIENCE_MS
  for (;;) {
    const { rows: [now] } = await sql<{ settled: boolean }>`select pg_snapshot_xmin(pg_current_snapshot()) >= ${begun!.xmax}::xid8 as settled`.execute(db)
    if (now!.settled) return
    if (Date.now() > deadline) throw new Error(`a transaction older than ${begun!.xmax} is still open on the test server after ${SETTLE_PATIENCE_MS} ms`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
