import { randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import t, { type Test } from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { bulletin } from '../helpers/content.js'
import { registerSystem, signedInject } from '../helpers/systems.js'

const station = (id: string, communeCode: string) => ({ id, communeCode, name: `Đài ${id}`, kind: 'ip', status: 'operating' })

async function setup(t: Test, env: Record<string, string> = {}) {
  const built = await buildTestApp(t, { env })
  const { app, database } = built
  const central = await registerSystem(database, 'central-portal')
  const hcm = await registerSystem(database, 'province-79')
  const hanoi = await registerSystem(database, 'province-01')
  await signedInject(app, hcm, { method: 'PUT', url: '/v2/provinces/79/stations', body: { items: [station('s1', '26740'), station('s2', '26740'), station('s3', '26743')] } })
  await signedInject(app, hanoi, { method: 'PUT', url: '/v2/provinces/01/stations', body: { items: [station('h1', '00004')] } })
  const publish = async (title: string) => (await signedInject(app, central, { method: 'POST', url: '/v2/contents', body: bulletin({ title, targets: ['79', '01'] }) })).json().content.id as string
  return { ...built, central, hcm, hanoi, contentA: await publish('A'), contentB: await publish('B') }
}

const at = (time: string) => `2026-05-01T${time}:00+07:00`

t.test('valid entries are stored and each rejected one is named with its reason', async (t) => {
  const { app, hcm, contentA, contentB } = await setup(t)
  const send = (entries: unknown[]) => signedInject(app, hcm, { method: 'POST', url: '/v2/provinces/79/broadcast-logs', body: { entries } })
  const response = await send([
    { stationId: 's1', contentId: contentA, startedAt: at('08:00'), endedAt: at('08:10'), clustersReached: 12, source: 'central' },
    { stationId: 'nope', contentId: contentA, startedAt: at('08:00'), endedAt: at('08:10'), source: 'central' },
    { stationId: 's2', contentId: contentA, startedAt: at('09:00'), endedAt: at('08:59'), source: 'central' },
    { stationId: 's1', contentId: contentB, startedAt: at('08:05'), endedAt: at('08:15'), source: 'central' },
    { stationId: 's2', contentId: contentA, startedAt: at('08:00'), endedAt: at('08:10'), source: 'relay' },
    { stationId: 's3', contentId: randomUUID(), startedAt: at('08:00'), endedAt: at('08:10'), source: 'central' },
    { stationId: 's3', startedAt: at('08:00'), endedAt: at('08:10'), source: 'commune' },
    { stationId: 's1', localRef: 'ban-tin-xa-0501', startedAt: at('09:00'), endedAt: at('09:30'), source: 'commune' },
  ])
  t.equal(response.statusCode, 200)
  const result = response.json()
  t.equal(result.accepted, 3)
  t.equal(result.duplicate, 0)
  t.equal(result.rejected, 5)
  t.same(result.rejections.map((r: { index: number, pointer: string, reason: string }) => [r.index, r.pointer, r.reason]), [
    [1, '/entries/1', 'unknown-station'],
    [2, '/entries/2', 'end-before-start'],
    [3, '/entries/3', 'overlapping-entry'],
    [5, '/entries/5', 'unknown-content'],
    [6, '/entries/6', 'no-content-reference'],
  ])
  t.match(result.receipt, { id: String, jws: String })

  const later = (await send([{ stationId: 's2', contentId: contentB, startedAt: at('08:09'), endedAt: at('08:20'), source: 'central' }])).json()
  t.match(later, { accepted: 0, rejected: 1, rejections: [{ index: 0, reason: 'overlapping-entry', message: /s2 already has an entry from 2026-05-01T01:00:00.000Z/ }] },
    'an entry overlapping one stored earlier is refused too')
  const adjacent = (await send([{ stationId: 's2', contentId: contentB, startedAt: at('08:10'), endedAt: at('08:20'), source: 'central' }])).json()
  t.equal(adjacent.accepted, 1, 'a play that starts when the previous ends does not overlap')

  t.equal((await signedInject(app, hcm, { method: 'POST', url: '/v2/provinces/01/broadcast-logs', body: { entries: [] } })).statusCode, 403)
  const unknownField = await send([{ stationId: 's1', contentId: contentA, startedAt: at('10:00'), endedAt: at('10:10'), source: 'central', volume: 11 }])
  t.equal(unknownField.statusCode, 400)
  const tooMany = await send(Array.from({ length: 5001 }, () => ({ stationId: 's1', localRef: 'x', startedAt: at('10:00'), endedAt: at('10:10'), source: 'central' })))
  t.equal(tooMany.statusCode, 400)
  t.match(tooMany.json().detail, /5000/)
})

t.test('re-sent entries are stored once', async (t) => {
  const { app, database, hcm, contentA } = await setup(t)
  const entries = [
    { stationId: 's1', contentId: contentA, startedAt: at('08:00'), endedAt: at('08:10'), source: 'central' },
    { stationId: 's2', contentId: contentA, startedAt: at('08:00'), endedAt: at('08:10'), clustersReached: 4, source: 'central' },
    { stationId: 'nope', contentId: contentA, startedAt: at('08:00'), endedAt: at('08:10'), source: 'central' },
  ]
  const send = (body: unknown) => signedInject(app, hcm, { method: 'POST', url: '/v2/provinces/79/broadcast-logs', body })
  t.match((await send({ entries })).json(), { accepted: 2, duplicate: 0, rejected: 1, rejections: [{ index: 2, reason: 'unknown-station' }] })
  t.match((await send({ entries })).json(), { accepted: 0, duplicate: 2, rejected: 1, rejections: [{ index: 2, reason: 'unknown-station' }] }, 'the same batch again stores nothing new')
  t.match((await send({ entries: [entries[0], entries[0]] })).json(), { accepted: 0, duplicate: 2, rejected: 0, rejections: [] })
  const fresh = { stationId: 's3', contentId: contentA, startedAt: at('08:00'), endedAt: at('08:10'), source: 'central' }
  t.match((await send({ entries: [fresh, fresh] })).json(), { accepted: 1, duplicate: 1, rejected: 0, rejections: [] }, 'an entry twice in one batch is stored once')
  const changed = { ...entries[1], clustersReached: 5 }
  t.match((await send({ entries: [changed] })).json(), { accepted: 0, rejected: 1, rejections: [{ reason: 'overlapping-entry' }] }, 'different figures for the same play are a conflict, not a duplicate')
  const rows = await database.db.selectFrom('broadcast_logs').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
  t.equal(Number(rows.n), 3)
})

t.test('reach is computed from deliveries, acknowledgements and a known set of logs', async (t) => {
  const { app, database, central, hcm, hanoi, contentA, contentB } = await setup(t)
  // As if published at midnight UTC before the plays, so the times to the first plays are known.
  await sql`update contents set item = jsonb_set(item, '{publishedAt}', '"2026-05-01T00:00:00.000Z"') where id = ${contentA}`.execute(database.db)
  const send = (system: typeof hcm, code: string, entries: unknown[]) =>
    signedInject(app, system, { method: 'POST', url: `/v2/provinces/${code}/broadcast-logs`, body: { entries } })
  await send(hcm, '79', [
    { stationId: 's1', contentId: contentA, startedAt: at('08:00'), endedAt: at('08:10'), source: 'central' },
    { stationId: 's2', contentId: contentA, startedAt: at('08:00'), endedAt: at('08:05'), source: 'relay' },
    { stationId: 's1', contentId: contentA, startedAt: at('12:00'), endedAt: at('12:10'), source: 'central' },
    { stationId: 's3', contentId: contentB, startedAt: at('10:00'), endedAt: at('10:10'), source: 'central' },
    { stationId: 's3', localRef: 'local-1', startedAt: at('11:00'), endedAt: at('11:10'), source: 'commune' },
  ])
  await send(hanoi, '01', [{ stationId: 'h1', contentId: contentA, startedAt: at('09:00'), endedAt: at('09:15'), source: 'province' }])
  await signedInject(app, hcm, { method: 'POST', url: `/v2/contents/${contentA}/acks`, body: { receivedAt: at('07:55'), stations: 2 } })

  const reach = await signedInject(app, central, { method: 'GET', url: `/v2/contents/${contentA}/reach` })
  t.equal(reach.statusCode, 200)
  const { latency, ...counts } = reach.json()
  t.same(latency.firstPlayed, { provinces: 2, p50Seconds: 3600, p95Seconds: 7200 }, 'an hour to the first play in 79, two in Hà Nội: nearest ranks')
  t.same(latency.delivered, { provinces: 0, p50Seconds: null, p95Seconds: null }, 'no webhook, no delivery')
  t.match(latency.acknowledged, { provinces: 1, p50Seconds: Number })
  t.equal(latency.acknowledged.p50Seconds, latency.acknowledged.p95Seconds, 'one acknowledgement: both percentiles are it')
  t.ok(latency.acknowledged.p50Seconds > 7 * 30 * 86_400, 'acknowledged months after the (back-dated) publication')
  t.match(latency.byProvince, [
    { province: '01', deliveredSeconds: null, acknowledgedSeconds: null, firstPlayedSeconds: 7200 },
    { province: '79', deliveredSeconds: null, acknowledgedSeconds: Number, firstPlayedSeconds: 3600 },
  ])
  t.same(counts, {
    contentId: contentA,
    test: false,
    provincesTargeted: 2,
    provincesDelivered: 0,
    provincesAcknowledged: 1,
    stationsPlayed: 3,
    plays: 4,
    airtimeSeconds: 600 + 300 + 600 + 900,
    firstPlayedAt: '2026-05-01T01:00:00.000Z',
    lastPlayedAt: '2026-05-01T05:00:00.000Z',
    byProvince: [
      { province: '01', stationsPlayed: 1, plays: 1, airtimeSeconds: 900 },
      { province: '79', stationsPlayed: 2, plays: 3, airtimeSeconds: 1500 },
    ],
    byCommune: [],
  })
  t.match((await signedInject(app, central, { method: 'GET', url: `/v2/contents/${contentB}/reach` })).json(), {
    stationsPlayed: 1, plays: 1, airtimeSeconds: 600, provincesAcknowledged: 0,
    latency: { firstPlayed: { provinces: 1, p50Seconds: 0 } },
  }, 'a play logged before the publication (a station clock ahead) counts as at once')
  t.equal((await signedInject(app, hcm, { method: 'GET', url: `/v2/contents/${contentA}/reach` })).statusCode, 403)
  t.equal((await signedInject(app, central, { method: 'GET', url: `/v2/contents/${randomUUID()}/reach` })).statusCode, 404)
})

t.test('reach by commune counts the plays on the stations registered in each target commune, and says which the acknowledgement covers', async (t) => {
  const { app, database, central, hcm, hanoi, contentB } = await setup(t)
  const item = (await signedInject(app, central, { method: 'POST', url: '/v2/contents', body: bulletin({ targets: ['01'], communes: ['26743', '26740', '25747'] }) })).json().content.id as string
  // s1 and s2 serve 26740, s3 26743; none 25747. s4 serves 26740 too, and is deleted after its play: the play stands.
  await signedInject(app, hcm, { method: 'PUT', url: '/v2/provinces/79/stations', body: { items: [station('s4', '26740')] } })
  const send = (system: typeof hcm, code: string, entries: unknown[]) =>
    signedInject(app, system, { method: 'POST', url: `/v2/provinces/${code}/broadcast-logs`, body: { entries } })
  const played = await send(hcm, '79', [
    { stationId: 's1', contentId: item, startedAt: at('08:00'), endedAt: at('08:10'), source: 'central' },
    { stationId: 's1', contentId: item, startedAt: at('12:00'), endedAt: at('12:10'), source: 'central' },
    { stationId: 's2', contentId: item, startedAt: at('08:00'), endedAt: at('08:05'), source: 'relay' },
    { stationId: 's4', contentId: item, startedAt: at('09:00'), endedAt: at('09:05'), source: 'central' },
    { stationId: 's3', localRef: 'ban-tin-phuong', startedAt: at('08:00'), endedAt: at('08:10'), source: 'commune' },
    { stationId: 's3', contentId: contentB, startedAt: at('09:00'), endedAt: at('09:10'), source: 'central' },
  ])
  t.match(played.json(), { accepted: 6, rejected: 0 })
  await sql`update stations set deleted_at = now() where province_code = '79' and id = 's4'`.execute(database.db)
  await send(hanoi, '01', [{ stationId: 'h1', contentId: item, startedAt: at('08:00'), endedAt: at('08:10'), source: 'central' }])

  const byCommune = async () => (await signedInject(app, central, { method: 'GET', url: `/v2/contents/${item}/reach` })).json().byCommune
  t.same(await byCommune(), [
    { code: '25747', province: '79', stationsPlayed: 0, plays: 0, acknowledged: false },
    { code: '26740', province: '79', stationsPlayed: 3, plays: 4, acknowledged: false },
    { code: '26743', province: '79', stationsPlayed: 0, plays: 0, acknowledged: false },
  ], 'in code order; a local play and another item\'s are not the item\'s; Hà Nội\'s play is not in a target commune')
  await signedInject(app, hcm, { method: 'POST', url: `/v2/contents/${item}/acks`, body: { receivedAt: at('07:00'), communes: ['26743'] } })
  t.same((await byCommune()).map((c: { acknowledged: boolean }) => c.acknowledged), [false, false, true], 'the acknowledgement covers the commune it lists')
  await signedInject(app, hcm, { method: 'POST', url: `/v2/contents/${item}/acks`, body: { receivedAt: at('07:00') } })
  t.same((await byCommune()).map((c: { acknowledged: boolean }) => c.acknowledged), [true, true, true], 'and every target commune of the province when it lists none')
})

t.test('a full batch of 5000 entries is taken in one call', async (t) => {
  // Two full batches back to back are more than a province's body budget lets through at once.
  const { app, hcm, contentA } = await setup(t, { CALLER_BODY_BURST_BYTES: String(4 * 1024 * 1024) })
  const start = Date.parse('2026-06-01T00:00:00Z')
  const entries = Array.from({ length: 5000 }, (_, i) => ({
    stationId: `s${(i % 3) + 1}`, contentId: contentA, source: 'central',
    startedAt: new Date(start + Math.floor(i / 3) * 120_000).toISOString(), endedAt: new Date(start + Math.floor(i / 3) * 120_000 + 60_000).toISOString(),
  }))
  const began = Date.now()
  const result = (await signedInject(app, hcm, { method: 'POST', url: '/v2/provinces/79/broadcast-logs', body: { entries } })).json()
  const elapsed = Date.now() - began
  t.match(result, { accepted: 5000, duplicate: 0, rejected: 0, rejections: [] })
  t.comment(`5000 entries stored in ${elapsed} ms`)
  const again = (await signedInject(app, hcm, { method: 'POST', url: '/v2/provinces/79/broadcast-logs', body: { entries } })).json()
  t.match(again, { accepted: 0, duplicate: 5000, rejected: 0, rejections: [] })
})

t.test('a province reads its broadcast logs back, filtered and paged latest first; central reads any province\'s', async (t) => {
  const { app, central, hcm, hanoi, contentA, contentB } = await setup(t)
  const sent = [
    { stationId: 's1', contentId: contentA, startedAt: at('08:00'), endedAt: at('08:10'), clustersReached: 12, source: 'central' },
    { stationId: 's2', contentId: contentA, startedAt: at('08:00'), endedAt: at('08:10'), source: 'relay' },
    { stationId: 's3', contentId: contentB, startedAt: at('09:00'), endedAt: at('09:05'), source: 'central' },
    { stationId: 's1', localRef: 'ban-tin-xa-0501', startedAt: at('10:00'), endedAt: at('10:30'), source: 'commune' },
    { stationId: 's2', contentId: contentB, localRef: 'bt-b', startedAt: at('11:00'), endedAt: at('11:10'), source: 'province' },
  ]
  t.equal((await signedInject(app, hcm, { method: 'POST', url: '/v2/provinces/79/broadcast-logs', body: { entries: sent } })).json().accepted, 5)
  await signedInject(app, hanoi, { method: 'POST', url: '/v2/provinces/01/broadcast-logs', body: { entries: [{ stationId: 'h1', contentId: contentA, startedAt: at('08:00'), endedAt: at('08:10'), source: 'central' }] } })

  const list = async (caller: typeof hcm, query: string) => {
    const response = await signedInject(app, caller, { method: 'GET', url: `/v2/provinces/79/broadcast-logs${query}` })
    t.equal(response.statusCode, 200, query)
    return response.json() as { items: { stationId: string, startedAt: string, receivedAt: string }[], nextCursor: string | null }
  }
  const all = await list(hcm, '')
  t.equal(all.nextCursor, null)
  t.same(all.items.map((log) => [log.stationId, log.startedAt]), [
    ['s2', '2026-05-01T04:00:00.000Z'], ['s1', '2026-05-01T03:00:00.000Z'], ['s3', '2026-05-01T02:00:00.000Z'],
    ['s2', '2026-05-01T01:00:00.000Z'], ['s1', '2026-05-01T01:00:00.000Z'],
  ], 'latest start first, then by station, and only the province\'s own')
  t.match(all.items[4], { ...sent[0], startedAt: '2026-05-01T01:00:00.000Z', endedAt: '2026-05-01T01:10:00.000Z', receivedAt: String }, 'every field as sent')
  t.notOk('contentId' in all.items[1]!, 'a local play has no content id')

  const pages: string[][] = []
  let cursor: string | null = null
  do {
    const page = await list(hcm, `?limit=2${cursor ? `&cursor=${cursor}` : ''}`)
    pages.push(page.items.map((log) => `${log.stationId}@${log.startedAt}`))
    cursor = page.nextCursor
  } while (cursor)
  t.same(pages.flat(), all.items.map((log) => `${log.stationId}@${log.startedAt}`), 'pages of two give the same logs, none twice')
  t.same(pages.map((page) => page.length), [2, 2, 1])

  t.same((await list(hcm, '?station=s1')).items.map((log) => log.startedAt), ['2026-05-01T03:00:00.000Z', '2026-05-01T01:00:00.000Z'])
  t.same((await list(hcm, `?contentId=${contentB}`)).items.map((log) => log.stationId), ['s2', 's3'])
  t.same((await list(hcm, '?source=central')).items.map((log) => log.stationId), ['s3', 's1'])
  t.same((await list(hcm, `?from=${encodeURIComponent(at('09:00'))}&to=${encodeURIComponent(at('11:00'))}`)).items.map((log) => log.stationId), ['s1', 's3'],
    'from is inclusive, to exclusive')
  t.equal((await list(central, '')).items.length, 5, 'central reads the province\'s logs')

  t.equal((await signedInject(app, hanoi, { method: 'GET', url: '/v2/provinces/79/broadcast-logs' })).statusCode, 403, 'another province may not')
  const badCursor = await signedInject(app, hcm, { method: 'GET', url: '/v2/provinces/79/broadcast-logs?cursor=bm90LWEta2V5' })
  t.equal(badCursor.statusCode, 400)
  t.equal(badCursor.headers['content-type'], 'application/problem+json; charset=utf-8')
  t.equal((await signedInject(app, hcm, { method: 'GET', url: '/v2/provinces/79/broadcast-logs?limit=1001' })).statusCode, 400)
  t.equal((await signedInject(app, hcm, { method: 'GET', url: '/v2/provinces/79/broadcast-logs?stationId=s1' })).statusCode, 400, 'an unknown parameter is refused')
})
