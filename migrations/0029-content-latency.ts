import { sql, type Kysely } from 'kysely'

/**
 * How fast each of central's items reached each target province: seconds from its first
 * publication to the first webhook delivery and to the acknowledgement, written as each happens,
 * so that the summaries' percentiles by priority read a small table rather than the outbox.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table content_latency (
      content_id uuid not null references contents (id),
      province_code text not null,
      priority text not null,
      test boolean not null,
      published_at timestamptz not null,
      delivered_seconds float8,
      acknowledged_seconds float8,
      primary key (content_id, province_code)
    )`.execute(db)
  await sql`create index content_latency_published on content_latency (published_at)`.execute(db)
  await sql`
    insert into content_latency (content_id, province_code, priority, test, published_at, delivered_seconds, acknowledged_seconds)
    select c.id, p.province_code, c.priority, c.test, c.published_at,
      greatest(0, extract(epoch from p.delivered_at - c.published_at)), greatest(0, extract(epoch from p.acknowledged_at - c.published_at))
    from (
      select coalesce(d.content_id, a.content_id) as content_id, coalesce(d.province_code, a.province_code) as province_code, d.delivered_at, a.acknowledged_at
      from (select content_id, province_code, min(delivered_at) as delivered_at from webhook_outbox where state = 'delivered' and content_id is not null group by 1, 2) d
      full join content_acks a on a.content_id = d.content_id and a.province_code = d.province_code
    ) p join contents c on c.id = p.content_id and c.origin = 'central'`.execute(db)
}
