import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { JSONWebKeySet } from 'jose'
import t from 'tap'
import { request } from 'undici'
import { generateKey, importSigningKey } from '../../src/client/keys.js'
import { signCall } from '../../src/client/sign.js'
import { feedsSettled, serverUrl, testDatabase } from '../helpers/database.js'
import { Receiver, until } from '../helpers/receiver.js'
import { startService } from '../helpers/service.js'

t.test('two instances on one PostgreSQL behave as one service', { skip: serverUrl ? false : 'needs TEST_DATABASE_URL: two processes cannot share the embedded database' }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ttn-two-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const database = await testDatabase(t)
  const province = await generateKey()
  const central = await generateKey()
  const keys = { province: await importSigningKey(province.privateJwk), central: await importSigningKey(central.privateJwk) }
  const serviceKey = await generateKey()
  // Province 79's receiver: it notes how many deliveries of one notification are in flight at once.
  const deliveriesInFlight = new Map<string, number>()
  let overlapping = 0
  const receiver = await new Receiver({ serviceId: 'ttn-central', systemId: 'province-79', keys: { keys: [serviceKey.publicJwk] } as JSONWebKeySet }, async (call) => {
    const id = call.id ?? ''
    deliveriesInFlight.set(id, (deliveriesInFlight.get(id) ?? 0) + 1)
    if (deliveriesInFlight.get(id)! > 1) overlapping++
    await sleep(30)
    deliveriesInFlight.set(id, deliveriesInFlight.get(id)! - 1)
    return 204
  }).start(t)
  await writeFile(join(dir, 'systems.json'), JSON.stringify([
    { id: 'province-79', role: 'province', provinceCode: '79', name: 'HCM', jwks: { keys: [province.publicJwk] }, webhookUrl: receiver.url },
    { id: 'central-portal', role: 'central', name: 'Central', jwks: { keys: [central.publicJwk] } },
  ]))
  await writeFile(join(dir, 'service-key.json'), JSON.stringify(serviceKey.privateJwk))
  const env = { DATABASE_URL: database.url!, SYSTEMS_FILE: join(dir, 'systems.json'), CENTRAL_KEY_FILE: join(dir, 'service-key.json'), WEBHOOK_POLL_MS: '50' }
  const instances = [await startService(t, { ...env, DATA_DIR: join(dir, 'a') }), await startService(t, { ...env, DATA_DIR: join(dir, 'b') })]

  const send = async (instance: number, method: string, path: string, body?: unknown, token?: string) => {
    const payload = body === undefined ? undefined : JSON.stringify(body)
    const issuer = path.startsWith('/v2/provinces/') ? 'province-79' : 'central-portal'
    const authorization = token ?? await signCall({ issuer, audience: 'ttn-central', key: issuer === 'province-79' ? keys.province : keys.central, method, pathAndQuery: path, body: payload })
    const response = await request(instances[instance]!.url + path, {
      method: method as 'GET', ...(payload ? { body: payload } : {}),
      headers: { authorization: `Bearer ${authorization}`, ...(payload ? { 'content-type': 'application/json' } : {}) },
    })
    return { status: response.statusCode, body: await response.body.json() as Record<string, any>, token: authorization }
  }

  // A token accepted by one instance is refused by the other: the replay guard is shared.
  const first = await send(0, 'GET', '/v2/systems')
  t.equal(first.status, 200)
  const replay = await send(1, 'GET', '/v2/systems', undefined, first.token)
  t.equal(replay.status, 401)
  t.equal(replay.body.code, 'token-replayed')

  // Writes spread over both instances round-robin; the feed read through either is the same.
  const acknowledged: string[] = []
  for (let i = 0; i < 40; i++) {
    const answer = await send(i % 2, 'PUT', '/v2/provinces/79/stations', { items: [{ id: `st-${i}`, communeCode: '26740', name: `Đài ${i}`, kind: 'ip', status: 'operating' }] })
    t.equal(answer.status, 200)
    acknowledged.push(`st-${i}`)
  }
  const feed = async (instance: number) => {
    const ids: string[] = []
    let after = ''
    for (;;) {
      const page = await send(instance, 'GET', `/v2/changes?limit=7${after ? `&after=${after}` : ''}`)
      ids.push(...page.body.items.map((c: { id: string }) => c.id))
      after = page.body.nextCursor
      if (page.body.items.length === 0) return ids
    }
  }
  await feedsSettled(database.db)
  const [throughA, throughB] = [await feed(0), await feed(1)]
  t.same(throughA, throughB, 'the changes feed is the same through either instance')
  t.same([...throughA].sort(), [...acknowledged].sort())

  // Notifications published through either instance are each delivered once, by one instance at a time.
  for (let i = 0; i < 12; i++) {
    const answer = await send(i % 2, 'POST', '/v2/contents', { title: `Bản tin ${i}`, topic: 'disasters-fire-epidemics', priority: i === 11 ? 'emergency' : 'normal', targets: ['79'] })
    t.equal(answer.status, 201)
  }
  await until(() => receiver.delivered.length === 12, 30_000, 'every notification delivered')
  const deliveries = receiver.calls.filter((c) => c.verified)
  t.equal(deliveries.length, 12, 'each notification was sent once, though both instances send the outbox')
  t.equal(overlapping, 0, 'no notification was ever in flight twice')

  // One instance dies: everything it acknowledged is there, and the other goes on serving.
  const killed = instances[0]!
  const inFlight = Array.from({ length: 10 }, (_, i) => send(0, 'PUT', '/v2/provinces/79/stations', { items: [{ id: `late-${i}`, communeCode: '26740', name: 'x', kind: 'ip', status: 'operating' }] })
    .then((a) => (a.status === 200 ? `late-${i}` : undefined), () => undefined))
  killed.child.kill('SIGKILL')
  const lateAcknowledged = (await Promise.all(inFlight)).filter((id): id is string => id !== undefined)
  const stored = new Set((await database.db.selectFrom('stations').select('id').execute()).map((r) => r.id))
  t.ok([...acknowledged, ...lateAcknowledged].every((id) => stored.has(id)), `every acknowledged write is stored (${lateAcknowledged.length} of the last 10 were acknowledged before the kill)`)
  t.equal((await send(1, 'GET', '/v2/provinces/79/stations/st-0')).status, 200, 'the other instance serves on')
})
