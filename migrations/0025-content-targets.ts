import { sql, type Kysely } from 'kysely'
import { REACH_FLAGS } from './0022-summary-counts.js'
import { statementTriggers } from './statement-triggers.js'

/**
 * Content items that target communes, have a language and may be exercises.
 *
 * - `contents.audience`: the provinces the current version is for, its target provinces and
 *   those of its target communes (null for every province), as the version's feed entry counts
 *   them; the late-webhook catch-up, broadcast-log acceptance and reach read this one set.
 *   `language` and `test` beside it, for the library's filter and for the counts.
 * - `content_acks.communes`: the target communes an acknowledgement covers; null for all.
 * - Exercises and tests are counted apart from real content: `content_reach.test`, and the
 *   airtime roll-up keeps their seconds and plays in columns of their own, out of `seconds`
 *   and `content_plays`. An item never changes between the two (a rule of its versions), so a
 *   play is counted once, on the side its item was on when it was logged.
 *
 * Items stored before gain the fields every item now has: no communes, Vietnamese, not a test.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table contents add column audience text[], add column language text not null default 'vi', add column test boolean not null default false`.execute(db)
  await sql`alter table content_reach add column test boolean not null default false`.execute(db)
  // The function the triggers on contents call, made again to read the audience and the exercise flag.
  await sql`drop function content_reach_of_items() cascade`.execute(db)
  await statementTriggers(db, 'contents', 'content_reach_of_items', (rows) => `
    delete from content_reach where content_id in (${rows((from) => `select id from ${from}`)});
    insert into content_reach (content_id, province_code, published_at, test, delivered, acknowledged, played)
    select r.content_id, r.province_code, r.published_at, r.test, ${REACH_FLAGS} from (
      select c.id as content_id, p.code as province_code, c.published_at, c.test from contents c
      join admin_units p on p.level = 'province' and p.status = 'active' and (c.audience is null or p.code = any(c.audience))
      where c.origin = 'central' and c.id in (${rows((from) => `select id from ${from}`)})
    ) r`)

  const fieldsOfEveryItem = sql`'{"communes": [], "language": "vi", "test": false}'::jsonb`
  await sql`update contents set audience = targets, item = ${fieldsOfEveryItem} || item`.execute(db)
  await sql`update content_events set item = ${fieldsOfEveryItem} || item`.execute(db)
  await sql`alter table content_acks add column communes text[]`.execute(db)

  await sql`
    alter table broadcast_airtime_daily add column exercise_seconds double precision not null default 0,
      add column exercise_plays integer not null default 0`.execute(db)
  await sql`
    create or replace function broadcast_airtime_rollup() returns trigger language plpgsql as $$
    begin
      -- In key order, so concurrent batches lock the same rows in the same order and never deadlock.
      insert into broadcast_airtime_daily (province_code, day, seconds, content_plays, exercise_seconds, exercise_plays)
      select i.province_code, ((i.started_at at time zone 'UTC') + interval '7 hours')::date,
        coalesce(sum(extract(epoch from i.ended_at - i.started_at)) filter (where c.test is not true), 0),
        count(*) filter (where i.content_id is not null and c.test is not true),
        coalesce(sum(extract(epoch from i.ended_at - i.started_at)) filter (where c.test), 0),
        count(*) filter (where c.test)
      from inserted i left join contents c on c.id = i.content_id
      group by 1, 2 order by 1, 2
      on conflict (province_code, day) do update set seconds = broadcast_airtime_daily.seconds + excluded.seconds,
        content_plays = broadcast_airtime_daily.content_plays + excluded.content_plays,
        exercise_seconds = broadcast_airtime_daily.exercise_seconds + excluded.exercise_seconds,
        exercise_plays = broadcast_airtime_daily.exercise_plays + excluded.exercise_plays;
      return null;
    end $$`.execute(db)
}
