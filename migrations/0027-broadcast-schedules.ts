import { sql, type Kysely } from 'kysely'
import { statementTriggers } from './statement-triggers.js'

/** The Vietnam day (UTC+7, no daylight saving) of an instant, and the first instant of a day. */
const dayOf = (instant: string) => `(((${instant}) at time zone 'UTC') + interval '7 hours')::date`
const dayStart = (day: string) => `((${day})::timestamp - interval '7 hours') at time zone 'UTC'`

/** The contract's tolerance for a play's start (schemas/schedules.ts states the same rule). */
const TOLERANCE = `interval '300 seconds'`

/** The scheduled station-days among those named by three arrays. */
const scheduled = (provinces: string, stations: string, days: string) => `
  select distinct h.province_code, h.station_id, h.day
  from unnest(${provinces}, ${stations}, ${days}) as t(province_code, station_id, day)
  join broadcast_schedules h on h.province_code = t.province_code and h.station_id = t.station_id and h.day = t.day`

/*
 * Whether a play airs a slot, searched from either side. Plays of a station never overlap (the
 * log ingest refuses it), nor do its slots, so besides the few that start near the other one,
 * only the last one starting before it can reach into it: two short index reads, however long
 * ago the station's previous play or slot was.
 */
const slotIsAired = (s: string) => `(
  exists (
    select 1 from broadcast_logs b
    where b.province_code = ${s}.province_code and b.station_id = ${s}.station_id
      and b.started_at between ${s}.starts_at - ${TOLERANCE} and ${s}.ends_at + ${TOLERANCE}
      and broadcast_schedule_airs(${s}.starts_at, ${s}.ends_at, ${s}.content_id, b.started_at, b.ended_at, b.content_id))
  or coalesce((
    select broadcast_schedule_airs(${s}.starts_at, ${s}.ends_at, ${s}.content_id, b.started_at, b.ended_at, b.content_id) from broadcast_logs b
    where b.province_code = ${s}.province_code and b.station_id = ${s}.station_id and b.started_at < ${s}.starts_at - ${TOLERANCE}
    order by b.started_at desc limit 1), false))`

const playIsPlanned = (b: string) => `(
  exists (
    select 1 from broadcast_schedule_slots s
    where s.province_code = ${b}.province_code and s.station_id = ${b}.station_id
      and s.starts_at between ${b}.started_at - ${TOLERANCE} and greatest(${b}.ended_at, ${b}.started_at + ${TOLERANCE})
      and broadcast_schedule_airs(s.starts_at, s.ends_at, s.content_id, ${b}.started_at, ${b}.ended_at, ${b}.content_id))
  or coalesce((
    select broadcast_schedule_airs(s.starts_at, s.ends_at, s.content_id, ${b}.started_at, ${b}.ended_at, ${b}.content_id) from broadcast_schedule_slots s
    where s.province_code = ${b}.province_code and s.station_id = ${b}.station_id and s.starts_at < ${b}.started_at - ${TOLERANCE}
    order by s.starts_at desc limit 1), false))`

/**
 * Broadcast schedules (lịch phát sóng): each station-day's planned slots, replaced as a whole by
 * a push, and their cross-check with the broadcast logs, kept by the database itself: whether
 * each slot is aired, the plays of a scheduled day that air no slot, and per station-day the
 * counts of both, refreshed whenever slots or plays that can meet them change. Summaries then read
 * a row per province and day, and a cross-check lists its mismatches a page at a time, instead of
 * matching weeks of slots and logs on every request.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table broadcast_schedules (
      province_code text not null,
      station_id text not null,
      day date not null,
      version integer not null check (version > 0),
      slots_hash text not null,
      updated_at timestamptz not null default now(),
      slots integer not null,
      aired integer not null default 0,
      logs integer not null default 0,
      matched_logs integer not null default 0,
      primary key (province_code, station_id, day),
      foreign key (province_code, station_id) references stations (province_code, id)
    )`.execute(db)
  await sql`create index broadcast_schedules_by_day on broadcast_schedules (province_code, day desc, station_id)`.execute(db)

  // Slots of a station never overlap, so its starts are unique; a day's slots are a stretch of them.
  await sql`
    create table broadcast_schedule_slots (
      province_code text not null,
      station_id text not null,
      day date not null,
      starts_at timestamptz not null,
      ends_at timestamptz not null,
      content_id uuid references contents (id),
      local_programme text,
      source text not null check (source in ('local', 'relay-national', 'relay-provincial')),
      aired boolean not null default false,
      primary key (province_code, station_id, starts_at),
      foreign key (province_code, station_id, day) references broadcast_schedules (province_code, station_id, day),
      check (ends_at > starts_at),
      check (content_id is not null or local_programme is not null)
    )`.execute(db)
  await sql`create index broadcast_schedule_slots_unaired on broadcast_schedule_slots (province_code, starts_at, station_id) where not aired`.execute(db)

  // The plays of scheduled station-days that air no slot (aired-not-planned), by the play's key.
  await sql`
    create table broadcast_schedule_unplanned (
      province_code text not null,
      station_id text not null,
      started_at timestamptz not null,
      primary key (province_code, station_id, started_at)
    )`.execute(db)
  await sql`create index broadcast_schedule_unplanned_by_start on broadcast_schedule_unplanned (province_code, started_at, station_id)`.execute(db)

  await sql`
    create table broadcast_schedule_daily (
      province_code text not null,
      day date not null,
      slots integer not null,
      aired integer not null,
      logs integer not null,
      matched_logs integer not null,
      primary key (province_code, day)
    )`.execute(db)

  // The matching rule of the contract. Stable, as the arithmetic on timestamptz it uses is, so that it is inlined where it is used.
  await sql.raw(`
    create function broadcast_schedule_airs(slot_start timestamptz, slot_end timestamptz, slot_content uuid,
      play_start timestamptz, play_end timestamptz, play_content uuid) returns boolean language sql stable as $$
      select (slot_content is null or play_content = slot_content)
        and 2 * case when play_start between slot_start - ${TOLERANCE} and slot_start + ${TOLERANCE}
                then least(play_end - play_start, slot_end - slot_start)
                else greatest(interval '0', least(play_end, slot_end) - greatest(play_start, slot_start)) end
          >= slot_end - slot_start
    $$`).execute(db)

  /*
   * Recomputes the scheduled station-days named: each slot's flag, the day's plays that air no
   * slot, and the day's counts. It takes the lock of the province's broadcast writes first (pushes
   * of schedules and batches of logs take it before anything else), so two writers never compute
   * from each other's uncommitted rows: the one that takes it second sees the first one's committed.
   * Its statements are thousands of short index reads, which the planner's estimates would have
   * compiled by JIT at many times their cost (300 ms instead of 13 for a day of 300 stations).
   */
  await sql.raw(`
    create function broadcast_schedule_refresh(provinces text[], stations text[], days date[]) returns void language plpgsql set jit = off as $$
    begin
      perform pg_advisory_xact_lock(hashtext('broadcast-logs/' || p)) from (select distinct p from unnest(provinces) p order by 1) l;
      with targets as (${scheduled('provinces', 'stations', 'days')})
      update broadcast_schedule_slots s set aired = not s.aired
      from targets t
      where s.province_code = t.province_code and s.station_id = t.station_id
        and s.starts_at >= ${dayStart('t.day')} and s.starts_at < ${dayStart('t.day + 1')}
        and s.aired <> ${slotIsAired('s')};
      with targets as (${scheduled('provinces', 'stations', 'days')})
      delete from broadcast_schedule_unplanned u using targets t
      where u.province_code = t.province_code and u.station_id = t.station_id
        and u.started_at >= ${dayStart('t.day')} and u.started_at < ${dayStart('t.day + 1')};
      with targets as (${scheduled('provinces', 'stations', 'days')})
      insert into broadcast_schedule_unplanned (province_code, station_id, started_at)
      select b.province_code, b.station_id, b.started_at from targets t
      join broadcast_logs b on b.province_code = t.province_code and b.station_id = t.station_id
        and b.started_at >= ${dayStart('t.day')} and b.started_at < ${dayStart('t.day + 1')}
      where not ${playIsPlanned('b')};
      with targets as (${scheduled('provinces', 'stations', 'days')}),
      figures as (
        select t.*,
          (select count(*) from broadcast_schedule_slots s
            where s.province_code = t.province_code and s.station_id = t.station_id and s.aired
              and s.starts_at >= ${dayStart('t.day')} and s.starts_at < ${dayStart('t.day + 1')})::int as aired,
          (select count(*) from broadcast_logs b
            where b.province_code = t.province_code and b.station_id = t.station_id
              and b.started_at >= ${dayStart('t.day')} and b.started_at < ${dayStart('t.day + 1')})::int as logs,
          (select count(*) from broadcast_schedule_unplanned u
            where u.province_code = t.province_code and u.station_id = t.station_id
              and u.started_at >= ${dayStart('t.day')} and u.started_at < ${dayStart('t.day + 1')})::int as unplanned
        from targets t
      )
      update broadcast_schedules h set aired = f.aired, logs = f.logs, matched_logs = f.logs - f.unplanned
      from figures f
      where h.province_code = f.province_code and h.station_id = f.station_id and h.day = f.day
        and (h.aired, h.logs, h.matched_logs) is distinct from (f.aired, f.logs, f.logs - f.unplanned);
    end $$`).execute(db)

  /*
   * After a push of some station-days: those days, the plays of the days either side that may
   * have aired a slot of them (they start within the tolerance of midnight), and the play that
   * started before and may run into the day.
   */
  await sql.raw(`
    create function broadcast_schedule_pushed(province text, stations text[], days date[]) returns void language plpgsql as $$
    begin
      perform broadcast_schedule_refresh(array_agg(province), array_agg(station_id), array_agg(day)) from (
        select distinct k.station_id, d.day from unnest(stations, days) as k(station_id, day)
        cross join lateral (
          select k.day + shift as day from generate_series(-1, 1) as shift
          union
          select ${dayOf('b.started_at')} from (
            select b.started_at, b.ended_at from broadcast_logs b
            where b.province_code = province and b.station_id = k.station_id and b.started_at < ${dayStart('k.day')} - ${TOLERANCE}
            order by b.started_at desc limit 1) b
          where b.ended_at > ${dayStart('k.day')}
        ) d
      ) t;
    end $$`).execute(db)

  // A play may air the slots of the days from its start, less the tolerance, to its end (a slot never leaves its day), and counts on the day it starts.
  await statementTriggers(db, 'broadcast_logs', 'broadcast_schedule_plays', (rows) => `
    perform broadcast_schedule_refresh(array_agg(province_code), array_agg(station_id), array_agg(day)) from (
      select distinct h.province_code, h.station_id, h.day
      from (${rows((from) => `select province_code, station_id, started_at, ended_at from ${from}`)}) as p(province_code, station_id, started_at, ended_at)
      join broadcast_schedules h on h.province_code = p.province_code and h.station_id = p.station_id
        and h.day between ${dayOf(`p.started_at - ${TOLERANCE}`)} and ${dayOf(`greatest(p.ended_at, p.started_at + ${TOLERANCE})`)}
    ) t`, 'broadcast_logs_scheduled')

  await statementTriggers(db, 'broadcast_schedules', 'broadcast_schedule_daily_count', (rows) => `
    insert into broadcast_schedule_daily as d
    select province_code, day, sum(n * slots)::int, sum(n * aired)::int, sum(n * logs)::int, sum(n * matched_logs)::int
    from (${rows((from, n) => `select province_code, day, slots, aired, logs, matched_logs, ${n} from ${from}`)}) as c(province_code, day, slots, aired, logs, matched_logs, n)
    group by 1, 2 order by 1, 2
    on conflict (province_code, day) do update set slots = d.slots + excluded.slots, aired = d.aired + excluded.aired,
      logs = d.logs + excluded.logs, matched_logs = d.matched_logs + excluded.matched_logs`)
}
