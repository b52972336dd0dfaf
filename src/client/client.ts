import { createHash } from 'node:crypto'
import type { Static, TSchema } from 'typebox'
import type { AdminUnitDetail, AdminUnitListQuery, AdminUnitPage, ResolveAdminUnitsResponse } from '../../schemas/catalogue.js'
import type {
  BatchResult, Board, BoardListQuery, Change, ChangePage, ChangesQuery, Cluster, ClusterListQuery, RegistryBatch, RegistryBatchResult,
  Station, StationListQuery,
} from '../../schemas/registry.js'
import type {
  Appendix02Draft, Appendix02Form, Appendix03Draft, Appendix03Form, DeadlineExtensionRequest, FeedbackForm, IndicatorsForm, FormSubmissions, PeriodStatus, ReportFormName, ReportPeriodCorrection, ReportPeriodList, ReportPeriodWriteResult,
  ReportPeriodRequest, ReviewRequest,
} from '../../schemas/reports.js'
import { CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE } from '../../schemas/sheets.js'
import type { NationalSummary, ProvinceSummary } from '../../schemas/summaries.js'
import type {
  AckRequest, AckResult, BroadcastLog, BroadcastLogEntry, BroadcastLogPage, BroadcastLogQuery, BroadcastLogRejection, BroadcastLogResult,
  ContentFeedPage, ContentFeedQuery, ContentItem, ContentListQuery, ContentNotification, ContentPage, ContentRequest, ContentWriteResult,
  DeliveryReport, Reach, SharedContentRequest, TopicList, TopicRequest, TopicWriteResult,
} from '../../schemas/content.js'
import { MAX_BROADCAST_LOG_BATCH } from '../../schemas/content.js'
import { CHUNK_CONTENT_TYPE, type Upload, type UploadRequest, type UploadWriteResult } from '../../schemas/media.js'
import type { System, SystemListQuery, SystemPage, SystemRegistration, SystemUpdate, SystemWriteResult } from '../../schemas/systems.js'
import type {
  AuditPage, AuditQuery, Checkpoint, CheckpointPage, ConsistencyProof, CosignatureWriteResult, InclusionProof,
} from '../../schemas/transparency.js'
import type { PublicJwk, ReceiptRecord, ServiceJwks } from '../../schemas/trust.js'
import { SignedHttp, type ClientOptions } from './http.js'
import { cursorFeed, pages, path, query, type FeedOptions, type Query } from './paging.js'
import { StatusApi } from './status.js'

type S<T extends TSchema> = Static<T>
type Entity = 'stations' | 'clusters' | 'boards'
interface EntityTypes {
  stations: { input: S<typeof Station.Input>, replacement: S<typeof Station.Replacement>, record: S<typeof Station.Record>, query: S<typeof StationListQuery> }
  clusters: { input: S<typeof Cluster.Input>, replacement: S<typeof Cluster.Replacement>, record: S<typeof Cluster.Record>, query: S<typeof ClusterListQuery> }
  boards: { input: S<typeof Board.Input>, replacement: S<typeof Board.Replacement>, record: S<typeof Board.Record>, query: S<typeof BoardListQuery> }
}

type FormData = { indicators: S<typeof IndicatorsForm>, feedback: S<typeof FeedbackForm>, 'appendix-02': S<typeof Appendix02Form>, 'appendix-03': S<typeof Appendix03Form> }

const summaryTarget = ({ province, periodId }: { province?: string | undefined, periodId?: string | undefined }) =>
  (province ? path`/v2/summaries/provinces/${province}` : '/v2/summaries/national') + query({ periodId })

/**
 * A typed client of the ttn-interop API, for provincial systems and for central. Every call
 * is signed with the caller's key; idempotent calls are retried (see SignedHttp); lists and
 * feeds are async iterators.
 */
export class TtnClient {
  readonly http: SignedHttp
  /** Device status: `send` events in batches, `current` states, `history`, `overview`. */
  readonly status: StatusApi

  constructor(options: ClientOptions) {
    this.http = new SignedHttp(options)
    this.status = new StatusApi(this.http)
  }

  // Trust and systems

  serviceKeys(): Promise<S<typeof ServiceJwks>> {
    return this.http.call('GET', '/.well-known/jwks.json')
  }

  registerSystem(registration: S<typeof SystemRegistration>): Promise<S<typeof SystemWriteResult>> {
    return this.http.call('POST', '/v2/systems', registration)
  }

  listSystems(filter: S<typeof SystemListQuery> = {}): Promise<S<typeof SystemPage>> {
    return this.http.call('GET', '/v2/systems' + query(filter))
  }

  systems(filter: Omit<S<typeof SystemListQuery>, 'cursor'> = {}): AsyncGenerator<S<typeof System>> {
    return pages((cursor) => this.listSystems({ ...filter, cursor }))
  }

  getSystem(id: string): Promise<S<typeof System>> {
    return this.http.call('GET', path`/v2/systems/${id}`)
  }

  updateSystem(id: string, update: S<typeof SystemUpdate>): Promise<S<typeof SystemWriteResult>> {
    return this.http.call('PATCH', path`/v2/systems/${id}`, update)
  }

  addSystemKey(id: string, jwk: S<typeof PublicJwk>): Promise<S<typeof SystemWriteResult>> {
    return this.http.call('POST', path`/v2/systems/${id}/keys`, jwk)
  }

  retireSystemKey(id: string, kid: string): Promise<S<typeof SystemWriteResult>> {
    return this.http.call('DELETE', path`/v2/systems/${id}/keys/${kid}`)
  }

  getReceipt(id: string): Promise<S<typeof ReceiptRecord>> {
    return this.http.call('GET', path`/v2/receipts/${id}`)
  }

  listAudit(filter: S<typeof AuditQuery> = {}): Promise<S<typeof AuditPage>> {
    return this.http.call('GET', '/v2/audit' + query(filter))
  }

  // The transparency log: checkpoints, proofs, cosignatures

  latestCheckpoint(): Promise<S<typeof Checkpoint>> {
    return this.http.call('GET', '/v2/audit/checkpoint')
  }

  listCheckpoints(filter: { after?: number, limit?: number } = {}): Promise<S<typeof CheckpointPage>> {
    return this.http.call('GET', '/v2/audit/checkpoints' + query(filter))
  }

  consistencyProof(from: number, to: number): Promise<S<typeof ConsistencyProof>> {
    return this.http.call('GET', '/v2/audit/consistency' + query({ from, to }))
  }

  /** The proof that a receipt's write is in a signed checkpoint; check it with verifyReceiptInclusion(). */
  receiptProof(receiptId: string, treeSize?: number): Promise<S<typeof InclusionProof>> {
    return this.http.call('GET', path`/v2/receipts/${receiptId}/proof` + query({ treeSize }))
  }

  entryProof(leafIndex: number, treeSize?: number): Promise<S<typeof InclusionProof>> {
    return this.http.call('GET', `/v2/audit/entries/${leafIndex}/proof` + query({ treeSize }))
  }

  submitCosignature(cosignature: string): Promise<S<typeof CosignatureWriteResult>> {
    return this.http.call('POST', '/v2/audit/cosignatures', { cosignature })
  }

  // Catalogue

  listAdminUnits(filter: S<typeof AdminUnitListQuery> = {}): Promise<S<typeof AdminUnitPage>> {
    return this.http.call('GET', '/v2/admin-units' + query(filter))
  }

  adminUnits(filter: Omit<S<typeof AdminUnitListQuery>, 'cursor'> = {}) {
    return pages((cursor) => this.listAdminUnits({ ...filter, cursor }))
  }

  getAdminUnit(code: string): Promise<S<typeof AdminUnitDetail>> {
    return this.http.call('GET', path`/v2/admin-units/${code}`)
  }

  resolveAdminUnits(codes: string[]): Promise<S<typeof ResolveAdminUnitsResponse>> {
    return this.http.call('POST', '/v2/admin-units/resolve', { codes })
  }

  // Registry

  /** Upserts up to 1000 records of one kind, atomically. */
  push<E extends Entity>(entity: E, province: string, items: EntityTypes[E]['input'][]): Promise<S<typeof BatchResult>> {
    return this.http.call('PUT', `/v2/provinces/${encodeURIComponent(province)}/${entity}`, { items })
  }

  pushRegistry(province: string, batch: S<typeof RegistryBatch>): Promise<S<typeof RegistryBatchResult>> {
    return this.http.call('PUT', path`/v2/provinces/${province}/registry`, batch)
  }

  listRecords<E extends Entity>(entity: E, province: string, filter: EntityTypes[E]['query'] = {}): Promise<{ items: EntityTypes[E]['record'][], nextCursor: string | null }> {
    return this.http.call('GET', `/v2/provinces/${encodeURIComponent(province)}/${entity}` + query(filter as Query))
  }

  records<E extends Entity>(entity: E, province: string, filter = {} as Omit<EntityTypes[E]['query'], 'cursor'>): AsyncGenerator<EntityTypes[E]['record']> {
    return pages((cursor) => this.listRecords(entity, province, { ...filter, cursor } as EntityTypes[E]['query']))
  }

  /** Every province's records (central). */
  nationalRecords<E extends Entity>(entity: E, filter = {} as Omit<EntityTypes[E]['query'], 'cursor'> & { province?: string }): AsyncGenerator<EntityTypes[E]['record']> {
    return pages((cursor) => this.http.call('GET', `/v2/${entity}` + query({ ...filter, cursor } as Query)))
  }

  /** One record and its ETag, to replace it with `replace`. */
  async getRecord<E extends Entity>(entity: E, province: string, id: string): Promise<{ record: EntityTypes[E]['record'], etag: string }> {
    const answer = await this.http.send<EntityTypes[E]['record']>('GET', `/v2/provinces/${encodeURIComponent(province)}/${entity}/${encodeURIComponent(id)}`)
    return { record: answer.body, etag: String(answer.headers.etag) }
  }

  replace<E extends Entity>(entity: E, province: string, id: string, record: EntityTypes[E]['replacement'], etag: string) {
    return this.http.call<{ record: EntityTypes[E]['record'], result: 'updated' | 'unchanged' | 'deleted' }>('PUT',
      `/v2/provinces/${encodeURIComponent(province)}/${entity}/${encodeURIComponent(id)}`, record, { headers: { 'if-match': etag } })
  }

  delete<E extends Entity>(entity: E, province: string, id: string) {
    return this.http.call<{ record: EntityTypes[E]['record'], result: 'deleted' }>('DELETE', `/v2/provinces/${encodeURIComponent(province)}/${entity}/${encodeURIComponent(id)}`)
  }

  changesPage(filter: S<typeof ChangesQuery> = {}): Promise<S<typeof ChangePage>> {
    return this.http.call('GET', '/v2/changes' + query(filter))
  }

  /** The registry changes feed from `after` (the start when omitted), ending when caught up unless it follows. */
  changes(options: Omit<S<typeof ChangesQuery>, 'limit' | 'after'> & FeedOptions = {}): AsyncGenerator<S<typeof Change>> {
    return cursorFeed((after) => this.changesPage({ after, entity: options.entity, province: options.province, limit: 1000 }), options)
  }


  // Reports

  reportPeriods(year?: number): Promise<S<typeof ReportPeriodList>> {
    return this.http.call('GET', '/v2/report-periods' + query({ year }))
  }

  openReportPeriod(period: S<typeof ReportPeriodRequest>): Promise<S<typeof ReportPeriodWriteResult>> {
    return this.http.call('POST', '/v2/report-periods', period)
  }

  correctReportPeriod(periodId: string, correction: S<typeof ReportPeriodCorrection>): Promise<S<typeof ReportPeriodWriteResult>> {
    return this.http.call('PATCH', path`/v2/report-periods/${periodId}`, correction)
  }

  extendReportDeadline(periodId: string, extension: S<typeof DeadlineExtensionRequest>): Promise<S<typeof ReportPeriodWriteResult>> {
    return this.http.call('POST', path`/v2/report-periods/${periodId}/extensions`, extension)
  }

  /** Submits a form central defined for an extra period; the data must satisfy its schema. */
  submitCustomForm(province: string, periodId: string, form: string, data: Record<string, unknown>): Promise<S<typeof FormSubmissions.custom.SubmitResult>> {
    return this.http.call('PUT', path`/v2/provinces/${province}/reports/${periodId}/forms/${form}`, data, {
      headers: { 'idempotency-key': `report-${province}-${periodId}-${form}-${crypto.randomUUID()}` },
    })
  }

  submitReport<F extends ReportFormName>(province: string, periodId: string, form: F, data: FormData[F]): Promise<S<(typeof FormSubmissions)[F]['SubmitResult']>> {
    return this.http.call('PUT', `/v2/provinces/${encodeURIComponent(province)}/reports/${encodeURIComponent(periodId)}/${form}`, data, {
      // A new version each time: only an Idempotency-Key makes a retry safe.
      headers: { 'idempotency-key': `report-${province}-${periodId}-${form}-${crypto.randomUUID()}` },
    })
  }

  reportHistory<F extends ReportFormName>(province: string, periodId: string, form: F): Promise<S<(typeof FormSubmissions)[F]['History']>> {
    return this.http.call('GET', `/v2/provinces/${encodeURIComponent(province)}/reports/${encodeURIComponent(periodId)}/${form}`)
  }

  reviewReport<F extends ReportFormName>(province: string, periodId: string, form: F, version: number, decision: S<typeof ReviewRequest>): Promise<S<(typeof FormSubmissions)[F]['ReviewResult']>> {
    return this.http.call('POST', `/v2/provinces/${encodeURIComponent(province)}/reports/${encodeURIComponent(periodId)}/${form}/versions/${version}/review`, decision)
  }

  /** Phụ lục 02 or 03 as the province's registry fills it, with its totals: correct it, then submit it with submitReport(). */
  appendixDraft<F extends 'appendix-02' | 'appendix-03'>(province: string, periodId: string, form: F): Promise<S<F extends 'appendix-02' ? typeof Appendix02Draft : typeof Appendix03Draft>> {
    return this.http.call('GET', `/v2/provinces/${encodeURIComponent(province)}/reports/${encodeURIComponent(periodId)}/${form}/draft`)
  }

  reportStatus(periodId: string): Promise<S<typeof PeriodStatus>> {
    return this.http.call('GET', path`/v2/report-periods/${periodId}/status`)
  }

  // Summaries

  nationalSummary(options: { periodId?: string } = {}): Promise<S<typeof NationalSummary>> {
    return this.http.call('GET', '/v2/summaries/national' + query(options))
  }

  provinceSummary(province: string, options: { periodId?: string } = {}): Promise<S<typeof ProvinceSummary>> {
    return this.http.call('GET', path`/v2/summaries/provinces/${province}` + query(options))
  }

  /** The national summary, or one province's, as CSV (UTF-8 with a byte-order mark). */
  summaryCsv(options: { province?: string, periodId?: string } = {}): Promise<string> {
    return this.http.call('GET', summaryTarget(options), undefined, { text: CSV_MEDIA_TYPE })
  }

  /** The national summary, or one province's, as an xlsx workbook. */
  summaryWorkbook(options: { province?: string, periodId?: string } = {}): Promise<Buffer> {
    return this.http.call('GET', summaryTarget(options), undefined, { bytes: XLSX_MEDIA_TYPE })
  }

  // Media

  /**
   * Uploads a media file through the resumable upload, each chunk as large as the service
   * allows, and answers the upload once the service has stored and verified the file.
   */
  async uploadMedia(file: Uint8Array, details: Omit<S<typeof UploadRequest>, 'bytes' | 'sha256'> = {}): Promise<S<typeof Upload>> {
    const sha256 = createHash('sha256').update(file).digest('hex')
    let { upload } = await this.http.call<S<typeof UploadWriteResult>>('POST', '/v2/media/uploads', { bytes: file.length, sha256, ...details })
    while (upload.state === 'open') {
      const chunk = Buffer.from(file.subarray(upload.offset, upload.offset + upload.chunkMaxBytes))
      ;({ upload } = await this.http.call<S<typeof UploadWriteResult>>('PATCH', path`/v2/media/uploads/${upload.id}`, chunk, {
        contentType: CHUNK_CONTENT_TYPE, headers: { 'upload-offset': String(upload.offset) },
      }))
    }
    if (upload.state !== 'complete') throw new Error(`upload ${upload.id} is ${upload.state}${upload.failure ? `: ${upload.failure}` : ''}`)
    return upload
  }

  // Essential content

  contentTopics(): Promise<S<typeof TopicList>> {
    return this.http.call('GET', '/v2/content-topics')
  }

  addContentTopic(topic: S<typeof TopicRequest>): Promise<S<typeof TopicWriteResult>> {
    return this.http.call('POST', '/v2/content-topics', topic)
  }

  /** Publishes essential content (central). */
  publishContent(content: S<typeof ContentRequest>): Promise<S<typeof ContentWriteResult>> {
    return this.http.call('POST', '/v2/contents', content)
  }

  /** Publishes a new version of a content item (central). */
  updateContent(id: string, content: S<typeof ContentRequest>): Promise<S<typeof ContentWriteResult>> {
    return this.http.call('PUT', path`/v2/contents/${id}`, content)
  }

  /** Withdraws a content item (central); provinces are told. */
  withdrawContent(id: string, reason: string): Promise<S<typeof ContentWriteResult>> {
    return this.http.call('POST', path`/v2/contents/${id}/withdrawal`, { reason })
  }

  /** Shares a province's own content with central's library. */
  shareContent(province: string, content: S<typeof SharedContentRequest>): Promise<S<typeof ContentWriteResult>> {
    return this.http.call('POST', path`/v2/provinces/${province}/contents`, content)
  }

  getContent(id: string): Promise<S<typeof ContentItem>> {
    return this.http.call('GET', path`/v2/contents/${id}`)
  }

  listContents(filter: S<typeof ContentListQuery> = {}): Promise<S<typeof ContentPage>> {
    return this.http.call('GET', '/v2/contents' + query(filter))
  }

  contents(filter: Omit<S<typeof ContentListQuery>, 'cursor'> = {}): AsyncGenerator<S<typeof ContentItem>> {
    return pages((cursor) => this.listContents({ ...filter, cursor }))
  }

  contentFeedPage(filter: S<typeof ContentFeedQuery> = {}): Promise<S<typeof ContentFeedPage>> {
    return this.http.call('GET', '/v2/contents/feed' + query(filter))
  }

  /** The content feed from `after`: every publication, version and withdrawal meant for the caller, ending when caught up unless it follows. */
  feed(options: FeedOptions = {}): AsyncGenerator<S<typeof ContentNotification>> {
    return cursorFeed((after) => this.contentFeedPage({ after, limit: 1000 }), options)
  }


  /** Acknowledges a content item (province); sending it again changes nothing. */
  ackContent(id: string, ack: S<typeof AckRequest>): Promise<S<typeof AckResult>> {
    return this.http.call('POST', path`/v2/contents/${id}/acks`, ack)
  }

  contentDeliveries(id: string): Promise<S<typeof DeliveryReport>> {
    return this.http.call('GET', path`/v2/contents/${id}/deliveries`)
  }

  contentReach(id: string): Promise<S<typeof Reach>> {
    return this.http.call('GET', path`/v2/contents/${id}/reach`)
  }

  broadcastLogPage(province: string, filter: S<typeof BroadcastLogQuery> = {}): Promise<S<typeof BroadcastLogPage>> {
    return this.http.call('GET', path`/v2/provinces/${province}/broadcast-logs` + query(filter))
  }

  /** Every stored broadcast log of a province that matches, latest start first. */
  broadcastLogs(province: string, filter: Omit<S<typeof BroadcastLogQuery>, 'cursor'> = {}): AsyncGenerator<S<typeof BroadcastLog>> {
    return pages((cursor) => this.broadcastLogPage(province, { ...filter, cursor }))
  }

  /**
   * Sends broadcast logs in batches of at most 5000; rejected entries are named with their
   * index in `entries`. Re-sending is safe: entries already stored count as duplicates.
   */
  async sendBroadcastLogs(province: string, entries: S<typeof BroadcastLogEntry>[], options: { batchSize?: number, onBatch?: (sent: number, total: number) => unknown } = {}): Promise<Omit<S<typeof BroadcastLogResult>, 'receipt'> & { receipts: S<typeof BroadcastLogResult>['receipt'][] }> {
    const size = Math.min(options.batchSize ?? MAX_BROADCAST_LOG_BATCH, MAX_BROADCAST_LOG_BATCH)
    const total = { accepted: 0, duplicate: 0, rejected: 0, rejections: [] as S<typeof BroadcastLogRejection>[], receipts: [] as S<typeof BroadcastLogResult>['receipt'][] }
    for (let start = 0; start < entries.length; start += size) {
      const batch = entries.slice(start, start + size)
      const result = await this.http.call<S<typeof BroadcastLogResult>>('POST', path`/v2/provinces/${province}/broadcast-logs`, { entries: batch })
      total.accepted += result.accepted
      total.duplicate += result.duplicate
      total.rejected += result.rejected
      total.rejections.push(...result.rejections.map((r) => ({ ...r, index: r.index + start, pointer: `/entries/${r.index + start}` })))
      total.receipts.push(result.receipt)
      await options.onBatch?.(start + batch.length, entries.length)
    }
    return total
  }
}

