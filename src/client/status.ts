import type { Static, TSchema } from 'typebox'
import {
  MAX_STATUS_BATCH, type DeviceType, type DeviceStatusPage, type StatusEvent, type StatusHistoryPage, type StatusHistoryQuery, type StatusIngestResult,
  type StatusListQuery, type StatusOverview,
} from '../../schemas/status.js'
import { pages, query } from './paging.js'
import type { SignedHttp } from './http.js'

type S<T extends TSchema> = Static<T>

/** What a send of any number of events came to; rejection indexes count from the first event sent. */
export interface StatusSendSummary extends Omit<S<typeof StatusIngestResult>, 'receipt'> {
  receipts: S<typeof StatusIngestResult>['receipt'][]
}

/** Device status: sending events in batches, current states, history, the national overview. */
export class StatusApi {
  constructor(private readonly http: SignedHttp) {}

  /**
   * Sends events in batches of at most 5000, one after the other. A batch sent again (after a
   * lost answer) stores nothing twice: repeated events are duplicates, and each batch carries
   * an Idempotency-Key for its retries.
   */
  async send(province: string, events: StatusEvent[], options: { batchSize?: number, onBatch?: (sent: number, total: number) => void } = {}): Promise<StatusSendSummary> {
    const size = Math.min(options.batchSize ?? MAX_STATUS_BATCH, MAX_STATUS_BATCH)
    const summary: StatusSendSummary = { accepted: 0, duplicate: 0, rejected: 0, rejections: [], receipts: [] }
    for (let start = 0; start < events.length; start += size) {
      const batch = events.slice(start, start + size)
      const result = await this.http.call<S<typeof StatusIngestResult>>('POST', `/v2/provinces/${encodeURIComponent(province)}/status-events`, { events: batch })
      summary.accepted += result.accepted
      summary.duplicate += result.duplicate
      summary.rejected += result.rejected
      summary.rejections.push(...result.rejections.map((r) => ({ ...r, index: r.index + start })))
      summary.receipts.push(result.receipt)
      options.onBatch?.(start + batch.length, events.length)
    }
    return summary
  }

  listCurrent(province: string, filter: S<typeof StatusListQuery> = {}): Promise<S<typeof DeviceStatusPage>> {
    return this.http.call('GET', `/v2/provinces/${encodeURIComponent(province)}/status` + query(filter))
  }

  /** The current state of every device of the province that matches the filter. */
  current(province: string, filter: Omit<S<typeof StatusListQuery>, 'cursor'> = {}) {
    return pages((cursor) => this.listCurrent(province, { ...filter, cursor }))
  }

  historyPage(province: string, type: DeviceType, id: string, filter: S<typeof StatusHistoryQuery> = {}): Promise<S<typeof StatusHistoryPage>> {
    return this.http.call('GET', `/v2/provinces/${encodeURIComponent(province)}/devices/${type}/${encodeURIComponent(id)}/status-history` + query(filter))
  }

  /** A device's events, newest first, within [`from`, `to`) when given. */
  history(province: string, type: DeviceType, id: string, filter: Omit<S<typeof StatusHistoryQuery>, 'cursor'> = {}) {
    return pages((cursor) => this.historyPage(province, type, id, { ...filter, cursor }))
  }

  /** Every province's devices by state, stale count and newest report (central). */
  overview(): Promise<S<typeof StatusOverview>> {
    return this.http.call('GET', '/v2/status/overview')
  }
}
