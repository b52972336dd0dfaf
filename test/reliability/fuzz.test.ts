import net from 'node:net'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import t from 'tap'
import { signCall } from '../../src/client/sign.js'
import { buildTestApp } from '../helpers/app.js'
import { registerSystem, type TestSystem } from '../helpers/systems.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

/** A small seeded generator, so a failing run can be replayed with the seed it prints. */
function random(seed: number) {
  let state = seed >>> 0
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0
    let x = Math.imul(state ^ (state >>> 15), 1 | state)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
  return { next, pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]! }
}

const HOSTILE_STRINGS = [
  '', ' ', '../../etc/passwd', '%00', '\u0000', "' or 1=1 --", '"; drop table stations; --', '\ud800', '\udfff\ud800', '\u202e\u202d',
  '\u200b\u200c\u200d\ufeff', 'ℌ𝔢𝔩𝔩𝔬', '🎙️📻'.repeat(50), 'x'.repeat(70_000), '<script>alert(1)</script>', '${7*7}', '{{7*7}}', 'null', 'NaN',
  '9'.repeat(400), '-0', '1e309', 'true', '[]', '{}', '\\', '%', '%%32%65', 'Đài truyền thanh xã Nấm Dẩn',
]
const HOSTILE_VALUES: unknown[] = [
  null, true, false, 0, -1, 1e308, -1e308, 2 ** 63, Number.MAX_SAFE_INTEGER + 2, 0.1, [], [[]], {}, { __proto__: { polluted: 1 } },
  { constructor: { prototype: { polluted: 1 } } }, Array.from({ length: 6000 }, (_, i) => i), ...HOSTILE_STRINGS,
]

const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth)
const MALFORMED_BODIES = [
  '{', '}', '{"a":', '[1,2', 'nul', 'undefined', "{'a':1}", '{"a":1,}', '\u0000', '\ufeff{}', nested(5000), nested(100_000),
  '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{"x":1}}}', '1e99999', '"\\ud800"', '{"a":"\\u0000"}', 'x'.repeat(10_000),
]

/** Percent-encodes what can be; a lone surrogate cannot, so it goes as U+FFFD, the way a browser would send it. */
const encode = (value: string) => encodeURIComponent(value.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd'))
/** Path segments sent as they are: broken percent-encodings and the like. */
const RAW_SEGMENTS = ['%', '%ZZ', '%E0%A4%A', '%C0%AF', '..', '.', '%2e%2e%2f', '%00', ';', '%252e']

interface Operation { method: string, path: string, secured: boolean, hasBody: boolean, params: string[] }

t.test('10,000 malformed or hostile requests across every operation: 4xx, never 5xx, and memory back to its baseline', async (t) => {
  const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000)
  t.comment(`seed ${seed} (FUZZ_SEED=${seed} replays this run)`)
  const rng = random(seed)
  const { app, database } = await buildTestApp(t, { env: { RATE_LIMIT_PER_MINUTE: '1000000', BODY_LIMIT_BYTES: '1048576' } })
  const callers: TestSystem[] = [await registerSystem(database, 'province-79'), await registerSystem(database, 'central-portal')]

  const contract = (await app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, Record<string, { security?: unknown[], requestBody?: unknown, parameters?: { in: string, name: string }[] }>> }
  const operations: Operation[] = Object.entries(contract.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({
    method: method.toUpperCase(), path, secured: (op.security?.length ?? 0) > 0, hasBody: op.requestBody !== undefined,
    params: (op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name),
  })))
  t.ok(operations.length > 20, `${operations.length} operations`)

  const statuses = new Map<number, number>()
  const fiveHundreds: string[] = []
  const notProblems: string[] = []
  // A path whose dot segments lead back to the root (`/problems/..`) reaches `/`, which sends a person to the docs.
  const redirects = new Set<string>()
  const total = 10_000
  const heapBefore = await (async () => {
    for (let i = 0; i < 200; i++) await app.inject({ method: 'GET', url: '/v2/admin-units?colour=1' })
    gc()
    return process.memoryUsage().heapUsed
  })()

  const send = async () => {
    const op = rng.pick(operations)
    let url = op.path
    // Every request carries at least one defect; when the draw gave none, an unknown query parameter.
    let defective = false
    for (const param of op.params) {
      const roll = rng.next()
      const value = roll < 0.5 ? encode(rng.pick(HOSTILE_STRINGS).slice(0, 300)) : roll < 0.7 ? rng.pick(RAW_SEGMENTS) : '79'
      defective ||= value !== '79'
      url = url.replace(`{${param}}`, value || '%20')
    }
    const queries = rng.next() < 0.5 ? [`${encode(rng.pick(['limit', 'cursor', 'after', 'province', 'level', '__proto__', 'x'.repeat(300)]))}=${encode(String(rng.pick(HOSTILE_VALUES)).slice(0, 2000))}`] : []
    let payload: string | undefined
    const headers: Record<string, string> = {}
    if (op.hasBody) {
      defective = true
      payload = rng.next() < 0.5 ? rng.pick(MALFORMED_BODIES) : JSON.stringify({ items: [rng.pick(HOSTILE_VALUES)], [rng.pick(HOSTILE_STRINGS).slice(0, 50)]: rng.pick(HOSTILE_VALUES), codes: rng.pick(HOSTILE_VALUES) })
      headers['content-type'] = rng.pick(['application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1', 'application/vnd.api+json', ''])
    }
    if (!defective || queries.length === 0) queries.push(`fuzz=${encode(String(rng.pick(HOSTILE_VALUES)).slice(0, 200))}`)
    url += `?${queries.join('&')}`
    if (rng.next() < 0.2) headers['if-match'] = rng.pick(HOSTILE_STRINGS).slice(0, 5000)
    if (rng.next() < 0.2) headers['idempotency-key'] = rng.pick(HOSTILE_STRINGS).slice(0, 5000)
    if (rng.next() < 0.1) headers['x-request-id'] = rng.pick(HOSTILE_STRINGS).slice(0, 5000)
    if (op.secured && rng.next() < 0.6) {
      const caller = rng.pick(callers)
      headers.authorization = `Bearer ${await signCall({ issuer: caller.id, audience: 'ttn-central', key: caller.key, method: op.method, pathAndQuery: url, body: payload })}`
    } else if (rng.next() < 0.3) {
      headers.authorization = rng.pick(['Bearer', 'Bearer ', 'Basic YTpi', 'Bearer a.b.c', `Bearer ${'x'.repeat(9000)}`, 'Bearer eyJhbGciOiJub25lIn0.e30.'])
    }
    const response = await app.inject({ method: op.method as 'GET', url, headers, ...(payload !== undefined ? { payload } : {}) })
    statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1)
    if (response.statusCode < 400) redirects.add(`${response.statusCode} ${String(response.headers.location)}`)
    if (response.statusCode >= 500 && fiveHundreds.length < 5) fiveHundreds.push(`${op.method} ${url.slice(0, 200)} -> ${response.statusCode} ${response.body.slice(0, 300)}`)
    if (response.statusCode >= 400 && !/^application\/problem\+json/.test(String(response.headers['content-type'])) && notProblems.length < 5) {
      notProblems.push(`${op.method} ${url.slice(0, 200)} -> ${response.statusCode} ${String(response.headers['content-type'])} ${response.body.slice(0, 200)}`)
    }
  }

  for (let i = 0; i < total; i += 50) await Promise.all(Array.from({ length: 50 }, send))

  // Header abuse the HTTP parser itself meets: only a real socket shows it.
  const address = await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = new URL(address)
  const raw = async (text: string) => new Promise<string>((resolve) => {
    const socket = net.connect(Number(port), '127.0.0.1', () => socket.end(text))
    let answer = ''
    socket.on('data', (chunk) => { answer += chunk })
    socket.on('close', () => resolve(answer))
    socket.on('error', () => resolve(answer))
  })
  for (const text of [
    `GET /v2/admin-units HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    `GET /v2/admin-units HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 3000 }, (_, i) => `X-${i}: 1`).join('\r\n')}\r\n\r\n`,
    'GET /v2/admin-units HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello',
    'POST /v2/admin-units/resolve HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n',
    'GET /v2/admin-units\u0000 HTTP/1.1\r\nHost: x\r\n\r\n',
    'BREW /v2/admin-units HTTP/1.1\r\nHost: x\r\n\r\n',
  ]) {
    const answer = await raw(text)
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0)
    statuses.set(status, (statuses.get(status) ?? 0) + 1)
    t.ok(status >= 400 && status < 500, `header abuse answered ${status}`)
  }

  gc()
  const heapAfter = process.memoryUsage().heapUsed
  const counts = Object.fromEntries([...statuses].sort(([a], [b]) => a - b))
  t.comment(`statuses: ${JSON.stringify(counts)}; heap ${Math.round(heapBefore / 2 ** 20)} MB before, ${Math.round(heapAfter / 2 ** 20)} MB after`)
  t.same(fiveHundreds, [], 'no 5xx')
  t.same(notProblems, [], 'every refusal is a problem document')
  t.equal([...statuses.keys()].filter((s) => s >= 500).length, 0)
  t.ok([...redirects].every((redirect) => redirect === '302 /docs'), `every hostile request refused, or sent to the docs (${[...redirects].join(', ')})`)
  t.ok(heapAfter < heapBefore * 1.5 + 32 * 2 ** 20, 'the heap returns near its baseline')
})
