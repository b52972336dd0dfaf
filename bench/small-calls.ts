/**
 * What one small signed call costs, beside what the machine allows: a bare Fastify route in a
 * process of its own, ES256 verification alone (one after another, and 64 in flight), a signed
 * GET of one station and a signed PUT of one station (with If-Match, a receipt and its audit
 * entry in the write's transaction) against a service process on PostgreSQL. Rounds alternate
 * so that the machine's drift falls on every path alike.
 *
 *   npm run bench:small            (BENCH_DATABASE_URL, BENCH_SECONDS per round, BENCH_CONNECTIONS, BENCH_ROUNDS)
 *   BENCH_PROFILE_DIR=folder npm run bench:small    (CPU profiles of the service process; see bench/profile-top.ts)
 *
 * Targets: the signed GET at least 30% of the verification limit (64 in flight) of the same run,
 * p99 < 50 ms at 32 connections; the signed PUT at least 1,000 req/s, p99 < 100 ms.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import autocannon from 'autocannon'
import { compactVerify, importJWK, type JWK } from 'jose'
import { signCall } from '../src/client/sign.js'
import { generateKey, importSigningKey } from '../src/client/keys.js'
import { projectPath } from '../src/paths.js'
import { PROVINCES, cpuSeconds, createBenchDatabase, postgresCpuSeconds, provincialSystems, recordResult, startService } from './support.js'

const seconds = Number(process.env.BENCH_SECONDS ?? 10)
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32)
const rounds = Number(process.env.BENCH_ROUNDS ?? 2)
/** BENCH_ONLY=put or get runs that path alone (to profile it); nothing is recorded then. */
const only = process.env.BENCH_ONLY
const AUDIENCE = 'ttn-central'

const work = await mkdtemp(join(tmpdir(), 'ttn-bench-'))
const database = await createBenchDatabase('ttn_bench_small')
const { keys, systemsFile } = await provincialSystems(work)
const service = await startService('src/server.ts', {
  DATABASE_URL: database.url, DATA_DIR: work, SYSTEMS_FILE: systemsFile, METRICS_PORT: '0', DATABASE_POOL_MAX: '20',
  // The work is what is measured: the overload guard and per-caller limits would answer 503/429 that cost nothing.
  OVERLOAD_EVENT_LOOP_DELAY_MS: '0', RATE_LIMIT_PER_MINUTE: '1000000', CALLER_BODY_BYTES_PER_SECOND: String(1024 ** 3),
})
const bare = await startService('bench/bare-server.ts', {})

/** Connection i works on station st-i of province i mod 34, in a commune of that province. */
const communes = new Map<string, string>()
for (const line of (await readFile(projectPath('reference', 'communes-2025.csv'), 'utf8')).split('\n').slice(1)) {
  const [code, , , province] = line.split(',')
  if (province && !communes.has(province)) communes.set(province, code!)
}
const slots = Array.from({ length: connections }, (_, i) => {
  const province = PROVINCES[i % PROVINCES.length]!
  return { province, path: `/v2/provinces/${province}/stations/st-${i}` }
})
const stationBody = (province: string, name: string) => JSON.stringify({ communeCode: communes.get(province), name, kind: 'ip', status: 'operating' })

const sign = (province: string, method: 'GET' | 'PUT', path: string, body?: string) => signCall({
  issuer: `province-${province}`, audience: AUDIENCE, key: keys.get(province)!, method, pathAndQuery: path, body, lifetimeSeconds: 300,
}).then((token) => `Bearer ${token}`)

for (const [i, slot] of slots.entries()) {
  const path = `/v2/provinces/${slot.province}/stations`
  const body = JSON.stringify({ items: [{ id: `st-${i}`, ...JSON.parse(stationBody(slot.province, `Đài ${i}`)) }] })
  const response = await fetch(service.url + path, { method: 'PUT', body, headers: { 'content-type': 'application/json', authorization: await sign(slot.province, 'PUT', path, body) } })
  if (response.status !== 200) throw new Error(`seeding ${path}: ${response.status} ${await response.text()}`)
}

/** Tokens are minted before a round, so the load generator spends its CPU sending. */
async function mint(count: number, method: 'GET' | 'PUT') {
  const perSlot = slots.map(() => [] as { token: string, body?: string }[])
  for (let n = 0; n < count; n++) {
    const i = n % slots.length
    const slot = slots[i]!
    const body = method === 'PUT' ? stationBody(slot.province, `Đài ${i} lần ${Math.floor(n / slots.length)}`) : undefined
    perSlot[i]!.push({ token: await sign(slot.province, method, slot.path, body), body })
  }
  return perSlot
}

interface Figures {
  requestsPerSecond: number, latencyP50Ms: number, latencyP99Ms: number, non2xx: number, errors: number
  /** CPU per call of the process answering, and of the PostgreSQL server, in milliseconds. */
  serviceCpuMsPerCall: number, postgresCpuMsPerCall: number
}

async function load(title: string, target: { url: string, child: { pid?: number } }, requests: autocannon.Request[], amount?: number): Promise<Figures> {
  const before = [await cpuSeconds([target.child.pid!]), await postgresCpuSeconds()]
  const result = await autocannon({ url: target.url, connections, requests, ...(amount ? { amount } : { duration: seconds }) })
  const after = [await cpuSeconds([target.child.pid!]), await postgresCpuSeconds()]
  const perCall = (i: number) => Number((1000 * (after[i]! - before[i]!) / Math.max(1, result.requests.total)).toFixed(3))
  const figures = {
    requestsPerSecond: Math.round(result.requests.average), latencyP50Ms: result.latency.p50, latencyP99Ms: result.latency.p99,
    non2xx: result.non2xx, errors: result.errors, serviceCpuMsPerCall: perCall(0), postgresCpuMsPerCall: perCall(1),
  }
  process.stdout.write(`${title}: ${figures.requestsPerSecond} req/s, p50 ${figures.latencyP50Ms} ms, p99 ${figures.latencyP99Ms} ms, ` +
    `non-2xx ${figures.non2xx}, errors ${figures.errors}, CPU per call: service ${figures.serviceCpuMsPerCall} ms, PostgreSQL ${figures.postgresCpuMsPerCall} ms\n`)
  return figures
}

/** Each connection keeps to a station of its own, so writes never wait for another's row lock. */
function signedRequests(method: 'GET' | 'PUT', tokens: { token: string, body?: string }[][]): autocannon.Request[] {
  let connectionsSeen = 0
  let spent = tokens[0]![0]!
  return [{
    method,
    setupRequest: (request, context: { slot?: number }) => {
      context.slot ??= connectionsSeen++ % slots.length
      // Out of minted tokens, the last one is sent again: refused as a replay, counted as non-2xx.
      const next = tokens[context.slot]!.pop() ?? tokens.find((t) => t.length > 0)?.pop() ?? spent
      spent = next
      const headers: Record<string, string> = { authorization: next.token }
      if (method === 'PUT') Object.assign(headers, { 'content-type': 'application/json', 'if-match': '*' })
      return { ...request, path: slots[context.slot]!.path, headers, ...(next.body ? { body: next.body } : {}) }
    },
  }]
}

async function verifyAlone(inFlight: number): Promise<number> {
  const { privateJwk, publicJwk } = await generateKey()
  const key = await importSigningKey(privateJwk)
  const publicKey = await importJWK(publicJwk as JWK, 'ES256')
  const tokens = await Promise.all(Array.from({ length: 256 }, (_, i) => signCall({ issuer: 'x', audience: AUDIENCE, key, method: 'GET', pathAndQuery: `/v2/x/${i}` })))
  let done = 0
  const until = performance.now() + seconds * 1000
  await Promise.all(Array.from({ length: inFlight }, async (_, lane) => {
    for (let n = lane; performance.now() < until; n += inFlight, done++) await compactVerify(tokens[n % tokens.length]!, publicKey)
  }))
  const rate = Math.round(done / seconds)
  process.stdout.write(`ES256 verification alone, ${inFlight} in flight: ${rate} per second\n`)
  return rate
}

/** The worst round of each figure against its target, recorded in bench/results/small-calls.json. */
async function summarise(results: Record<string, Figures | number>[]) {
  const worst = <T>(pick: (r: Record<string, Figures | number>) => T, by: (v: T) => number, low: boolean) =>
    results.map(pick).sort((a, b) => low ? by(a) - by(b) : by(b) - by(a))[0]!
  const getShare = Math.min(...results.map((r) => (r.signedGet as Figures).requestsPerSecond / (r.verifyConcurrent as number)))
  const getP99 = worst((r) => r.signedGet as Figures, (f) => f.latencyP99Ms, false).latencyP99Ms
  const putRate = worst((r) => r.signedPut as Figures, (f) => f.requestsPerSecond, true).requestsPerSecond
  const putP99 = worst((r) => r.signedPut as Figures, (f) => f.latencyP99Ms, false).latencyP99Ms
  const met = { getShare: getShare >= 0.3, getP99: getP99 < 50, putRate: putRate >= 1000, putP99: putP99 < 100 }
  process.stdout.write(`\nsigned GET: ${(getShare * 100).toFixed(1)}% of verification (target 30%), p99 ${getP99} ms (target < 50)\n`)
  process.stdout.write(`signed PUT: ${putRate} req/s (target 1000), p99 ${putP99} ms (target < 100)\n`)
  await recordResult('small-calls', {
    command: 'npm run bench:small', settings: { seconds, connections, rounds, database: 'PostgreSQL (local server)', pool: 20 },
    rounds: results, worst: { getShare: Number(getShare.toFixed(3)), getP99, putRate, putP99 }, met,
  })
}

const results: Record<string, Figures | number>[] = []
try {
  // A warm-up of each path, then alternating rounds.
  await load('warm-up bare', bare, [{ method: 'GET', path: '/bare' }], 20_000)
  await load('warm-up signed GET', service, signedRequests('GET', await mint(3000, 'GET')), 3000)
  await load('warm-up signed PUT', service, signedRequests('PUT', await mint(1000, 'PUT')), 1000)
  for (let round = 1; round <= rounds; round++) {
    process.stdout.write(`\nround ${round}\n`)
    if (only === 'put' || only === 'get') {
      if (only === 'put') await load('signed PUT one station', service, signedRequests('PUT', await mint(2000 * seconds, 'PUT')))
      else await load('signed GET one station', service, signedRequests('GET', await mint(4000 * seconds, 'GET')))
      continue
    }
    const bareFigures = await load('bare route', bare, [{ method: 'GET', path: '/bare' }])
    const verifySequential = await verifyAlone(1)
    const verifyConcurrent = await verifyAlone(64)
    const reads = await load('signed GET one station', service, signedRequests('GET', await mint(4000 * seconds, 'GET')))
    const writes = await load('signed PUT one station', service, signedRequests('PUT', await mint(2000 * seconds, 'PUT')))
    results.push({ round, bare: bareFigures, verifySequential, verifyConcurrent, signedGet: reads, signedPut: writes })
  }
  if (!only) await summarise(results)
} finally {
  await service.stop()
  await bare.stop()
  await database.drop()
  await rm(work, { recursive: true, force: true })
}
