import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { sql } from 'kysely'
import t, { type Test } from 'tap'
import { signCall } from '../../src/client/sign.js'
import { verifyServiceCall, type ServiceCallRequest } from '../../src/client/service-call.js'
import { retryAfterMs } from '../../src/client/http.js'
import { backoffMs } from '../../src/modules/content/dispatcher.js'
import { applySystemsFile } from '../../src/modules/systems/file.js'
import { outboundPolicy } from '../../src/http/outbound.js'
import type { ServiceKeys } from '../../src/auth/service-keys.js'
import type { Database } from '../../src/db/database.js'
import { buildTestApp } from '../helpers/app.js'
import { bulletin } from '../helpers/content.js'
import { feedsSettled } from '../helpers/database.js'
import { Receiver, until } from '../helpers/receiver.js'
import { freePort } from '../helpers/service.js'
import { newKey, registerSystem, signedInject, type TestSystem } from '../helpers/systems.js'

/** Short timings so retries happen in milliseconds. */
const FAST = {
  WEBHOOK_POLL_MS: '25', WEBHOOK_BACKOFF_BASE_MS: '20', WEBHOOK_BACKOFF_MAX_MS: '200',
  WEBHOOK_CONNECT_TIMEOUT_MS: '500', WEBHOOK_RESPONSE_TIMEOUT_MS: '2000',
}

async function setup(t: Test, env: Record<string, string> = {}, shared?: { database: Database, serviceKeys: ServiceKeys }) {
  const built = await buildTestApp(t, { env: { ...FAST, ...env }, ...shared })
  const central = shared ? { id: 'central-portal', key: (await newKey()) } : await registerSystem(built.database, 'central-portal')
  return { ...built, central }
}

const trustOf = (app: { deps: { config: { SERVICE_ID: string }, serviceKeys: ServiceKeys } }, systemId: string) =>
  ({ serviceId: app.deps.config.SERVICE_ID, systemId, keys: app.deps.serviceKeys.jwks })

async function province(database: Database, code: string, webhookUrl: string): Promise<TestSystem> {
  return registerSystem(database, `province-${code}`, { extra: { webhookUrl } })
}

async function publish(app: Parameters<typeof signedInject>[0], central: TestSystem, overrides: Record<string, unknown> = {}) {
  const response = await signedInject(app, central, { method: 'POST', url: '/v2/contents', body: bulletin(overrides) })
  if (response.statusCode !== 201) throw new Error(response.body)
  return response.json().content as { id: string, title: string }
}

t.test('a receiver that fails its first calls gets the notification after retries, as one logical delivery; Retry-After is honoured', async (t) => {
  const { app, database, central } = await setup(t, { WEBHOOK_BACKOFF_MAX_MS: '5000' })
  const receiver = await new Receiver(trustOf(app, 'province-79'), (_call, n) => {
    if (n === 1) return { status: 503, headers: { 'retry-after': '1' } }
    return n <= 3 ? 500 : 200
  }).start(t)
  await province(database, '79', receiver.url)
  const item = await publish(app, central)

  await until(() => receiver.accepted.length > 0, 15_000, 'delivery')
  await sleep(300)
  t.equal(receiver.calls.length, 4, 'three failures, then the success, and nothing after it')
  t.ok(receiver.calls.every((c) => c.verified), 'every attempt carries a valid, fresh call token')
  t.equal(new Set(receiver.calls.map((c) => c.id)).size, 1, 'every attempt carries the same notification id')
  t.same(receiver.accepted, receiver.delivered, 'accepted exactly once')
  t.ok(receiver.calls[1]!.at - receiver.calls[0]!.at >= 950, `the second attempt came ${receiver.calls[1]!.at - receiver.calls[0]!.at} ms after Retry-After: 1`)
  const body = JSON.parse(receiver.calls[3]!.body.toString())
  t.match(body, { id: receiver.accepted[0], type: 'content.published', occurredAt: String, content: { id: item.id, version: 1, title: item.title } })

  const report = (await signedInject(app, central, { method: 'GET', url: `/v2/contents/${item.id}/deliveries` })).json()
  t.match(report.provinces, [{ province: '79', systemId: 'province-79', webhook: 'delivered', notifications: [{ state: 'delivered', attempts: 4, lastStatus: 200, lastError: null, nextAttemptAt: null, deliveredAt: String }] }])
  const reach = (await signedInject(app, central, { method: 'GET', url: `/v2/contents/${item.id}/reach` })).json()
  t.match(reach, { provincesTargeted: 1, provincesDelivered: 1, latency: { delivered: { provinces: 1 }, byProvince: [{ province: '79', deliveredSeconds: Number }] } })
  t.ok(reach.latency.delivered.p50Seconds >= 1, `delivered ${reach.latency.delivered.p50Seconds} s after publication, after the Retry-After of 1 s`)

  const metrics = await app.metrics.metrics()
  t.match(metrics, /ttn_webhook_deliveries_total\{outcome="delivered"\} 1/)
  t.match(metrics, /ttn_webhook_deliveries_total\{outcome="refused"\} 3/)
  t.match(metrics, /ttn_webhook_outbox_depth 0/)
  t.match(metrics, /ttn_content_delivery_seconds_count\{priority="normal"\} 1/)
  t.match(metrics, /ttn_content_delivery_seconds_bucket\{le="0.5",priority="normal"\} 0/, 'not within half a second: it waited out Retry-After')
  t.match(metrics, /ttn_webhook_outbox_oldest_pending_seconds 0/)
})

t.test('a receiver that is down while the service restarts still gets the notification after the restart', async (t) => {
  const first = await setup(t)
  const port = await freePort()
  const receiver = new Receiver(trustOf(first.app, 'province-79'), () => 200, port)
  await province(first.database, '79', receiver.url)
  const item = await publish(first.app, first.central)
  const report = async (app: typeof first.app) => (await signedInject(app, first.central, { method: 'GET', url: `/v2/contents/${item.id}/deliveries` })).json().provinces[0]
  await until(async () => (await report(first.app)).notifications[0].attempts >= 2, 10_000, 'failed attempts')
  t.match((await report(first.app)).notifications[0], { state: 'pending', lastStatus: null, lastError: /ECONNREFUSED/ })
  await first.app.close()

  await receiver.start(t)
  await sleep(200)
  t.equal(receiver.calls.length, 0, 'the stopped instance sends nothing')
  const second = await setup(t, {}, { database: first.database, serviceKeys: first.serviceKeys })
  await until(() => receiver.accepted.length > 0, 10_000, 'delivery after the restart')
  await sleep(200)
  t.equal(receiver.delivered.length, 1)
  t.equal(receiver.calls.length, 1, 'delivered once by the new instance')
  t.match((await report(second.app)).notifications[0], { state: 'delivered', lastStatus: 200 })
})

t.test('a dead receiver in one province does not delay another province', async (t) => {
  const { app, database, central } = await setup(t, { WEBHOOK_RESPONSE_TIMEOUT_MS: '5000' })
  const dead = await new Receiver(trustOf(app, 'province-01'), () => 'hang').start(t)
  const alive = await new Receiver(trustOf(app, 'province-79'), () => 200).start(t)
  await province(database, '01', dead.url)
  await province(database, '79', alive.url)

  const started = Date.now()
  for (let i = 0; i < 3; i++) await publish(app, central, { title: `Tin ${i}`, targets: ['01', '79'] })
  await until(() => alive.delivered.length === 3, 10_000, 'deliveries to the live province')
  const elapsed = Date.now() - started
  t.ok(elapsed < 5000, `the live province had all three in ${elapsed} ms, within the dead one's response timeout (5000 ms)`)
  t.equal(dead.calls.length, 1, 'the dead province has one attempt hanging: its lane waits, nothing else does')
  t.equal(dead.accepted.length, 0)
})

t.test('an emergency published after ten normal items is delivered first to a receiver that was down', async (t) => {
  const { app, database, central } = await setup(t)
  const port = await freePort()
  const receiver = new Receiver(trustOf(app, 'province-79'), () => 200, port)
  await province(database, '79', receiver.url)
  const normal: { id: string, title: string }[] = []
  for (let i = 0; i < 10; i++) normal.push(await publish(app, central, { title: `Tin thường ${i}` }))
  await until(async () => {
    const report = (await signedInject(app, central, { method: 'GET', url: `/v2/contents/${normal[0]!.id}/deliveries` })).json()
    return report.provinces[0].notifications[0].attempts >= 1
  }, 10_000, 'a failed attempt')
  const emergency = await publish(app, central, { title: 'Khẩn cấp: lũ quét', priority: 'emergency' })

  await receiver.start(t)
  await until(() => receiver.delivered.length === 11, 10_000, 'every delivery')
  const titles = receiver.calls.filter((c) => c.verified).map((c) => JSON.parse(c.body.toString()).content.title as string)
  t.equal(titles[0], emergency.title, 'the emergency first')
  t.same(titles.slice(1), normal.map((n) => n.title), 'then the others, oldest first')
})

t.test('with every lane busy, a lane with an ordinary backlog gives way to another province\'s emergency', async (t) => {
  const { app, database, central } = await setup(t, { WEBHOOK_CONCURRENCY: '1' })
  const slow = await new Receiver(trustOf(app, 'province-01'), () => sleep(100).then(() => 200)).start(t)
  const urgent = await new Receiver(trustOf(app, 'province-79'), () => 200).start(t)
  await province(database, '01', slow.url)
  await province(database, '79', urgent.url)
  for (let i = 0; i < 20; i++) await publish(app, central, { title: `Tin thường ${i}`, targets: ['01'] })
  await until(() => slow.delivered.length >= 1, 10_000, 'the one lane busy with the backlog')
  await publish(app, central, { title: 'Khẩn cấp: lũ quét', priority: 'emergency', targets: ['79'] })
  await until(() => urgent.delivered.length === 1, 10_000, 'the emergency')
  t.ok(slow.delivered.length < 12, `the emergency arrived after ${slow.delivered.length} of the 20 ordinary items, not after all of them`)
  await until(() => slow.delivered.length === 20, 20_000, 'the backlog, after')
})

t.test('two instances share the outbox: every notification is sent once, never by both at the same time', async (t) => {
  const first = await setup(t, { WEBHOOK_CONCURRENCY: '4' })
  const second = await setup(t, { WEBHOOK_CONCURRENCY: '4' }, { database: first.database, serviceKeys: first.serviceKeys })
  let overlaps = 0
  const receivers = await Promise.all(['01', '79', '31', '48'].map(async (code) => {
    const inFlight = new Set<string>()
    const slow = async (call: { id: string | undefined }) => {
      if (inFlight.has(call.id!)) overlaps++
      inFlight.add(call.id!)
      await sleep(20)
      inFlight.delete(call.id!)
      return 200
    }
    const receiver = await new Receiver(trustOf(first.app, `province-${code}`), slow).start(t)
    await province(first.database, code, receiver.url)
    return receiver
  }))
  for (let i = 0; i < 5; i++) {
    await publish(first.app, first.central, { title: `A${i}`, targets: ['01', '79', '31', '48'] })
    await publish(second.app, first.central, { title: `B${i}`, targets: ['01', '79', '31', '48'] })
  }
  await until(() => receivers.every((r) => r.delivered.length === 10), 15_000, 'every delivery')
  await sleep(200)
  t.equal(overlaps, 0, 'no notification was in flight twice to one province')
  t.same(receivers.map((r) => r.calls.length), [10, 10, 10, 10], 'each sent exactly once')
})

t.test('an emergency to every province reaches all 34 receivers', async (t) => {
  const { app, database, central } = await setup(t)
  const codes = (await database.db.selectFrom('admin_units').select('code').where('level', '=', 'province').where('status', '=', 'active').execute()).map((r) => r.code)
  const receivers = await Promise.all(codes.map(async (code) => {
    const receiver = await new Receiver(trustOf(app, `province-${code}`), () => 200).start(t)
    await province(database, code, receiver.url)
    return receiver
  }))
  const started = Date.now()
  const item = await publish(app, central, { title: 'Khẩn cấp toàn quốc', priority: 'emergency', targets: 'all' })
  await until(() => receivers.every((r) => r.delivered.length === 1), 10_000, 'every province')
  t.comment(`34 provinces notified ${Date.now() - started} ms after the publication was sent, ${app.deps.config.WEBHOOK_CONCURRENCY} at a time`)
  const report = (await signedInject(app, central, { method: 'GET', url: `/v2/contents/${item.id}/deliveries` })).json()
  t.equal(report.provinces.length, 34)
  t.ok(report.provinces.every((p: { webhook: string }) => p.webhook === 'delivered'))
})

t.test('verifyServiceCall rejects forged and replayed notifications', async (t) => {
  const { app, database, central } = await setup(t)
  const receiver = await new Receiver(trustOf(app, 'province-79'), () => 200).start(t)
  await province(database, '79', receiver.url)
  await publish(app, central)
  await until(() => receiver.accepted.length === 1, 10_000, 'delivery')
  const genuine = receiver.calls[0]!
  const request: ServiceCallRequest = { method: genuine.method, url: genuine.url, headers: genuine.headers, body: genuine.body }
  const trust = trustOf(app, 'province-79')
  const refusal = (req: ServiceCallRequest, options = {}) => verifyServiceCall(req, { ...trust, ...options }).then(() => 'accepted', (e: { code: string }) => e.code)

  t.equal(await refusal(request, { replayGuard: receiver.replayGuard }), 'token-replayed', 'the receiver already took this token')
  const fresh = { claim: () => true }
  t.equal(await refusal({ ...request, body: genuine.body.toString().replace('Cảnh báo', 'Giả mạo') }, { replayGuard: fresh }), 'body-hash-mismatch')
  t.equal(await refusal({ ...request, url: '/hooks/other' }, { replayGuard: fresh }), 'path-mismatch')
  t.equal(await refusal(request, { replayGuard: fresh, systemId: 'province-01' }), 'audience-mismatch', 'a notification for another province')
  t.equal(await refusal(request, { replayGuard: fresh, now: new Date(Date.now() + 600_000) }), 'token-expired')
  t.equal(await refusal({ ...request, headers: {} }, { replayGuard: fresh }), 'token-missing')

  const forger = await newKey()
  const forge = async (kid?: string) => {
    const token = await signCall({
      issuer: trust.serviceId, audience: 'province-79', key: kid ? { ...forger, kid } : forger,
      method: 'POST', pathAndQuery: genuine.url, body: genuine.body,
    })
    return { ...request, headers: { authorization: `Bearer ${token}` } }
  }
  t.equal(await refusal(await forge(), { replayGuard: fresh }), 'key-unknown', 'signed by a key the service does not publish')
  t.equal(await refusal(await forge(app.deps.serviceKeys.current.kid), { replayGuard: fresh }), 'signature-invalid', 'signed by another key under the service\'s kid')
  t.equal(await refusal(request, { replayGuard: fresh, serviceId: 'another-service' }), 'issuer-unknown')
  const claims = await verifyServiceCall(request, { ...trust, replayGuard: fresh })
  t.match(claims, { iss: trust.serviceId, aud: 'province-79', htm: 'POST', htu: '/hooks/ttn?tenant=a' })
})

t.test('backoff grows exponentially with jitter up to its cap; Retry-After wins within the cap', async (t) => {
  const settings = { base: 100, max: 1000 }
  for (let failures = 0; failures < 6; failures++) {
    const ceiling = Math.min(1000, 100 * 2 ** failures)
    const delay = backoffMs(failures, settings)
    t.ok(delay >= ceiling / 2 && delay <= ceiling, `after ${failures} failures: ${Math.round(delay)} ms in [${ceiling / 2}, ${ceiling}]`)
  }
  t.equal(backoffMs(0, settings, 700), 700)
  t.equal(backoffMs(0, settings, 60_000), 1000)
  t.equal(retryAfterMs('3'), 3000)
  t.equal(retryAfterMs(new Date(Date.now() + 5000).toUTCString(), Date.now()) ! > 3000, true)
  t.equal(retryAfterMs('soon'), undefined)
  t.equal(retryAfterMs(undefined), undefined)
})

t.test('a province whose webhook comes after the publications is sent the latest version of each item still in force for it, once', async (t) => {
  const { app, database, central } = await setup(t)
  const receiver = await new Receiver(trustOf(app, 'province-79'), () => 200).start(t)
  const hcm = await registerSystem(database, 'province-79')
  const normal = await publish(app, central, { title: 'Tin thường' })
  const updated = await publish(app, central, { title: 'Bản đầu' })
  const second = await signedInject(app, central, { method: 'PUT', url: `/v2/contents/${updated.id}`, body: bulletin({ title: 'Bản cập nhật' }) })
  t.equal(second.statusCode, 200)
  const emergency = await publish(app, central, { title: 'Khẩn cấp: lũ quét', priority: 'emergency', targets: 'all' })
  const withdrawn = await publish(app, central, { title: 'Đã thu hồi' })
  t.equal((await signedInject(app, central, { method: 'POST', url: `/v2/contents/${withdrawn.id}/withdrawal`, body: { reason: 'Thông tin đã cũ' } })).statusCode, 200)
  const expired = await publish(app, central, { title: 'Hết hiệu lực' })
  await database.db.updateTable('contents').set({ item: sql`jsonb_set(item, '{validUntil}', '"2020-01-01T00:00:00.000Z"')`, valid_until: '2020-01-01T00:00:00.000Z' }).where('id', '=', expired.id).execute()
  await publish(app, central, { title: 'Cho Hà Nội', targets: ['01'] })

  const registered = await signedInject(app, hcm, { method: 'PATCH', url: '/v2/systems/province-79', body: { webhookUrl: receiver.url } })
  t.equal(registered.statusCode, 200)
  await until(() => receiver.delivered.length === 3, 10_000, 'the missed items')
  const sent = receiver.calls.filter((c) => c.verified).map((c) => JSON.parse(c.body.toString()).content as { id: string, version: number, title: string })
  t.equal(sent[0]?.title, emergency.title, 'the emergency first')
  t.same(new Set(sent.map((c) => `${c.id}@${c.version}`)), new Set([`${emergency.id}@1`, `${normal.id}@1`, `${updated.id}@2`]),
    'each item in force for the province at its latest version; not the withdrawn, the expired or another province\'s')

  t.equal((await signedInject(app, hcm, { method: 'PATCH', url: '/v2/systems/province-79', body: { webhookUrl: receiver.url } })).statusCode, 200)
  const pending = await database.db.selectFrom('webhook_outbox').select(({ fn }) => fn.countAll<string>().as('n')).where('province_code', '=', '79').executeTakeFirstOrThrow()
  t.equal(Number(pending.n), 3, 'giving the webhook again queues nothing more')

  const hanoiReceiver = await new Receiver(trustOf(app, 'province-01'), () => 200).start(t)
  const hanoi = await newKey()
  const added = await signedInject(app, central, {
    method: 'POST', url: '/v2/systems',
    body: { id: 'province-01', role: 'province', provinceCode: '01', name: 'HTTTN Hà Nội', webhookUrl: hanoiReceiver.url, jwks: { keys: [hanoi.publicJwk] } },
  })
  t.equal(added.statusCode, 201)
  await until(() => hanoiReceiver.delivered.length === 2, 10_000, 'the items for a province registered with its webhook')
  t.same(hanoiReceiver.calls.filter((c) => c.verified).map((c) => JSON.parse(c.body.toString()).content.title), ['Khẩn cấp: lũ quét', 'Cho Hà Nội'])

  t.equal((await signedInject(app, central, { method: 'PATCH', url: '/v2/systems/province-01', body: { status: 'suspended' } })).statusCode, 200)
  await publish(app, central, { title: 'Trong lúc tạm dừng', targets: ['01'] })
  t.equal((await signedInject(app, central, { method: 'PATCH', url: '/v2/systems/province-01', body: { status: 'active' } })).statusCode, 200)
  await until(() => hanoiReceiver.delivered.length === 3, 10_000, 'the item published while the system was suspended')
  t.equal(JSON.parse(hanoiReceiver.calls.filter((c) => c.verified).at(-1)!.body.toString()).content.title, 'Trong lúc tạm dừng', 'a reactivated province is sent what it missed')
})

t.test('a province registered from SYSTEMS_FILE with a webhook is sent the items in force for it', async (t) => {
  const { app, database, central } = await setup(t)
  const receiver = await new Receiver(trustOf(app, 'province-48'), () => 200).start(t)
  const item = await publish(app, central, { title: 'Tin cho Đà Nẵng', targets: ['48'] })
  const key = await newKey()
  const folder = await mkdtemp(join(tmpdir(), 'ttn-systems-'))
  t.teardown(() => rm(folder, { recursive: true, force: true }))
  const file = join(folder, 'systems.json')
  await writeFile(file, JSON.stringify([{ id: 'province-48', role: 'province', provinceCode: '48', name: 'Đà Nẵng', webhookUrl: receiver.url, jwks: { keys: [key.publicJwk] } }]))
  t.match(await applySystemsFile(file, database.db, outboundPolicy('127.0.0.1')), { registered: ['province-48'], refused: [] })
  await until(() => receiver.delivered.length === 1, 10_000, 'the item in force')
  t.match(JSON.parse(receiver.calls.find((c) => c.verified)!.body.toString()), { type: 'content.published', content: { id: item.id, title: 'Tin cho Đà Nẵng' } })
})

t.test('a lane held by an instance that died is taken over once it goes unheard, long before its lease ends; a live holder keeps it', async (t) => {
  const { app, database, central } = await setup(t, { WEBHOOK_SENDER_TIMEOUT_MS: '1000' })
  const hcm = await new Receiver(trustOf(app, 'province-79'), () => 200).start(t)
  const hanoi = await new Receiver(trustOf(app, 'province-01'), () => 200).start(t)
  await province(database, '79', hcm.url)
  await province(database, '01', hanoi.url)
  const holdLane = async (province: string, owner: string, heard: string) => {
    await sql`insert into webhook_senders (owner, heard_at) values (${owner}, now() + ${heard}::interval)`.execute(database.db)
    await sql`insert into webhook_lanes (province_code, lease_owner, lease_expires_at) values (${province}, ${owner}, now() + interval '1 hour')
      on conflict (province_code) do update set lease_owner = excluded.lease_owner, lease_expires_at = excluded.lease_expires_at`.execute(database.db)
  }
  // One instance died a minute ago mid-send to 79, another is alive and sending to 01; both leased their lane for an hour.
  await holdLane('79', 'dead-instance', '-1 minute')
  await holdLane('01', 'live-instance', '1 hour')

  const started = Date.now()
  const emergency = await publish(app, central, { title: 'Khẩn cấp: sạt lở', priority: 'emergency', targets: ['79', '01'] })
  await until(() => hcm.delivered.length === 1, 10_000, 'the emergency to the dead instance\'s province')
  const elapsed = Date.now() - started
  t.ok(elapsed < 5000, `delivered ${elapsed} ms after publication, not after the hour of the dead instance's lease`)
  t.match(JSON.parse(hcm.calls.find((c) => c.verified)!.body.toString()), { content: { id: emergency.id } })

  await sleep(1500)
  t.equal(hanoi.calls.length, 0, 'the lane of an instance still heard from is left to it')
  await sql`update webhook_senders set heard_at = now() - interval '1 minute' where owner = 'live-instance'`.execute(database.db)
  await until(() => hanoi.delivered.length === 1, 10_000, 'the lane once its holder goes unheard')
})

t.test('an item for communes reaches their provinces alone, by feed and webhook, with the communes; a province its communes leave is told', async (t) => {
  const { app, database, central } = await setup(t)
  const hooks = Object.fromEntries(await Promise.all(['79', '01', '92'].map(async (code) => [code, await new Receiver(trustOf(app, `province-${code}`), () => 200).start(t)] as const)))
  const [hcm, hanoi, canTho] = await Promise.all(['79', '01', '92'].map((code) => province(database, code, hooks[code]!.url)))
  const contentOf = (receiver: Receiver) => receiver.calls.filter((c) => c.verified).map((c) => JSON.parse(c.body.toString()) as { type: string, content: { id: string, version: number, communes: unknown } })
  const feedOf = async (system: TestSystem) => {
    await feedsSettled(database.db)
    return (await signedInject(app, system, { method: 'GET', url: '/v2/contents/feed' })).json().items as { type: string, content: { id: string, version: number, communes: unknown } }[]
  }

  const item = await publish(app, central, { title: 'Cho hai phường của Thành phố Hồ Chí Minh', targets: [], communes: ['26743', '26740'] })
  // A lane sends oldest first: once Hà Nội has the item published after, it would have had the first had it been queued for it.
  const later = await publish(app, central, { title: 'Cho Hà Nội', targets: ['01'] })
  await until(() => hooks['79']!.delivered.length === 1 && hooks['01']!.delivered.length === 1, 10_000, 'the deliveries')

  const communes = [{ code: '26740', province: '79' }, { code: '26743', province: '79' }]
  t.match(contentOf(hooks['79']!), [{ type: 'content.published', content: { id: item.id, targets: [], communes } }], 'the province of the communes gets the item by webhook, with its communes in code order')
  // Settled past the later item, the feeds hold everything published before it.
  await until(async () => (await feedOf(hanoi!)).some((n) => n.content.id === later.id), 10_000, 'the feeds settled')
  t.match(await feedOf(hcm!), [{ type: 'content.published', content: { id: item.id, communes } }], 'and in its feed')
  t.same(contentOf(hooks['01']!).map((n) => n.content.id), [later.id], 'another province\'s webhook does not carry it')
  t.same((await feedOf(hanoi!)).map((n) => n.content.id), [later.id], 'nor its feed')
  t.equal((await signedInject(app, hanoi!, { method: 'GET', url: `/v2/contents/${item.id}` })).statusCode, 404, 'nor may it read the item')
  t.equal((await signedInject(app, hcm!, { method: 'GET', url: `/v2/contents/${item.id}` })).statusCode, 200)

  const station = (id: string, communeCode: string) => ({ id, communeCode, name: `Đài ${id}`, kind: 'ip', status: 'operating' })
  await signedInject(app, hanoi!, { method: 'PUT', url: '/v2/provinces/01/stations', body: { items: [station('h1', '00004')] } })
  await signedInject(app, hcm!, { method: 'PUT', url: '/v2/provinces/79/stations', body: { items: [station('s1', '26740')] } })
  const play = (stationId: string) => ({ entries: [{ stationId, contentId: item.id, startedAt: '2026-05-01T08:00:00+07:00', endedAt: '2026-05-01T08:10:00+07:00', source: 'central' }] })
  t.match((await signedInject(app, hanoi!, { method: 'POST', url: '/v2/provinces/01/broadcast-logs', body: play('h1') })).json(),
    { accepted: 0, rejected: 1, rejections: [{ reason: 'content-not-sent' }] }, 'a play of it in another province is refused')
  t.match((await signedInject(app, hcm!, { method: 'POST', url: '/v2/provinces/79/broadcast-logs', body: play('s1') })).json(), { accepted: 1 }, 'a play in the communes\' province is taken')

  const update = async (communes: string[]) => {
    const response = await signedInject(app, central, { method: 'PUT', url: `/v2/contents/${item.id}`, body: bulletin({ title: 'Cập nhật', targets: [], communes }) })
    t.equal(response.statusCode, 200, response.body)
  }
  await update(['26740', '31507'])
  await until(() => hooks['79']!.delivered.length === 2 && hooks['92']!.delivered.length === 1, 10_000, 'the second version')
  t.match(contentOf(hooks['92']!), [{ type: 'content.updated', content: { id: item.id, version: 2, communes: [{ code: '26740', province: '79' }, { code: '31507', province: '92' }] } }],
    'the province a commune moved to receives the item')
  t.equal((await signedInject(app, canTho!, { method: 'GET', url: `/v2/contents/${item.id}` })).statusCode, 200)
  await update(['31507'])
  await until(() => hooks['79']!.delivered.length === 3 && hooks['92']!.delivered.length === 2, 10_000, 'the third version')
  t.match(contentOf(hooks['79']!).slice(1), [{ type: 'content.updated', content: { version: 2 } }, { type: 'content.updated', content: { version: 3, communes: [{ code: '31507', province: '92' }] } }],
    'the province is told of each version, the one that leaves it without a commune too')
  // The feed serves what no transaction still open can precede; the sender's own may be, for a moment.
  await until(async () => (await feedOf(hcm!)).length === 3, 10_000, 'the feed settled')
  t.same((await feedOf(hcm!)).map((n) => `${n.type}@${n.content.version}`), ['content.published@1', 'content.updated@2', 'content.updated@3'])
  t.same(contentOf(hooks['01']!).map((n) => n.content.id), [later.id], 'Hà Nội never hears of it')

  const report = (await signedInject(app, central, { method: 'GET', url: `/v2/contents/${item.id}/deliveries` })).json()
  t.same(report.provinces.map((p: { province: string, communes: string[] }) => [p.province, p.communes]), [['79', []], ['92', ['31507']]],
    'every province the item went to, with the communes the current version targets there')
})

t.test('a province whose webhook comes late is sent the items for its communes, not those for another province\'s', async (t) => {
  const { app, database, central } = await setup(t)
  const receiver = await new Receiver(trustOf(app, 'province-79'), () => 200).start(t)
  const hcm = await registerSystem(database, 'province-79')
  const forCommune = await publish(app, central, { title: 'Cho Hà Nội và phường Sài Gòn', targets: ['01'], communes: ['26740'] })
  await publish(app, central, { title: 'Cho phường Ba Đình', targets: [], communes: ['00004'] })
  t.equal((await signedInject(app, hcm, { method: 'PATCH', url: '/v2/systems/province-79', body: { webhookUrl: receiver.url } })).statusCode, 200)
  await until(() => receiver.delivered.length === 1, 10_000, 'the missed item')
  const queued = await database.db.selectFrom('webhook_outbox').select('content_id').where('province_code', '=', '79').execute()
  t.same(queued.map((r) => r.content_id), [forCommune.id], 'the item for one of its communes, and nothing else')
})

t.test('a version\'s webhook body and feed entry are the stored item, with its communes, language and exercise flag', async (t) => {
  const { app, database, central } = await setup(t)
  const receiver = await new Receiver(trustOf(app, 'province-92'), () => 200).start(t)
  const canTho = await province(database, '92', receiver.url)
  const item = await publish(app, central, { title: 'Diễn tập cảnh báo lũ', targets: [], communes: ['31783', '31507'], language: 'KM', test: true })
  await until(() => receiver.delivered.length === 1, 10_000, 'the delivery')
  const stored = (await signedInject(app, central, { method: 'GET', url: `/v2/contents/${item.id}` })).json()
  t.match(stored, { language: 'km', test: true, communes: [{ code: '31507', province: '92' }, { code: '31783', province: '92' }] })
  t.same(JSON.parse(receiver.calls.find((c) => c.verified)!.body.toString()).content, stored, 'the webhook carries the stored item')
  const feed = async () => (await signedInject(app, canTho, { method: 'GET', url: '/v2/contents/feed' })).json().items
  await until(async () => (await feed()).length === 1, 10_000, 'the feed settled')
  t.same((await feed())[0].content, stored, 'and so does the feed')
})

t.test('the summaries give delivery and acknowledgement percentiles per priority, for the nation and each province, exercises apart', async (t) => {
  const { app, database, central } = await setup(t, { SUMMARY_CACHE_SECONDS: '0' })
  const receivers = {
    '79': await new Receiver(trustOf(app, 'province-79'), () => 200).start(t),
    '01': await new Receiver(trustOf(app, 'province-01'), () => 200).start(t),
  }
  const hcm = await province(database, '79', receivers['79'].url)
  await province(database, '01', receivers['01'].url)
  const storm = await publish(app, central, { title: 'Bão', priority: 'emergency', targets: ['79', '01'] })
  await publish(app, central, { title: 'Tin thường', priority: 'normal', targets: ['79'] })
  await publish(app, central, { title: 'Diễn tập', priority: 'emergency', targets: ['79'], test: true })
  await until(() => receivers['79'].delivered.length === 3 && receivers['01'].delivered.length === 1, 10_000, 'every delivery')
  t.equal((await signedInject(app, hcm, { method: 'POST', url: `/v2/contents/${storm.id}/acks`, body: { receivedAt: new Date().toISOString() } })).statusCode, 200)

  // Expected from the deliveries report, which reads the outbox itself.
  const published = Date.parse((storm as unknown as { publishedAt: string }).publishedAt)
  const report = (await signedInject(app, central, { method: 'GET', url: `/v2/contents/${storm.id}/deliveries` })).json()
  const seconds = (report.provinces as { notifications: { deliveredAt: string }[] }[])
    .map((p) => Math.round((Date.parse(p.notifications[0]!.deliveredAt) - published)) / 1000).sort((a, b) => a - b)
  const summary = (await signedInject(app, central, { method: 'GET', url: '/v2/summaries/national' })).json()
  t.equal(summary.deliveryLatency.length, 2, 'emergency and normal: the exercise is not counted')
  const [emergency, normal] = summary.deliveryLatency
  t.match(emergency, { priority: 'emergency', pairs: 2, delivered: { pairs: 2 }, acknowledged: { pairs: 1 } })
  t.ok(Math.abs(emergency.delivered.p50Seconds - seconds[0]!) <= 0.002, `median of two is the first by nearest rank (${emergency.delivered.p50Seconds} against ${seconds[0]})`)
  t.ok(Math.abs(emergency.delivered.p95Seconds - seconds[1]!) <= 0.002, 'p95 of two is the second')
  t.match(normal, { priority: 'normal', pairs: 1, delivered: { pairs: 1 }, acknowledged: { pairs: 0, p50Seconds: null, p95Seconds: null } })
  const of = (code: string) => summary.provinces.find((p: { province: string }) => p.province === code).deliveryLatency
  t.same(of('79').map((l: { priority: string }) => l.priority), ['emergency', 'normal'])
  t.match(of('01'), [{ priority: 'emergency', pairs: 1, acknowledged: { pairs: 0 } }])
  t.same(of('48'), [], 'a province nothing was sent to')
  const own = (await signedInject(app, central, { method: 'GET', url: '/v2/summaries/provinces/79' })).json()
  t.same(own.province.deliveryLatency, of('79'), 'the province\'s own summary says the same')
})
