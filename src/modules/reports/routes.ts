import type { FastifyRequest } from 'fastify'
import { Type, type Static, type TSchema } from 'typebox'
import { ProvinceCode, Strict, ref } from '../../../schemas/common.js'
import {
  Appendix02Draft, Appendix02Form, Appendix03Draft, Appendix03Form, DeadlineExtensionRequest, FormId, FormSubmissions, PeriodStatus, ReportPeriodCorrection, ReportPeriodId, ReportPeriodList,
  ReportPeriodRequest, ReportPeriodWriteResult, ReviewRequest,
} from '../../../schemas/reports.js'
import type { App } from '../../app-type.js'
import type { Db } from '../../db/database.js'
import { KeyedSerializer } from '../../http/concurrency.js'
import { HttpProblem, notFound } from '../../http/problem.js'
import { problemResponses } from '../../http/responses.js'
import { crossCheckIndicators } from './cross-check.js'
import { appendix02Totals, appendix03Totals, appendixProblems, crossCheckAppendix02, crossCheckAppendix03 } from './appendices.js'
import { CustomFormValidators, builtInForms, extraPeriodFormsProblem, feedbackProblems } from './forms.js'
import { deadlineFor, extensionProblem, vietnamYear } from './periods.js'
import { reportStatus } from './status.js'
import { ReportsStore, type Period } from './store.js'
import { notFoundExample, routeProblems, type RouteProblems } from '../../http/problem-examples.js'

const PeriodParams = Strict({ code: ProvinceCode(), periodId: ReportPeriodId })
const CustomFormParams = Strict({ code: ProvinceCode(), periodId: ReportPeriodId, form: FormId })
const VersionParams = Strict({ code: ProvinceCode(), periodId: ReportPeriodId, version: Type.Integer({ format: 'int32', minimum: 1, maximum: 1_000_000 }) })
const pascal = (name: string) => name.replace(/(^|-)(\w)/g, (_m, _d, c: string) => c.toUpperCase())


/** A period that does not exist, or does not take the form asked for. */
const periodProblems = routeProblems(notFoundExample('report period 2025-H3'), {
  422: [{ code: 'rule-violated', detail: 'period 2026-H1 takes indicators, feedback, not appendix-02' }],
})
/** What a submission's own rules refuse beyond its schema (a form's checks, a custom form the period does not define). */
const submissionProblems: RouteProblems = {
  422: [{
    code: 'rule-violated', detail: 'nothing was stored: /lines/0/communeCode: commune 01001 is not a commune of the province',
    errors: [{ in: 'body', pointer: '/lines/0/communeCode', message: 'commune 01001 is not a commune of the province' }],
  }],
}
/** A decision on a version that is not the latest, or a return without a reason. */
const reviewProblems = routeProblems(notFoundExample('version 4 of indicators for 2026-H1 of province 79'), {
  409: [{ code: 'conflict', detail: 'version 2 is not the latest (3); decide on the latest' }],
  422: [{ code: 'rule-violated', detail: 'a returned report needs a comment saying why' }],
}, periodProblems)

export async function reportsRoutes(app: App) {
  const oneAtATime = new KeyedSerializer()
  const { db } = app.deps.database
  const store = new ReportsStore(db)

  const customForms = new CustomFormValidators()

  const periodOrFail = async (id: string, form?: string) => {
    const period = await store.period(id)
    if (!period) throw notFound(`report period ${id}`)
    if (form && !period.forms.includes(form)) throw new HttpProblem('rule-violated', `period ${id} takes ${period.forms.join(', ')}, not ${form}`)
    return period
  }

  /** A change to a period with its receipt, in one transaction, answered with the period as it now stands. */
  const changePeriod = (request: FastifyRequest, periodId: string, status: number, record: Record<string, unknown>, change: (trx: Db) => Promise<unknown>) =>
    db.transaction().execute(async (trx) => {
      await change(trx)
      const receipt = await app.receipts.issue(request, { status, records: [record] }, trx)
      return { period: (await store.period(periodId, trx))!, receipt }
    })

  app.get('/v2/report-periods', {
    config: { policy: 'system' },
    schema: {
      tags: ['reports'],
      operationId: 'listReportPeriods',
      summary: 'Report periods of a year',
      description: 'The yearly calendar (six-month data as of 30/5 due 15/6; full-year data as of 30/11 due 15/12; appendices 02 and 03 due 15/11) ' +
        'and any extra period central opened. Deadlines are the end of the due date in Vietnam time (UTC+7).',
      querystring: Strict({ year: Type.Optional(Type.Integer({ format: 'int32', minimum: 2020, maximum: 2100, description: 'The year; this year in Vietnam time when omitted.' })) }),
      response: { 200: ref(ReportPeriodList) },
    },
  }, async (request) => {
    const year = request.query.year ?? vietnamYear(new Date())
    await store.ensureYear(year)
    return { items: await store.periods(year) }
  })

  app.post('/v2/report-periods', {
    config: {
      problems: {
        409: [{ code: 'conflict', detail: 'period 2026-X1 exists' }],
        422: [{ code: 'rule-violated', detail: 'form damage-survey is neither built in nor in customForms' }],
      },
      policy: 'central',
    },
    schema: {
      tags: ['reports'],
      operationId: 'openReportPeriod',
      summary: 'Open an extra report period',
      description: 'An extra period (kỳ báo cáo bổ sung) with built-in forms and forms central defines as JSON Schemas in `customForms`; ' +
        'provinces submit a custom form at `PUT /v2/provinces/{code}/reports/{periodId}/forms/{form}`, checked against its schema like the built-in ones.',
      body: ref(ReportPeriodRequest),
      response: { 201: ref(ReportPeriodWriteResult), ...problemResponses([409, 422]) },
    },
  }, async (request, reply) => {
    const body = request.body
    const custom = body.customForms ?? []
    const problem = extraPeriodFormsProblem(body.forms, custom)
    if (problem) throw new HttpProblem('rule-violated', problem)
    const period = { id: body.id, kind: 'extra' as const, year: Number(body.dueOn.slice(0, 4)), title: body.title, asOf: body.asOf ?? null, dueOn: body.dueOn, forms: body.forms, customForms: custom }
    const result = await changePeriod(request, body.id, 201, { entity: 'report-period', id: body.id }, async (trx) => {
      if (!await store.openPeriod(period, trx)) throw new HttpProblem('conflict', `period ${body.id} exists`)
    })
    return reply.code(201).send(result)
  })

  app.patch('/v2/report-periods/:periodId', {
    config: { problems: notFoundExample('report period 2025-H3'), policy: 'central' },
    schema: {
      tags: ['reports'],
      operationId: 'correctReportPeriod',
      summary: 'Correct a report period',
      description: 'Changes the title, as-of date or due date of a period, with a reason that is recorded and shown. Every submission already made is ' +
        'judged again against the deadline it now has (a province\'s own extension still applies).',
      params: Strict({ periodId: ReportPeriodId }),
      body: ref(ReportPeriodCorrection),
      response: { 200: ref(ReportPeriodWriteResult), ...problemResponses([404]) },
    },
  }, async (request) => {
    const { periodId } = request.params
    await periodOrFail(periodId)
    return changePeriod(request, periodId, 200, { entity: 'report-period', id: periodId, corrected: request.body },
      (trx) => store.correctPeriod(trx, periodId, request.body))
  })

  app.post('/v2/report-periods/:periodId/extensions', {
    config: {
      problems: routeProblems(notFoundExample('report period 2025-H3'), { 422: [{ code: 'rule-violated', detail: 'an extension is later than the period\'s due date 2026-06-15' }] }),
      policy: 'central',
    },
    schema: {
      tags: ['reports'],
      operationId: 'extendReportDeadline',
      summary: 'Give one province more time',
      description: 'A later due date for one province (gia hạn), with its reason; granting again replaces it. The province\'s submissions are judged ' +
        'against it, those already made included. Recorded in the audit log with its receipt.',
      params: Strict({ periodId: ReportPeriodId }),
      body: ref(DeadlineExtensionRequest),
      response: { 200: ref(ReportPeriodWriteResult), ...problemResponses([404, 422]) },
    },
  }, async (request) => {
    const { periodId } = request.params
    const { province, dueOn, reason } = request.body
    const period = await periodOrFail(periodId)
    const problem = extensionProblem(period, province, dueOn, await store.activeProvinces())
    if (problem) throw new HttpProblem('rule-violated', problem)
    return changePeriod(request, periodId, 200, { entity: 'report-deadline-extension', id: `${periodId}/${province}`, dueOn, reason },
      (trx) => store.extendDeadline(trx, { periodId, province, dueOn, reason, grantedBy: request.caller!.systemId }))
  })

  app.get('/v2/report-periods/:periodId/status', {
    config: { problems: notFoundExample('report period 2025-H3'), policy: 'central' },
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

  /** Stores a new version of a form, judged against the province's deadline, with its receipt and the officials who acted. */
  /** A form's own rules, its cross-checks against the service's records, and what is derived from it. */
  const examine = async (code: string, period: Period, form: string, data: Record<string, unknown>) => {
    const refuse = (problems: { pointer: string, message: string }[]) => {
      const errors = problems.map((p) => ({ in: 'body' as const, ...p }))
      if (errors.length > 0) throw new HttpProblem('rule-violated', `nothing was stored: ${errors.slice(0, 3).map((e) => `${e.pointer}: ${e.message}`).join('; ')}`, { errors })
    }
    switch (form) {
      case 'indicators':
        return { warnings: crossCheckIndicators(data as never, await store.observed(code, period)), derived: null }
      case 'feedback':
        refuse(feedbackProblems(data as never, await store.communesOf(code)))
        return { warnings: [], derived: null }
      case 'appendix-02': {
        const appendix = data as Static<typeof Appendix02Form>
        refuse(appendixProblems(form, appendix.lines, await store.communesOf(code)))
        return { warnings: crossCheckAppendix02(appendix, await store.appendix02Lines(code)), derived: appendix02Totals(appendix) }
      }
      case 'appendix-03': {
        const appendix = data as Static<typeof Appendix03Form>
        refuse(appendixProblems(form, appendix.lines, await store.communesOf(code)))
        return { warnings: crossCheckAppendix03(appendix, await store.appendix03Lines(code)), derived: appendix03Totals(appendix) }
      }
      default:
        return { warnings: [], derived: null }
    }
  }

  /** Stores a new version of a form, judged against the province's deadline, with its receipt and the officials who acted. */
  const submit = async (request: FastifyRequest, code: string, period: Period, form: string, data: Record<string, unknown>) => {
    const { warnings, derived } = await examine(code, period, form, data)
    // Versions of one form are numbered one submission at a time; the next waits here, not holding a connection.
    return oneAtATime.run(`${code}/${period.id}/${form}`, () => db.transaction().execute(async (trx) => {
      const onTime = request.receivedAt < deadlineFor(period, code)
      const receipt = await app.receipts.issue(request, {
        status: 201, records: [{ entity: 'report', province: code, periodId: period.id, form, onTime }],
      }, trx)
      const submission = await store.submit(trx, {
        province: code, periodId: period.id, form, submittedAt: request.receivedAt.toISOString(), onTime, receiptId: receipt.id, warnings, derived, data,
      }, request.caller!.actor)
      return { submission, receipt }
    }))
  }

  const review = async (request: FastifyRequest, key: { code: string, periodId: string, form: string, version: number }, decision: { decision: 'accept' | 'return', comment?: string | undefined }) => {
    if (decision.decision === 'return' && !decision.comment) throw new HttpProblem('rule-violated', 'a returned report needs a comment saying why')
    await periodOrFail(key.periodId, key.form)
    return db.transaction().execute(async (trx) => {
      const reviewed = await store.review(trx, { province: key.code, periodId: key.periodId, form: key.form, version: key.version }, {
        state: decision.decision === 'accept' ? 'accepted' : 'returned', comment: decision.comment ?? null, reviewer: request.caller!.systemId, person: request.caller!.actor,
      })
      if (!reviewed) {
        const versions = await store.versions(key.code, key.periodId, key.form, trx)
        if (!versions.some((v) => v.version === key.version)) throw notFound(`version ${key.version} of ${key.form} for ${key.periodId} of province ${key.code}`)
        throw new HttpProblem('conflict', `version ${key.version} is not the latest (${versions[0]!.version}); decide on the latest`)
      }
      const receipt = await app.receipts.issue(request, { status: 200, records: [{ entity: 'report', province: key.code, periodId: key.periodId, form: key.form, version: key.version, state: reviewed.state }] }, trx)
      return { submission: reviewed, receipt }
    })
  }

  const history = async (code: string, periodId: string, form: string) => {
    await periodOrFail(periodId, form)
    const versions = await store.versions(code, periodId, form)
    return { latest: versions[0] ?? null, versions }
  }

  const submitDescription = (title: string) => `Submits ${title} for a period. Each submission is a new version and the latest counts. ` +
    'The time the service received it decides whether it is on time (against the province\'s extension when central granted one); a late one is accepted and marked late. ' +
    'Figures that differ from the registry come back as warnings, not errors. The `act` claim of the call token names the official who approved it and, nested, who drafted it.'

  for (const form of builtInForms) {
    const path = `/v2/provinces/:code/reports/:periodId/${form.name}`
    // The handlers share the store's view of a version (its data any form's); the contract and the serializer use this form's own schemas.
    const answers: Record<'SubmitResult' | 'History' | 'ReviewResult', TSchema> = FormSubmissions[form.name]

    app.put(path, {
      config: { problems: routeProblems(periodProblems, submissionProblems), policy: 'province' },
      schema: {
        tags: ['reports'],
        operationId: `submit${pascal(form.name)}`,
        summary: `Submit ${form.name}`,
        description: submitDescription(form.title),
        params: PeriodParams,
        body: ref(form.schema),
        response: { 201: ref(answers.SubmitResult), ...problemResponses([404, 422]) },
      },
    }, async (request, reply) => {
      const period = await periodOrFail(request.params.periodId, form.name)
      return reply.code(201).send(await submit(request, request.params.code, period, form.name, request.body as Record<string, unknown>))
    })

    app.get(path, {
      config: { problems: periodProblems, policy: 'province-or-central' },
      schema: {
        tags: ['reports'],
        operationId: `get${pascal(form.name)}History`,
        summary: `Versions of ${form.name}`,
        description: 'Every version submitted, newest first, with central\'s decision on each; 422 when the period does not take this form.',
        params: PeriodParams,
        response: { 200: ref(answers.History), ...problemResponses([404, 422]) },
      },
    }, async (request) => history(request.params.code, request.params.periodId, form.name))

    app.post(`${path}/versions/:version/review`, {
      config: { problems: reviewProblems, policy: 'central' },
      schema: {
        tags: ['reports'],
        operationId: `review${pascal(form.name)}`,
        summary: `Accept or return a version of ${form.name}`,
        description: 'Only the latest version can be decided on; returning needs a comment, which the province sees.',
        params: VersionParams,
        body: ref(ReviewRequest),
        response: { 200: ref(answers.ReviewResult), ...problemResponses([404, 409, 422]) },
      },
    }, async (request) => review(request, { ...request.params, form: form.name }, request.body))
  }

  for (const form of ['appendix-02', 'appendix-03'] as const) {
    app.get(`/v2/provinces/:code/reports/:periodId/${form}/draft`, {
      config: { problems: periodProblems, policy: 'province-or-central' },
      schema: {
        tags: ['reports'],
        operationId: `draft${pascal(form)}`,
        summary: `A draft of ${form} built from the registry`,
        description: 'The form as the province\'s registry fills it (a line per commune and station, or commune and funding source, from the stations and clusters in ' +
          'service, their programmes and funding sources), with the totals it gives: the province corrects what the registry does not know (the money spent, for one) and submits it.',
        params: PeriodParams,
        response: { 200: ref(form === 'appendix-02' ? Appendix02Draft : Appendix03Draft), ...problemResponses([404, 422]) },
      },
    }, async (request) => {
      const { code, periodId } = request.params
      await periodOrFail(periodId, form)
      if (form === 'appendix-02') {
        const draft = { lines: await store.appendix02Lines(code) }
        return { form: draft, derived: appendix02Totals(draft) }
      }
      const draft = { lines: await store.appendix03Lines(code) }
      return { form: draft, derived: appendix03Totals(draft) }
    })
  }

  const customPath = '/v2/provinces/:code/reports/:periodId/forms/:form'
  const customFormOf = (period: Period, name: string) => {
    const form = period.customForms.find((f) => f.name === name)
    if (!form) throw new HttpProblem('rule-violated', `period ${period.id} defines no custom form ${name}`)
    return form
  }

  app.put(customPath, {
    config: { problems: routeProblems(periodProblems, submissionProblems), policy: 'province' },
    schema: {
      tags: ['reports'],
      operationId: 'submitCustomForm',
      summary: 'Submit a form central defined for an extra period',
      description: submitDescription('a form central defined for the period') + ' The body must satisfy the form\'s schema, listed with the period.',
      params: CustomFormParams,
      body: Type.Record(Type.String(), Type.Unknown(), {
        description: 'The form, as its schema in the period\'s `customForms` describes it.', 'x-ttn-checked-against': 'the schema of the form in the period\'s customForms',
        examples: [{ clustersDamaged: 37, notes: 'Cụm loa ở các xã ven biển bị đổ do gió giật cấp 12' }],
      }),
      response: { 201: ref(FormSubmissions.custom.SubmitResult), ...problemResponses([404, 422]) },
    },
  }, async (request, reply) => {
    const { code, periodId, form } = request.params
    const period = await periodOrFail(periodId, form)
    customForms.check(periodId, customFormOf(period, form), request.body)
    return reply.code(201).send(await submit(request, code, period, form, request.body))
  })

  app.get(customPath, {
    config: { problems: periodProblems, policy: 'province-or-central' },
    schema: {
      tags: ['reports'],
      operationId: 'getCustomFormHistory',
      summary: 'Versions of a custom form',
      params: CustomFormParams,
      response: { 200: ref(FormSubmissions.custom.History), ...problemResponses([404, 422]) },
    },
  }, async (request) => history(request.params.code, request.params.periodId, request.params.form))

  app.post(`${customPath}/versions/:version/review`, {
    config: { problems: reviewProblems, policy: 'central' },
    schema: {
      tags: ['reports'],
      operationId: 'reviewCustomForm',
      summary: 'Accept or return a version of a custom form',
      params: Strict({ ...CustomFormParams.properties, version: VersionParams.properties.version }),
      body: ref(ReviewRequest),
      response: { 200: ref(FormSubmissions.custom.ReviewResult), ...problemResponses([404, 409, 422]) },
    },
  }, async (request) => review(request, request.params, request.body))
}
