import { sql, type Kysely } from 'kysely'

/**
 * Airtime per province and Vietnam calendar day, kept by the database itself as broadcast logs
 * arrive, so a summary sums a few hundred rows instead of a month of logs. Logs are
 * append-only: only inserts change airtime.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table broadcast_airtime_daily (
      province_code text not null,
      day date not null,
      seconds double precision not null,
      primary key (province_code, day)
    )`.execute(db)
  // Vietnam keeps UTC+7 all year, so the day is a fixed shift of the UTC instant.
  await sql`
    create function broadcast_airtime_rollup() returns trigger language plpgsql as $$
    begin
      -- In key order, so concurrent batches lock the same rows in the same order and never deadlock.
      insert into broadcast_airtime_daily (province_code, day, seconds)
      select province_code, ((started_at at time zone 'UTC') + interval '7 hours')::date, sum(extract(epoch from ended_at - started_at))
      from inserted group by 1, 2 order by 1, 2
      on conflict (province_code, day) do update set seconds = broadcast_airtime_daily.seconds + excluded.seconds;
      return null;
    end $$`.execute(db)
  await sql`
    create trigger broadcast_airtime_rollup after insert on broadcast_logs
    referencing new table as inserted for each statement execute function broadcast_airtime_rollup()`.execute(db)
  await sql`
    insert into broadcast_airtime_daily (province_code, day, seconds)
    select province_code, ((started_at at time zone 'UTC') + interval '7 hours')::date, sum(extract(epoch from ended_at - started_at))
    from broadcast_logs group by 1, 2`.execute(db)
}
