import { sql, type Kysely } from 'kysely'

/** Plays of essential content per province and Vietnam day, kept beside airtime by the same trigger, for the daily trends. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table broadcast_airtime_daily add column content_plays integer not null default 0`.execute(db)
  await sql`
    create or replace function broadcast_airtime_rollup() returns trigger language plpgsql as $$
    begin
      -- In key order, so concurrent batches lock the same rows in the same order and never deadlock.
      insert into broadcast_airtime_daily (province_code, day, seconds, content_plays)
      select province_code, ((started_at at time zone 'UTC') + interval '7 hours')::date, sum(extract(epoch from ended_at - started_at)),
        count(*) filter (where content_id is not null)
      from inserted group by 1, 2 order by 1, 2
      on conflict (province_code, day) do update set seconds = broadcast_airtime_daily.seconds + excluded.seconds,
        content_plays = broadcast_airtime_daily.content_plays + excluded.content_plays;
      return null;
    end $$`.execute(db)
  await sql`
    update broadcast_airtime_daily d set content_plays = p.plays
    from (select province_code, ((started_at at time zone 'UTC') + interval '7 hours')::date as day, count(*)::int as plays
      from broadcast_logs where content_id is not null group by 1, 2) p
    where d.province_code = p.province_code and d.day = p.day`.execute(db)
}
