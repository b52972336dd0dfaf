import { Type } from 'typebox'
import { DEFAULT_PAGE_LIMIT, ProvinceParams, Strict, ref } from '../../../schemas/common.js'
import { BroadcastLogBatch, BroadcastLogPage, BroadcastLogQuery, BroadcastLogResult, Reach } from '../../../schemas/content.js'
import type { App } from '../../app-type.js'
import { KeyedSerializer } from '../../http/concurrency.js'
import { decodeCursor, toPage } from '../../http/pagination.js'
import { notFound } from '../../http/problem.js'
import { problemResponses } from '../../http/responses.js'
import { ContentStore } from '../content/store.js'
import { BroadcastLogStore } from './store.js'
import { notFoundExample } from '../../http/problem-examples.js'

export async function broadcastsRoutes(app: App) {
  const { db } = app.deps.database
  const store = new BroadcastLogStore(db)
  const oneAtATime = new KeyedSerializer()
  const contents = new ContentStore(db)

  app.post('/v2/provinces/:code/broadcast-logs', {
    config: { policy: 'province' },
    schema: {
      tags: ['broadcasts'],
      operationId: 'sendBroadcastLogs',
      summary: 'Send broadcast logs',
      description: 'Up to 5000 plays (nhật ký phát thanh): station, content, start and end, clusters reached, source. ' +
        'Valid entries are stored and every rejected one is named with its reason: `unknown-station`, `end-before-start`, ' +
        '`overlapping-entry` (the station already has an entry for part of that time), `unknown-content`, `content-not-sent`, `no-content-reference`. ' +
        'A province\'s batches are applied one at a time; while one is applied the next waits in memory, holding no database connection. ' +
        'An entry sent again is stored once and counted as a duplicate, so a batch can be re-sent safely.',
      params: ProvinceParams,
      body: ref(BroadcastLogBatch),
      response: { 200: ref(BroadcastLogResult) },
    },
  }, async (request) => oneAtATime.run(`broadcast-logs/${request.params.code}`, () => db.transaction().execute(async (trx) => {
    const outcome = await store.ingest(trx, request.params.code, request.body.entries)
    const receipt = await app.receipts.issue(request, {
      status: 200, records: [{ entity: 'broadcast-log', accepted: outcome.accepted, duplicate: outcome.duplicate, rejected: outcome.rejected }],
    }, trx)
    return { ...outcome, receipt }
  })))

  app.get('/v2/provinces/:code/broadcast-logs', {
    config: { policy: 'province-or-central' },
    schema: {
      tags: ['broadcasts'],
      operationId: 'listBroadcastLogs',
      summary: 'List broadcast logs',
      description: 'The stored plays of a province (nhật ký phát thanh), latest start first; by station, central content item, source, ' +
        'and a start time within [`from`, `to`). A province reads its own; central reads any.',
      params: ProvinceParams,
      querystring: BroadcastLogQuery,
      response: { 200: ref(BroadcastLogPage) },
    },
  }, async (request) => {
    const { cursor, limit = DEFAULT_PAGE_LIMIT, ...filter } = request.query
    const rows = await store.list({ ...filter, province: request.params.code, limit, after: decodeCursor(cursor, ['instant', 'string'] as const) })
    return toPage(rows, limit, (log) => [log.startedAt, log.stationId], (log) => log)
  })

  app.get('/v2/contents/:id/reach', {
    config: { problems: notFoundExample('content 3b8e4c2a-6f1d-4a9e-b7c5-2d0f8e6a1b35'), policy: 'central' },
    schema: {
      tags: ['broadcasts'],
      operationId: 'getContentReach',
      summary: 'How far a content item went',
      description: 'Provinces targeted, provinces whose webhook received it, provinces that acknowledged it; stations that played it, ' +
        'plays, total airtime and first and last play, from the broadcast logs, per province and per target commune (the stations registered in it); ' +
        'and how fast each target province was notified, acknowledged and first played it. `test` says the item is an exercise.',
      params: Strict({ id: Type.String({ format: 'uuid', description: 'Content id.' }) }),
      response: { 200: ref(Reach), ...problemResponses([404]) },
    },
  }, async (request) => {
    const { id } = request.params
    const item = await contents.get(id)
    if (!item) throw notFound(`content ${id}`)
    const targeted = await contents.provincesReached(id)
    const [delivered, acknowledged, plays, byCommune, latency] = await Promise.all([
      store.delivered(id), store.acknowledged(id), store.plays(id), store.byCommune(id, item.communes), store.latency(id, item.publishedAt, targeted),
    ])
    return {
      contentId: id, test: item.test, provincesTargeted: targeted.length, provincesDelivered: delivered, provincesAcknowledged: acknowledged, ...plays, byCommune, latency,
    }
  })
}
