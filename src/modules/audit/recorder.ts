import type { FastifyBaseLogger } from 'fastify'
import type { AuditLeafFields } from '../../client/transparency.js'
import type { AuditStore } from './store.js'

const MAX_WAITING = 100_000
const RETRY_MS = 1000

/**
 * Writes the audit entries of calls that wrote nothing (reads and refusals) in small batches
 * off the request path: one insert for every entry gathered in a few milliseconds. While the
 * database is unavailable entries wait in memory (up to a bound) and are retried.
 */
export class AuditRecorder {
  private pending: AuditLeafFields[] = []
  private timer: NodeJS.Timeout | undefined
  private flushing: Promise<void> = Promise.resolve()

  constructor(private readonly store: AuditStore, private readonly log: FastifyBaseLogger, private readonly delayMs = 10, private readonly maxBatch = 500) {}

  record(entry: AuditLeafFields): void {
    this.pending.push(entry)
    if (this.pending.length >= this.maxBatch) void this.flush()
    else this.timer ??= setTimeout(() => void this.flush(), this.delayMs)
  }

  /** Writes what is pending; resolves once every entry recorded before the call is stored. */
  flush(): Promise<void> {
    clearTimeout(this.timer)
    this.timer = undefined
    const batch = this.pending
    this.pending = []
    this.flushing = this.flushing.then(async () => {
      if (batch.length === 0) return
      try {
        await this.store.insert(batch)
      } catch (error) {
        const kept = batch.concat(this.pending).slice(-MAX_WAITING)
        const dropped = batch.length + this.pending.length - kept.length
        this.pending = kept
        this.log.error({ err: error, waiting: kept.length, dropped }, 'audit entries could not be written; retrying')
        this.timer ??= setTimeout(() => void this.flush(), RETRY_MS)
      }
    })
    return this.flushing
  }
}

/**
 * Calls with no verified caller (refused tokens, anonymous calls) cost nothing to send, so they
 * must not grow the log without bound: in each window an instance records the first `sample`
 * of them one by one, and the rest as one `refusals` entry per status, problem code and
 * operation with their count. The log then grows by at most `sample` + a few entries per window
 * and instance, whatever the traffic.
 */
export class RefusalSampler {
  private windowStart = new Date()
  private sampled = 0
  private readonly counts = new Map<string, { status: number, problemCode: string | null, operation: string | null, count: number }>()
  private readonly timer: NodeJS.Timeout

  constructor(private readonly recorder: AuditRecorder, private readonly sample: number, windowMs: number) {
    this.timer = setInterval(() => this.closeWindow(), windowMs)
    this.timer.unref()
  }

  record(entry: AuditLeafFields): void {
    if (this.sampled < this.sample) {
      this.sampled++
      this.recorder.record(entry)
      return
    }
    const key = `${entry.status} ${entry.problemCode ?? ''} ${entry.operation ?? ''}`
    const counted = this.counts.get(key)
    if (counted) counted.count++
    else this.counts.set(key, { status: entry.status!, problemCode: entry.problemCode, operation: entry.operation, count: 1 })
  }

  /** Records the counts of the window that ends now and starts the next one. */
  closeWindow(): void {
    const until = new Date()
    for (const { status, problemCode, operation, count } of this.counts.values()) {
      this.recorder.record({
        kind: 'refusals', at: this.windowStart.toISOString(), until: until.toISOString(), status, problemCode, operation, refusals: count,
        caller: null, verified: false, kid: null, jti: null, method: null, path: null, bodySha256: null, receiptId: null, requestId: null, callToken: null, actor: null,
      })
    }
    this.counts.clear()
    this.sampled = 0
    this.windowStart = until
  }

  stop(): void {
    clearInterval(this.timer)
    this.closeWindow()
  }
}
