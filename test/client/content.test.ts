import t from 'tap'
import { verifyServiceCall } from '../../src/client/index.js'
import { buildTestApp } from '../helpers/app.js'
import { bulletin } from '../helpers/content.js'
import { feedsSettled } from '../helpers/database.js'
import { Receiver, until } from '../helpers/receiver.js'
import { typedClients } from '../helpers/systems.js'

t.test('the typed client: publish, version, withdraw, share, the feed as an iterator, acks, logs in batches, reach', async (t) => {
  const { app, database } = await buildTestApp(t, { env: { WEBHOOK_POLL_MS: '25', WEBHOOK_BACKOFF_BASE_MS: '20', WEBHOOK_BACKOFF_MAX_MS: '200' } })
  const baseUrl = await app.listen({ port: 0, host: '127.0.0.1' })
  const jwksUrl = new URL('/.well-known/jwks.json', baseUrl)
  const receiver = await new Receiver({ serviceId: 'ttn-central', systemId: 'province-79', keys: jwksUrl }).start(t)
  const { asProvince, asCentral } = await typedClients(database, baseUrl, { webhookUrl: receiver.url })

  t.equal((await asProvince.contentTopics()).items.length, 28)
  t.match(await asCentral.addContentTopic({ id: 'census-2026', title: 'Tổng điều tra dân số' }), { topic: { id: 'census-2026', kind: 'custom' }, receipt: { jws: String } })

  const { content: first } = await asCentral.publishContent(bulletin({ topic: 'census-2026' }) as never)
  const { content: second } = await asCentral.updateContent(first.id, bulletin({ title: 'Bản cập nhật' }) as never)
  t.equal(second.version, 2)
  const { content: withdrawn } = await asCentral.withdrawContent(first.id, 'Hết hiệu lực')
  t.equal(withdrawn.status, 'withdrawn')
  const { content: shared } = await asProvince.shareContent('79', { title: 'Tin của tỉnh', topic: 'local-development' })
  const library = []
  for await (const item of asCentral.contents({ limit: 1 })) library.push(item.id)
  t.same(library, [shared.id, first.id], 'the library, page by page')
  t.equal((await asProvince.getContent(first.id)).version, 3)

  const cursors: string[] = []
  const types = []
  await feedsSettled(database.db)
  for await (const notification of asProvince.feed({ onCursor: (c) => cursors.push(c) })) types.push(`${notification.type}@${notification.content.version}`)
  t.same(types, ['content.published@1', 'content.updated@2', 'content.withdrawn@3'])
  const { content: third } = await asCentral.publishContent(bulletin({ title: 'Tin mới', priority: 'emergency' }) as never)
  const resumed = []
  await feedsSettled(database.db)
  for await (const notification of asProvince.feed({ after: cursors.at(-1) })) resumed.push(notification.content.id)
  t.same(resumed, [third.id], 'resuming from the saved cursor gives only what came since')

  await until(() => receiver.delivered.length === 4, 10_000, 'webhook deliveries')
  t.ok(receiver.calls.every((c) => c.verified), 'the receiver verified every notification against the service\'s JWKS URL')
  t.same(receiver.calls.map((c) => JSON.parse(c.body.toString()).id).sort(), [...receiver.delivered].sort())
  const call = receiver.calls[0]!
  await t.rejects(verifyServiceCall({ method: call.method, url: call.url, headers: call.headers, body: call.body }, { serviceId: 'ttn-central', systemId: 'province-79', keys: jwksUrl, replayGuard: receiver.replayGuard }), { code: 'token-replayed' })

  const receivedAt = new Date().toISOString()
  t.match(await asProvince.ackContent(third.id, { receivedAt }), { result: 'created' })
  t.match(await asProvince.ackContent(third.id, { receivedAt }), { result: 'unchanged' })
  t.match(await asProvince.ackContent(third.id, { receivedAt, scheduledAt: receivedAt, stations: 3 }), { result: 'updated', ack: { stations: 3 } })
  t.match(await asCentral.contentDeliveries(third.id), { provinces: [{ province: '79', webhook: 'delivered', notifications: [{ state: 'delivered' }] }] })

  await asProvince.push('stations', '79', [{ id: 's1', communeCode: '26740', name: 'Đài 1', kind: 'ip', status: 'operating' }])
  const entries = Array.from({ length: 5 }, (_, i) => ({
    stationId: i === 3 ? 'missing' : 's1', contentId: third.id, source: 'central' as const,
    startedAt: new Date(Date.UTC(2026, 4, 1, 1, i * 10)).toISOString(), endedAt: new Date(Date.UTC(2026, 4, 1, 1, i * 10 + 5)).toISOString(),
  }))
  const batches: number[] = []
  const sent = await asProvince.sendBroadcastLogs('79', entries, { batchSize: 2, onBatch: (n) => batches.push(n) })
  t.same(batches, [2, 4, 5], 'three calls of at most two entries')
  t.equal(sent.receipts.length, 3)
  t.match(sent, { accepted: 4, duplicate: 0, rejected: 1, rejections: [{ index: 3, pointer: '/entries/3', reason: 'unknown-station' }] }, 'rejections are named by their index in the whole list')
  const readBack: string[] = []
  for await (const log of asCentral.broadcastLogs('79', { contentId: third.id, limit: 3 })) readBack.push(log.startedAt)
  t.same(readBack, entries.filter((e) => e.stationId === 's1').map((e) => e.startedAt).reverse(), 'the logs read back over two pages, latest first')
  t.match(await asCentral.contentReach(third.id), { provincesTargeted: 1, provincesDelivered: 1, provincesAcknowledged: 1, stationsPlayed: 1, plays: 4, airtimeSeconds: 1200 })
})
