import type { RouteOptions } from 'fastify'
import { Strict, ref, Problem } from '../../schemas/common.js'
import type { TObject, TProperties } from 'typebox'
import { policyDescriptions } from '../auth/policy.js'
import { declareDeprecation, deprecationHeaders } from './deprecation.js'
import { WRITE_METHODS, withIdempotencyKey } from './idempotency.js'
import { components } from '../../schemas/index.js'
import type { ProblemCode } from './problem.js'
import { problemExamples, validationProblem, type ProblemExample } from './problem-examples.js'
import { operationProblemCodes } from './problem-codes.js'

const problemResponse = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: ref(Problem) } },
})

const retryAfter = {
  'Retry-After': { type: 'integer', format: 'int32', minimum: 0, required: true, description: 'Seconds to wait before retrying.' },
}

/** A version tag: the version of a record or item (`"3"`), or the SHA-256 of a media file. */
export const ETAG_HEADER = { type: 'string', required: true, description: 'The version the answer is of, quoted; send it back in `If-None-Match` or `If-Match`.' }

/**
 * Headers the shared machinery adds to answers, by which answers carry them. `required` marks
 * those always sent; `contractFromRoutes` moves it to where OpenAPI reads it.
 */
const requestId = { 'X-Request-Id': { type: 'string', maxLength: 128, required: true, description: 'The request id: the caller\'s own when it sent a safe one (1 to 128 of `A-Za-z0-9._:-`), else one the service made; problem documents repeat it as `instance`.' } }
const rateLimit = {
  'X-RateLimit-Limit': { type: 'integer', format: 'int32', minimum: 1, required: true, description: 'Calls the caller may make per minute on this instance (RATE_LIMIT_PER_MINUTE).' },
  'X-RateLimit-Remaining': { type: 'integer', format: 'int32', minimum: 0, required: true, description: 'Calls left in the current minute on this instance.' },
  'X-RateLimit-Reset': { type: 'integer', format: 'int32', minimum: 0, required: true, description: 'Seconds until the minute ends.' },
}
const notRequired = (headers: Record<string, { required?: boolean }>) =>
  Object.fromEntries(Object.entries(headers).map(([name, { required: _required, ...header }]) => [name, header]))
const wwwAuthenticate = { 'WWW-Authenticate': { type: 'string', required: true, description: '`Bearer error="invalid_token", error_description="<problem code>"` (RFC 6750).', examples: ['Bearer error="invalid_token", error_description="token-expired"'] } }
const idempotencyReplayed = { 'Idempotency-Replayed': { type: 'string', enum: ['true'], description: 'Present when this is the stored answer to an earlier request with the same `Idempotency-Key`: the write was not applied again.' } }

/** The extension of a problem response's media type that lists, machine-readably, every `code` the operation can answer at that status. */
export const PROBLEM_CODES = 'x-problem-codes'

/** What each status means in this contract; routes name the ones they add beyond the common set. */
export const problemDescriptions = {
  400: 'The request is malformed or does not match the contract; `errors` lists every failing field.',
  401: 'The call token is missing or fails a check; `code` names the check.',
  403: 'The caller may not perform this operation or act on this province.',
  404: 'The resource does not exist.',
  409: 'The request conflicts with the current state.',
  410: 'The resource existed and was removed; `detail` says when and why.',
  412: 'The `If-Match` tag is not the current version.',
  413: 'The body is larger than the service accepts.',
  415: 'The body is not of the type the operation takes (`application/json`; `application/offset+octet-stream` for an upload chunk).',
  416: 'The `Range` starts beyond the end of the file; `Content-Range` gives its size.',
  422: 'The request is well-formed but cannot be applied.',
  428: 'The operation needs an `If-Match` header.',
  429: 'The caller exceeded its rate; retry after `Retry-After` seconds.',
  500: 'The service failed; nothing is leaked, the failure is logged under the request id.',
  503: 'The service or its database is unavailable; retry after `Retry-After` seconds.',
} as const

export type ProblemStatus = keyof typeof problemDescriptions

export function problemResponses(statuses: ProblemStatus[]) {
  return Object.fromEntries(statuses.map((status) => [status, {
    ...problemResponse(problemDescriptions[status]),
    ...(status === 429 || status === 503 ? { headers: retryAfter } : {}),
  }]))
}

const bodyMethods = new Set(['POST', 'PUT', 'PATCH'])

interface JsonSchema {
  $ref?: string
  anyOf?: JsonSchema[]
  required?: string[]
  properties?: Record<string, JsonSchema>
  pattern?: string
  format?: string
  enum?: unknown[]
  maximum?: number
}
const componentsById = new Map(components.map((component) => [(component as { $id?: string }).$id, component as JsonSchema]))
const resolved = (schema: JsonSchema): JsonSchema => (schema.$ref ? componentsById.get(schema.$ref) ?? schema : schema)

/** How the service refuses one parameter of a query or path, as Ajv words it. */
function parameterError(where: 'query' | 'path', parameters: JsonSchema | undefined): NonNullable<ProblemExample['errors']>[number] | undefined {
  const properties = Object.entries(parameters?.properties ?? {})
  const refused = properties.find(([name]) => name === 'limit') ?? properties.find(([, p]) => p.pattern ?? p.format ?? p.enum)
  if (!refused) return undefined
  const [name, parameter] = refused
  const message = name === 'limit' ? `must be <= ${String(parameter.maximum)}`
    : parameter.enum ? `must be one of ${parameter.enum.map(String).join(', ')}`
      : parameter.pattern ? `must match pattern "${parameter.pattern}"`
        : `must match format "${String(parameter.format)}"`
  return { in: where, pointer: `/${name}`, message }
}

/** The 400 of a route: a required field of its body missing, else a query or path parameter refused, else an unknown query parameter. */
function badRequestOf(schema: Record<string, unknown>): ProblemExample {
  const body = schema.body ? resolved(schema.body as JsonSchema) : undefined
  if (body && (body as { format?: string }).format === 'binary') {
    return validationProblem([{ in: 'body', pointer: '/', message: 'must be the raw bytes of the chunk, sent as application/offset+octet-stream' }])
  }
  if (body) {
    const required = (body.required ?? (body.anyOf ? resolved(body.anyOf[0]!).required : undefined))?.[0]
    return validationProblem([required
      ? { in: 'body', pointer: `/${required}`, message: 'is required' }
      : { in: 'body', pointer: '/comment', message: 'is not a field of this schema' }])
  }
  const parameter = parameterError('query', schema.querystring as JsonSchema | undefined) ?? parameterError('path', schema.params as JsonSchema | undefined)
  return validationProblem([parameter ?? { in: 'query', pointer: '/verbose', message: 'is not a field of this schema' }])
}

/**
 * Completes every route's schema so the contract states what the service really does:
 * unknown query parameters are refused, and every status the shared machinery can answer
 * (validation, body limits, failure, unavailability) is declared with its problem schema.
 */
export function completeRouteSchema(route: RouteOptions): void {
  const schema = (route.schema ??= {}) as Record<string, unknown>
  // The HEAD route Fastify adds for a GET shares its schema, which is then already complete.
  if (schema.hide || schema['x-ttn-policy']) return
  const policy = route.config!.policy!
  schema.querystring ??= Strict({})
  const methods = Array.isArray(route.method) ? route.method : [route.method]
  const statuses: ProblemStatus[] = [400, 429, 500, 503]
  if (methods.some((m) => bodyMethods.has(m))) statuses.push(413, 415)
  if (policy !== 'public') statuses.push(401, 403)
  schema.security = policy === 'public' ? [] : [{ callToken: [] }]
  if (policy !== 'public' && methods.some((m) => WRITE_METHODS.has(m))) {
    schema.headers = withIdempotencyKey(schema.headers as TObject<TProperties> | undefined)
    statuses.push(409, 422)
  }
  schema.description = [schema.description, policyDescriptions[policy]].filter(Boolean).join('\n\n')
  declareDeprecation(route, schema)
  // The same policy in machine-readable form, for clients and the conformance kit.
  schema['x-ttn-policy'] = policy
  schema.response = { ...problemResponses(statuses), ...(schema.response as object ?? {}) }
  const writes = policy !== 'public' && methods.some((m) => WRITE_METHODS.has(m))
  const named = route.config?.problems ?? {}
  const badRequest = badRequestOf(schema)
  for (const status of Object.keys(named)) {
    if (!(schema.response as Record<string, unknown>)[status]) throw new Error(`${route.url} names problems for ${status}, which it does not declare`)
  }
  const traits = { policy, writes, takesBody: methods.some((m) => bodyMethods.has(m)), takesCursor: ['cursor', 'after'].some((name) => resolved(schema.querystring as JsonSchema).properties?.[name]) }
  const problemCodes: Partial<Record<number, ProblemCode[]>> = {}
  const responses = schema.response as Record<string, { description: string, content?: Record<string, object> }>
  for (const [status, response] of Object.entries(responses)) {
    const problem = response.content?.['application/problem+json']
    if (!problem) continue
    const codes = problemCodes[Number(status)] = operationProblemCodes(Number(status), traits, named)
    // A copy for this route: routes may share a response object and show different problems.
    responses[status] = {
      ...response,
      description: `${response.description} Codes: ${codes.map((code) => `\`${code}\``).join(', ')}.`,
      content: { ...response.content, 'application/problem+json': { ...problem, examples: problemExamples(Number(status), policy, writes, named, badRequest), [PROBLEM_CODES]: codes } },
    }
  }
  route.config!.problemCodes = problemCodes
  for (const [status, response] of Object.entries(schema.response as Record<string, { headers?: object }>)) {
    const code = Number(status)
    const success = code >= 200 && code < 300
    response.headers = {
      ...requestId,
      // A 429 of the rate limit says how it stands; one of the concurrency or ingest limits does not.
      ...(success ? rateLimit : code === 429 ? notRequired(rateLimit) : {}),
      ...(code === 401 ? wwwAuthenticate : {}),
      ...(success && writes ? idempotencyReplayed : {}),
      ...(schema.deprecated ? deprecationHeaders : {}),
      ...response.headers,
    }
  }
}

type Document = { paths?: Record<string, Record<string, { responses?: Record<string, { content?: unknown, headers?: Record<string, { required?: boolean, schema?: Record<string, unknown> }> }> }>> }

/** Statuses that never carry a body (RFC 9110). */
const BODILESS = new Set(['204', '304'])

/**
 * Puts in the contract what the document generator cannot read off a route's schemas: it copies a
 * response header's schema into the header's `schema`, where `required` means nothing (it belongs
 * on the header object), and gives a response declared by its description alone a JSON body, which
 * a 204 or 304 never has.
 */
export function contractFromRoutes<T>(document: T): T {
  for (const item of Object.values((document as Document).paths ?? {})) {
    for (const operation of Object.values(item)) {
      for (const [status, response] of Object.entries(operation.responses ?? {})) {
        if (BODILESS.has(status)) delete response.content
        for (const header of Object.values(response.headers ?? {})) {
          if (header.schema?.required !== true) continue
          delete header.schema.required
          header.required = true
        }
      }
    }
  }
  return document
}
