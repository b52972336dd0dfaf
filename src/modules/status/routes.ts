import type { FastifySchemaCompiler } from 'fastify'
import { Counter } from 'prom-client'
import { Type, type TSchema } from 'typebox'
import { ProvinceCode, ProvinceParams, Strict, ref } from '../../../schemas/common.js'
import { RecordId } from '../../../schemas/registry.js'
import {
  DeviceStatusPage, DeviceType, MAX_STATUS_BATCH, StatusEvent, StatusEventBatch, StatusHistoryPage, StatusHistoryQuery,
  StatusIngestResult, StatusListQuery, StatusOverview,
} from '../../../schemas/status.js'
import type { App } from '../../app-type.js'
import { decodeCursor, toPage } from '../../http/pagination.js'
import { notFound } from '../../http/problem.js'
import { problemResponses } from '../../http/responses.js'
import { compileEnvelopeValidator, compileValidator, createValidatorCompiler } from '../../http/validation.js'
import { KeyedSerializer } from '../../http/concurrency.js'
import { MonthlyPartitions } from './partitions.js'
import { StatusIngest } from './ingest.js'
import { StatusStore } from './store.js'
import { notFoundExample } from '../../http/problem-examples.js'

const DeviceParams = Strict({ code: ProvinceCode(), type: DeviceType, id: RecordId() })

/**
 * The batch body is checked here only as an envelope (an object holding 1 to 5000 events);
 * each event is then checked on its own, so one bad event is rejected alone and the contract
 * still describes every event as a StatusEvent.
 */
const envelopeOnly = (): FastifySchemaCompiler<TSchema> => {
  const standard = createValidatorCompiler()
  const envelope = compileEnvelopeValidator(Strict({ events: Type.Array(Type.Unknown(), { minItems: 1, maxItems: MAX_STATUS_BATCH }) }))
  return (route) => (route.httpPart === 'body' ? envelope : standard(route))
}

export async function statusRoutes(app: App) {
  const { db } = app.deps.database
  const { config } = app.deps
  const store = new StatusStore(db)
  const ingest = new StatusIngest(db, store, { history: MonthlyPartitions.history(db), days: MonthlyPartitions.days(db) }, compileValidator(StatusEvent), {
    clockSkewSeconds: config.CLOCK_SKEW_SECONDS,
    retentionDays: config.STATUS_RETENTION_DAYS,
    staleAfterSeconds: config.STALE_AFTER_SECONDS,
  })
  // A province's batches are applied one after another: each waits here, holding no connection, for the one before.
  const oneAtATime = new KeyedSerializer()
  const events = new Counter({ name: 'ttn_status_events_total', help: 'Device status events received, by outcome (accepted, duplicate, rejected)', labelNames: ['outcome'], registers: [app.metrics] })
  const rejections = new Counter({ name: 'ttn_status_rejections_total', help: 'Device status events rejected, by reason', labelNames: ['reason'], registers: [app.metrics] })
  const staleBefore = (now: Date) => new Date(now.getTime() - config.STALE_AFTER_SECONDS * 1000)

  app.post('/v2/provinces/:code/status-events', {
    config: { policy: 'province' },
    validatorCompiler: envelopeOnly(),
    schema: {
      tags: ['status'],
      operationId: 'sendStatusEvents',
      // Each event is accepted or rejected on its own, so a bad event inside a good batch is a 200 that names it.
      'x-ttn-per-item': '/events',
      summary: 'Send a batch of device status events',
      description: `Up to ${MAX_STATUS_BATCH} status events of the province's stations, clusters and boards. Valid events are stored and every ` +
        'other one is named by index with its reason: `unknown-device`, `future-timestamp` (beyond `CLOCK_SKEW_SECONDS`), `too-old` ' +
        '(beyond `STATUS_RETENTION_DAYS`), `bad-value`. What is kept: the newest report of each device (its current state) and its ' +
        'periods (see StatusHistoryEntry); a report that continues a period moves only its last-seen time, so heartbeats cost no history. ' +
        'An event that adds nothing (the same device, `observedAt` and state again) counts as a duplicate, so a batch may be sent again ' +
        'safely. A device\'s current state moves only to a newer `observedAt`. A province\'s batches are applied one at a time.',
      params: ProvinceParams,
      body: ref(StatusEventBatch),
      response: { 200: ref(StatusIngestResult) },
    },
  }, async (request) => {
    const province = request.params.code
    const batch = (request.body as { events: unknown[] }).events
    const outcome = await ingest.check(province, batch, request.receivedAt)
    const stored = await oneAtATime.run(province, () => ingest.save(province, outcome.accepted, outcome.rejections.length, request.receivedAt, (trx, counts) =>
      app.receipts.issue(request, { status: 200, records: [{ entity: 'status-events', ...counts }] }, trx)))
    events.inc({ outcome: 'accepted' }, stored.accepted)
    events.inc({ outcome: 'duplicate' }, stored.duplicate)
    events.inc({ outcome: 'rejected' }, outcome.rejections.length)
    for (const rejection of outcome.rejections) rejections.inc({ reason: rejection.reason })
    return {
      accepted: stored.accepted,
      duplicate: stored.duplicate,
      rejected: outcome.rejections.length,
      rejections: outcome.rejections,
      receipt: stored.receipt,
    }
  })

  app.get('/v2/provinces/:code/status', {
    config: { policy: 'province-or-central' },
    schema: {
      tags: ['status'],
      operationId: 'listDeviceStatus',
      summary: 'Current state of a province\'s devices',
      description: 'The newest event of every device that has reported. `stale` is computed when read: the newest event is older than `STALE_AFTER_SECONDS`.',
      params: ProvinceParams,
      querystring: StatusListQuery,
      response: { 200: ref(DeviceStatusPage) },
    },
  }, async (request) => {
    const query = request.query
    const limit = query.limit ?? 100
    const rows = await store.list({
      province: request.params.code, state: query.state, type: query.type, commune: query.commune, stale: query.stale,
      staleBefore: staleBefore(request.receivedAt), after: decodeCursor(query.cursor, ['string', 'string'] as const), limit,
    })
    return toPage(rows, limit, (r) => [r.deviceType, r.deviceId], (r) => r)
  })

  app.get('/v2/provinces/:code/devices/:type/:id/status-history', {
    config: { problems: notFoundExample('cluster loa-26740-09 of province 79'), policy: 'province-or-central' },
    schema: {
      tags: ['status'],
      operationId: 'getStatusHistory',
      summary: 'Status history of one device',
      description: 'The device\'s status periods, newest first, optionally those that began within [`from`, `to`). History older than `STATUS_RETENTION_DAYS` is removed by `ttn prune`.',
      params: DeviceParams,
      querystring: StatusHistoryQuery,
      response: { 200: ref(StatusHistoryPage), ...problemResponses([404]) },
    },
  }, async (request) => {
    const { code, type, id } = request.params
    const query = request.query
    const limit = query.limit ?? 100
    const after = decodeCursor(query.cursor, ['instant', 'string'] as const)
    const rows = await store.history({
      province: code, type, id, limit, after,
      from: query.from ? new Date(query.from) : undefined, to: query.to ? new Date(query.to) : undefined,
    })
    // An empty first page is a 404 only for a device that neither reported nor is registered.
    if (rows.length === 0 && !after) {
      const known = await store.hasCurrentState(code, type, id) || (await store.unknownDevices(code, [{ deviceType: type, deviceId: id }])).size === 0
      if (!known) throw notFound(`${type} ${id} of province ${code}`)
    }
    return toPage(rows, limit, (r) => [r.observedAt, r.state], (r) => r)
  })

  app.get('/v2/status/overview', {
    config: { policy: 'central' },
    schema: {
      tags: ['status'],
      operationId: 'getStatusOverview',
      summary: 'Device status of every province',
      description: 'Per province: devices by last reported state, how many are stale (no event for `STALE_AFTER_SECONDS`), and the newest report.',
      response: { 200: ref(StatusOverview) },
    },
  }, async (request) => {
    const now = request.receivedAt
    const provinces = new Map<string, { province: string, devices: number, byState: Record<string, number>, stale: number, lastReportAt: Date | null }>()
    for (const row of await store.summary(staleBefore(now))) {
      let summary = provinces.get(row.province)
      if (!summary) {
        summary = { province: row.province, devices: 0, byState: { online: 0, offline: 0, playing: 0, idle: 0, fault: 0 }, stale: 0, lastReportAt: null }
        provinces.set(row.province, summary)
      }
      summary.devices += row.devices
      summary.byState[row.state] = row.devices
      summary.stale += row.stale
      if (!summary.lastReportAt || row.lastReportAt > summary.lastReportAt) summary.lastReportAt = row.lastReportAt
    }
    return {
      generatedAt: now.toISOString(),
      staleAfterSeconds: config.STALE_AFTER_SECONDS,
      provinces: [...provinces.values()].map((p) => ({ ...p, byState: p.byState as never, lastReportAt: p.lastReportAt?.toISOString() ?? null })),
    }
  })
}
