import { ProvinceParams, ref } from '../../../schemas/common.js'
import { XLSX_MEDIA_TYPE } from '../../../schemas/sheets.js'
import { NationalSummary, ProvinceSummary, SummaryQuery } from '../../../schemas/summaries.js'
import type { App } from '../../app-type.js'
import { every } from '../../jobs.js'
import { answerFormat, componentExample, sendSheet, sheetAnswer, sheetCsv } from '../../http/sheets.js'
import { notFound } from '../../http/problem.js'
import { problemResponses } from '../../http/responses.js'
import { currentPeriod } from '../reports/status.js'
import { AvailabilityStore } from '../availability/store.js'
import { ReportsStore } from '../reports/store.js'
import { nationalSummarySheet, provinceSummarySheet } from './sheets.js'
import { SummariesStore } from './store.js'
import { summarise } from './summarise.js'
import { notFoundExample } from '../../http/problem-examples.js'

const REGISTRY_FOLD_INTERVAL_MS = 60_000

const TABLE = 'The same figures as a table: columns `province`, `name`, every figure as `section.field` and the report states as `reports.form`; one row per province'

const answers = {
  national: {
    200: sheetAnswer(ref(NationalSummary), 'The summary',
      `${TABLE}, then a row for the whole country (Toàn quốc) with an empty province code, whose report cells count the provinces that sent each form out of those asked (\`submitted\`, \`late\` or \`accepted\`), as \`sent/asked\`.`,
      sheetCsv(nationalSummarySheet(componentExample(NationalSummary)))),
    ...problemResponses([404]),
  },
  province: {
    200: sheetAnswer(ref(ProvinceSummary), 'The summary', `${TABLE}.`,
      sheetCsv(provinceSummarySheet(componentExample(ProvinceSummary)))),
    ...problemResponses([404]),
  },
}
const FORMATS = 'JSON by default; CSV with `Accept: text/csv` or `format=csv`, an xlsx workbook with `Accept: ' + XLSX_MEDIA_TYPE + '` or `format=xlsx`.'

export async function summariesRoutes(app: App) {
  const { config, database, readDatabase } = app.deps
  // Periods are made on first mention, so they are looked up on the primary; the figures come from the replica when there is one.
  const periods = new ReportsStore(database.db)
  const replica = (readDatabase ?? database).db
  const store = new SummariesStore(replica)
  const reports = new ReportsStore(replica)
  const availability = new AvailabilityStore(replica)
  // The registry's counts arrive as rows of changes; folding them, on the primary, keeps a summary's read short.
  const counts = new SummariesStore(database.db)
  const folding = every(REGISTRY_FOLD_INTERVAL_MS, 'registry-counts', app.log, () => counts.compactRegistryCounts())
  app.addHook('onClose', () => folding.stop())
  // Summaries are read by dashboards many times a minute; each instance recomputes one at most
  // every SUMMARY_CACHE_SECONDS, and concurrent readers share the computation in flight.
  const cache = new Map<string, { expires: number, value: ReturnType<typeof summarise> }>()

  const compute = (province: string | undefined, periodId: string | undefined) => {
    const key = `${province ?? '*'}|${periodId ?? ''}`
    // At a whole second, the grain of the maintained device counts.
    const now = Math.floor(Date.now() / 1000) * 1000
    const hit = cache.get(key)
    if (hit && hit.expires > now) return hit.value
    const value = (async () => {
      const period = periodId ? await periods.period(periodId) : await currentPeriod(periods, new Date(now))
      if (periodId && !period) throw notFound(`report period ${periodId}`)
      return summarise(store, reports, availability, { province, period, staleAfterSeconds: config.STALE_AFTER_SECONDS, now: new Date(now) })
    })()
    cache.set(key, { expires: now + config.SUMMARY_CACHE_SECONDS * 1000, value })
    value.catch(() => cache.delete(key))
    return value
  }

  app.get('/v2/summaries/national', {
    config: { problems: notFoundExample('report period 2025-H3'), policy: 'central' },
    schema: {
      tags: ['summaries'],
      operationId: 'getNationalSummary',
      summary: 'National summary',
      description: 'Stations by kind and condition, the IT–telecom share, devices online, offline and stale now, their availability and airtime over the last 7 and 30 days, ' +
        'reach of essential content, and each province\'s report state for the current period (or `periodId`). ' +
        FORMATS,
      querystring: SummaryQuery,
      response: answers.national,
    },
  }, async (request, reply) => {
    const { query } = request
    const summary = await compute(undefined, query.periodId)
    const format = answerFormat(request, query.format)
    if (format === 'json') return summary
    return sendSheet(reply, format, nationalSummarySheet(summary), query)
  })

  app.get('/v2/summaries/provinces/:code', {
    config: { problems: notFoundExample('active province 02'), policy: 'province-or-central' },
    schema: {
      tags: ['summaries'],
      operationId: 'getProvinceSummary',
      summary: 'One province\'s summary',
      description: `The figures of the national summary for one province. ${FORMATS}`,
      params: ProvinceParams,
      querystring: SummaryQuery,
      response: answers.province,
    },
  }, async (request, reply) => {
    const { params: { code }, query } = request
    const { provinces, ...header } = await compute(code, query.periodId)
    const province = provinces[0]
    if (!province) throw notFound(`active province ${code}`)
    const summary = { generatedAt: header.generatedAt, staleAfterSeconds: header.staleAfterSeconds, period: header.period, province }
    const format = answerFormat(request, query.format)
    if (format === 'json') return summary
    return sendSheet(reply, format, provinceSummarySheet(summary), query)
  })
}
