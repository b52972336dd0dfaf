import { sql } from 'kysely'
import type { Db } from '../../db/database.js'

/**
 * Records, once, the seconds from an item's first publication to a province reaching a stage:
 * its first webhook delivery, or its acknowledgement. A later delivery or acknowledgement of
 * the same item keeps the first.
 */
export async function recordReached(trx: Db, contentId: string, province: string, stage: 'delivered' | 'acknowledged'): Promise<void> {
  const column = sql.ref(stage === 'delivered' ? 'delivered_seconds' : 'acknowledged_seconds')
  await sql`
    insert into content_latency (content_id, province_code, priority, test, published_at, ${column})
    select c.id, ${province}, c.priority, c.test, c.published_at, greatest(0, extract(epoch from now() - c.published_at))
    from contents c where c.id = ${contentId} and c.origin = 'central'
    on conflict (content_id, province_code) do update set ${column} = coalesce(content_latency.${column}, excluded.${column})`.execute(trx)
}
