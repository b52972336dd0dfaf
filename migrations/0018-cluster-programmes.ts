import { sql, type Kysely } from 'kysely'

/**
 * The programmes of the guidance on clusters as on stations: what the investment was, who paid,
 * which broken cluster(s) a replacement took over from, and the villages (thôn, bản) a cluster covers.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table clusters
      add column programme text check (programme in ('new_station', 'replacement', 'extension')),
      add column funding_source text check (funding_source in ('new_rural_development', 'sustainable_poverty_reduction', 'local_budget', 'other')),
      add column replaces text[] not null default '{}',
      add column villages_covered text[] not null default '{}'`.execute(db)
  await sql`create index clusters_programme on clusters (province_code, programme) where programme is not null and deleted_at is null`.execute(db)
}
