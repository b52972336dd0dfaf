import { sql, type Kysely } from 'kysely'

/** What a registry table counts by, beside its province: a board has no kind and no programme. */
const REGISTRY = [
  { table: 'stations', type: 'station', kind: 'kind', programme: `coalesce(programme, '')` },
  { table: 'clusters', type: 'cluster', kind: 'kind', programme: `''` },
  { table: 'boards', type: 'board', kind: `''`, programme: `''` },
] as const

/**
 * Counts the summaries read instead of counting rows on every request, kept by the database
 * itself as rows change, whatever writes them (statement triggers with transition tables, one
 * aggregate per statement, so a batch of 5000 costs one small upsert):
 *
 * - `registry_counts`: stations, clusters and boards not deleted, by province, kind, status and
 *   (for stations) programme, as rows of changes to add up: each statement appends its own, so a
 *   registry transaction never waits for another one of its province to end; a job folds them
 *   into one row per count now and then (`compactRegistryCounts`).
 * - `device_state_seconds`: the devices' current states by province, state and the second of
 *   their newest report, with the sums of their open periods' starts and of their newest reports
 *   (epoch milliseconds). A summary counts the stale at read time, as before, from these buckets
 *   (every bucket is wholly before or after a limit drawn at a whole second), and the open
 *   periods' time from the sums (see `AvailabilityStore.currentOpenSums`).
 *
 * - `content_reach`: for each of central's items and each province it targets, whether it was
 *   delivered (webhook delivered, or acknowledged), acknowledged and played (a broadcast log names
 *   it), kept from the items, notifications, acknowledgements and logs as they change.
 *
 * Buckets are added to in key order, so concurrent statements lock their rows in one order and
 * never deadlock (one province's reports are written one batch at a time anyway); a bucket that
 * reaches zero is deleted, so the table holds only the seconds some device was last heard in.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table registry_counts (
      province_code text collate "C" not null,
      device_type text collate "C" not null check (device_type in ('station', 'cluster', 'board')),
      kind text collate "C" not null,
      status text collate "C" not null,
      programme text collate "C" not null,
      devices integer not null
    )`.execute(db)
  await sql`create index registry_counts_province on registry_counts (province_code, device_type)`.execute(db)
  // The devices no longer in place, whose current states a summary takes out of the buckets (clusters have theirs since 0012).
  for (const table of ['stations', 'boards']) {
    await sql`create index ${sql.raw(`${table}_not_in_place`)} on ${sql.table(table)} (province_code, id) where deleted_at is not null or status = 'decommissioned'`.execute(db)
  }
  await sql`
    create table device_state_seconds (
      province_code text collate "C" not null,
      state text collate "C" not null,
      seen_second bigint not null,
      devices integer not null,
      started_ms bigint not null,
      seen_ms bigint not null,
      primary key (province_code, state, seen_second)
    )`.execute(db)

  for (const { table, type, kind, programme } of REGISTRY) {
    const key = `province_code, '${type}'::text, ${kind}, status, ${programme}`
    await countingTriggers(db, table, `${table}_count`, (rows) => `
      with delta as (
        select province_code, device_type, kind, status, programme, sum(n)::int as n
        from (${rows((from, n) => `select ${key}, ${n} from ${from} where deleted_at is null`)}) as changed(province_code, device_type, kind, status, programme, n)
        group by 1, 2, 3, 4, 5 having sum(n) <> 0
      )
      insert into registry_counts select * from delta`)
    await sql`insert into registry_counts select ${sql.raw(key)}, count(*) from ${sql.table(table)} where deleted_at is null group by 1, 2, 3, 4, 5`.execute(db)
  }

  const second = 'floor(extract(epoch from observed_at))::bigint'
  const ms = (column: string) => `round(date_part('epoch', ${column}) * 1000)::bigint`
  const bucket = `province_code, state, ${second}`
  const sums = `${ms('run_started_at')}, ${ms('observed_at')}`
  await countingTriggers(db, 'device_status', 'device_state_count', (rows) => `
    with delta as (
      select province_code, state, seen_second, sum(n)::int as n, sum(n * started_ms) as started_ms, sum(n * seen_ms) as seen_ms
      from (${rows((from, n) => `select ${bucket}, ${n}, ${sums} from ${from}`)}) as changed(province_code, state, seen_second, n, started_ms, seen_ms)
      group by 1, 2, 3 having sum(n) <> 0 or sum(n * started_ms) <> 0 or sum(n * seen_ms) <> 0
    )
    insert into device_state_seconds as c select * from delta order by 1, 2, 3
    on conflict (province_code, state, seen_second) do update set devices = c.devices + excluded.devices,
      started_ms = c.started_ms + excluded.started_ms, seen_ms = c.seen_ms + excluded.seen_ms;
    -- A statement of its own: a statement cannot delete the rows it updated.
    delete from device_state_seconds c
    using (${rows((from) => `select ${bucket} from ${from}`)}) as changed(province_code, state, seen_second)
    where c.devices = 0 and c.province_code = changed.province_code and c.state = changed.state and c.seen_second = changed.seen_second`)
  await sql`
    insert into device_state_seconds select ${sql.raw(bucket)}, count(*), sum(${sql.raw(ms('run_started_at'))}), sum(${sql.raw(ms('observed_at'))})
    from device_status group by 1, 2, 3`.execute(db)
  await contentReach(db)
}

/** Whether an item reached a province: delivered (webhook delivered, or acknowledged), acknowledged, played; from the rows that say so. */
const REACH_FLAGS = `
  exists (select 1 from content_acks a where a.content_id = r.content_id and a.province_code = r.province_code)
    or exists (select 1 from webhook_outbox w where w.content_id = r.content_id and w.province_code = r.province_code and w.state = 'delivered') as delivered,
  exists (select 1 from content_acks a where a.content_id = r.content_id and a.province_code = r.province_code) as acknowledged,
  exists (select 1 from broadcast_logs b where b.content_id = r.content_id and b.province_code = r.province_code) as played`

async function contentReach(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table content_reach (
      content_id uuid not null,
      province_code text collate "C" not null,
      published_at timestamptz not null,
      delivered boolean not null,
      acknowledged boolean not null,
      played boolean not null,
      primary key (content_id, province_code)
    )`.execute(db)
  await sql`create index content_reach_published on content_reach (published_at, province_code)`.execute(db)
  // Each central item's targets, its provinces or every active one, with what reached them.
  const reach = (items: string) => `
    insert into content_reach (content_id, province_code, published_at, delivered, acknowledged, played)
    select r.content_id, r.province_code, r.published_at, ${REACH_FLAGS} from (
      select c.id as content_id, p.code as province_code, c.published_at from contents c
      join admin_units p on p.level = 'province' and p.status = 'active' and (c.targets is null or p.code = any(c.targets))
      where c.origin = 'central' and c.id in (${items})
    ) r`
  await countingTriggers(db, 'contents', 'content_reach_of_items', (rows) => `
    delete from content_reach where content_id in (${rows((from) => `select id from ${from}`)});
    ${reach(rows((from) => `select id from ${from}`))}`)
  for (const table of ['content_acks', 'webhook_outbox', 'broadcast_logs']) {
    const named = table === 'broadcast_logs' ? ' where content_id is not null' : ''
    await countingTriggers(db, table, `content_reach_of_${table}`, (rows) => `
      update content_reach t set delivered = f.delivered, acknowledged = f.acknowledged, played = f.played
      from (
        select r.content_id, r.province_code, ${REACH_FLAGS} from content_reach r
        where (r.content_id, r.province_code) in (${rows((from) => `select content_id, province_code from ${from}${named}`)})
      ) f
      where t.content_id = f.content_id and t.province_code = f.province_code
        and (t.delivered, t.acknowledged, t.played) is distinct from (f.delivered, f.acknowledged, f.played)`)
  }
  await sql.raw(reach('select id from contents')).execute(db)
}

/** The rows a statement changed, each with +1 (as it is now) or -1 (as it was). */
type ChangedRows = (select: (from: 'new_rows' | 'old_rows', n: 1 | -1) => string) => string

/**
 * A function and its three statement triggers (a trigger with transition tables names one
 * event only); the function's statement reads the transition tables its event has.
 */
async function countingTriggers(db: Kysely<unknown>, table: string, fn: string, statement: (rows: ChangedRows) => string): Promise<void> {
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
  await sql.raw(`create trigger ${table}_counted_insert after insert on ${table} referencing new table as new_rows ${call}`).execute(db)
  await sql.raw(`create trigger ${table}_counted_update after update on ${table} referencing old table as old_rows new table as new_rows ${call}`).execute(db)
  await sql.raw(`create trigger ${table}_counted_delete after delete on ${table} referencing old table as old_rows ${call}`).execute(db)
}
