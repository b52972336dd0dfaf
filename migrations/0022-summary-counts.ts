import { sql, type Kysely } from 'kysely'
import { statementTriggers, type ChangedRows } from './statement-triggers.js'

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
 * - `device_state_seconds`: the devices' current states by province, place (`devices_not_in_place`
 *   lists those deleted or decommissioned), state and the second of their newest report, with the
 *   sums of their open periods' starts and of their newest reports (epoch milliseconds). A summary
 *   counts the stale at read time, as before, from these buckets (every bucket is wholly before or
 *   after a limit drawn at a whole second), and the open periods' time from the sums (see
 *   `AvailabilityStore.currentOpenTime`).
 * - `content_reach`: for each of central's items and each province it targets, whether it was
 *   delivered (webhook delivered, or acknowledged), acknowledged and played (a broadcast log names
 *   it), kept from the items, notifications, acknowledgements and logs as they change.
 *
 * Buckets are added to in key order, so concurrent statements lock their rows in one order and
 * never deadlock (one province's reports are written one batch at a time anyway); a bucket that
 * reaches zero is deleted, so the table holds only the seconds some device was last heard in.
 * Buckets of different provinces are different rows: no province waits for another's.
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
  await sql`
    create table devices_not_in_place (
      province_code text collate "C" not null,
      device_type text collate "C" not null,
      device_id text collate "C" not null,
      primary key (province_code, device_type, device_id)
    )`.execute(db)
  await sql`
    create table device_state_seconds (
      province_code text collate "C" not null,
      in_place boolean not null,
      state text collate "C" not null,
      seen_second bigint not null,
      devices integer not null,
      started_ms bigint not null,
      seen_ms bigint not null,
      primary key (province_code, in_place, state, seen_second)
    )`.execute(db)
  await sql`create index device_state_seconds_empty on device_state_seconds (province_code) where devices = 0`.execute(db)

  for (const { table, type, kind, programme } of REGISTRY) {
    const key = `province_code, '${type}'::text, ${kind}, status, ${programme}`
    await statementTriggers(db, table, `${table}_count`, (rows) => `
      with delta as (
        select province_code, device_type, kind, status, programme, sum(n)::int as n
        from (${rows((from, n) => `select ${key}, ${n} from ${from} where deleted_at is null`)}) as changed(province_code, device_type, kind, status, programme, n)
        group by 1, 2, 3, 4, 5 having sum(n) <> 0
      )
      insert into registry_counts select * from delta;
      ${placeMoves(type, rows)}`)
    await sql`insert into devices_not_in_place select province_code, ${type}, id from ${sql.table(table)} where deleted_at is not null or status = 'decommissioned'`.execute(db)
    await sql`insert into registry_counts select ${sql.raw(key)}, count(*) from ${sql.table(table)} where deleted_at is null group by 1, 2, 3, 4, 5`.execute(db)
  }

  await statementTriggers(db, 'device_status', 'device_state_count', (rows) => `
    ${addToBuckets(rows((from, n) => `
      select s.province_code, g.device_id is null, s.state, ${SECOND}, ${n}, ${STARTED_MS}, ${SEEN_MS} from ${from} s
      left join devices_not_in_place g on g.province_code = s.province_code and g.device_type = s.device_type and g.device_id = s.device_id`))};
    ${dropEmptyBuckets(rows((from) => `select province_code from ${from}`))}`)
  await sql.raw(`
    insert into device_state_seconds
    select s.province_code, g.device_id is null, s.state, ${SECOND}, count(*), sum(${STARTED_MS}), sum(${SEEN_MS}) from device_status s
    left join devices_not_in_place g on g.province_code = s.province_code and g.device_type = s.device_type and g.device_id = s.device_id
    group by 1, 2, 3, 4`).execute(db)
  await contentReach(db)
}

const SECOND = 'floor(extract(epoch from s.observed_at))::bigint'
const STARTED_MS = `round(date_part('epoch', s.run_started_at) * 1000)::bigint`
const SEEN_MS = `round(date_part('epoch', s.observed_at) * 1000)::bigint`

/** Adds rows (province, in place, state, second, +1 or -1, start, newest report) to the buckets, in key order. */
const addToBuckets = (changes: string) => `
  insert into device_state_seconds as c
  select province_code, in_place, state, seen_second, sum(n)::int, sum(n * started_ms), sum(n * seen_ms)
  from (${changes}) as changed(province_code, in_place, state, seen_second, n, started_ms, seen_ms)
  group by 1, 2, 3, 4 having sum(n) <> 0 or sum(n * started_ms) <> 0 or sum(n * seen_ms) <> 0 order by 1, 2, 3, 4
  on conflict (province_code, in_place, state, seen_second) do update set devices = c.devices + excluded.devices,
    started_ms = c.started_ms + excluded.started_ms, seen_ms = c.seen_ms + excluded.seen_ms`

/** A statement of its own (a statement cannot delete the rows it updated), for the provinces just changed. */
const dropEmptyBuckets = (provinces: string) => `delete from device_state_seconds where devices = 0 and province_code in (${provinces})`

/**
 * When registry rows leave their place (deleted, decommissioned) or come back, the devices'
 * current states move between the buckets in place and not, after taking the province's status
 * lock: a status write of the province is then wholly before or after, so each sees the other.
 */
function placeMoves(type: string, rows: ChangedRows): string {
  const moved = `
    select province_code::text collate "C", '${type}'::text collate "C", id::text collate "C", sum(n * gone::int)::int
    from (${rows((from, n) => `select province_code, id, deleted_at is not null or status = 'decommissioned', ${n} from ${from}`)}) as c(province_code, id, gone, n)
    group by 1, 2, 3 having sum(n * gone::int) <> 0`
  const states = `
    from moved m join device_status s on s.province_code = m.province_code and s.device_type = m.device_type and s.device_id = m.device_id`
  return `
    perform pg_advisory_xact_lock(hashtext('status/' || p)) from (select distinct province_code from (${moved}) as m(province_code) order by 1) as l(p);
    with moved(province_code, device_type, device_id, to_gone) as (${moved}),
    listed as (insert into devices_not_in_place select province_code, device_type, device_id from moved where to_gone > 0 on conflict do nothing),
    unlisted as (
      delete from devices_not_in_place g using moved m
      where m.to_gone < 0 and g.province_code = m.province_code and g.device_type = m.device_type and g.device_id = m.device_id
    )
    ${addToBuckets(`
      select s.province_code, m.to_gone < 0, s.state, ${SECOND}, 1, ${STARTED_MS}, ${SEEN_MS} ${states}
      union all select s.province_code, m.to_gone > 0, s.state, ${SECOND}, -1, ${STARTED_MS}, ${SEEN_MS} ${states}`)};
    ${dropEmptyBuckets(rows((from) => `select province_code from ${from}`))}`
}

/** Whether an item reached a province: delivered (webhook delivered, or acknowledged), acknowledged, played; from the rows that say so. */
export const REACH_FLAGS = `
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
  await statementTriggers(db, 'contents', 'content_reach_of_items', (rows) => `
    delete from content_reach where content_id in (${rows((from) => `select id from ${from}`)});
    ${reach(rows((from) => `select id from ${from}`))}`)
  for (const table of ['content_acks', 'webhook_outbox', 'broadcast_logs']) {
    const named = table === 'broadcast_logs' ? ' where content_id is not null' : ''
    await statementTriggers(db, table, `content_reach_of_${table}`, (rows) => `
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
