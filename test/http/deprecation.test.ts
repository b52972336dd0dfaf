import t from 'tap'
import { declareDeprecation, type Deprecation } from '../../src/http/deprecation.js'
import { buildTestApp } from '../helpers/app.js'

const deprecation: Deprecation = { since: '2027-01-01', sunset: '2027-07-01', successor: '/v2/replacement' }

const { app } = await buildTestApp(t, {
  beforeReady: (app) => {
    app.get('/v2/deprecated-example', { config: { policy: 'public', deprecation }, schema: { operationId: 'deprecatedExample' } }, async () => ({ ok: true }))
    app.get('/v2/deprecated-failing', { config: { policy: 'public', deprecation: { since: '2027-01-01', sunset: '2027-12-31' } }, schema: { operationId: 'deprecatedFailing' } }, async () => {
      throw new Error('fails on purpose')
    })
  },
})

t.test('a deprecated operation says so in every answer', async (t) => {
  const answer = await app.inject({ method: 'GET', url: '/v2/deprecated-example' })
  t.equal(answer.statusCode, 200)
  t.equal(answer.headers.deprecation, `@${Date.UTC(2027, 0, 1) / 1000}`, 'RFC 9745: since when, in Unix seconds')
  t.equal(answer.headers.sunset, 'Thu, 01 Jul 2027 00:00:00 GMT', 'RFC 8594: an HTTP-date')
  t.equal(answer.headers.link, '</v2/replacement>; rel="successor-version"')

  const failed = await app.inject({ method: 'GET', url: '/v2/deprecated-failing' })
  t.equal(failed.statusCode, 500)
  t.equal(failed.headers.deprecation, `@${Date.UTC(2027, 0, 1) / 1000}`, 'an error answer carries it too')
  t.equal(failed.headers.sunset, 'Fri, 31 Dec 2027 00:00:00 GMT')
  t.notOk(failed.headers.link, 'no successor, no link')
})

t.test('an operation that is not deprecated carries none of the headers', async (t) => {
  const answer = await app.inject({ method: 'GET', url: '/health/live' })
  t.equal(answer.statusCode, 200)
  t.notOk(answer.headers.deprecation)
  t.notOk(answer.headers.sunset)
})

t.test('the contract marks the operation and declares its headers', async (t) => {
  const document = app.swagger() as unknown as { paths: Record<string, Record<string, { deprecated?: boolean, description?: string, responses: Record<string, { headers?: Record<string, unknown> }> }>> }
  const operation = document.paths['/v2/deprecated-example']!.get!
  t.equal(operation.deprecated, true)
  t.match(operation.description, /Deprecated\*\* since 2027-01-01; may be removed after 2027-07-01\. Use `\/v2\/replacement` instead/)
  for (const [status, response] of Object.entries(operation.responses)) {
    t.ok(response.headers?.Deprecation && response.headers.Sunset && response.headers.Link, `${status} declares Deprecation, Sunset and Link`)
  }
  const live = document.paths['/health/live']!.get!
  t.notOk(live.deprecated)
  t.notOk(live.responses['200']!.headers?.Deprecation)
})

t.test('a sunset sooner than the policy allows, or a date that is not one, is refused when the route is declared', async (t) => {
  for (const [bad, message] of [
    [{ since: '2027-01-01', sunset: '2027-03-01' }, /at least 180 days after/],
    [{ since: 'soon', sunset: '2027-03-01' }, /not a calendar date: soon/],
  ] as const) {
    const route = { method: 'GET', url: '/x', handler: async () => null, config: { policy: 'public', deprecation: bad } } as Parameters<typeof declareDeprecation>[0]
    t.throws(() => declareDeprecation(route, {}), message)
  }
})
