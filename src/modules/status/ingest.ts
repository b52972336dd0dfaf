import type { ErrorObject, ValidateFunction } from 'ajv'
import type { Static } from 'typebox'
import type { StatusEvent, StatusRejection } from '../../../schemas/status.js'
import type { Receipt } from '../../../schemas/trust.js'
import type { Db } from '../../db/database.js'
import { inSlices } from '../../http/concurrency.js'
import { fieldErrors } from '../../http/errors.js'
import { isMissingPartition, PartitionsNeeded, type MonthlyPartitions } from './partitions.js'
import { deviceKey, type StatusStore } from './store.js'

export type Rejection = Static<typeof StatusRejection>

export interface IngestLimits {
  clockSkewSeconds: number
  retentionDays: number
  staleAfterSeconds: number
}

export interface Counts { accepted: number, duplicate: number, rejected: number }

const DAY_MS = 86_400_000

/** The first failing field of an event; for a value outside a list of literals, the list. */
function firstProblem(errors: ErrorObject[]) {
  const [first] = fieldErrors('body', errors as never)
  if (!first) return undefined
  const allowed = errors.filter((e) => e.keyword === 'const' && (e.instancePath || '/') === first.pointer).map((e) => String(e.params.allowedValue))
  return allowed.length > 0 ? { pointer: first.pointer, message: `must be one of ${allowed.join(', ')}` } : first
}

/**
 * Takes a batch of status events apart: each event is checked on its own (shape, time window,
 * device in the registry) and the good ones are stored together. Checks that need the
 * database cost one query per batch, never one per event.
 */
export class StatusIngest {
  constructor(
    private readonly db: Db,
    private readonly statusStore: StatusStore,
    private readonly partitions: { history: MonthlyPartitions, days: MonthlyPartitions },
    private readonly validate: ValidateFunction,
    private readonly limits: IngestLimits,
  ) {}

  async check(province: string, batch: unknown[], receivedAt: Date): Promise<{ accepted: StatusEvent[], rejections: Rejection[] }> {
    const latest = receivedAt.getTime() + this.limits.clockSkewSeconds * 1000
    const oldest = receivedAt.getTime() - this.limits.retentionDays * DAY_MS
    const rejections: Rejection[] = []
    const candidates: { index: number, event: StatusEvent }[] = []
    await inSlices(batch, (item, index) => {
      if (!this.validate(item)) {
        const first = firstProblem(this.validate.errors ?? [])
        const pointer = `/events/${index}${first && first.pointer !== '/' ? first.pointer : ''}`
        rejections.push({ index, reason: 'bad-value', pointer, message: first?.message ?? 'is not a StatusEvent' })
        return
      }
      const event = item as StatusEvent
      const observed = Date.parse(event.observedAt)
      if (Number.isNaN(observed)) {
        // RFC 3339 allows what JavaScript dates cannot hold, such as a leap second.
        rejections.push({ index, reason: 'bad-value', pointer: `/events/${index}/observedAt`, message: `observedAt ${event.observedAt} is not an instant this service can store` })
      } else if (observed > latest) {
        rejections.push({ index, reason: 'future-timestamp', message: `observedAt ${event.observedAt} is later than the time received (${receivedAt.toISOString()}) plus ${this.limits.clockSkewSeconds} s of clock skew` })
      } else if (observed < oldest) {
        rejections.push({ index, reason: 'too-old', message: `observedAt ${event.observedAt} is older than the ${this.limits.retentionDays} days of history kept` })
      } else {
        // One spelling per instant, so an event sent again with another offset is still the same event.
        event.observedAt = new Date(observed).toISOString()
        candidates.push({ index, event })
      }
    })
    const unknown = candidates.length === 0 ? new Set<string>() : await this.statusStore.unknownDevices(province, candidates.map((c) => c.event))
    const accepted: StatusEvent[] = []
    for (const { index, event } of candidates) {
      if (unknown.size === 0 || !unknown.has(deviceKey(event.deviceType, event.deviceId))) accepted.push(event)
      else rejections.push({ index, reason: 'unknown-device', message: `${event.deviceType} ${event.deviceId} is not in the registry of province ${province}` })
    }
    rejections.sort((a, b) => a.index - b.index)
    return { accepted, rejections }
  }

  /**
   * Stores the accepted events and, in the same transaction, the receipt that attests them.
   * The months the batch writes into are known only inside the transaction: when one is
   * missing, the transaction is given up, the months made, and the batch run again.
   */
  async save(province: string, accepted: StatusEvent[], rejected: number, receivedAt: Date,
    issueReceipt: (trx: Db, counts: Counts) => Promise<Receipt>): Promise<Counts & { receipt: Receipt }> {
    const { history, days } = this.partitions
    const needed = (months: { history: string[], days: string[] }) => {
      const missing = { history: history.missing(months.history), days: days.missing(months.days) }
      if (missing.history.length + missing.days.length > 0) throw new PartitionsNeeded(missing)
    }
    const attempt = () => this.db.transaction().execute(async (trx) => {
      const stored = accepted.length === 0 ? { accepted: 0, duplicate: 0 }
        : await this.statusStore.write(trx, province, accepted, receivedAt, this.limits.staleAfterSeconds * 1000, needed)
      const counts = { ...stored, rejected }
      return { ...counts, receipt: await issueReceipt(trx, counts) }
    })
    for (let tries = 0; ; tries++) {
      try {
        return await attempt()
      } catch (error) {
        if (tries >= 3) throw error
        if (error instanceof PartitionsNeeded) {
          await history.ensure(error.months.history)
          await days.ensure(error.months.days)
        } else if (isMissingPartition(error)) {
          // A prune run with fewer days than this instance keeps may have dropped a month it had made.
          history.forget()
          days.forget()
        } else {
          throw error
        }
      }
    }
  }
}
