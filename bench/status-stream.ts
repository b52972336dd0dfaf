/**
 * The stream of device status the ingest benchmarks send: 34 provinces taking turns, each batch
 * 1000 distinct loudspeaker clusters of one province, and the senders that push it.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { request } from 'undici'
import type { StatusEvent } from '../schemas/status.js'
import type { SigningKey } from '../src/client/keys.js'
import { signCall } from '../src/client/sign.js'
import { PROVINCES } from './support.js'

export const CLUSTERS = 100_000
export const BATCH = 1000
const STATES = ['online', 'playing', 'idle', 'online', 'fault'] as const

const share = (p: number) => Math.floor(CLUSTERS / PROVINCES.length) + (p < CLUSTERS % PROVINCES.length ? 1 : 0)
/** Clusters of each province, in the order of PROVINCES: `cl-<province>-<n>` for n below it. */
export const clusterCounts = PROVINCES.map((_, p) => share(p))

export interface StatusBatch { province: string, events: StatusEvent[] }

/**
 * Batch number `seq` of a stream starting at `originMs`: the next province in turn, 1000
 * distinct clusters of it, all observed 10 ms after the batch before. Each device changes state
 * every `changeEvery` of its reports, at its own moment; the rest are heartbeats. The same
 * `seq` always gives the same events.
 */
export function statusStream(originMs: number, changeEvery: number): (seq: number) => StatusBatch {
  return (seq) => {
    const p = seq % PROVINCES.length
    const province = PROVINCES[p]!
    const round = Math.floor(seq / PROVINCES.length)
    const count = clusterCounts[p]!
    const observedAt = new Date(originMs + seq * 10).toISOString()
    const events: StatusEvent[] = new Array(BATCH)
    for (let i = 0; i < BATCH; i++) {
      const n = (round * BATCH + i) % count
      const state = STATES[(n + Math.floor((round + n) / changeEvery)) % STATES.length]!
      events[i] = {
        deviceType: 'cluster', deviceId: `cl-${province}-${n}`, state, observedAt,
        volumePercent: 60 + (n % 40), signalDbm: -60 - (n % 40),
        ...(state === 'fault' ? { faultCode: 'AMP-01', faultMessage: 'Amplifier overheated' } : {}),
      }
    }
    return { province, events }
  }
}

/**
 * One batch signed by its province's key and posted to the service; fails unless every event is
 * accepted. With `retries`, a batch answered 429 or 503 is sent again (with a new token) after
 * the Retry-After it was told, as a province's system would, up to that many times.
 */
export function batchPoster(url: string, keys: Map<string, SigningKey>, batchOf: (seq: number) => StatusBatch,
  options: { retries?: number, onRetry?: (status: number) => void } = {}): (seq: number) => Promise<void> {
  return async (seq) => {
    const { province, events } = batchOf(seq)
    const path = `/v2/provinces/${province}/status-events`
    const body = JSON.stringify({ events })
    let response: Awaited<ReturnType<typeof request>>
    let text: string
    for (let attempt = 0; ; attempt++) {
      const token = await signCall({ issuer: `province-${province}`, audience: 'ttn-central', key: keys.get(province)!, method: 'POST', pathAndQuery: path, body })
      response = await request(url + path, { method: 'POST', body, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } })
      text = await response.body.text()
      if ((response.statusCode !== 429 && response.statusCode !== 503) || attempt >= (options.retries ?? 0)) break
      options.onRetry?.(response.statusCode)
      await sleep((Number(response.headers['retry-after']) || 1) * 1000)
    }
    if (response.statusCode !== 200) throw new Error(`${path}: ${response.statusCode} ${text.slice(0, 500)}`)
    const result = JSON.parse(text) as { accepted: number, rejected: number }
    if (result.accepted !== events.length) throw new Error(`${path}: ${text.slice(0, 500)}`)
  }
}

export const percentile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0

export interface IngestRun { batches: number, seconds: number, eventsPerSecond: number, p50: number, p99: number }

/**
 * Sends batches `first`, `first + 1`, … with `concurrency` workers until the time is up (or
 * `limit` batches are done, or `signal` aborts); answers what it measured. With
 * `eventsPerSecond`, batches go out on a fixed schedule at that rate rather than as fast as
 * the service answers; a batch late on its schedule (every worker busy) goes at once.
 */
export async function driveBatches(send: (seq: number) => Promise<void>,
  options: { concurrency: number, seconds?: number, limit?: number, first?: number, eventsPerSecond?: number, signal?: AbortSignal }): Promise<IngestRun> {
  const first = options.first ?? 0
  let next = first
  const end = options.limit === undefined ? Infinity : next + options.limit
  const latencies: number[] = []
  const started = performance.now()
  const deadline = options.seconds === undefined ? Infinity : started + options.seconds * 1000
  const open = () => performance.now() < deadline && !options.signal?.aborted
  await Promise.all(Array.from({ length: options.concurrency }, async () => {
    while (open() && next < end) {
      const seq = next++
      if (options.eventsPerSecond) {
        const due = started + ((seq - first) * BATCH * 1000) / options.eventsPerSecond
        while (performance.now() < due && open()) await sleep(Math.min(50, due - performance.now()))
        if (!open()) break
      }
      const t0 = performance.now()
      await send(seq)
      latencies.push(performance.now() - t0)
    }
  }))
  const elapsed = (performance.now() - started) / 1000
  latencies.sort((a, b) => a - b)
  return { batches: latencies.length, seconds: elapsed, eventsPerSecond: Math.round(latencies.length * BATCH / elapsed), p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99) }
}
