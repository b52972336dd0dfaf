import { ProvinceParams, ref } from '../../../schemas/common.js'
import { TrendQuery, Trends } from '../../../schemas/trends.js'
import type { App } from '../../app-type.js'
import { dailyAvailability, figuresOf, windowOf } from '../availability/figures.js'
import { AvailabilityStore } from '../availability/store.js'
import { dayDate, vietnamDay } from '../status/periods.js'
import { TrendsStore } from './store.js'

export async function trendsRoutes(app: App) {
  const { config, database, readDatabase } = app.deps
  const db = (readDatabase ?? database).db
  const availability = new AvailabilityStore(db)
  const activity = new TrendsStore(db)
  const staleAfterMs = config.STALE_AFTER_SECONDS * 1000

  /** The last `days` days up to today (Vietnam time), every day present, oldest first. */
  const series = async (province: string | undefined, days: number, now: Date) => {
    const today = vietnamDay(now.getTime())
    const window = windowOf(dayDate(today - days + 1), dayDate(today))
    const [up, counts] = await Promise.all([
      dailyAvailability(availability, window, now.getTime(), staleAfterMs, province),
      activity.activity(window.from, window.to, province),
    ])
    return {
      province: province ?? null,
      generatedAt: now.toISOString(),
      days: Array.from({ length: days }, (_, i) => {
        const day = dayDate(today - days + 1 + i)
        const sums = up.get(day)
        const count = counts.get(day)
        return {
          day,
          upShare: sums ? figuresOf(sums).upShare : null,
          airtimeHours: Number(((count?.airtimeSeconds ?? 0) / 3600).toFixed(2)),
          contentPlays: count?.contentPlays ?? 0,
          reportsSubmitted: count?.reportsSubmitted ?? 0,
        }
      }),
    }
  }

  const description = 'Daily series over the last `days` days (90 by default), today included and counted up to now: the share of the devices\' ' +
    'accounted time spent online, playing or idle, airtime and plays of essential content from broadcast logs, and report form versions ' +
    'submitted. Every day is present, oldest first; the figures come from counts kept per day as data arrives.'

  app.get('/v2/provinces/:code/trends', {
    config: { policy: 'province-or-central' },
    schema: {
      tags: ['summaries'], operationId: 'getProvinceTrends', summary: 'Daily trends of one province', description,
      params: ProvinceParams, querystring: TrendQuery, response: { 200: ref(Trends) },
    },
  }, async (request) => series(request.params.code, request.query.days ?? 90, request.receivedAt))

  app.get('/v2/trends', {
    config: { policy: 'central' },
    schema: {
      tags: ['summaries'], operationId: 'getNationalTrends', summary: 'Daily trends of the nation', description,
      querystring: TrendQuery, response: { 200: ref(Trends) },
    },
  }, async (request) => series(undefined, request.query.days ?? 90, request.receivedAt))
}
