/**
 * One province cannot hurt another. A service process on PostgreSQL; province 01 makes small
 * calls one after another (read its system, write one station) while the service is idle, then
 * while province 79 keeps 50 maximum-size batches of each kind in flight (1000 stations, 5000
 * status events, 5000 broadcast logs: 150 requests at all times, re-sent as soon as each is
 * answered, 429s included, as a hostile or careless caller would), in alternating rounds.
 * Readiness is probed every 200 ms throughout.
 *
 *   npm run bench:isolation        (BENCH_DATABASE_URL, BENCH_SECONDS per round, BENCH_FLOOD per kind)
 *   BENCH_FLOOD_TARGET=sink npm run bench:isolation
 *                                  (the same flood sent to bench/sink-server.ts instead: what the machine
 *                                   loses to the flood itself, with the service doing none of its work)
 *
 * Targets: every call of province 01 succeeds, its p99 under the flood at most 3 times its p99
 * when idle, /health/ready 200 throughout.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawn } from 'node:child_process'
import { Pool } from 'undici'
import { projectPath } from '../src/paths.js'
import { signCall } from '../src/client/sign.js'
import { createBenchDatabase, provincialSystems, recordResult, startService } from './support.js'

const seconds = Number(process.env.BENCH_SECONDS ?? 20)
const perKind = Number(process.env.BENCH_FLOOD ?? 50)
const rounds = 2

const work = await mkdtemp(join(tmpdir(), 'ttn-bench-'))
const database = await createBenchDatabase('ttn_bench_isolation')
const { keys, keyFiles, systemsFile } = await provincialSystems(work)
const service = await startService('src/server.ts', {
  DATABASE_URL: database.url, DATA_DIR: work, SYSTEMS_FILE: systemsFile, METRICS_PORT: process.env.BENCH_METRICS_PORT ?? '0',
  RATE_LIMIT_PER_MINUTE: '1000000', OVERLOAD_EVENT_LOOP_DELAY_MS: '0',
})
const sink = process.env.BENCH_FLOOD_TARGET === 'sink' ? await startService('bench/sink-server.ts', {}) : undefined
const pool = new Pool(service.url, { connections: 4 })

async function call(province: string, method: 'GET' | 'PUT' | 'POST', path: string, body?: string) {
  const token = await signCall({ issuer: `province-${province}`, audience: 'ttn-central', key: keys.get(province)!, method, pathAndQuery: path, body })
  const started = performance.now()
  const response = await pool.request({
    method, path, body, headersTimeout: 120_000, bodyTimeout: 120_000,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
  })
  await response.body.dump()
  return { status: response.statusCode, ms: performance.now() - started }
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted.length ? Number(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!.toFixed(1)) : 0
}

const stations = JSON.stringify({ items: Array.from({ length: 1000 }, (_, i) => ({ id: `st-${i}`, communeCode: '26740', name: `Đài ${i}`, kind: 'ip', status: 'operating' })) })

/** Province 01's small calls for `seconds`, with readiness probes beside them. */
async function victimRound(label: string) {
  const latencies: number[] = []
  const failures: number[] = []
  const ready: number[] = []
  const until = Date.now() + seconds * 1000
  const probes = (async () => {
    while (Date.now() < until) {
      const response = await pool.request({ method: 'GET', path: '/health/ready', headersTimeout: 10_000 })
      await response.body.dump()
      ready.push(response.statusCode)
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
  })()
  for (let n = 0; Date.now() < until; n++) {
    const answer = n % 2
      ? await call('01', 'PUT', '/v2/provinces/01/stations', JSON.stringify({ items: [{ id: `v-${n % 50}`, communeCode: '00004', name: `Đài ${n}`, kind: 'ip', status: 'operating' }] }))
      : await call('01', 'GET', '/v2/systems/province-01')
    latencies.push(answer.ms)
    if (answer.status !== 200) failures.push(answer.status)
  }
  await probes
  const summary = { label, calls: latencies.length, failures: failures.length, p50Ms: percentile(latencies, 0.5), p99Ms: percentile(latencies, 0.99), readyProbes: ready.length, readyNot200: ready.filter((s) => s !== 200).length }
  process.stdout.write(`${label}: ${summary.calls} calls, ${summary.failures} failed, p50 ${summary.p50Ms} ms, p99 ${summary.p99Ms} ms; readiness ${summary.readyProbes} probes, ${summary.readyNot200} not 200\n`)
  return summary
}

/** Province 79, from a process of its own, keeps perKind batches of each kind in flight until stopped. */
async function flood() {
  // At the lowest priority: a real flooder sends from its own machine, and its signing and sending must not take the CPU this one measures with.
  const child = spawn('nice', ['-n', '19', process.execPath, '--import', 'tsx', projectPath('bench/isolation-flood.ts')], {
    env: { ...process.env, FLOOD_URL: (sink ?? service).url, FLOOD_PROVINCE: '79', FLOOD_PER_KIND: String(perKind), FLOOD_KEY_FILE: keyFiles.get('79')! },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk })
  await new Promise<void>((resolve) => child.stdout.on('data', () => { if (output.includes('flooding')) resolve() }))
  return {
    stop: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      await exited
      return JSON.parse(output.trim().split('\n').at(-1)!) as Record<string, number>
    },
  }
}

try {
  await call('79', 'PUT', '/v2/provinces/79/stations', stations)
  await victimRound('warm-up')
  const results = []
  for (let round = 0; round < rounds; round++) {
    const idle = await victimRound(`idle ${round + 1}`)
    const flooding = await flood()
    await new Promise((resolve) => setTimeout(resolve, 2000))
    const flooded = await victimRound(`flooded ${round + 1}`)
    const flooder = await flooding.stop()
    process.stdout.write(`  province 79's answers: ${JSON.stringify(flooder)}\n`)
    results.push({ idle, flooded, flooder, p99Ratio: Number((flooded.p99Ms / idle.p99Ms).toFixed(2)) })
  }
  const worst = Math.max(...results.map((r) => r.p99Ratio))
  const failures = results.reduce((n, r) => n + r.flooded.failures + r.idle.failures, 0)
  const notReady = results.reduce((n, r) => n + r.flooded.readyNot200 + r.idle.readyNot200, 0)
  process.stdout.write(`worst p99 flooded / idle = ${worst} (target at most 3), failed calls ${failures}, readiness not 200: ${notReady}\n`)
  await recordResult(sink ? 'isolation-sink' : 'isolation', {
    command: sink ? 'BENCH_FLOOD_TARGET=sink npm run bench:isolation' : 'npm run bench:isolation',
    settings: { seconds, perKind, rounds, database: 'PostgreSQL (local server)', peakRssBytes: service.peakRss() },
    rounds: results, worstP99Ratio: worst, failures, notReady, met: worst <= 3 && failures === 0 && notReady === 0,
  })
} finally {
  await pool.close()
  await service.stop()
  await sink?.stop()
  await database.drop()
  await rm(work, { recursive: true, force: true })
}
