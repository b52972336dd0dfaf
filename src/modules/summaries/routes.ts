import { ProvinceParams, ref } from '../../../schemas/common.js'
import { NationalSummary, ProvinceSummary, SummaryQuery } from '../../../schemas/summaries.js'
import type { App } from '../../app-type.js'
import { every } from '../../jobs.js'
import { jsonOrCsv, sendCsv, wantsCsv } from '../../http/csv.js'
import { notFound } from '../../http/problem.js'
import { problemResponses } from '../../http/responses.js'
import { currentPeriod } from '../reports/status.js'
import { AvailabilityStore } from '../availability/store.js'
import { ReportsStore } from '../reports/store.js'
import { summaryCsv } from './csv.js'
import { SummariesStore } from './store.js'
import { summarise } from './summarise.js'
import { notFoundExample } from '../../http/problem-examples.js'

const REGISTRY_FOLD_INTERVAL_MS = 60_000

const answers = (summary: typeof NationalSummary | typeof ProvinceSummary) => ({
  200: jsonOrCsv(ref(summary), 'The summary', 'The same figures as CSV: a header row of `section.field` names, one row per province (and, nationally, a last row for the whole country with an empty province code). UTF-8 with a byte-order mark.'),
  ...problemResponses([404]),
})

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
        'JSON by default; CSV with `Accept: text/csv` or `format=csv`.',
      querystring: SummaryQuery,
      response: answers(NationalSummary),
    },
  }, async (request, reply) => {
    const summary = await compute(undefined, request.query.periodId)
    if (!wantsCsv(request, request.query.format)) return summary
    return sendCsv(reply, `national-summary-${summary.generatedAt.slice(0, 10)}`,
      summaryCsv([...summary.provinces, { province: '', name: 'Toàn quốc', ...summary.total }]))
  })

  app.get('/v2/summaries/provinces/:code', {
    config: { problems: notFoundExample('active province 02'), policy: 'province-or-central' },
    schema: {
      tags: ['summaries'],
      operationId: 'getProvinceSummary',
      summary: 'One province\'s summary',
      description: 'The figures of the national summary for one province. JSON by default; CSV with `Accept: text/csv` or `format=csv`.',
      params: ProvinceParams,
      querystring: SummaryQuery,
      response: answers(ProvinceSummary),
    },
  }, async (request, reply) => {
    const { code } = request.params
    const { provinces, ...header } = await compute(code, request.query.periodId)
    const province = provinces[0]
    if (!province) throw notFound(`active province ${code}`)
    if (!wantsCsv(request, request.query.format)) return { generatedAt: header.generatedAt, staleAfterSeconds: header.staleAfterSeconds, period: header.period, province }
    return sendCsv(reply, `summary-${code}-${header.generatedAt.slice(0, 10)}`, summaryCsv([province]))
  })
}
