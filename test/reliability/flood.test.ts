import t from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { registerSystem, signedInject } from '../helpers/systems.js'

t.test('a province over its rate gets 429s while another province\'s calls keep succeeding', async (t) => {
  // A queue long enough for the whole burst, so that the rate is what refuses it.
  const { app, database } = await buildTestApp(t, { env: { RATE_LIMIT_PER_MINUTE: '20', CALLER_QUEUE: '100' } })
  const flooder = await registerSystem(database, 'province-79')
  const neighbour = await registerSystem(database, 'province-01')
  const flood = await Promise.all(Array.from({ length: 60 }, () => signedInject(app, flooder, { method: 'GET', url: '/v2/systems/province-79' })))
  const statuses = flood.map((r) => r.statusCode)
  t.equal(statuses.filter((s) => s === 200).length, 20, 'the allowance is served')
  t.equal(statuses.filter((s) => s === 429).length, 40, 'the rest is refused')
  const refused = flood.find((r) => r.statusCode === 429)!
  t.match(refused.json(), { code: 'rate-limited', status: 429 })
  t.ok(Number(refused.headers['retry-after']) >= 1, 'with Retry-After')
  t.match(refused.headers['content-type'], /application\/problem\+json/)

  for (let i = 0; i < 10; i++) {
    t.equal((await signedInject(app, neighbour, { method: 'GET', url: '/v2/systems/province-01' })).statusCode, 200)
  }
  const spoofed = await app.inject({ method: 'GET', url: '/v2/systems/province-01', headers: { authorization: 'Bearer a.b.c' } })
  t.equal(spoofed.statusCode, 401, 'a forged token spends nobody\'s allowance')
})
