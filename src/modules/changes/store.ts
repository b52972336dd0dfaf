import { sql } from 'kysely'
import type { Db } from '../../db/database.js'
import { afterPosition, settled, type FeedPosition } from '../../db/feed.js'

export interface ChangeRow {
  seq: number
  xid: string
  province_code: string
  entity: 'station' | 'cluster' | 'board'
  record_id: string
  operation: 'upsert' | 'delete'
  version: number
  record: unknown
  changed_at: Date
}

export class ChangesStore {
  constructor(private readonly db: Db) {}

  /** Settled changes after `position`, in feed order. */
  async read(position: FeedPosition, filter: { province?: string | undefined, entity?: string | undefined }, limit: number): Promise<ChangeRow[]> {
    let query = this.db.selectFrom('registry_changes')
      .select(['seq', sql<string>`xid::text`.as('xid'), 'province_code', 'entity', 'record_id', 'operation', 'version', 'record', 'changed_at'])
      .where(settled)
      .where(afterPosition(position))
      .orderBy('xid').orderBy('seq')
      .limit(limit)
    if (filter.province) query = query.where('province_code', '=', filter.province)
    if (filter.entity) query = query.where('entity', '=', filter.entity as 'station')
    return query.execute()
  }
}
