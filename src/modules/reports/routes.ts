import { Type, type TSchema } from 'typebox'
import { ProvinceCode, Strict, ref } from '../../../schemas/common.js'
import {
  Appendix02Form, Appendix03Form, IndicatorsForm, PeriodStatus, ReportHistory, ReportPeriod, ReportPeriodId, ReportPeriodList,
  ReportPeriodRequest, ReportSubmitResult, ReviewRequest, ReportSubmission, type ReportFormName,
} from '../../../schemas/reports.js'
import type { App } from '../../app.js'
import { KeyedSerializer } from '../../http/concurrency.js'
import { HttpProblem, notFound } from '../../http/problem.js'
import { problemResponses } from '../../http/responses.js'
import { crossCheckIndicators } from './cross-check.js'
import { deadlineOf, vietnamYear } from './periods.js'
import { reportStatus } from './status.js'
import { ReportsStore } from './store.js'

const forms: { name: ReportFormName, schema: TSchema, title: string }[] = [
  { name: 'indicators', schema: IndicatorsForm, title: 'the grassroots-information indicators (số liệu thông tin cơ sở)' },
  { name: 'appendix-02', schema: Appendix02Form, title: 'Phụ lục 02 (results of setting up and extending IT–telecom radio)' },
  { name: 'appendix-03', schema: Appendix03Form, title: 'Phụ lục 03 (the same by funding programme)' },
]

const PeriodParams = Strict({ code: ProvinceCode(), periodId: ReportPeriodId })
const VersionParams = Strict({ code: ProvinceCode(), periodId: ReportPeriodId, version: Type.Integer({ minimum: 1, maximum: 1_000_000 }) })

export async function reportsRoutes(app: App) {
  const oneAtATime = new KeyedSerializer()
  const { db } = app.deps.database
  const store = new ReportsStore(db)

  const periodOrFail = async (id: string, form?: ReportFormName) => {
    const period = await store.period(id)
    if (!period) throw notFound(`report period ${id}`)
    if (form && !period.forms.includes(form)) throw new HttpProblem('rule-violated', `period ${id} takes ${period.forms.join(', ')}, not ${form}`)
    return period
  }

  app.get('/v2/report-periods', {
    config: { policy: 'system' },
    schema: {
      tags: ['reports'],
      operationId: 'listReportPeriods',
      summary: 'Report periods of a year',
      description: 'The yearly calendar (six-month data as of 30/5 due 15/6; full-year data as of 30/11 due 15/12; appendices 02 and 03 due 15/11) ' +
        'and any extra period central opened. Deadlines are the end of the due date in Vietnam time (UTC+7).',
      querystring: Strict({ year: Type.Optional(Type.Integer({ minimum: 2020, maximum: 2100, description: 'The year; this year in Vietnam time when omitted.' })) }),
      response: { 200: ref(ReportPeriodList) },
    },
  }, async (request) => {
    const year = request.query.year ?? vietnamYear(new Date())
    await store.ensureYear(year)
    return { items: await store.periods(year) }
  })

  app.post('/v2/report-periods', {
    config: { policy: 'central' },
    schema: {
      tags: ['reports'],
      operationId: 'openReportPeriod',
      summary: 'Open an extra report period',
      body: ref(ReportPeriodRequest),
      response: { 201: ref(ReportPeriod), ...problemResponses([409]) },
    },
  }, async (request, reply) => {
    const body = request.body
    const period = { id: body.id, kind: 'extra' as const, year: Number(body.dueOn.slice(0, 4)), title: body.title, asOf: body.asOf ?? null, dueOn: body.dueOn, forms: body.forms }
    const opened = await db.transaction().execute(async (trx) => {
      if (!await store.openPeriod(period, trx)) throw new HttpProblem('conflict', `period ${body.id} exists`)
      await app.receipts.issue(request, { status: 201, records: [{ entity: 'report-period', id: body.id }] }, trx)
      return (await store.period(body.id, trx))!
    })
    return reply.code(201).send(opened)
  })

  app.get('/v2/report-periods/:periodId/status', {
    config: { policy: 'central' },
    schema: {
      tags: ['reports'],
      operationId: 'getReportPeriodStatus',
      summary: 'Every province\'s report state for a period',
      params: Strict({ periodId: ReportPeriodId }),
      response: { 200: ref(PeriodStatus), ...problemResponses([404]) },
    },
  }, async (request) => {
    const period = await periodOrFail(request.params.periodId)
    return { period, provinces: await reportStatus(store, period) }
  })

  for (const form of forms) {
    const path = `/v2/provinces/:code/reports/:periodId/${form.name}`

    app.put(path, {
      config: { policy: 'province' },
      schema: {
        tags: ['reports'],
        operationId: `submit${form.name.replace(/(^|-)(\w)/g, (_m, _d, c: string) => c.toUpperCase())}`,
        summary: `Submit ${form.name}`,
        description: `Submits ${form.title} for a period. Each submission is a new version and the latest counts. ` +
          'The time the service received it decides whether it is on time; a late one is accepted and marked late. ' +
          'Figures that differ from the registry come back as warnings, not errors.',
        params: PeriodParams,
        body: ref(form.schema),
        response: { 201: ref(ReportSubmitResult), ...problemResponses([404, 422]) },
      },
    }, async (request, reply) => {
      const { code, periodId } = request.params
      const period = await periodOrFail(periodId, form.name)
      const warnings = form.name === 'indicators' ? crossCheckIndicators(request.body as never, await store.observed(code, period)) : []
      // Versions of one form are numbered one submission at a time; the next waits here, not holding a connection.
      const result = await oneAtATime.run(`${code}/${periodId}/${form.name}`, () => db.transaction().execute(async (trx) => {
        const onTime = request.receivedAt < deadlineOf(period.dueOn)
        const receipt = await app.receipts.issue(request, {
          status: 201, records: [{ entity: 'report', province: code, periodId, form: form.name, onTime }],
        }, trx)
        const submission = await store.submit(trx, {
          province: code, periodId, form: form.name, submittedAt: request.receivedAt.toISOString(), onTime,
          receiptId: receipt.id, warnings, data: request.body as Record<string, unknown>,
        })
        return { submission, receipt }
      }))
      return reply.code(201).send(result)
    })

    app.get(path, {
      config: { policy: 'province-or-central' },
      schema: {
        tags: ['reports'],
        operationId: `get${form.name.replace(/(^|-)(\w)/g, (_m, _d, c: string) => c.toUpperCase())}History`,
        summary: `Versions of ${form.name}`,
        description: 'Every version submitted, newest first, with central\'s decision on each; 422 when the period does not take this form.',
        params: PeriodParams,
        response: { 200: ref(ReportHistory), ...problemResponses([404, 422]) },
      },
    }, async (request) => {
      const { code, periodId } = request.params
      await periodOrFail(periodId, form.name)
      const versions = await store.versions(code, periodId, form.name)
      return { latest: versions[0] ?? null, versions }
    })

    app.post(`${path}/versions/:version/review`, {
      config: { policy: 'central' },
      schema: {
        tags: ['reports'],
        operationId: `review${form.name.replace(/(^|-)(\w)/g, (_m, _d, c: string) => c.toUpperCase())}`,
        summary: `Accept or return a version of ${form.name}`,
        description: 'Only the latest version can be decided on; returning needs a comment, which the province sees.',
        params: VersionParams,
        body: ref(ReviewRequest),
        response: { 200: ref(ReportSubmission), ...problemResponses([404, 409, 422]) },
      },
    }, async (request) => {
      const { code, periodId, version } = request.params
      const { decision, comment } = request.body
      if (decision === 'return' && !comment) throw new HttpProblem('rule-violated', 'a returned report needs a comment saying why')
      await periodOrFail(periodId, form.name)
      return db.transaction().execute(async (trx) => {
        const reviewed = await store.review(trx, { province: code, periodId, form: form.name, version }, {
          state: decision === 'accept' ? 'accepted' : 'returned', comment: comment ?? null, reviewer: request.caller!.systemId,
        })
        if (!reviewed) {
          const versions = await store.versions(code, periodId, form.name, trx)
          if (!versions.some((v) => v.version === version)) throw notFound(`version ${version} of ${form.name} for ${periodId} of province ${code}`)
          throw new HttpProblem('conflict', `version ${version} is not the latest (${versions[0]!.version}); decide on the latest`)
        }
        await app.receipts.issue(request, { status: 200, records: [{ entity: 'report', province: code, periodId, form: form.name, version, state: reviewed.state }] }, trx)
        return reviewed
      })
    })
  }
}
