/**
 * Start-up: what a user waits for and what an idle instance holds.
 *
 *   npm run bench:startup        (PostgreSQL at BENCH_DATABASE_URL for the restart figures)
 *
 * - the no-op compile `npm start` runs before the service (`npm run build` on a built tree);
 * - time from spawning `node dist/src/server.js` to the first 200 of /health/ready, probed
 *   every 25 ms from the spawn: on a fresh embedded data folder, on that folder again, and
 *   on PostgreSQL after the previous instance was killed (SIGKILL, as a crash);
 * - every status the probe saw before ready (a 503 is a failure of this figure) and the log
 *   lines at error level;
 * - the CPU seconds the process used until ready, which a busy machine does not inflate;
 * - resident memory once ready and idle, after a settling second.
 * Three runs of each; the median is recorded.
 */
import { execFileSync, spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as pause } from 'node:timers/promises'
import { projectPath } from '../src/paths.js'
import { cpuSeconds, createBenchDatabase, freePort, recordResult } from './support.js'

const RUNS = 3
const PROBE_EVERY_MS = 25
const SETTLE_MS = 1000
const GIVE_UP_MS = 180_000

interface Start { readyMs: number, cpuSecondsToReady: number, statuses: Record<string, number>, errorLines: number, idleRssMiB: number }

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024
}

/** Spawns the compiled service, probes readiness from that instant, and stops it (SIGKILL with `crash`). */
async function start(env: Record<string, string>, crash = false): Promise<Start> {
  const port = await freePort()
  const spawnedAt = performance.now()
  const child = spawn(process.execPath, [projectPath('dist/src/server.js')], {
    env: { ...process.env, PORT: String(port), METRICS_PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk })
  child.stderr.on('data', (chunk: Buffer) => { output += chunk })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const statuses: Record<string, number> = {}
  let readyMs: number | undefined
  while (readyMs === undefined && child.exitCode === null && performance.now() - spawnedAt < GIVE_UP_MS) {
    const status = await fetch(`http://127.0.0.1:${port}/health/ready`).then((response) => response.status, () => undefined)
    if (status !== undefined) statuses[status] = (statuses[status] ?? 0) + 1
    if (status === 200) readyMs = performance.now() - spawnedAt
    else await pause(PROBE_EVERY_MS)
  }
  // On a shared machine the wall time waits for other processes too; the CPU the start used does not.
  const cpuSecondsToReady = await cpuSeconds([child.pid!])
  if (readyMs === undefined) {
    child.kill('SIGKILL')
    throw new Error(`not ready within ${GIVE_UP_MS} ms:\n${output}`)
  }
  await pause(SETTLE_MS)
  const idleRssMiB = await rssMiB(child.pid!)
  child.kill(crash ? 'SIGKILL' : 'SIGTERM')
  await exited
  const errorLines = output.split('\n').filter((line) => /^\{"level":(5|6)0/.test(line)).length
  return { readyMs: Math.round(readyMs), cpuSecondsToReady, statuses, errorLines, idleRssMiB: Math.round(idleRssMiB) }
}

function noOpCompileMs(): number {
  const began = performance.now()
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: projectPath(), stdio: 'inherit' })
  return Math.round(performance.now() - began)
}

const summary = (starts: Start[]) => ({
  readyMsMedian: median(starts.map((s) => s.readyMs)),
  cpuSecondsToReadyMedian: median(starts.map((s) => s.cpuSecondsToReady)),
  idleRssMiBMedian: median(starts.map((s) => s.idleRssMiB)),
  any503: starts.some((s) => (s.statuses['503'] ?? 0) > 0),
  errorLines: starts.reduce((sum, s) => sum + s.errorLines, 0),
  runs: starts,
})

noOpCompileMs() // builds what changed, so the runs below time an up-to-date tree
const compiles = Array.from({ length: RUNS }, noOpCompileMs)

const fresh: Start[] = []
const existing: Start[] = []
for (let run = 0; run < RUNS; run++) {
  const dataDir = await mkdtemp(join(tmpdir(), 'ttn-bench-start-'))
  try {
    fresh.push(await start({ DATA_DIR: dataDir, DATABASE_URL: '' }))
    existing.push(await start({ DATA_DIR: dataDir, DATABASE_URL: '' }))
  } finally {
    await rm(dataDir, { recursive: true, force: true })
  }
}

const database = await createBenchDatabase('bench_startup')
const restarts: Start[] = []
try {
  const keys = await mkdtemp(join(tmpdir(), 'ttn-bench-start-keys-'))
  const env = { DATABASE_URL: database.url, DATA_DIR: keys }
  await start(env, true) // migrates the empty database; each run below is a restart after a crash
  for (let run = 0; run < RUNS; run++) restarts.push(await start(env, true))
  await rm(keys, { recursive: true, force: true })
} finally {
  await database.drop()
}

const result = {
  noOpCompileMs: { median: median(compiles), runs: compiles },
  embeddedFresh: summary(fresh),
  embeddedExisting: summary(existing),
  postgresqlRestartAfterCrash: summary(restarts),
}
console.log(JSON.stringify(result, null, 2))
await recordResult('startup', result)
