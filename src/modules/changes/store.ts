import type { Db } from '../../db/database.js'
import { settledPage, type FeedPosition } from '../../db/feed.js'

export interface ChangeRow {
  feed_xid: string
  feed_seq: number
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
    let query = settledPage(this.db.selectFrom('registry_changes')
      .select(['province_code', 'entity', 'record_id', 'operation', 'version', 'record', 'changed_at']), 'registry_changes', position, limit)
    if (filter.province) query = query.where('province_code', '=', filter.province)
    if (filter.entity) query = query.where('entity', '=', filter.entity as 'station')
    return query.execute()
  }
}
