/**
 * What call-token verification costs: the same small write (PATCH /v2/systems/:id, which
 * updates a row and signs a receipt in one transaction) with and without verification,
 * driven by autocannon on loopback against a service process on PostgreSQL. The 34 provincial
 * systems rename themselves in turn (a system's name is its own to change), so requests do not
 * queue on one row's lock.
 *
 *   npm run bench:trust            (BENCH_DATABASE_URL, BENCH_SECONDS, BENCH_CONNECTIONS to change the defaults)
 *
 * Target: the signed route keeps at least 70% of the unsigned route's requests per second.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import autocannon from 'autocannon'
import { signCall } from '../src/client/sign.js'
import { PROVINCES, createBenchDatabase, provincialSystems, recordResult, startService } from './support.js'

const seconds = Number(process.env.BENCH_SECONDS ?? 15)
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32)
const body = JSON.stringify({ name: 'HTTTN Thành phố Hồ Chí Minh' })

const work = await mkdtemp(join(tmpdir(), 'ttn-bench-'))
const database = await createBenchDatabase('ttn_bench_trust')
const { keys, systemsFile } = await provincialSystems(work)
const provinces = PROVINCES

const service = await startService('bench/trust-server.ts', {
  DATABASE_URL: database.url, DATA_DIR: work, SYSTEMS_FILE: systemsFile, DATABASE_POOL_MAX: '20',
  // Measured as the work costs; the overload guard would turn a saturated loop into 503s that cost nothing.
  OVERLOAD_EVENT_LOOP_DELAY_MS: '0', RATE_LIMIT_PER_MINUTE: '1000000',
})

/** Each request renames the next province's system; `sign` gives the token for a path, when signing. */
async function run(title: string, prefix: string, sign?: (path: string) => string) {
  let n = 0
  const result = await autocannon({
    url: service.url,
    connections,
    duration: seconds,
    requests: [{
      method: 'PATCH',
      body,
      setupRequest: (request) => {
        const path = `${prefix}/province-${provinces[n++ % provinces.length]}`
        return { ...request, path, headers: { 'content-type': 'application/json', ...(sign ? { authorization: sign(path) } : {}) } }
      },
    }],
  })
  const summary = {
    title,
    requestsPerSecond: Math.round(result.requests.average),
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    total: result.requests.total,
  }
  process.stdout.write(`${title}: ${summary.requestsPerSecond} req/s, p50 ${summary.latencyP50Ms} ms, p99 ${summary.latencyP99Ms} ms, non-2xx ${summary.non2xx}\n`)
  return summary
}

try {
  // Warm up both paths, then measure each.
  await run('warm-up', '/v2/bench-unsigned/systems')
  const unsigned = await run('unsigned', '/v2/bench-unsigned/systems')

  // Every signed request needs a token of its own (jti); they are minted before the run so the
  // load generator spends its CPU sending, not signing.
  const needed = Math.ceil(unsigned.requestsPerSecond * seconds * 1.5) + 1000
  process.stdout.write(`minting ${needed} call tokens\n`)
  const tokens = new Map(provinces.map((code) => [`/v2/systems/province-${code}`, [] as string[]]))
  for (let i = 0; i < needed; i++) {
    const path = `/v2/systems/province-${provinces[i % provinces.length]}`
    const code = provinces[i % provinces.length]!
    tokens.get(path)!.push('Bearer ' + await signCall({
      issuer: `province-${code}`, audience: 'ttn-central', key: keys.get(code)!, method: 'PATCH', pathAndQuery: path, body, lifetimeSeconds: 300,
    }))
  }
  const signed = await run('signed', '/v2/systems', (path) => tokens.get(path)!.pop()!)
  const ratio = signed.requestsPerSecond / unsigned.requestsPerSecond
  process.stdout.write(`signed / unsigned = ${(ratio * 100).toFixed(1)}% (target at least 70%)\n`)
  await recordResult('trust-overhead', {
    command: 'npm run bench:trust',
    settings: { seconds, connections, database: 'PostgreSQL (local server)', pool: 20 },
    unsigned, signed, ratio: Number(ratio.toFixed(3)), target: 0.7, met: ratio >= 0.7,
  })
} finally {
  await service.stop()
  await database.drop()
  await rm(work, { recursive: true, force: true })
}
