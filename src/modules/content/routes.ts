import { randomUUID } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import { Histogram } from 'prom-client'
import { Type, type Static } from 'typebox'
import { publicPath } from '../../config.js'
import { ProvinceParams, Strict, ref } from '../../../schemas/common.js'
import {
  AckRequest, AckResult, ContentFeedPage, ContentFeedQuery, ContentItem, ContentListQuery, ContentPage, ContentRequest, ContentWriteResult,
  DeliveryReport, SharedContentRequest, TopicList, TopicRequest, TopicWriteResult, WithdrawalRequest,
} from '../../../schemas/content.js'
import type { App } from '../../app-type.js'
import { decodeFeedCursor, nextFeedCursor } from '../../db/feed.js'
import type { Db } from '../../db/database.js'
import { decodeCursor, toPage } from '../../http/pagination.js'
import { HttpProblem, notFound } from '../../http/problem.js'
import { ETAG_HEADER, problemResponses } from '../../http/responses.js'
import { mediaForItem } from '../media/service.js'
import { MediaStore } from '../media/store.js'
import { CAP_CONTENT_TYPE, capAlert, capDocument, capFeed, isAlert } from './cap.js'
import { WebhookDispatcher } from './dispatcher.js'
import { canonicalLanguage, checkAckCommunes, checkContent, checkExerciseKept } from './service.js'
import { ContentStore, audienceOf, widen, type Audience, type EventType, type Item } from './store.js'
import { notFoundExample, routeProblems, type RouteProblems } from '../../http/problem-examples.js'

const ContentParams = Strict({ id: Type.String({ format: 'uuid', description: 'Content id.' }) })
const IfMatch = Type.Object({
  'if-match': Type.Optional(Type.String({ maxLength: 200, description: 'The ETag of the version the change is based on (`"2"`); 412 when another version came first.' })),
})
const etag = (version: number) => `"${version}"`
/** Entries of the alerts feed; alerts in force at once stay far fewer. */
const MAX_ALERTS = 200

type SharedRequest = Static<typeof SharedContentRequest>


const CONTENT_ID = '3b8e4c2a-6f1d-4a9e-b7c5-2d0f8e6a1b35'
/** What a content item's own rules refuse, beyond its schema: an unknown topic, a window the wrong way round, media the service does not hold. */
const contentRuleProblems: RouteProblems = {
  422: [
    { code: 'rule-violated', detail: 'no topic canh-bao-thien-tai; GET /v2/content-topics lists them' },
    { code: 'media-not-stored', detail: 'no stored or verified media file with SHA-256 9f2b6c1d4e8a7f3b0c5d2e9a6b1f4c8d7e3a0b5c2d9f6e1a4b7c0d3e8f5a2b6c: upload it with POST /v2/media/uploads, or register an https copy with POST /v2/media/external, before publishing' },
  ],
}
/** What a new version or a withdrawal meets on an item that takes none. */
const notVersionableProblems: RouteProblems = {
  409: [
    { code: 'conflict', detail: `content ${CONTENT_ID} is withdrawn` },
    { code: 'conflict', detail: `content ${CONTENT_ID} was shared by province 79; only central's own content is versioned` },
  ],
}

export async function contentRoutes(app: App) {
  const { db } = app.deps.database
  const store = new ContentStore(db)
  const media = new MediaStore(db)
  const dispatcher = new WebhookDispatcher({ db, config: app.deps.config, serviceKeys: app.deps.serviceKeys, log: app.log, metrics: app.metrics })
  const acknowledgementSeconds = new Histogram({
    name: 'ttn_content_acknowledgement_seconds', help: 'Time from an item\'s first publication to each target province\'s first acknowledgement of it, by priority',
    labelNames: ['priority'], buckets: [1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600, 14_400, 86_400], registers: [app.metrics],
  })
  app.addHook('onReady', async () => dispatcher.start())
  app.addHook('onClose', async () => dispatcher.stop())

  /** The fields of an item from a request, with what the rules made of it (communes with their provinces, the canonical language). */
  const itemOf = async (body: SharedRequest, checked: Pick<Item, 'communes' | 'language'>, now: string, trx: Db) => ({
    title: body.title,
    summary: body.summary ?? null,
    body: body.body ?? null,
    media: await mediaForItem(media, trx, body.media),
    topic: body.topic,
    language: checked.language,
    validFrom: body.validFrom ? new Date(body.validFrom).toISOString() : now,
    validUntil: body.validUntil ? new Date(body.validUntil).toISOString() : null,
    communes: checked.communes,
  })

  /** Stores a version, puts it in the feed and the outbox, and signs the receipt, in one transaction; wakes the dispatcher once committed. */
  const writeVersion = async (request: FastifyRequest, status: 200 | 201, type: EventType, make: (trx: Db) => Promise<{ item: Item, audience: Audience }>) => {
    const result = await db.transaction().execute(async (trx) => {
      const made = await make(trx)
      const actor = request.caller!.actor
      // Each version names the officials who made it, when the call named them.
      const item: Item = { ...made.item, draftedBy: actor?.draftedBy ?? null, approvedBy: actor ? { id: actor.id, name: actor.name } : null }
      const { audience } = made
      await store.save(trx, item)
      const queued = await store.emit(trx, { id: randomUUID(), type, item, audience })
      const receipt = await app.receipts.issue(request, {
        status, records: [{ entity: 'content', id: item.id, version: item.version, event: type, webhooks: queued.length }],
      }, trx)
      return { content: item, receipt }
    })
    dispatcher.kick()
    return result
  }

  const currentOrFail = async (request: FastifyRequest, trx: Db) => {
    const { id } = request.params as { id: string }
    const item = await store.get(id, trx, true)
    if (!item) throw notFound(`content ${id}`)
    const ifMatch = request.headers['if-match']
    if (ifMatch && ifMatch.trim() !== '*' && !ifMatch.split(',').map((tag) => tag.trim()).includes(etag(item.version))) {
      throw new HttpProblem('precondition-failed', `content ${id} is at version ${item.version}, not ${ifMatch}`)
    }
    if (item.origin !== 'central') throw new HttpProblem('conflict', `content ${id} was shared by province ${item.province}; only central's own content is versioned`)
    if (item.status === 'withdrawn') throw new HttpProblem('conflict', `content ${id} is withdrawn`)
    return item
  }

  /** The current version of the item in the path, for a caller that may read it: central, or a province it was sent to or that shared it. */
  const readableOrFail = async (request: FastifyRequest) => {
    const { id } = request.params as { id: string }
    const caller = request.caller!
    const item = await store.get(id)
    if (!item || (caller.role === 'province' && !await store.visibleTo(id, caller.provinceCode!))) throw notFound(`content ${id}`)
    return item
  }

  app.get('/v2/content-topics', {
    config: { policy: 'system' },
    schema: {
      tags: ['content'],
      operationId: 'listContentTopics',
      summary: 'Topics of content',
      description: 'The categories of essential information of Nghị định 49/2024 Điều 6, the propaganda tasks of the year and the topics central added.',
      response: { 200: ref(TopicList) },
    },
  }, async () => ({ items: await store.topics() }))

  app.post('/v2/content-topics', {
    config: { problems: { 409: [{ code: 'conflict', detail: 'topic canh-bao-thien-tai exists' }] }, policy: 'central' },
    schema: {
      tags: ['content'],
      operationId: 'addContentTopic',
      summary: 'Add a topic',
      body: ref(TopicRequest),
      response: { 201: ref(TopicWriteResult), ...problemResponses([409]) },
    },
  }, async (request, reply) => {
    const result = await db.transaction().execute(async (trx) => {
      const topic = await store.addTopic(trx, request.body)
      if (!topic) throw new HttpProblem('conflict', `topic ${request.body.id} exists`)
      const receipt = await app.receipts.issue(request, { status: 201, records: [{ entity: 'content-topic', id: topic.id }] }, trx)
      return { topic, receipt }
    })
    return reply.code(201).send(result)
  })

  app.post('/v2/contents', {
    config: { problems: contentRuleProblems, policy: 'central' },
    schema: {
      tags: ['content'],
      operationId: 'publishContent',
      summary: 'Publish essential information',
      description: 'Publishes a content item (thông tin thiết yếu) to every province, or to a list of provinces and of communes (each reached through its province). ' +
        'It enters the feed of each target province, and each target province with a webhook URL is sent a signed `content.published` notification, retried until it answers 2xx; ' +
        'emergencies go before everything else queued.',
      body: ref(ContentRequest),
      response: { 201: ref(ContentWriteResult), ...problemResponses([422]) },
    },
  }, async (request, reply) => {
    const body = request.body
    const result = await writeVersion(request, 201, 'content.published', async (trx) => {
      const checked = await checkContent(store, trx, body)
      const now = request.receivedAt.toISOString()
      const item: Item = {
        id: randomUUID(), version: 1, status: 'active', origin: 'central', province: null, ...await itemOf(body, checked, now, trx),
        priority: body.priority, test: body.test ?? false, targets: body.targets, publishedBy: request.caller!.systemId, publishedAt: now, updatedAt: now,
        withdrawnAt: null, withdrawalReason: null,
      }
      return { item, audience: audienceOf(item) }
    })
    return reply.code(201).send(result)
  })

  app.put('/v2/contents/:id', {
    config: { problems: routeProblems(notFoundExample(`content ${CONTENT_ID}`), notVersionableProblems, contentRuleProblems), policy: 'central' },
    schema: {
      tags: ['content'],
      operationId: 'updateContent',
      summary: 'Publish a new version of a content item',
      description: 'Replaces the item with a new version, sent as `content.updated` to the provinces it targets (whole or by their communes) and to those the previous version targeted. ' +
        '`If-Match` with the ETag of `GET /v2/contents/{id}` is honoured when sent.',
      params: ContentParams,
      headers: IfMatch,
      body: ref(ContentRequest),
      response: { 200: ref(ContentWriteResult), ...problemResponses([404, 409, 412, 422]) },
    },
  }, async (request) => {
    const body = request.body
    return writeVersion(request, 200, 'content.updated', async (trx) => {
      const current = await currentOrFail(request, trx)
      const checked = await checkContent(store, trx, body)
      checkExerciseKept(current, body.test ?? false)
      const item: Item = {
        ...current, ...await itemOf(body, checked, request.receivedAt.toISOString(), trx), version: current.version + 1, priority: body.priority, targets: body.targets,
        updatedAt: request.receivedAt.toISOString(),
      }
      return { item, audience: widen(await store.audience(current.id, trx), audienceOf(item)) }
    })
  })

  app.post('/v2/contents/:id/withdrawal', {
    config: { problems: routeProblems(notFoundExample(`content ${CONTENT_ID}`), notVersionableProblems), policy: 'central' },
    schema: {
      tags: ['content'],
      operationId: 'withdrawContent',
      summary: 'Withdraw a content item',
      description: 'Withdrawing (thu hồi) is an explicit act: it makes a last version, sent as `content.withdrawn` to every province the item went to, with the reason.',
      params: ContentParams,
      headers: IfMatch,
      body: ref(WithdrawalRequest),
      response: { 200: ref(ContentWriteResult), ...problemResponses([404, 409, 412]) },
    },
  }, async (request) => writeVersion(request, 200, 'content.withdrawn', async (trx) => {
    const current = await currentOrFail(request, trx)
    const now = request.receivedAt.toISOString()
    const item: Item = { ...current, version: current.version + 1, status: 'withdrawn', updatedAt: now, withdrawnAt: now, withdrawalReason: request.body.reason }
    return { item, audience: await store.audience(current.id, trx) }
  }))

  app.post('/v2/provinces/:code/contents', {
    config: { problems: contentRuleProblems, policy: 'province' },
    schema: {
      tags: ['content'],
      operationId: 'shareContent',
      summary: 'Share a province\'s own content with central',
      description: 'Puts content the province produced into central\'s library. It is not sent to other provinces.',
      params: ProvinceParams,
      body: ref(SharedContentRequest),
      response: { 201: ref(ContentWriteResult), ...problemResponses([422]) },
    },
  }, async (request, reply) => {
    const body = request.body
    const result = await db.transaction().execute(async (trx) => {
      const checked = await checkContent(store, trx, body)
      const now = request.receivedAt.toISOString()
      const item: Item = {
        id: randomUUID(), version: 1, status: 'active', origin: 'province', province: request.params.code, ...await itemOf(body, checked, now, trx),
        priority: 'normal', test: false, targets: [], publishedBy: request.caller!.systemId, publishedAt: now, updatedAt: now, withdrawnAt: null, withdrawalReason: null,
      }
      await store.save(trx, item)
      const receipt = await app.receipts.issue(request, { status: 201, records: [{ entity: 'content', id: item.id, version: 1 }] }, trx)
      return { content: item, receipt }
    })
    return reply.code(201).send(result)
  })

  app.get('/v2/contents/feed', {
    config: { policy: 'system' },
    schema: {
      tags: ['content'],
      operationId: 'readContentFeed',
      summary: 'The content feed',
      description: 'Every publication, new version and withdrawal meant for the caller\'s province (every one, for central), in an order consistent with commits. ' +
        'Continue from `nextCursor`: nothing is ever skipped, even when publications commit out of order. ' +
        'The items are the notifications webhooks carry, with the same ids, so a province that takes both discards what it already has.',
      querystring: ContentFeedQuery,
      response: { 200: ref(ContentFeedPage) },
    },
  }, async (request) => {
    const caller = request.caller!
    const position = decodeFeedCursor(request.query.after)
    const rows = await store.feed(position, caller.role === 'province' ? caller.provinceCode! : undefined, request.query.limit ?? 100)
    return {
      items: rows.map(({ id, type, occurredAt, content }) => ({ id, type, occurredAt, content })),
      nextCursor: nextFeedCursor(rows, position),
    }
  })

  app.get('/v2/contents', {
    config: { problems: { 422: [{ code: 'rule-violated', detail: 'language vi-x-x-x is not a well-formed BCP 47 language tag' }] }, policy: 'central' },
    schema: {
      tags: ['content'],
      operationId: 'listContents',
      summary: 'Central\'s content library',
      description: 'Current versions of what central published and what provinces shared, newest first.',
      querystring: ContentListQuery,
      response: { 200: ref(ContentPage), ...problemResponses([422]) },
    },
  }, async (request) => {
    const { cursor, limit = 100, language, ...filter } = request.query
    const rows = await store.list({ ...filter, language: language && canonicalLanguage(language), after: decodeCursor(cursor, ['instant', 'uuid'] as const), limit })
    return toPage(rows, limit, (item) => [item.publishedAt, item.id], (item) => item)
  })

  app.get('/v2/contents/:id', {
    config: { problems: notFoundExample(`content ${CONTENT_ID}`), policy: 'system' },
    schema: {
      tags: ['content'],
      operationId: 'getContent',
      summary: 'The current version of a content item',
      description: 'A provincial system reads items sent to its province and those it shared. Answers with an `ETag` (the version).',
      params: ContentParams,
      response: { 200: { ...ref(ContentItem), headers: { ETag: ETAG_HEADER } }, ...problemResponses([404]) },
    },
  }, async (request, reply) => {
    const item = await readableOrFail(request)
    reply.header('etag', etag(item.version))
    return item
  })

  const alertOf = async (item: Item) => {
    const facts = await store.alertFacts(item)
    return capAlert(item, { sender: app.deps.config.SERVICE_ID, publicUrl: app.deps.config.PUBLIC_URL, basePath: publicPath(app.deps.config, ''), ...facts })
  }
  const capContent = (description: string) => ({ description, headers: { ETag: ETAG_HEADER }, content: { [CAP_CONTENT_TYPE]: { schema: { type: 'string', description: 'An OASIS CAP 1.2 `alert` document.' } } } })

  app.get('/v2/contents/:id/cap', {
    config: { problems: notFoundExample(`content ${CONTENT_ID}`), policy: 'system' },
    schema: {
      tags: ['content'],
      operationId: 'getContentAlert',
      summary: 'A priority or emergency item as a CAP 1.2 alert',
      description: 'The current version as an OASIS Common Alerting Protocol 1.2 document (`application/cap+xml`), for disaster agencies and other alerting systems: ' +
        '`identifier` `{SERVICE_ID}.{id}.v{version}`; `msgType` `Alert` for the first version, `Update` for a later one and `Cancel` for a withdrawal, with `references` to the earlier versions; ' +
        '`urgency`/`severity`/`certainty` `Immediate`/`Severe`/`Observed` for an emergency and `Expected`/`Moderate`/`Likely` for a priority item (`Past` once withdrawn); ' +
        '`status` `Exercise` for an exercise (`test`), else `Actual`; `language` the item\'s; `category` from the topic; one `area` per target province with `geocode` `VN-PROVINCE` (or `VN-COMMUNE` for the communes targeted), or `Toàn quốc`; ' +
        'one `resource` per media file with its `uri` (absolute from PUBLIC_URL for stored files) and `digest` (SHA-1, as CAP defines it). Normal items are not alerts: 404. ' +
        'A provincial system reads the items sent to it.',
      params: ContentParams,
      response: { 200: capContent('The alert.'), ...problemResponses([404]) },
    },
  }, async (request, reply) => {
    const item = await readableOrFail(request)
    if (!isAlert(item) || item.origin !== 'central') throw notFound(`a CAP alert of content ${item.id}: only central's priority and emergency items are alerts`)
    return reply.type(`${CAP_CONTENT_TYPE}; charset=utf-8`).header('etag', etag(item.version)).send(capDocument(await alertOf(item)))
  })

  app.get('/v2/cap/alerts', {
    config: { policy: 'central' },
    schema: {
      tags: ['content'],
      operationId: 'exportAlerts',
      summary: 'The alerts in force, as an Atom feed of CAP 1.2 documents',
      description: `Central's export for disaster agencies and alerting systems: every priority and emergency item in force (active, not past \`validUntil\`) and those withdrawn in the last day (as \`Cancel\`), newest first, at most ${MAX_ALERTS}; each Atom \`entry\` carries the alert itself in its \`content\` and links to \`GET /v2/contents/{id}/cap\`.`,
      response: { 200: { description: 'An Atom feed (RFC 4287).', content: { 'application/atom+xml': { schema: { type: 'string', description: 'Atom feed whose entries each hold a CAP 1.2 alert.' } } } } },
    },
  }, async (request, reply) => {
    const items = await store.alerts(MAX_ALERTS)
    // One alert at a time: two hundred at once would take the whole database pool from other callers.
    const entries: { item: Item, alert: string }[] = []
    for (const item of items) entries.push({ item, alert: await alertOf(item) })
    const updated = items[0]?.updatedAt ?? request.receivedAt.toISOString()
    return reply.type('application/atom+xml; charset=utf-8')
      .send(capFeed({ id: `urn:${app.deps.config.SERVICE_ID}:alerts`, updated: new Date(updated).toISOString(), basePath: publicPath(app.deps.config, '') }, entries))
  })

  app.post('/v2/contents/:id/acks', {
    config: {
      problems: routeProblems(notFoundExample(`content ${CONTENT_ID} for province 79`), {
        403: [{ code: 'role-forbidden', detail: 'central-portal (central) may not acknowledge content: provincial systems do' }],
        422: [{ code: 'rule-violated', detail: `not target communes of content ${CONTENT_ID} in province 79: 26743` }],
      }),
      policy: 'system',
    },
    schema: {
      tags: ['content'],
      operationId: 'acknowledgeContent',
      summary: 'Acknowledge a content item',
      description: 'A provincial system says it received the item and, when known, when and on how many stations it is scheduled. ' +
        'Sending the same acknowledgement again changes nothing; a later one with a schedule updates it.',
      params: ContentParams,
      body: ref(AckRequest),
      response: { 200: ref(AckResult), ...problemResponses([404, 422]) },
    },
  }, async (request) => {
    const caller = request.caller!
    if (caller.role !== 'province') throw new HttpProblem('role-forbidden', `${caller.systemId} (${caller.role}) may not acknowledge content: provincial systems do`)
    const { id } = request.params
    const province = caller.provinceCode!
    const item = await store.get(id)
    if (!item || item.origin !== 'central' || !await store.visibleTo(id, province)) throw notFound(`content ${id} for province ${province}`)
    checkAckCommunes(item, province, request.body.communes)
    const answer = await db.transaction().execute(async (trx) => {
      const { ack, result } = await store.ack(trx, {
        contentId: id, province, version: item.version, receivedAt: request.body.receivedAt,
        scheduledAt: request.body.scheduledAt ?? null, stations: request.body.stations ?? null, communes: request.body.communes ?? null,
      })
      const receipt = await app.receipts.issue(request, { status: 200, records: [{ entity: 'content-ack', id, province, result }] }, trx)
      return { ack, result, receipt }
    })
    if (answer.result === 'created') acknowledgementSeconds.observe({ priority: item.priority }, Math.max(0, Date.parse(answer.ack.acknowledgedAt) - Date.parse(item.publishedAt)) / 1000)
    return answer
  })

  app.get('/v2/contents/:id/deliveries', {
    config: { problems: notFoundExample(`content ${CONTENT_ID}`), policy: 'central' },
    schema: {
      tags: ['content'],
      operationId: 'getContentDeliveries',
      summary: 'Delivery of a content item in each province',
      description: 'For each province the item was sent to: every webhook notification with its attempts, last answer and next attempt, and the acknowledgement.',
      params: ContentParams,
      response: { 200: ref(DeliveryReport), ...problemResponses([404]) },
    },
  }, async (request) => {
    const { id } = request.params
    const item = await store.get(id)
    if (!item) throw notFound(`content ${id}`)
    return { contentId: id, provinces: await store.deliveries(item) }
  })
}
