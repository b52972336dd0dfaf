import { sql, type Kysely } from 'kysely'

/**
 * Indexes behind the national summary, so that computing one reads indexes instead of tables.
 * Measured with bench/summaries.ts (1 million broadcast logs, 100,000 clusters).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  // "Played" asks, for each item and target province, whether any log names both: answered from
  // the index alone, where the index on the item only visited each of its ~300 logs in the heap.
  // It serves lookups by item alone as well, so it replaces that index.
  await sql`create index broadcast_logs_content_province on broadcast_logs (content_id, province_code) where content_id is not null`.execute(db)
  await sql`drop index broadcast_logs_content`.execute(db)
  // Clusters in place by province and kind, counted by an index-only scan.
  await sql`
    create index clusters_in_place on clusters (province_code, kind)
    where deleted_at is null and status <> 'decommissioned'`.execute(db)
  // Devices no longer in place, whose current state the devices section leaves out: few of them,
  // found without reading every cluster.
  await sql`
    create index clusters_not_in_place on clusters (province_code, id)
    where deleted_at is not null or status = 'decommissioned'`.execute(db)
}
