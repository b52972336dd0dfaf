import { AvailabilityQuery, NationalAvailability, NationalAvailabilityQuery, ProvinceAvailability } from '../../../schemas/availability.js'
import { ProvinceParams, ref } from '../../../schemas/common.js'
import type { App } from '../../app-type.js'
import { XLSX_MEDIA_TYPE } from '../../../schemas/sheets.js'
import { answerFormat, componentExample, sendSheet, sheetAnswer, sheetCsv } from '../../http/sheets.js'
import { decodeCursor, toPage } from '../../http/pagination.js'
import { problemResponses } from '../../http/responses.js'
import { ReportsStore } from '../reports/store.js'
import { figuresOf, nationalAvailability, provinceAvailability, resolveWindow } from './figures.js'
import { nationalAvailabilitySheet, provinceAvailabilitySheet } from './sheets.js'
import { AvailabilityStore } from './store.js'
import { notFoundExample } from '../../http/problem-examples.js'

const answers = {
  province: {
    200: sheetAnswer(ref(ProvinceAvailability), 'The figures',
      'The same figures as a table: `province`, then `communeCode` (for `by=commune`) or `communeCode`, `deviceType` and `deviceId` (for `by=device`, every device, not paged), ' +
      'then the figures; one row per item and a last row for the province\'s total.',
      sheetCsv(provinceAvailabilitySheet(componentExample(ProvinceAvailability)))),
    ...problemResponses([400, 404]),
  },
  national: {
    200: sheetAnswer(ref(NationalAvailability), 'The figures',
      'The same figures as a table: `province` and the figures; one row per province and a last row for the nation, its province code empty.',
      sheetCsv(nationalAvailabilitySheet(componentExample(NationalAvailability)))),
    ...problemResponses([400, 404]),
  },
}
const FORMATS = 'JSON by default; CSV with `Accept: text/csv` or `format=csv`, an xlsx workbook with `Accept: ' + XLSX_MEDIA_TYPE + '` or `format=xlsx`.'

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
        `arrive; each device's open period is added up to now. ${FORMATS}`,
      params: ProvinceParams,
      querystring: AvailabilityQuery,
      response: answers.province,
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
    const format = answerFormat(request, query.format)
    // A sheet holds every item: at most one province's devices, which a page would split across files.
    if (format !== 'json') return sendSheet(reply, format, provinceAvailabilitySheet({ ...header, total: figuresOf(total), items: items.map(toItem), nextCursor: null }), query)
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
        FORMATS,
      querystring: NationalAvailabilityQuery,
      response: answers.national,
    },
  }, async (request, reply) => {
    const now = request.receivedAt.getTime()
    const window = await windowFor(request.query, now)
    const { total, provinces } = await nationalAvailability(store, window, now, staleAfterMs)
    const rows = provinces.map(([province, sums]) => ({ province, figures: figuresOf(sums) }))
    const answer = { from: window.from, to: window.to, generatedAt: request.receivedAt.toISOString(), staleAfterSeconds: config.STALE_AFTER_SECONDS, total: figuresOf(total), provinces: rows }
    const format = answerFormat(request, request.query.format)
    return format === 'json' ? answer : sendSheet(reply, format, nationalAvailabilitySheet(answer), request.query)
  })
}
