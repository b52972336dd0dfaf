import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Problem } from '../../schemas/common.js'
import { HttpProblem } from './problem.js'

type FieldErrors = NonNullable<Problem['errors']>
const PART = { body: 'body', querystring: 'query', params: 'path', headers: 'header' } as const

interface AjvError {
  instancePath: string
  keyword: string
  message?: string
  params: Record<string, unknown>
}

/** Turns Ajv's errors into one entry per failing field, each with a JSON pointer. */
export function fieldErrors(context: string | undefined, validation: AjvError[]): FieldErrors {
  const where = PART[context as keyof typeof PART] ?? 'body'
  const seen = new Set<string>()
  const errors: FieldErrors = []
  for (const error of validation) {
    let pointer = error.instancePath
    let message = error.message ?? error.keyword
    if (error.keyword === 'required') {
      pointer += '/' + escapePointer(String(error.params.missingProperty))
      message = 'is required'
    } else if (error.keyword === 'additionalProperties') {
      pointer += '/' + escapePointer(String(error.params.additionalProperty))
      message = 'is not a field of this schema'
    } else if (error.keyword === 'enum') {
      message = `must be one of ${(error.params.allowedValues as unknown[]).map(String).join(', ')}`
    } else if (error.keyword === 'const') {
      message = `must be ${String(error.params.allowedValue)}`
    }
    const key = `${pointer} ${message}`
    if (seen.has(key)) continue
    seen.add(key)
    errors.push({ in: where, pointer: pointer || '/', message })
  }
  return errors
}

const escapePointer = (segment: string) => segment.replaceAll('~', '~0').replaceAll('/', '~1')

/** PostgreSQL unreachable, restarting or too slow: the caller should retry, nothing was written. */
export function isDatabaseUnavailable(error: unknown): boolean {
  const e = error as { code?: string, message?: string }
  if (typeof e?.code === 'string') {
    if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN'].includes(e.code)) return true
    // 08: connection exception; 57P01-03: shutdown or starting; 57014: statement timeout; 53300: too many connections
    if (/^(08...|57P0[123]|57014|53300)$/.test(e.code)) return true
  }
  const message = e?.message ?? ''
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended unexpectedly/i.test(message)
}

function toProblem(error: FastifyError, request: FastifyRequest): HttpProblem {
  if (error instanceof HttpProblem) return error
  if (error.validation) {
    const errors = fieldErrors(error.validationContext, error.validation as AjvError[])
    const summary = errors.slice(0, 3).map((e) => `${e.in} ${e.pointer}: ${e.message}`).join('; ')
    return new HttpProblem('validation-failed', summary + (errors.length > 3 ? `; and ${errors.length - 3} more` : ''), { errors })
  }
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new HttpProblem('body-too-large', error.message)
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new HttpProblem('unsupported-media-type', 'send the body as application/json')
  }
  if (isDatabaseUnavailable(error) && request.receiptId) {
    // The receipt is signed as a write's transaction ends: the connection broke while it
    // committed, and whether the database applied it before is unknown.
    const receipt = request.receiptId
    return new HttpProblem('write-outcome-unknown', 'the connection to the database broke while this write was committing: it may or may not ' +
      `have been applied. If it was, GET /v2/receipts/${receipt} answers with its receipt; or retry with the same Idempotency-Key ` +
      '(a write already applied then answers idempotency-answer-lost with its receipt id), or read the records back', {
      headers: { 'retry-after': '5' }, receiptId: receipt,
    })
  }
  if (isDatabaseUnavailable(error)) {
    return new HttpProblem('database-unavailable', 'the database is unavailable; nothing was written, retry later', { headers: { 'retry-after': '5' } })
  }
  const status = error.statusCode ?? 500
  if (status >= 400 && status < 500) return new HttpProblem('bad-request', error.message, { status })
  return new HttpProblem('internal-error', 'the service failed while handling this request')
}

export async function sendProblem(request: FastifyRequest, reply: FastifyReply, problem: HttpProblem) {
  reply.problemCode = problem.code
  return reply
    .code(problem.status)
    .headers(problem.headers)
    .type('application/problem+json; charset=utf-8')
    .send(problem.toDocument(request.id))
}

/** The one place errors become responses: a problem document, never a stack or SQL. */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    const problem = toProblem(error, request)
    // A 503 the service decides on (overloaded, not ready) is an answer, not a failure: no stack.
    if (problem.status >= 500 && !(error instanceof HttpProblem)) request.log.error({ err: error }, 'request failed')
    else if (problem.status >= 500) request.log.warn({ code: problem.code, detail: problem.message }, 'request refused')
    else request.log.info({ code: problem.code, detail: problem.message }, 'request refused')
    return sendProblem(request, reply, problem)
  })
  app.setNotFoundHandler(async (request, reply) =>
    sendProblem(request, reply, new HttpProblem('route-not-found', `no operation ${request.method} ${request.url.split('?')[0]}`)))
}
