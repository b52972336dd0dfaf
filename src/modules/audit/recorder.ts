import type { FastifyBaseLogger } from 'fastify'
import type { AuditEntryInput, AuditStore } from './store.js'

/**
 * Writes audit entries in small batches off the request path: one insert for every
 * entry gathered in a few milliseconds, so auditing adds no round trip to a call.
 * While the database is unavailable entries wait in memory (up to a bound) and are retried.
 */
const MAX_WAITING = 100_000
const RETRY_MS = 1000

export class AuditRecorder {
  private pending: AuditEntryInput[] = []
  private timer: NodeJS.Timeout | undefined
  private flushing: Promise<void> = Promise.resolve()

  constructor(private readonly store: AuditStore, private readonly log: FastifyBaseLogger, private readonly delayMs = 10, private readonly maxBatch = 500) {}

  record(entry: AuditEntryInput): void {
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
