import type { RouteOptions } from 'fastify'
import { Strict, ref, Problem } from '../../schemas/common.js'
import type { TObject, TProperties } from 'typebox'
import { policyDescriptions } from '../auth/policy.js'
import { WRITE_METHODS, withIdempotencyKey } from './idempotency.js'

const problemResponse = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: ref(Problem) } },
})

const retryAfter = {
  'Retry-After': { type: 'integer', minimum: 0, description: 'Seconds to wait before retrying.' },
}

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
  // The same policy in machine-readable form, for clients and the conformance kit.
  schema['x-ttn-policy'] = policy
  schema.response = { ...problemResponses(statuses), ...(schema.response as object ?? {}) }
}
