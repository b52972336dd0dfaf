import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { createServer, type AddressInfo } from 'node:net'
import { cpus, totalmem } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { generateKey, importSigningKey, type SigningKey } from '../src/client/keys.js'
import { projectPath } from '../src/paths.js'

/** The 34 provinces since the 2025 reorganisation. */
export const PROVINCES = ['01', '04', '08', '11', '12', '14', '15', '19', '20', '22', '24', '25', '31', '33', '37', '38', '40',
  '42', '44', '46', '48', '51', '52', '56', '66', '68', '75', '79', '80', '82', '86', '91', '92', '96']

/**
 * A key pair for each province's system, and a SYSTEMS_FILE registering them for the service;
 * with `webhookUrl`, each system is registered with the webhook URL it gives for the province.
 */
export async function provincialSystems(dir: string, options: { webhookUrl?: (province: string) => string } = {}): Promise<{ keys: Map<string, SigningKey>, keyFiles: Map<string, string>, systemsFile: string }> {
  const keys = new Map<string, SigningKey>()
  const keyFiles = new Map<string, string>()
  const systems = []
  for (const province of PROVINCES) {
    const { privateJwk, publicJwk } = await generateKey()
    keys.set(province, await importSigningKey(privateJwk))
    keyFiles.set(province, join(dir, `province-${province}.jwk.json`))
    await writeFile(keyFiles.get(province)!, JSON.stringify(privateJwk), { mode: 0o600 })
    systems.push({
      id: `province-${province}`, role: 'province', provinceCode: province, name: `Province ${province}`, jwks: { keys: [publicJwk] },
      ...(options.webhookUrl ? { webhookUrl: options.webhookUrl(province) } : {}),
    })
  }
  const systemsFile = join(dir, 'systems.json')
  await writeFile(systemsFile, JSON.stringify(systems))
  return { keys, keyFiles, systemsFile }
}

/** Adds central's system, `central-portal`, to a SYSTEMS_FILE; answers its signing key. */
export async function centralSystem(systemsFile: string): Promise<SigningKey> {
  const { privateJwk, publicJwk } = await generateKey('ES256')
  const systems = JSON.parse(await readFile(systemsFile, 'utf8')) as object[]
  await writeFile(systemsFile, JSON.stringify([...systems, { id: 'central-portal', role: 'central', name: 'Central', jwks: { keys: [publicJwk] } }]))
  return importSigningKey(privateJwk)
}

/** A TCP port free on 127.0.0.1 right now, for a listener whose port must be given before it starts (METRICS_PORT). */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** The PostgreSQL server benchmarks run against; each run makes a database of its own and drops it. */
export const benchServerUrl = process.env.BENCH_DATABASE_URL ?? 'postgresql://root@127.0.0.1:5432/postgres'

export function databaseUrl(name: string): string {
  const url = new URL(benchServerUrl)
  url.pathname = '/' + name
  return url.toString()
}

async function onServer(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: benchServerUrl })
  await client.connect()
  try {
    await client.query(statement)
  } finally {
    await client.end()
  }
}

export async function createBenchDatabase(prefix: string): Promise<{ name: string, url: string, drop: () => Promise<void> }> {
  const name = `${prefix}_${Date.now()}`
  await onServer(`create database ${name}`)
  return { name, url: databaseUrl(name), drop: () => onServer(`drop database if exists ${name} with (force)`) }
}

export interface ChildService {
  child: ChildProcess
  url: string
  /** The metrics listener's `GET /metrics` URL, when METRICS_PORT turned it on. */
  metricsUrl: string | undefined
  /** Largest resident set size seen, in bytes, sampled every 250 ms. */
  peakRss: () => number
  /** The service's log lines at warn level and above so far (JSON lines; the latest 1000). */
  warnings: () => string[]
  stop: () => Promise<void>
}

/**
 * Starts a service process (a TypeScript entry under bench/ or src/) and waits for its
 * listening line. BENCH_PROFILE_DIR=folder writes a CPU profile of it there.
 */
export async function startService(entry: string, env: Record<string, string>): Promise<ChildService> {
  const profile = process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`] : []
  // The service runs compiled, as in production; bench-only entries run through tsx.
  const program = entry.startsWith('src/')
    ? [projectPath('dist', entry.replace(/\.ts$/, '.js'))]
    : ['--import', 'tsx', projectPath(entry)]
  if (entry.startsWith('src/')) execFileSync('npm', ['run', '--silent', 'build'], { cwd: projectPath(), stdio: 'inherit' })
  const child = spawn(process.execPath, [...profile, ...program], {
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let output = ''
  const warnings: string[] = []
  let partial = ''
  child.stdout!.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString('utf8')).split('\n')
    partial = lines.pop() ?? ''
    for (const line of lines) {
      // pino levels: 40 warn, 50 error, 60 fatal.
      if (!/^\{"level":[456]0,/.test(line)) continue
      warnings.push(line)
      if (warnings.length > 1000) warnings.shift()
    }
  })
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error('service did not start:\n' + output))
    }, 60_000)
    child.stdout!.on('data', (chunk: Buffer) => {
      if (output.length < 100_000) output += chunk
      const match = /listening on (http:\/\/[^;\s"]+)/.exec(output)
      if (match) { clearTimeout(timer); resolve(match[1]!) }
    })
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`service exited with ${code}:\n${output}`)) })
  })
  const metricsUrl = /"metrics":"(http:\/\/[^"]+)"/.exec(output)?.[1]
  let peak = 0
  const sampler = setInterval(() => { void rssOf(child.pid!).then((rss) => { peak = Math.max(peak, rss) }) }, 250)
  return {
    child,
    url,
    metricsUrl,
    peakRss: () => peak,
    warnings: () => [...warnings],
    stop: async () => {
      clearInterval(sampler)
      if (child.exitCode !== null) return
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      await exited
    },
  }
}

async function rssOf(pid: number): Promise<number> {
  return statusBytes(pid, 'VmRSS')
}

async function statusBytes(pid: number, field: 'VmRSS' | 'VmHWM'): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '')
  const kb = new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1]
  return kb ? Number(kb) * 1024 : 0
}

/**
 * The exact peak of a process's resident set over a stretch of work, in bytes, where sampling
 * could miss a short peak: the kernel's high-water mark (VmHWM), restarted at the current size
 * by `resetPeakRss` (writing 5 to /proc/<pid>/clear_refs, Linux 4.0 and later).
 */
export const peakRssSinceReset = (pid: number) => statusBytes(pid, 'VmHWM')

export async function resetPeakRss(pid: number): Promise<void> {
  await writeFile(`/proc/${pid}/clear_refs`, '5')
}

/** Keeps the latest result of each benchmark in bench/results/<name>.json. */
export async function recordResult(name: string, result: object): Promise<void> {
  const file = projectPath('bench', 'results', `${name}.json`)
  await writeFile(file, JSON.stringify({ recordedAt: new Date().toISOString(), machine: machine(), ...result }, null, 2) + '\n')
  process.stdout.write(`\nrecorded in ${file}\n`)
}

function machine() {
  return { node: process.version, cpus: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30) }
}

/** CPU seconds (user + system) the processes with these ids have used so far; processes gone count 0. */
export async function cpuSeconds(pids: number[]): Promise<number> {
  let ticks = 0
  for (const pid of pids) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    ticks += Number(fields[11] ?? 0) + Number(fields[12] ?? 0)
  }
  return ticks / 100
}

/**
 * CPU seconds the local PostgreSQL server has used so far: its live processes, plus what its
 * ended backends used (counted in the postmaster's children's time once it reaped them).
 */
export async function postgresCpuSeconds(): Promise<number> {
  let ticks = 0
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    if ((await readFile(`/proc/${entry}/comm`, 'utf8').catch(() => '')).trim() !== 'postgres') continue
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    ticks += Number(fields[11] ?? 0) + Number(fields[12] ?? 0)
    // The postmaster is the one whose parent is not postgres; its reaped children count there.
    const parent = Number(fields[1])
    const parentComm = (await readFile(`/proc/${parent}/comm`, 'utf8').catch(() => '')).trim()
    if (parentComm !== 'postgres') ticks += Number(fields[13] ?? 0) + Number(fields[14] ?? 0)
  }
  return ticks / 100
}
