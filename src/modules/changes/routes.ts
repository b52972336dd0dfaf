import { ref } from '../../../schemas/common.js'
import type { Static } from 'typebox'
import { ChangePage, ChangesQuery, type Change } from '../../../schemas/registry.js'
import type { App } from '../../app-type.js'
import { requireProvinceScope } from '../../auth/policy.js'
import { decodeFeedCursor, nextFeedCursor } from '../../db/feed.js'
import { recordOf } from '../registry/store.js'
import { ChangesStore } from './store.js'

export async function changesRoutes(app: App) {
  const store = new ChangesStore(app.deps.database.db)

  app.get('/v2/changes', {
    config: { policy: 'system' },
    schema: {
      tags: ['registry'],
      operationId: 'listChanges',
      summary: 'The changes feed of the registry',
      description: 'Every upsert and delete of every station, cluster and board, in an order consistent with commits, with the record\'s new state. ' +
        'Continue from `nextCursor` to mirror the registry incrementally: no change is ever skipped, even when writers commit out of order; ' +
        'a change appears once the transactions running before it have ended. Central reads every province; a provincial system reads its own.',
      querystring: ChangesQuery,
      response: { 200: ref(ChangePage) },
    },
  }, async (request) => {
    const { after, entity, limit = 100 } = request.query
    const caller = request.caller!
    if (request.query.province) requireProvinceScope(caller, request.query.province)
    const province = caller.role === 'province' ? caller.provinceCode! : request.query.province
    const position = decodeFeedCursor(after)
    const rows = await store.read(position, { province, entity }, limit)
    return {
      // recordOf gives the record of the row's own entity, which is what tells the union's members apart.
      items: rows.map((row) => ({
        seq: row.feed_seq, entity: row.entity, province: row.province_code, id: row.record_id, operation: row.operation,
        version: row.version, changedAt: row.changed_at.toISOString(), record: recordOf(row.entity, row.record as Record<string, unknown>),
      }) as Static<typeof Change>),
      nextCursor: nextFeedCursor(rows, position),
    }
  })
}
