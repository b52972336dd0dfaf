import { sql, type Kysely } from 'kysely'

/** The rows a statement changed, each with +1 (as it is now) or -1 (as it was). */
export type ChangedRows = (select: (from: 'new_rows' | 'old_rows', n: 1 | -1) => string) => string

/**
 * A function and its three statement triggers (a trigger with transition tables names one
 * event only), named `<triggers>_insert` and so on; the function's statement reads the
 * transition tables its event has.
 */
export async function statementTriggers(db: Kysely<unknown>, table: string, fn: string, statement: (rows: ChangedRows) => string,
  triggers = `${table}_counted`): Promise<void> {
  const inserted: ChangedRows = (select) => select('new_rows', 1)
  const updated: ChangedRows = (select) => `${select('new_rows', 1)} union all ${select('old_rows', -1)}`
  const deleted: ChangedRows = (select) => select('old_rows', -1)
  await sql.raw(`
    create function ${fn}() returns trigger language plpgsql as $$
    begin
      if tg_op = 'INSERT' then ${statement(inserted)};
      elsif tg_op = 'UPDATE' then ${statement(updated)};
      else ${statement(deleted)};
      end if;
      return null;
    end $$`).execute(db)
  const call = `for each statement execute function ${fn}()`
  await sql.raw(`create trigger ${triggers}_insert after insert on ${table} referencing new table as new_rows ${call}`).execute(db)
  await sql.raw(`create trigger ${triggers}_update after update on ${table} referencing old table as old_rows new table as new_rows ${call}`).execute(db)
  await sql.raw(`create trigger ${triggers}_delete after delete on ${table} referencing old table as old_rows ${call}`).execute(db)
}
