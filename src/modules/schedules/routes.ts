import { DEFAULT_PAGE_LIMIT, ProvinceParams, ref } from '../../../schemas/common.js'
import {
  BroadcastScheduleBatch, BroadcastScheduleBatchResult, DEFAULT_SCHEDULE_PAGE, BroadcastScheduleCrossCheck, BroadcastSchedulePage, BroadcastScheduleQuery,
  CrossCheckQuery, MATCHING_RULE, MAX_CROSS_CHECK_DAYS, MAX_SCHEDULE_BATCH, MAX_SCHEDULE_ERRORS, MAX_SLOTS_PER_DAY, SCHEDULE_DAYS_AHEAD, SCHEDULE_DAYS_BACK,
} from '../../../schemas/schedules.js'
import type { App } from '../../app-type.js'
import { KeyedSerializer } from '../../http/concurrency.js'
import { decodeCursor, toPage } from '../../http/pagination.js'
import { HttpProblem } from '../../http/problem.js'
import { problemResponses } from '../../http/responses.js'
import type { RouteProblems } from '../../http/problem-examples.js'
import { ContentStore } from '../content/store.js'
import { dateDay, dayDate } from '../status/periods.js'
import { crossCheckDays, ScheduleService } from './service.js'
import { mismatchKey, ScheduleStore } from './store.js'

const DATE = /^20[0-9]{2}-[0-9]{2}-[0-9]{2}$/
const INSTANT = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$/

/** A cursor's key is cast in SQL: one this service did not issue is refused before it gets there. */
function checked<K>(key: K | undefined, valid: (key: K) => boolean): K | undefined {
  if (key !== undefined && !valid(key)) throw new HttpProblem('invalid-cursor', 'the cursor is malformed; start again without one')
  return key
}

const EARLIEST_CHECK = Date.UTC(2000, 0, 1)
const isInstant = (text: string) => INSTANT.test(text) && new Date(text).toISOString() === text


const pushProblems: RouteProblems = {
  422: [{
    code: 'rule-violated', detail: 'nothing was written: /schedules/0/stationId: province 79 has no station dai-26740-02',
    errors: [{ in: 'body', pointer: '/schedules/0/stationId', message: 'province 79 has no station dai-26740-02' }],
  }],
}
const crossCheckProblems: RouteProblems = { 422: [{ code: 'rule-violated', detail: 'to (2026-11-01) comes before from (2026-11-30)' }] }

export async function schedulesRoutes(app: App) {
  const { db } = app.deps.database
  const store = new ScheduleStore(db)
  const service = new ScheduleService(store, new ContentStore(db))
  const oneAtATime = new KeyedSerializer()

  app.put('/v2/provinces/:code/broadcast-schedules', {
    config: { problems: pushProblems, policy: 'province' },
    schema: {
      tags: ['broadcasts'],
      operationId: 'pushBroadcastSchedules',
      summary: 'Push broadcast schedules',
      description: `Up to ${MAX_SCHEDULE_BATCH} station-days of planned slots (lịch phát sóng), each replacing that station's schedule for that Vietnam day. ` +
        `A batch is applied whole or not at all: every station-day and slot that cannot be taken is named by JSON pointer, the first ${MAX_SCHEDULE_ERRORS} of them (422 \`rule-violated\`): ` +
        `a day outside ${SCHEDULE_DAYS_BACK} days before today to ${SCHEDULE_DAYS_AHEAD} days after it, a station-day twice, a station the province does not have, ` +
        'a slot naming no content, a content item not sent to the province (nor shared by it), a slot outside its day (a programme across midnight is a slot in each day), ' +
        `a slot overlapping another of the day; at most ${MAX_SLOTS_PER_DAY} slots a day. ` +
        'A station-day whose slots differ from the stored ones gets a new version; one sent with the same slots (in any order or notation) is `unchanged` and nothing is written, so a batch can be re-sent safely.',
      params: ProvinceParams,
      body: ref(BroadcastScheduleBatch),
      response: { 200: ref(BroadcastScheduleBatchResult) },
    },
  }, async (request) => oneAtATime.run(`broadcast-schedules/${request.params.code}`, () => db.transaction().execute(async (trx) => {
    const items = await service.push(trx, request.params.code, request.body.schedules, request.receivedAt)
    const changed = items.filter((item) => item.result !== 'unchanged')
    const receipt = await app.receipts.issue(request, {
      status: 200, records: changed.map((item) => ({ entity: 'broadcast-schedule', id: `${item.stationId}/${item.date}`, version: item.version, result: item.result })),
    }, trx)
    const count = (result: (typeof items)[number]['result']) => items.filter((item) => item.result === result).length
    return { created: count('created'), updated: count('updated'), unchanged: count('unchanged'), items, receipt }
  })))

  app.get('/v2/provinces/:code/broadcast-schedules', {
    config: { policy: 'province-or-central' },
    schema: {
      tags: ['broadcasts'],
      operationId: 'listBroadcastSchedules',
      summary: 'List broadcast schedules',
      description: 'The latest version of each station-day\'s schedule of a province (lịch phát sóng), latest day first, then by station; by day and station. ' +
        'A province reads its own; central reads any.',
      params: ProvinceParams,
      querystring: BroadcastScheduleQuery,
      response: { 200: ref(BroadcastSchedulePage) },
    },
  }, async (request) => {
    const { cursor, limit = DEFAULT_SCHEDULE_PAGE, date, station } = request.query
    const after = checked(decodeCursor(cursor, ['string', 'string'] as const), ([day]) => DATE.test(day) && dayDate(dateDay(day)) === day)
    const rows = await store.list({ province: request.params.code, date, station, limit, after })
    return toPage(rows, limit, (schedule) => [schedule.date, schedule.stationId], (schedule) => schedule)
  })

  app.get('/v2/provinces/:code/broadcast-schedules/cross-check', {
    config: { problems: crossCheckProblems, policy: 'province-or-central' },
    schema: {
      tags: ['broadcasts'],
      operationId: 'crossCheckBroadcastSchedules',
      summary: 'Cross-check schedules with broadcast logs',
      description: `Compares the schedules of up to ${MAX_CROSS_CHECK_DAYS} Vietnam days (\`from\` to \`to\`, both included) with the broadcast logs of those days ` +
        '(đối soát lịch phát với nhật ký phát thanh): counts for the province and each station, and the mismatches a page at a time. ' +
        `${MATCHING_RULE} The figures are those of the logs received so far. A range the wrong way round or too long is 422 \`rule-violated\`.`,
      params: ProvinceParams,
      querystring: CrossCheckQuery,
      response: { 200: ref(BroadcastScheduleCrossCheck), ...problemResponses([422]) },
    },
  }, async (request) => {
    const { code } = request.params
    const { from, to, cursor, limit = DEFAULT_PAGE_LIMIT } = request.query
    const days = crossCheckDays(from, to)
    // The page's place and the time of the check it belongs to: every page of a cross-check counts upcoming slots at the same time.
    const position = checked(decodeCursor(cursor, ['number', 'string', 'string', 'number'] as const),
      ([at, start]) => at >= EARLIEST_CHECK && at <= request.receivedAt.getTime() && isInstant(start))
    const checkedAt = new Date(position?.[0] ?? request.receivedAt.getTime())
    const result = await store.crossCheck({ province: code, ...days, checkedAt, limit, after: position && [position[1], position[2], position[3]] })
    const page = toPage(result.mismatches, limit, (mismatch) => [checkedAt.getTime(), ...mismatchKey(mismatch)], (mismatch) => mismatch)
    return { province: code, from, to, checkedAt: checkedAt.toISOString(), counts: result.counts, stations: result.stations, mismatches: page.items, nextCursor: page.nextCursor }
  })
}
