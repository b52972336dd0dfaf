import { sql, type Kysely } from 'kysely'
import { REACH_FLAGS } from './0022-summary-counts.js'
import { statementTriggers } from './statement-triggers.js'

/**
 * Content items that target communes and have a language.
 *
 * - `contents.audience`: the provinces the current version is for, its target provinces and
 *   those of its target communes (null for every province), as the version's feed entry counts
 *   them; the late-webhook catch-up, broadcast-log acceptance and reach read this one set.
 *   `language` beside it, for the library's filter.
 * - `content_acks.communes`: the target communes an acknowledgement covers; null for all.
 *
 * Items stored before gain the fields every item now has: no communes, Vietnamese.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table contents add column audience text[], add column language text not null default 'vi'`.execute(db)
  // The function the triggers on contents call, made again to read the audience.
  await sql`drop function content_reach_of_items() cascade`.execute(db)
  await statementTriggers(db, 'contents', 'content_reach_of_items', (rows) => `
    delete from content_reach where content_id in (${rows((from) => `select id from ${from}`)});
    insert into content_reach (content_id, province_code, published_at, delivered, acknowledged, played)
    select r.content_id, r.province_code, r.published_at, ${REACH_FLAGS} from (
      select c.id as content_id, p.code as province_code, c.published_at from contents c
      join admin_units p on p.level = 'province' and p.status = 'active' and (c.audience is null or p.code = any(c.audience))
      where c.origin = 'central' and c.id in (${rows((from) => `select id from ${from}`)})
    ) r`)

  const fieldsOfEveryItem = sql`'{"communes": [], "language": "vi"}'::jsonb`
  await sql`update contents set audience = targets, item = ${fieldsOfEveryItem} || item`.execute(db)
  await sql`update content_events set item = ${fieldsOfEveryItem} || item`.execute(db)
  await sql`alter table content_acks add column communes text[]`.execute(db)
}
