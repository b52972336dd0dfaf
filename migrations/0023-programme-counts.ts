import { sql, type Kysely } from 'kysely'
import { statementTriggers } from './statement-triggers.js'

/** The clusters a programme count looks at: in place (not deleted, not decommissioned) and under a programme. */
const COUNTED = `deleted_at is null and status <> 'decommissioned' and programme is not null`

/**
 * The programmes' figures of the summaries, kept by the database as clusters change, as the
 * registry's counts are (0022): replacement and extension clusters in place, and the distinct
 * clusters the replacements replaced and villages the extensions newly cover.
 *
 * - `programme_refs`: how many clusters in place name each replaced cluster (by province) or
 *   each village (by province and station): a distinct count is the number of keys named at
 *   least once. Keys are added to in key order; a key no longer named is deleted.
 * - `programme_counts`: rows of changes to add up, per province and measure, appended by each
 *   statement (a key named for the first time or no longer named is one more or one less; a
 *   cluster entering or leaving a programme likewise), folded by the job that folds the
 *   registry's counts. Appending keeps a registry transaction from waiting for another of its
 *   province; only two naming the same key wait, on that key's row.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table programme_refs (
      province_code text collate "C" not null,
      measure text collate "C" not null check (measure in ('clusters_replaced', 'villages')),
      station_id text collate "C" not null,
      item text collate "C" not null,
      refs integer not null,
      primary key (province_code, measure, station_id, item)
    )`.execute(db)
  await sql`
    create table programme_counts (
      province_code text collate "C" not null,
      measure text collate "C" not null check (measure in ('replacement_clusters', 'extension_clusters', 'clusters_replaced', 'villages')),
      items integer not null
    )`.execute(db)
  await sql`create index programme_counts_province on programme_counts (province_code)`.execute(db)

  // The keys a set of cluster rows `changed(province_code, programme, replaces, villages_covered, village, station_id, n)` names, with the sum of n.
  const keysNamed = `
    select province_code, 'clusters_replaced' as measure, '' as station_id, replaced as item, sum(n)::int as n
    from changed, unnest(replaces) as replaced where programme = 'replacement' group by 1, 2, 3, 4
    union all
    select province_code, 'villages', station_id, village_name, sum(n)::int
    from changed, unnest(case when cardinality(villages_covered) > 0 then villages_covered else array[village] end) as village_name
    where programme = 'extension' and village_name is not null group by 1, 2, 3, 4`
  const columns = 'province_code, programme, replaces, villages_covered, village, station_id'
  await statementTriggers(db, 'clusters', 'cluster_programme_count', (rows) => `
    with changed as (${rows((from, n) => `select ${columns}, ${n} as n from ${from} where ${COUNTED}`)}),
    named as (select * from (${keysNamed}) k where n <> 0),
    bumped as (
      insert into programme_refs as r (province_code, measure, station_id, item, refs)
      select province_code, measure, station_id, item, n from named order by 1, 2, 3, 4
      on conflict (province_code, measure, station_id, item) do update set refs = r.refs + excluded.refs
      returning r.province_code, r.measure, r.station_id, r.item, r.refs
    ),
    crossings as (
      select b.province_code, b.measure, sum(case when b.refs > 0 and b.refs - k.n <= 0 then 1 when b.refs <= 0 and b.refs - k.n > 0 then -1 else 0 end)::int as n
      from bumped b join named k using (province_code, measure, station_id, item) group by 1, 2
    ),
    clusters_in as (
      select province_code, case programme when 'replacement' then 'replacement_clusters' else 'extension_clusters' end as measure, sum(n)::int as n
      from changed where programme in ('replacement', 'extension') group by 1, 2
    )
    insert into programme_counts select * from crossings where n <> 0 union all select * from clusters_in where n <> 0;
    delete from programme_refs where refs = 0 and province_code in (select province_code from (${rows((from) => `select province_code from ${from}`)}) p)`,
  'clusters_programmes_counted')

  await sql.raw(`
    with changed as (select ${columns}, 1 as n from clusters where ${COUNTED})
    insert into programme_refs select * from (${keysNamed}) k order by 1, 2, 3, 4`).execute(db)
  await sql.raw(`
    insert into programme_counts
    select province_code, measure, count(*) from programme_refs where refs > 0 group by 1, 2
    union all
    select province_code, case programme when 'replacement' then 'replacement_clusters' else 'extension_clusters' end, count(*)
    from clusters where ${COUNTED} and programme in ('replacement', 'extension') group by 1, 2`).execute(db)
}
