import { stringify } from 'csv-stringify/sync'
import {
  AvailabilityQuery, NationalAvailability, NationalAvailabilityQuery, ProvinceAvailability, type AvailabilityFigures,
} from '../../../schemas/availability.js'
import { ProvinceParams, ref } from '../../../schemas/common.js'
import type { App } from '../../app-type.js'
import { CSV_BOM, jsonOrCsv, sendCsv, wantsCsv } from '../../http/csv.js'
import { decodeCursor, toPage } from '../../http/pagination.js'
import { problemResponses } from '../../http/responses.js'
import { ReportsStore } from '../reports/store.js'
import { figuresOf, nationalAvailability, provinceAvailability, resolveWindow, type Window } from './figures.js'
import { AvailabilityStore } from './store.js'
import { notFoundExample } from '../../http/problem-examples.js'

const answers = (schema: typeof ProvinceAvailability | typeof NationalAvailability) => ({
  200: jsonOrCsv(ref(schema), 'The figures', 'The same figures as CSV, one row per item and a last row for the total; UTF-8 with a byte-order mark.'),
  ...problemResponses([400, 404]),
})

const FIGURE_COLUMNS = ['onlineMs', 'playingMs', 'idleMs', 'offlineMs', 'faultMs', 'silentMs', 'accountedMs', 'upShare', 'faults', 'lastSeenAt'] as const

/** Every value quoted, so that a spreadsheet keeps codes such as `01` as text. */
function figuresCsv(window: Window, keyColumns: string[], rows: { key: string[], figures: AvailabilityFigures }[]): string {
  const header = ['from', 'to', ...keyColumns, ...FIGURE_COLUMNS]
  const records = rows.map((row) => [window.from, window.to, ...row.key, ...FIGURE_COLUMNS.map((column) => row.figures[column] ?? '')])
  return CSV_BOM + stringify([header, ...records], { record_delimiter: 'windows', quoted_string: true })
}

export async function availabilityRoutes(app: App) {
  const { config, database, readDatabase } = app.deps
  const store = new AvailabilityStore((readDatabase ?? database).db)
  const periods = new ReportsStore(database.db)
  const staleAfterMs = config.STALE_AFTER_SECONDS * 1000
  const windowFor = (query: Parameters<typeof resolveWindow>[0], now: number) =>
    resolveWindow(query, now, async (id) => {
      const period = await periods.period(id)
      return period && { year: period.year, asOf: period.asOf }
    })

  app.get('/v2/provinces/:code/availability', {
    config: { problems: notFoundExample('report period 2025-H3'), policy: 'province-or-central' },
    schema: {
      tags: ['status'],
      operationId: 'getProvinceAvailability',
      summary: 'Availability of a province\'s devices over a window',
      description: 'Time online, playing, idle, offline, in fault and silent, the up share and the faults of the province\'s devices over a ' +
        'window of days (Vietnam time): `from` and `to`, a `month`, or a report period (`periodId`); by default the current month. ' +
        'Totalled for the province, or per commune or per device (`by`). Closed periods are summed from daily counts kept as reports ' +
        'arrive; each device\'s open period is added up to now. JSON by default; CSV with `Accept: text/csv` or `format=csv`.',
      params: ProvinceParams,
      querystring: AvailabilityQuery,
      response: answers(ProvinceAvailability),
    },
  }, async (request, reply) => {
    const province = request.params.code
    const query = request.query
    const now = request.receivedAt.getTime()
    const window = await windowFor(query, now)
    const by = query.by ?? 'province'
    const { total, items } = await provinceAvailability(store, province, by, window, now, staleAfterMs)
    const toItem = (item: typeof items[number]) => ({
      ...(item.communeCode ? { communeCode: item.communeCode } : {}),
      ...(item.deviceType ? { deviceType: item.deviceType, deviceId: item.deviceId! } : {}),
      figures: figuresOf(item.sums),
    })
    const header = { province, from: window.from, to: window.to, generatedAt: request.receivedAt.toISOString(), staleAfterSeconds: config.STALE_AFTER_SECONDS, by }
    if (wantsCsv(request, query.format)) {
      const keyColumns = by === 'device' ? ['province', 'communeCode', 'deviceType', 'deviceId'] : ['province', 'communeCode']
      const rows = items.map((item) => {
        const { communeCode = '', deviceType = '', deviceId = '', figures } = toItem(item)
        return { key: by === 'device' ? [province, communeCode, deviceType, deviceId] : [province, communeCode], figures }
      })
      rows.push({ key: keyColumns.map((column) => column === 'province' ? province : ''), figures: figuresOf(total) })
      return sendCsv(reply, `availability-${province}-${window.from}-${window.to}`, figuresCsv(window, keyColumns, rows))
    }
    if (by !== 'device') return { ...header, total: figuresOf(total), items: items.map(toItem), nextCursor: null }
    const limit = query.limit ?? 100
    const after = decodeCursor(query.cursor, ['string', 'string'] as const)
    const rest = after ? items.filter((item) => item.deviceType! > after[0] || (item.deviceType === after[0] && item.deviceId! > after[1])) : items
    const page = toPage(rest.slice(0, limit + 1), limit, (item) => [item.deviceType!, item.deviceId!], toItem)
    return { ...header, total: figuresOf(total), ...page }
  })

  app.get('/v2/availability', {
    config: { problems: notFoundExample('report period 2025-H3'), policy: 'central' },
    schema: {
      tags: ['status'],
      operationId: 'getNationalAvailability',
      summary: 'Availability of every province\'s devices over a window',
      description: 'The figures of `getProvinceAvailability` for every province and for the nation (toàn quốc), over the same kinds of window. ' +
        'JSON by default; CSV with `Accept: text/csv` or `format=csv`.',
      querystring: NationalAvailabilityQuery,
      response: answers(NationalAvailability),
    },
  }, async (request, reply) => {
    const now = request.receivedAt.getTime()
    const window = await windowFor(request.query, now)
    const { total, provinces } = await nationalAvailability(store, window, now, staleAfterMs)
    const rows = provinces.map(([province, sums]) => ({ province, figures: figuresOf(sums) }))
    if (wantsCsv(request, request.query.format)) {
      return sendCsv(reply, `availability-national-${window.from}-${window.to}`,
        figuresCsv(window, ['province'], [...rows.map((row) => ({ key: [row.province], figures: row.figures })), { key: [''], figures: figuresOf(total) }]))
    }
    return { from: window.from, to: window.to, generatedAt: request.receivedAt.toISOString(), staleAfterSeconds: config.STALE_AFTER_SECONDS, total: figuresOf(total), provinces: rows }
  })
}
