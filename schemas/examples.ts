import type { Static, TSchema } from 'typebox'
import { NationalAvailability, ProvinceAvailability, AvailabilityFigures, AvailabilityItem } from './availability.js'
import { AdminUnit, AdminUnitPage, AdminUnitResolution, CatalogueChange, CatalogueChangePage, CatalogueVersion, CatalogueVersionList, ResolveAdminUnitsResponse } from './catalogue.js'
import { ProblemType } from './common.js'
import {
  Ack, AckRequest, AckResult, BroadcastLog, BroadcastLogBatch, BroadcastLogEntry, BroadcastLogPage, BroadcastLogResult, ContentFeedPage, ContentItem,
  ContentNotification, ContentPage, ContentWriteResult, DeliveryLatency, DeliveryReport, Reach, SharedContentRequest, Topic, TopicList,
  TopicRequest, TopicWriteResult, WithdrawalRequest,
} from './content.js'
import { Media, MediaReference, MediaWriteResult, Upload, UploadWriteResult } from './media.js'
import {
  BatchResult, Board, BoardBatch, BoardChange, BoardPage, BoardWriteResult, Change, ChangePage, Cluster, ClusterChange, ClusterBatch, ClusterPage, ClusterWriteResult, RegistryBatch,
  RegistryBatchResult, Station, StationBatch, StationChange, StationPage, StationWriteResult,
} from './registry.js'
import {
  Appendix02Form, Appendix02Line, Appendix03Form, Appendix03Line, Appendix02Draft, Appendix03Draft, DeadlineExtensionRequest, FeedbackForm, FormSubmissions, IndicatorsForm,
  PeriodStatus, ReportPeriod, ReportPeriodCorrection, ReportPeriodList, ReportPeriodWriteResult, ReviewRequest,
} from './reports.js'
import {
  BroadcastSchedule, BroadcastScheduleBatch, BroadcastScheduleBatchResult, BroadcastSchedulePage, BroadcastScheduleCrossCheck, StoredSlot,
} from './schedules.js'
import { DeviceCurrentState, DeviceStatusPage, ProvinceStatusSummary, StatusEventBatch, StatusHistoryEntry, StatusHistoryPage, StatusIngestResult, StatusOverview } from './status.js'
import { Figures, NationalSummary, ProvinceFigures, ProvinceSummary } from './summaries.js'
import { KeyInfo, System, SystemPage, SystemUpdate, SystemWriteResult, KeysRecoveredNotification } from './systems.js'
import { AuditEntry, AuditPage, Checkpoint, CheckpointPage, ConsistencyProof, Cosignature, CosignatureSubmission, CosignatureWriteResult, InclusionProof } from './transparency.js'
import { TrendDay, Trends } from './trends.js'
import { PublicJwk, Receipt, ReceiptRecord, ServiceJwks, ServiceKey } from './trust.js'

/**
 * The examples of the contract's components: one day of Thành phố Hồ Chí Minh (79) and its Phường Sài Gòn (26740),
 * told once and shared, so the station of a page is the station of its record and every write carries the same kind of
 * receipt. Each is typed by its schema here and validated against it by the contract's tests.
 */

const example = <T extends TSchema>(schema: T, value: Static<T>): [string, unknown] => [(schema as { $id?: string }).$id!, value]
/** The example a component declares itself. */
const first = <T extends TSchema>(schema: T) => (schema as { examples?: unknown[] }).examples![0] as Static<T>

/** Saturday 14 March 2026, 08:30 in Vietnam: when the examples happen. */
const AT = '2026-03-14T01:30:00.000Z'
const EARLIER = '2026-03-01T02:00:00.000Z'
const NEXT_CURSOR = 'WyI3OSIsImRhaS0yNjc0MCJd'
const PROVINCE = '79'
const COMMUNE = '26740'
const CONTENT_ID = '3b8e4c2a-6f1d-4a9e-b7c5-2d0f8e6a1b34'
const SHA256 = '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'
const ROOT_HASH = 'Jk7sP2qW9xR4mT1vB6nL0cY3hF8dG5aZ2eU7iO4pQ1s'
const SERVICE_KID = 'ttn-central-2026-01'

export const receiptExample: Static<typeof Receipt> = {
  id: 'mV3pQ8sLr2tXc9ZbN4kWyA',
  jws: 'eyJhbGciOiJFUzI1NiIsImtpZCI6InR0bi1jZW50cmFsLTIwMjYtMDEiLCJ0eXAiOiJ0dG4tcmVjZWlwdCtqd3QifQ.eyJyZXEiOnsianRpIjoiMGY5YjZhNGUtMmMxZC00ZThmLWE3YjMtNWQ2YzllMWYyYTQwIiwiaHRtIjoiUFVUIiwiaHR1IjoiL3YyL3Byb3ZpbmNlcy83OS9yZWdpc3RyeSIsImJzaCI6IlloM1FtMmMwcFduSDBkN3lRdjRsOHJLeDFzVDl1RTZiQTVmSjJnWmtMY00iLCJyZWNlaXZlZEF0IjoiMjAyNi0wMy0xNlQwMTozMDowMC4wMDBaIiwia2lkIjoicHJvdmluY2UtNzktMjAyNiJ9LCJyZXMiOnsic3RhdHVzIjoyMDAsInJlY29yZHMiOlt7ImVudGl0eSI6InN0YXRpb24iLCJjcmVhdGVkIjpbImRhaS0yNjc0MCJdLCJ1cGRhdGVkIjpbXX0seyJlbnRpdHkiOiJjbHVzdGVyIiwiY3JlYXRlZCI6WyJsb2EtMjY3NDAtMDEiXSwidXBkYXRlZCI6W119XX0sImxvZyI6eyJpbmRleCI6NDgyMTMsImxlYWZIYXNoIjoicTF2SDhtWDJRZTdjUjR0THowYk45c1drM3lVbzZwRmo1ZEdhOGhWeEMyRSJ9LCJpc3MiOiJ0dG4tY2VudHJhbCIsInN1YiI6InByb3ZpbmNlLTc5IiwianRpIjoibVYzcFE4c0xyMnRYYzlaYk40a1d5QSIsImlhdCI6MTc3MzYyNDYwMH0.YZNMYPqquAe3mDhyPKeP2ypgFX6qJjSOquvGLD-AqQUf38MLDq4fvJ7LT4O59QVeM1HhoPGJVX-sTx8Hic_0qg',
}
const receipt = { receipt: receiptExample }

// Trust and systems.

const provinceKey = first(PublicJwk)
const serviceKey: Static<typeof ServiceKey> = {
  kty: 'EC', crv: 'P-256', x: 'qiAK5bDjQQoHJzAL3_Mb0JdAzW7QuoZe7V9qNNpalVE', y: 'vYEA44roQ1n0xfEkM3ZHVcMkYziD8hAPOGtj77p_NNA',
  kid: SERVICE_KID, alg: 'ES256', use: 'sig', status: 'active', validFrom: '2026-01-05T03:00:00.000Z', validUntil: null,
}
const keyInfo: Static<typeof KeyInfo> = { kid: provinceKey.kid, alg: 'ES256', status: 'active', addedAt: '2026-01-12T02:15:00.000Z', retiredAt: null, jwk: provinceKey }
const system: Static<typeof System> = {
  id: 'province-79', role: 'province', provinceCode: PROVINCE, name: 'HTTTN Thành phố Hồ Chí Minh',
  jwksUri: null, webhookUrl: 'https://ttn.hochiminhcity.gov.vn/hooks/ttn', status: 'active', keyRecovery: false,
  keys: [keyInfo], version: 3, createdAt: '2026-01-12T02:15:00.000Z', updatedAt: EARLIER,
}
const systemUpdate: Static<typeof SystemUpdate> = { webhookUrl: 'https://ttn.hochiminhcity.gov.vn/hooks/ttn' }
const keysRecovered: Static<typeof KeysRecoveredNotification> = {
  id: '7c2e9f4b-1a3d-4e6f-8b0c-5d9a2e7f1c36', type: 'system.keys-recovered', occurredAt: AT,
  system: { id: 'province-79', recoveredBy: 'central-portal', reason: 'Private key of the provincial system lost in a server failure, request 12/2026', keys: ['province-79-2027'], retired: [provinceKey.kid], receiptId: receiptExample.id },
}

// The transparency log.

const auditEntry: Static<typeof AuditEntry> = {
  id: 48214, leafIndex: 48213, kind: 'call', at: AT, caller: 'province-79', verified: true, kid: provinceKey.kid,
  jti: '0f9b6a4e-2c1d-4e8f-a7b3-5d6c9e1f2a40', method: 'PUT', path: '/v2/provinces/79/registry', operation: 'pushRegistry',
  bodySha256: 'Yh3Qm2c0pWnH0d7yQv4l8rKx1sT9uE6bA5fJ2gZkLcM', status: 200, problemCode: null, receiptId: receiptExample.id,
  requestId: '3f6c1a52-8d4e-4b7a-9f1e-2c5d7a9b0e14', callToken: null, refusals: null, until: null, actor: null,
}
const cosignature: Static<typeof Cosignature> = {
  witness: 'central-portal', kid: 'central-portal-2026', cosignedAt: '2026-03-14T01:32:10.000Z',
  jws: 'eyJhbGciOiJFUzI1NiIsImtpZCI6ImNlbnRyYWwtcG9ydGFsLTIwMjYiLCJ0eXAiOiJ0dG4tY29zaWduYXR1cmUrand0In0.eyJ0cmVlU2l6ZSI6NDgyMTQsInJvb3RIYXNoIjoiSms3c1AycVc5eFI0bVQxdkI2bkwwY1kzaEY4ZEc1YVoyZVU3aU80cFExcyJ9.b2ZmbGluZS1leGFtcGxlLXNpZ25hdHVyZS1ub3QtdmFsaWQtZm9yLXZlcmlmaWNhdGlvbg',
}
const checkpoint: Static<typeof Checkpoint> = {
  treeSize: 48214, rootHash: ROOT_HASH, signedAt: '2026-03-14T01:31:00.000Z', kid: SERVICE_KID,
  jws: 'eyJhbGciOiJFUzI1NiIsImtpZCI6InR0bi1jZW50cmFsLTIwMjYtMDEiLCJ0eXAiOiJ0dG4tY2hlY2twb2ludCtqd3QifQ.eyJ0cmVlU2l6ZSI6NDgyMTQsInJvb3RIYXNoIjoiSms3c1AycVc5eFI0bVQxdkI2bkwwY1kzaEY4ZEc1YVoyZVU3aU80cFExcyIsImlzcyI6InR0bi1jZW50cmFsIiwiaWF0IjoxNzczNjI0NjYwfQ.L3QZckou3ib-ivpMJzRjRyLmwtP9JvXpOiL7FeS8iwmkJPoI9yv9uN9vxeKIGq7RQpsigidx3Nl83aZog5mSXg',
  cosignatures: [cosignature],
}
const proofHashes = ['q1vH8mX2Qe7cR4tLz0bN9sWk3yUo6pFj5dGa8hVxC2E', 'Zt4nW8kP1sR6vY0bM3qL7cX9hE2dJ5fA8gU1iO6pT3w']

// Administrative units.

const commune: Static<typeof AdminUnit> = {
  code: COMMUNE, name: 'Phường Sài Gòn', level: 'commune', kind: 'phuong', provinceCode: PROVINCE,
  status: 'active', successorCode: null, retiredOn: null, updatedAt: '2025-07-01T00:00:00.000Z',
}
const province: Static<typeof AdminUnit> = {
  code: PROVINCE, name: 'Hồ Chí Minh', level: 'province', kind: 'thanh_pho', provinceCode: null,
  status: 'active', successorCode: null, retiredOn: null, updatedAt: '2025-07-01T00:00:00.000Z',
}
const catalogueVersion: Static<typeof CatalogueVersion> = {
  version: 2, source: 'communes-2025.csv (Nghị quyết sắp xếp đơn vị hành chính cấp xã 2025)', sha256: 'c5a3e1f0b7d94e2a8c6f1b3d5e7a9c0f2e4b6d8a0c1e3f5a7b9d1f3e5a7c9b0d',
  units: 3355, added: 3321, updated: 34, retired: 10035, successions: 10310, importedAt: '2025-07-01T00:00:00.000Z',
}
const catalogueChange: Static<typeof CatalogueChange> = {
  code: COMMUNE, change: 'added', before: null, after: { code: COMMUNE, name: 'Phường Sài Gòn', kind: 'phuong', provinceCode: PROVINCE },
}

// The registry: Phường Sài Gòn's station, one of its loudspeaker clusters and a bulletin board.

const stored = { province: PROVINCE, version: 2, createdAt: '2024-09-01T02:00:00.000Z', updatedAt: AT, deletedAt: null }
const station: Static<typeof Station.Record> = { ...first(Station.Input), communeVerified: true, ...stored }
/** A cluster new with the station: the one a province's first batch sends (the cluster it replaced was never registered). */
const { replaces: _replaces, ...clusterInput } = first(Cluster.Input)
const cluster: Static<typeof Cluster.Record> = { ...clusterInput, ...stored }
const board: Static<typeof Board.Record> = { ...first(Board.Input), communeVerified: true, ...stored, version: 1 }
const stationInput = first(Station.Input)
const boardInput = first(Board.Input)
const { id: _stationId, ...stationReplacement } = { ...stationInput, status: 'degraded' as const }
const { id: _clusterId, ...clusterReplacement } = clusterInput
const { id: _boardId, ...boardReplacement } = boardInput
const batchResult = (id: string): Static<typeof BatchResult> => ({ created: 1, updated: 0, unchanged: 0, items: [{ id, version: 1, result: 'created' }], unverifiedCommunes: [], ...receipt })
const change: Static<typeof StationChange> = { seq: 912_345, entity: 'station', province: PROVINCE, id: station.id, operation: 'upsert', version: station.version, changedAt: AT, record: station }
const clusterChange: Static<typeof ClusterChange> = { ...change, seq: 912_346, entity: 'cluster', id: cluster.id, version: cluster.version, record: cluster }
const boardChange: Static<typeof BoardChange> = { ...change, seq: 912_347, entity: 'board', id: board.id, version: board.version, record: board }

// Device status.

const stationState: Static<typeof DeviceCurrentState> = {
  deviceType: 'cluster', deviceId: cluster.id, state: 'playing', observedAt: '2026-03-14T08:00:00+07:00', receivedAt: '2026-03-14T01:00:02.000Z',
  stale: false, volumePercent: 80, signalDbm: -71,
}
const historyEntry: Static<typeof StatusHistoryEntry> = {
  state: 'playing', observedAt: '2026-03-14T08:00:00+07:00', lastSeenAt: '2026-03-14T08:30:00+07:00', receivedAt: '2026-03-14T01:30:01.000Z', volumePercent: 80, signalDbm: -71,
}
const provinceStatus: Static<typeof ProvinceStatusSummary> = {
  province: PROVINCE, devices: 1268, byState: { online: 1130, offline: 41, playing: 72, idle: 18, fault: 7 }, stale: 23, lastReportAt: AT,
}

// Availability and trends: 7 days of one cluster, in milliseconds (7 × 24 h = 604 800 000 ms accounted).

const figures: Static<typeof AvailabilityFigures> = {
  onlineMs: 541_080_000, playingMs: 37_800_000, idleMs: 9_720_000, offlineMs: 12_960_000, faultMs: 3_240_000, silentMs: 0,
  accountedMs: 604_800_000, upShare: 0.9732, faults: 2, lastSeenAt: AT,
}
const availabilityItem: Static<typeof AvailabilityItem> = { communeCode: COMMUNE, figures }
const trendDay: Static<typeof TrendDay> = { day: '2026-03-13', upShare: 0.962, airtimeHours: 1840.5, contentPlays: 3120, reportsSubmitted: 1 }

// Media and content.

const media: Static<typeof Media> = {
  sha256: SHA256, source: 'stored', url: `/v2/media/${SHA256}`, kind: 'audio', mimeType: 'audio/mpeg', bytes: 4_812_345,
  durationSeconds: 300.8, codec: 'mp3', container: 'mp3', createdBy: 'central-portal', createdAt: EARLIER, removedAt: null,
}
const { container: _container, createdBy: _createdBy, createdAt: _createdAt, removedAt: _removedAt, ...mediaReference } = media
const upload: Static<typeof Upload> = {
  id: '5e0a7c3f-9b2d-4f18-a6e4-1c8d3b9f2a70', state: 'open', bytes: 4_812_345, offset: 2_097_152, sha256: SHA256,
  fileName: 'ban-tin-bao-so-3.mp3', declaredType: 'audio/mpeg', chunkMaxBytes: 8_388_608, createdAt: AT, expiresAt: '2026-03-15T01:30:00.000Z', failure: null, media: null,
}
const topic: Static<typeof Topic> = {
  id: 'disasters-fire-epidemics', title: 'Thiên tai, hỏa hoạn, dịch bệnh', kind: 'essential_category',
  basis: 'Điều 3 Thông tư 39/2020/TT-BTTTT', createdAt: '2025-07-01T00:00:00.000Z',
}
const topicRequest: Static<typeof TopicRequest> = { id: 'traffic-safety', title: 'An toàn giao thông', basis: 'Kế hoạch tuyên truyền năm 2026' }
const content: Static<typeof ContentItem> = {
  id: CONTENT_ID, version: 1, status: 'active', origin: 'central', province: null,
  title: 'Cảnh báo bão số 3', summary: 'Bão số 3 dự kiến đổ bộ vào Thành phố Hồ Chí Minh đêm nay', body: 'Đề nghị nhân dân chằng chống nhà cửa, không ra biển…',
  media: [mediaReference], topic: topic.id, priority: 'emergency', test: false, language: 'vi',
  validFrom: AT, validUntil: '2026-03-16T01:30:00.000Z', targets: [PROVINCE], communes: [],
  publishedBy: 'central-portal', draftedBy: { id: 'bientap-01', name: 'Trần Thị Bình' }, approvedBy: { id: 'lanhdao-02', name: 'Lê Văn Cường' },
  publishedAt: AT, updatedAt: AT, withdrawnAt: null, withdrawalReason: null,
}
const notification: Static<typeof ContentNotification> = { id: '8d1f3a6c-2b4e-4c7a-9e5f-0a6b8c2d4e19', type: 'content.published', occurredAt: AT, content }
const sharedContent: Static<typeof SharedContentRequest> = {
  title: 'Lịch tiêm chủng mở rộng tháng 3', summary: 'Trạm y tế phường Sài Gòn tiêm chủng vào sáng thứ Bảy', topic: topic.id, language: 'vi',
}
const ackRequest: Static<typeof AckRequest> = { receivedAt: '2026-03-14T08:30:20+07:00', scheduledAt: '2026-03-14T09:00:00+07:00', stations: 168, communes: [COMMUNE] }
const ack: Static<typeof Ack> = {
  contentId: CONTENT_ID, province: PROVINCE, version: 1, receivedAt: '2026-03-14T01:30:20.000Z', scheduledAt: '2026-03-14T02:00:00.000Z',
  stations: 168, communes: [COMMUNE], acknowledgedAt: '2026-03-14T01:30:21.000Z',
}

// Broadcast logs and schedules: the bulletin played at 09:00 for 5 minutes on Phường Sài Gòn's station.

const playEntry: Static<typeof BroadcastLogEntry> = {
  stationId: station.id, contentId: CONTENT_ID, startedAt: '2026-03-14T09:00:00+07:00', endedAt: '2026-03-14T09:05:01+07:00', clustersReached: 12, source: 'central',
}
const localPlay: Static<typeof BroadcastLogEntry> = {
  stationId: station.id, localRef: 'Bản tin thời sự phường sáng 14/3', startedAt: '2026-03-14T06:00:00+07:00', endedAt: '2026-03-14T06:15:00+07:00', clustersReached: 12, source: 'commune',
}
const broadcastLog: Static<typeof BroadcastLog> = { ...playEntry, receivedAt: '2026-03-14T02:05:30.000Z' }
const slot: Static<typeof StoredSlot> = {
  startsAt: '2026-03-14T09:00:00+07:00', durationSeconds: 300, contentId: CONTENT_ID, source: 'relay-national', endsAt: '2026-03-14T09:05:00+07:00',
}
const { endsAt: _endsAt, ...slotInput } = slot
const schedule: Static<typeof BroadcastSchedule> = { stationId: station.id, date: '2026-03-14', version: 1, updatedAt: EARLIER, slots: [slot] }
const latency: Static<typeof DeliveryLatency> = {
  delivered: { provinces: 1, p50Seconds: 2.1, p95Seconds: 2.1 },
  acknowledged: { provinces: 1, p50Seconds: 21, p95Seconds: 21 },
  firstPlayed: { provinces: 1, p50Seconds: 1800, p95Seconds: 1800 },
  byProvince: [{ province: PROVINCE, deliveredSeconds: 2.1, acknowledgedSeconds: 21, firstPlayedSeconds: 1800 }],
}

// Periodic reports: the first half of 2026, due on 10 June.

const period: Static<typeof ReportPeriod> = {
  id: '2026-H1', kind: 'six_month', year: 2026, title: 'Báo cáo 6 tháng đầu năm 2026', asOf: '2026-06-01', dueOn: '2026-06-10',
  deadline: '2026-06-10T16:59:59.999Z', forms: ['indicators', 'feedback'], customForms: [], extensions: [
    { province: '48', dueOn: '2026-06-20', deadline: '2026-06-20T16:59:59.999Z', reason: 'Hệ thống bị gián đoạn do bão, xin gia hạn 10 ngày', grantedBy: 'central-portal', grantedAt: '2026-06-08T03:00:00.000Z' },
  ], correctedAt: null, correctionReason: null,
}
const indicators: Static<typeof IndicatorsForm> = {
  stations: { wired: 12, fm: 41, wiredFm: 9, ip: 106 },
  clusters: { ip: 2480, fm: 1630, wired: 210 },
  investment: { newStations: 14, clustersReplaced: 320, clustersAddedToVillages: 95 },
  bulletinBoards: 212,
  informationWorkers: { total: 168, trained: 151 },
  bulletins: { produced: 4120, aired: 3985, airtimeHours: 2950.5 },
  fundingMillionVnd: { newRuralDevelopment: 12500, sustainablePovertyReduction: 0, localBudget: 38200, other: 1450 },
  notes: 'Số liệu đến ngày 01/6/2026',
}
const appendix02Line: Static<typeof Appendix02Line> = {
  communeCode: COMMUNE, stationId: station.id, stationKind: 'ip', programme: 'new_station', fundingSource: 'local_budget',
  clusters: { ip: 12, fm: 0, wired: 0 }, clustersReplaced: 4, villagesCovered: 6, status: 'operating',
}
const appendix03Line: Static<typeof Appendix03Line> = {
  communeCode: COMMUNE, fundingSource: 'local_budget', newStations: 1, clustersReplaced: 4, clustersAdded: 8, amountMillionVnd: 1850,
}
const appendix02: Static<typeof Appendix02Form> = { lines: [appendix02Line] }
const appendix03: Static<typeof Appendix03Form> = { lines: [appendix03Line] }
const submission: Static<typeof FormSubmissions.indicators.Submission> = {
  province: PROVINCE, periodId: period.id, form: 'indicators', version: 2, submittedAt: '2026-06-05T02:10:00.000Z', onTime: true, state: 'submitted',
  reviewComment: null, reviewedAt: null, receiptId: receiptExample.id,
  warnings: [{ pointer: '/stations/ip', reported: 106, observed: 104, message: 'the registry holds 104 IP stations of province 79' }],
  derived: null, draftedBy: { id: 'chuyenvien-79-03', name: 'Phạm Thu Hà' }, approvedBy: { id: 'lanhdao-79-01', name: 'Võ Minh Tuấn' }, reviewedBy: null,
  data: indicators,
}
const reviewed: Static<typeof FormSubmissions.indicators.Submission> = {
  ...submission, state: 'returned', reviewComment: 'Số trạm IP chênh lệch với cơ sở dữ liệu; đề nghị rà soát và gửi lại', reviewedAt: '2026-06-06T03:00:00.000Z',
  reviewedBy: { id: 'chuyenvien-tw-05', name: 'Đỗ Quang Huy' },
}

/** A version of each form, its submission's and review's results, and its history: the same story told by each form's schemas. */
function formSubmissionExamples() {
  const forms = {
    indicators, feedback: first(FeedbackForm), 'appendix-02': appendix02, 'appendix-03': appendix03, custom: { clustersDamaged: 3, notes: 'Bão số 3 làm hỏng 3 cụm loa ven biển' },
  }
  return (Object.keys(forms) as (keyof typeof forms)[]).flatMap((form) => {
    const schemas = FormSubmissions[form]
    const name = form === 'custom' ? 'storm-damage' : form
    const version = { ...submission, form: name, data: forms[form], warnings: form === 'indicators' ? submission.warnings : [] }
    const returned = { ...version, state: reviewed.state, reviewComment: reviewed.reviewComment, reviewedAt: reviewed.reviewedAt, reviewedBy: reviewed.reviewedBy }
    return [
      example(schemas.Submission, version),
      example(schemas.SubmitResult, { submission: version, ...receipt }),
      example(schemas.ReviewResult, { submission: returned, ...receipt }),
      example(schemas.History, { latest: version, versions: [version, { ...version, version: 1, submittedAt: '2026-06-03T08:40:00.000Z', warnings: [] }] }),
    ]
  })
}

// Summaries: province 79's figures; the national total of a one-province example is the same.

const summaryFigures: Static<typeof Figures> = {
  stations: { total: 168, wired: 12, fm: 41, wiredFm: 9, ip: 106, operating: 159, degraded: 6, outOfService: 3, decommissioned: 0, ipShare: 0.631 },
  clusters: { total: 4320, ip: 2480, fm: 1630, wired: 210 },
  boards: { total: 212 },
  devices: { registered: 4700, online: 4561, offline: 93, stale: 31, neverReported: 15 },
  availability: { upHoursLast7Days: 765_700, accountedHoursLast7Days: 787_080, upShareLast7Days: 0.9728, upHoursLast30Days: 3_281_300, accountedHoursLast30Days: 3_373_200, upShareLast30Days: 0.9728, faultsLast30Days: 57 },
  broadcast: { hoursLast7Days: 12_880.5, hoursLast30Days: 55_210 },
  schedules: { slots: 9408, aired: 9211, plannedNotAired: 197, airedNotPlanned: 64 },
  programmes: { newStations: 14, replacementClusters: 320, clustersReplaced: 320, extensionClusters: 95, villagesNewlyCovered: 41 },
  feedback: { received: 1260, answered: 1198, answeredShare: 0.9508 },
  content: { items: 42, delivered: 42, acknowledged: 41, played: 40 },
  exercises: { items: 2, delivered: 2, acknowledged: 2, played: 2, playsLast30Days: 336, hoursLast7Days: 0, hoursLast30Days: 28 },
}
const provinceFigures: Static<typeof ProvinceFigures> = {
  province: PROVINCE, name: 'Hồ Chí Minh', ...summaryFigures,
  deliveryLatency: [{ priority: 'emergency', pairs: 2, delivered: { pairs: 2, p50Seconds: 2.1, p95Seconds: 3.4 }, acknowledged: { pairs: 2, p50Seconds: 21, p95Seconds: 48 } }],
  reports: { indicators: 'submitted', feedback: 'missing' },
}
const summaryBase = { generatedAt: AT, staleAfterSeconds: 300, period }

/** Every example, keyed by the `$id` of its component. */
export const componentExamples = new Map<string, unknown>([
  example(ProblemType, { type: '/problems/token-expired', code: 'token-expired', status: 401, title: 'The call token has expired' }),
  example(Receipt, receiptExample),
  example(ReceiptRecord, { id: receiptExample.id, issuedAt: AT, caller: 'province-79', jws: receiptExample.jws }),
  example(ServiceKey, serviceKey),
  example(ServiceJwks, { keys: [serviceKey] }),
  example(KeyInfo, keyInfo),
  example(System, system),
  example(SystemPage, { items: [system], nextCursor: null }),
  example(SystemUpdate, systemUpdate),
  example(SystemWriteResult, { system, ...receipt }),
  example(KeysRecoveredNotification, keysRecovered),
  example(AuditEntry, auditEntry),
  example(AuditPage, { items: [auditEntry], nextCursor: 'NDgyMTQ' }),
  example(Cosignature, cosignature),
  example(Checkpoint, checkpoint),
  example(CheckpointPage, { items: [checkpoint], nextCursor: null }),
  example(ConsistencyProof, { from: 48000, to: checkpoint.treeSize, proof: proofHashes }),
  example(InclusionProof, { leafIndex: auditEntry.leafIndex, treeSize: checkpoint.treeSize, proof: proofHashes, entry: auditEntry, checkpoint }),
  example(CosignatureSubmission, { cosignature: cosignature.jws }),
  example(CosignatureWriteResult, { cosignature, ...receipt }),
  example(AdminUnitPage, { items: [province, commune], nextCursor: NEXT_CURSOR }),
  example(AdminUnitResolution, { code: '77', current: null, successors: [{ unit: province, note: 'Bà Rịa - Vũng Tàu hợp nhất vào Thành phố Hồ Chí Minh từ 1/7/2025' }] }),
  example(ResolveAdminUnitsResponse, { items: [{ code: COMMUNE, current: commune, successors: [] }] }),
  example(CatalogueVersion, catalogueVersion),
  example(CatalogueVersionList, { items: [catalogueVersion] }),
  example(CatalogueChange, catalogueChange),
  example(CatalogueChangePage, { items: [catalogueChange], nextCursor: null }),
  example(Station.Record, station),
  example(Cluster.Record, cluster),
  example(Board.Record, board),
  example(Station.Replacement, stationReplacement),
  example(Cluster.Replacement, clusterReplacement),
  example(Board.Replacement, boardReplacement),
  example(StationBatch, { items: [stationInput] }),
  example(ClusterBatch, { items: [clusterInput] }),
  example(BoardBatch, { items: [boardInput] }),
  example(RegistryBatch, { stations: [stationInput], clusters: [clusterInput] }),
  example(BatchResult, batchResult(station.id)),
  example(RegistryBatchResult, {
    stations: { created: 1, updated: 0, unchanged: 0, items: [{ id: station.id, version: 1, result: 'created' }] },
    clusters: { created: 1, updated: 0, unchanged: 0, items: [{ id: cluster.id, version: 1, result: 'created' }] },
    boards: { created: 0, updated: 0, unchanged: 0, items: [] },
    unverifiedCommunes: [], ...receipt,
  }),
  example(StationWriteResult, { record: { ...station, ...stationReplacement, version: 3 }, result: 'updated', ...receipt }),
  example(ClusterWriteResult, { record: { ...cluster, version: 3 }, result: 'updated', ...receipt }),
  example(BoardWriteResult, { record: { ...board, deletedAt: AT, version: 2 }, result: 'deleted', ...receipt }),
  example(StationPage, { items: [station], nextCursor: NEXT_CURSOR }),
  example(ClusterPage, { items: [cluster], nextCursor: NEXT_CURSOR }),
  example(BoardPage, { items: [board], nextCursor: null }),
  example(StationChange, change),
  example(ClusterChange, clusterChange),
  example(BoardChange, boardChange),
  example(Change, change),
  example(ChangePage, { items: [change, clusterChange, boardChange], nextCursor: 'OTEyMzQ3' }),
  example(StatusEventBatch, { events: [
    { deviceType: 'cluster', deviceId: cluster.id, state: 'playing', observedAt: '2026-03-14T08:00:00+07:00', volumePercent: 80, signalDbm: -71 },
    { deviceType: 'station', deviceId: station.id, state: 'fault', observedAt: '2026-03-14T08:00:00+07:00', faultCode: 'AMP-OVERHEAT', faultMessage: 'Bộ khuếch đại quá nhiệt', temperatureC: 78 },
  ] }),
  example(StatusIngestResult, { accepted: 2, duplicate: 0, rejected: 0, rejections: [], ...receipt }),
  example(DeviceCurrentState, stationState),
  example(DeviceStatusPage, { items: [stationState], nextCursor: null }),
  example(StatusHistoryEntry, historyEntry),
  example(StatusHistoryPage, { items: [historyEntry], nextCursor: null }),
  example(ProvinceStatusSummary, provinceStatus),
  example(StatusOverview, { generatedAt: AT, staleAfterSeconds: 900, provinces: [provinceStatus] }),
  example(AvailabilityFigures, figures),
  example(AvailabilityItem, availabilityItem),
  example(ProvinceAvailability, { province: PROVINCE, from: '2026-03-07', to: '2026-03-13', generatedAt: AT, staleAfterSeconds: 300, by: 'commune', total: figures, items: [availabilityItem], nextCursor: null }),
  example(NationalAvailability, { from: '2026-03-07', to: '2026-03-13', generatedAt: AT, staleAfterSeconds: 300, total: figures, provinces: [{ province: PROVINCE, figures }] }),
  example(TrendDay, trendDay),
  example(Trends, { province: PROVINCE, generatedAt: AT, days: [trendDay] }),
  example(Figures, summaryFigures),
  example(ProvinceFigures, provinceFigures),
  example(NationalSummary, { ...summaryBase, total: summaryFigures, deliveryLatency: provinceFigures.deliveryLatency, provinces: [provinceFigures] }),
  example(ProvinceSummary, { ...summaryBase, province: provinceFigures }),
  example(MediaReference, mediaReference),
  example(Media, media),
  example(Upload, upload),
  example(UploadWriteResult, { upload, ...receipt }),
  example(MediaWriteResult, { media: { ...media, source: 'external', url: 'https://media.vov.vn/ban-tin/2026-03-14.mp3' }, ...receipt }),
  example(Topic, topic),
  example(TopicList, { items: [topic] }),
  example(TopicRequest, topicRequest),
  example(TopicWriteResult, { topic: { ...topic, ...topicRequest, kind: 'custom', createdAt: AT }, ...receipt }),
  example(ContentItem, content),
  example(ContentNotification, notification),
  example(ContentFeedPage, { items: [notification], nextCursor: 'OGQxZjNhNmM' }),
  example(ContentWriteResult, { content, ...receipt }),
  example(ContentPage, { items: [content], nextCursor: null }),
  example(SharedContentRequest, sharedContent),
  example(WithdrawalRequest, { reason: 'Bão số 3 đã suy yếu thành áp thấp nhiệt đới; thông tin cảnh báo không còn hiệu lực' }),
  example(AckRequest, ackRequest),
  example(Ack, ack),
  example(AckResult, { ack, result: 'created', ...receipt }),
  example(DeliveryReport, { contentId: CONTENT_ID, provinces: [{
    province: PROVINCE, systemId: 'province-79', webhook: 'delivered', communes: [],
    notifications: [{ notificationId: notification.id, type: 'content.published', version: 1, state: 'delivered', attempts: 1, lastAttemptAt: '2026-03-14T01:30:02.000Z', lastStatus: 204, lastError: null, nextAttemptAt: null, deliveredAt: '2026-03-14T01:30:02.000Z' }],
    acknowledgedAt: ack.acknowledgedAt,
  }] }),
  example(BroadcastLogEntry, playEntry),
  example(BroadcastLogBatch, { entries: [playEntry, localPlay] }),
  example(BroadcastLogResult, { accepted: 2, duplicate: 0, rejected: 0, rejections: [], ...receipt }),
  example(BroadcastLog, broadcastLog),
  example(BroadcastLogPage, { items: [broadcastLog], nextCursor: null }),
  example(DeliveryLatency, latency),
  example(Reach, {
    contentId: CONTENT_ID, test: false, provincesTargeted: 1, provincesDelivered: 1, provincesAcknowledged: 1, stationsPlayed: 1, plays: 1, airtimeSeconds: 301,
    firstPlayedAt: '2026-03-14T02:00:00.000Z', lastPlayedAt: '2026-03-14T02:00:00.000Z',
    byProvince: [{ province: PROVINCE, stationsPlayed: 1, plays: 1, airtimeSeconds: 301 }],
    byCommune: [{ code: COMMUNE, province: PROVINCE, stationsPlayed: 1, plays: 1, acknowledged: true }],
    latency,
  }),
  example(StoredSlot, slot),
  example(BroadcastSchedule, schedule),
  example(BroadcastScheduleBatch, { schedules: [{ stationId: station.id, date: schedule.date, slots: [slotInput, { startsAt: '2026-03-14T17:30:00+07:00', durationSeconds: 900, localProgramme: 'Chương trình phát thanh phường buổi chiều', source: 'local' }] }] }),
  example(BroadcastScheduleBatchResult, { created: 1, updated: 0, unchanged: 0, items: [{ stationId: station.id, date: schedule.date, version: 1, slots: 2, result: 'created' }], ...receipt }),
  example(BroadcastSchedulePage, { items: [schedule], nextCursor: null }),
  example(BroadcastScheduleCrossCheck, {
    province: PROVINCE, from: '2026-03-14', to: '2026-03-14', checkedAt: AT,
    counts: { slots: 2, aired: 1, plannedNotAired: 0, upcoming: 1, logs: 2, matchedLogs: 1, airedNotPlanned: 1, unscheduled: 0 },
    stations: [{ stationId: station.id, counts: { slots: 2, aired: 1, plannedNotAired: 0, upcoming: 1, logs: 2, matchedLogs: 1, airedNotPlanned: 1, unscheduled: 0 } }],
    mismatches: [{ kind: 'aired-not-planned', stationId: station.id, date: '2026-03-14', play: { ...localPlay, receivedAt: '2026-03-14T02:05:30.000Z' } }],
    nextCursor: null,
  }),
  example(ReportPeriod, period),
  example(ReportPeriodList, { items: [period] }),
  example(ReportPeriodCorrection, { dueOn: '2026-06-12', reason: 'Ngày 10/6 trùng lịch nghỉ bù; lùi hạn nộp hai ngày' }),
  example(DeadlineExtensionRequest, { province: '48', dueOn: '2026-06-20', reason: 'Hệ thống bị gián đoạn do bão, xin gia hạn 10 ngày' }),
  example(ReportPeriodWriteResult, { period, ...receipt }),
  example(IndicatorsForm, indicators),
  example(Appendix02Line, appendix02Line),
  example(Appendix03Line, appendix03Line),
  example(Appendix02Form, appendix02),
  example(Appendix03Form, appendix03),
  example(Appendix02Draft, { form: appendix02, derived: { stations: 1, clustersIp: 12, clustersReplaced: 4, villagesCovered: 6 } }),
  example(Appendix03Draft, { form: appendix03, derived: { communes: 1, total: { newStations: 1, clustersReplaced: 4, clustersAdded: 8, amountMillionVnd: 1850 } } }),
  ...formSubmissionExamples(),
  example(ReviewRequest, { decision: 'return', comment: reviewed.reviewComment! }),
  example(PeriodStatus, { period, provinces: [{ province: PROVINCE, forms: [
    { form: 'indicators', status: 'submitted', version: 2, submittedAt: submission.submittedAt },
    { form: 'feedback', status: 'missing', version: null, submittedAt: null },
  ] }] }),
])
