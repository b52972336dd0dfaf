import t from 'tap'
import { sql } from 'kysely'
import { MAX_PREPARED_PARAMETERS } from '../../src/db/prepared.js'
import { openPostgres } from '../../src/db/database.js'
import { serverUrl, testDatabase } from '../helpers/database.js'

const skip = serverUrl ? false : 'needs TEST_DATABASE_URL: prepared statements belong to PostgreSQL connections'

t.test('small statements are prepared once per connection; batches are not; a changed result shape is prepared again', { skip }, async (t) => {
  const { url } = await testDatabase(t)
  const database = openPostgres({ url: url!, poolMax: 1 })
  t.teardown(() => database.close())
  const { db } = database
  const prepared = async () => (await sql<{ statement: string }>`select statement from pg_prepared_statements`.execute(db)).rows.map((r) => r.statement)

  await sql`create table prepared_probe (id int primary key, name text)`.execute(db)
  for (let i = 0; i < 3; i++) await db.insertInto('prepared_probe' as never).values({ id: i, name: `n${i}` } as never).execute()
  const afterInserts = await prepared()
  t.equal(afterInserts.filter((s) => s.startsWith('insert into "prepared_probe"')).length, 1, 'three inserts of one text: one prepared statement')

  const many = Array.from({ length: MAX_PREPARED_PARAMETERS }, (_, i) => ({ id: 100 + i, name: 'batch' }))
  await db.insertInto('prepared_probe' as never).values(many as never).execute()
  t.equal((await prepared()).filter((s) => s.startsWith('insert into "prepared_probe"')).length, 1, `a batch of ${2 * MAX_PREPARED_PARAMETERS} parameters stays unnamed`)

  // At the bound a statement is still prepared; one parameter more and it is not.
  const inList = (count: number) => db.selectFrom('prepared_probe' as never).select('id' as never).where('id' as never, 'in', Array.from({ length: count }, (_, i) => i) as never).execute()
  await inList(MAX_PREPARED_PARAMETERS)
  await inList(MAX_PREPARED_PARAMETERS + 1)
  const selects = (await prepared()).filter((s) => s.startsWith('select "id" from "prepared_probe" where "id" in'))
  t.same(selects.map((s) => s.split('$').length - 1), [MAX_PREPARED_PARAMETERS], `${MAX_PREPARED_PARAMETERS} parameters prepared, ${MAX_PREPARED_PARAMETERS + 1} not`)

  const read = () => db.selectFrom('prepared_probe' as never).selectAll().where('id' as never, '=', 1 as never).execute()
  t.same(await read(), [{ id: 1, name: 'n1' }])
  await sql`alter table prepared_probe add column extra text`.execute(db)
  // The plan of `select *` cached before the column came no longer fits: one refusal, then a fresh statement.
  const refused = await read().then(() => null, (error: { code?: string }) => error.code)
  t.ok(refused === null || refused === '0A000', `the first read after the change: ${refused ?? 'answered'}`)
  t.same(await read(), [{ id: 1, name: 'n1', extra: null }], 'the next read prepares the new shape')
})

t.test('DATABASE_PREPARED_STATEMENTS=false sends every statement unnamed', { skip }, async (t) => {
  const { url } = await testDatabase(t)
  const database = openPostgres({ url: url!, poolMax: 1, preparedStatements: false })
  t.teardown(() => database.close())
  await database.db.selectFrom('systems').select('id').where('id', '=', 'x').execute()
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_prepared_statements`.execute(database.db)
  t.equal(rows[0]!.n, 0)
})
