import type { Problem } from '../../schemas/common.js'
import type { Policy } from '../auth/policy.js'
import { problemTypes, problemTypeUri, type ProblemCode } from './problem.js'

/** A problem a route can answer with, as the contract shows it: its code and a detail as the service writes it. */
export interface ProblemExample {
  code: ProblemCode
  detail: string
  errors?: Problem['errors']
  receiptId?: string
}

/** The problems a route names for its own statuses (its 404, its 409 and 422 rules), shown in the contract instead of the common ones. */
export type RouteProblems = Partial<Record<number, ProblemExample[]>>

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route's own problems by status, for the contract's examples; the common ones stand for the statuses it does not name. */
    problems?: RouteProblems
  }
}

/** The request id of every example, as the service makes one; the example problem documents repeat it as `instance`. */
export const EXAMPLE_REQUEST_ID = '3f6c1a52-8d4e-4b7a-9f1e-2c5d7a9b0e14'

/** The Idempotency-Key of the example writes. */
export const EXAMPLE_IDEMPOTENCY_KEY = '5b1d9c0e-7a43-4f2e-b8d6-0c9e3a71f254'

/** The receipt id a write whose answer was lost or whose outcome is unknown names. */
export const EXAMPLE_RECEIPT_ID = 'mV3pQ8sLr2tXc9ZbN4kWyA'

/** The problem document the service answers for an example. */
export const problemDocument = (example: ProblemExample): Problem => ({
  type: problemTypeUri(example.code),
  title: problemTypes[example.code].title,
  status: problemTypes[example.code].status,
  detail: example.detail,
  code: example.code,
  instance: EXAMPLE_REQUEST_ID,
  ...(example.errors ? { errors: example.errors } : {}),
  ...(example.receiptId ? { receiptId: example.receiptId } : {}),
})

/** A validation problem as the error handler writes it: the first three failing fields in `detail`, every one in `errors`. */
export const validationProblem = (errors: NonNullable<Problem['errors']>): ProblemExample => ({
  code: 'validation-failed',
  detail: errors.slice(0, 3).map((e) => `${e.in} ${e.pointer}: ${e.message}`).join('; '),
  errors,
})

/** The problems every route may answer with; the contract holds each once, in `components.examples`, and routes refer to them. */
const commonProblems = {
  'token-expired': { code: 'token-expired', detail: 'the token expired 42 seconds ago' },
  'body-hash-mismatch': { code: 'body-hash-mismatch', detail: 'the token\'s bsh is not the SHA-256 of the body received' },
  'scope-forbidden-province': { code: 'scope-forbidden', detail: 'province-79 acts only on province 79, not 01' },
  'scope-forbidden-self': { code: 'scope-forbidden', detail: 'only province-79 itself may do this, with a call signed by one of its current keys' },
  'scope-forbidden-system': { code: 'scope-forbidden', detail: 'province-01 acts only on its own system, not province-79' },
  'role-forbidden-central': { code: 'role-forbidden', detail: 'province-79 (province) may not call an operation reserved to the central system' },
  'role-forbidden-province': { code: 'role-forbidden', detail: 'central-portal (central) may not call an operation reserved to provincial systems' },
  'issuer-suspended': { code: 'issuer-suspended', detail: 'province-79 is suspended' },
  'not-found': { code: 'not-found', detail: 'the resource does not exist' },
  'conflict': { code: 'conflict', detail: 'the request conflicts with the current state' },
  'idempotency-key-in-flight': { code: 'idempotency-key-in-flight', receiptId: EXAMPLE_RECEIPT_ID, detail: `the request with Idempotency-Key ${EXAMPLE_IDEMPOTENCY_KEY} was just applied (receipt ${EXAMPLE_RECEIPT_ID}); retry to get its answer` },
  'media-removed': { code: 'media-removed', detail: 'media 9f2b6c1d4e8a7f3b0c5d2e9a6b1f4c8d7e3a0b5c2d9f6e1a4b7c0d3e8f5a2b6c was removed at 2026-03-01T02:00:00.000Z: retention' },
  'precondition-failed': { code: 'precondition-failed', detail: 'the record is at version 4, not "3"' },
  'body-too-large': { code: 'body-too-large', detail: 'Request body is too large' },
  'unsupported-media-type': { code: 'unsupported-media-type', detail: 'send the body as application/json' },
  'range-not-satisfiable': { code: 'range-not-satisfiable', detail: 'the file has 1843200 bytes; bytes=2000000- starts beyond them' },
  'idempotency-key-reused': { code: 'idempotency-key-reused', detail: `Idempotency-Key ${EXAMPLE_IDEMPOTENCY_KEY} was used for another request; use a new key for a new request` },
  'rule-violated': { code: 'rule-violated', detail: 'the request breaks a rule of the domain' },
  'precondition-required': { code: 'precondition-required', detail: 'send If-Match with the ETag of the record you change' },
  'rate-limited': { code: 'rate-limited', detail: 'province-79 made more than 600 calls in a minute; retry in 17 seconds' },
  'internal-error': { code: 'internal-error', detail: 'the service failed while handling this request' },
  'database-unavailable': { code: 'database-unavailable', detail: 'the database is unavailable; nothing was written, retry later' },
  'write-outcome-unknown': { code: 'write-outcome-unknown', receiptId: EXAMPLE_RECEIPT_ID, detail: 'the connection to the database broke while this write was committing: it may or may not ' +
    `have been applied. If it was, GET /v2/receipts/${EXAMPLE_RECEIPT_ID} answers with its receipt; or retry with the same Idempotency-Key ` +
    '(a write already applied then answers idempotency-answer-lost with its receipt id), or read the records back' },
} satisfies Record<string, ProblemExample>
type CommonProblem = keyof typeof commonProblems

/** What a caller meets under each policy when it is not a caller the operation takes. */
const forbiddenByPolicy: Record<Exclude<Policy, 'public'>, CommonProblem[]> = {
  central: ['role-forbidden-central'],
  province: ['scope-forbidden-province', 'role-forbidden-province'],
  'province-or-central': ['scope-forbidden-province'],
  self: ['scope-forbidden-self'],
  'self-or-central': ['scope-forbidden-system'],
  system: ['issuer-suspended'],
}

/** The common problems a status shows when the route names none of its own. */
function commonProblemsOf(status: number, policy: Policy, writes: boolean): CommonProblem[] {
  switch (status) {
    case 401: return ['token-expired', 'body-hash-mismatch']
    case 403: return policy === 'public' ? [] : forbiddenByPolicy[policy]
    case 404: return ['not-found']
    case 409: return writes ? ['idempotency-key-in-flight'] : ['conflict']
    case 410: return ['media-removed']
    case 412: return ['precondition-failed']
    case 413: return ['body-too-large']
    case 415: return ['unsupported-media-type']
    case 416: return ['range-not-satisfiable']
    case 422: return writes ? ['idempotency-key-reused'] : ['rule-violated']
    case 428: return ['precondition-required']
    case 429: return ['rate-limited']
    case 500: return ['internal-error']
    case 503: return writes ? ['database-unavailable', 'write-outcome-unknown'] : ['database-unavailable']
    default: return []
  }
}

const exampleObject = (example: ProblemExample) => ({ summary: problemTypes[example.code].title, value: problemDocument(example) })

/** The common problem examples, for the contract's `components.examples`. */
export const problemExampleComponents = Object.fromEntries(Object.entries(commonProblems).map(([name, example]) => [name, exampleObject(example)]))

/**
 * The examples of one problem response, keyed by name: the route's own problems for the status (its 400 made from
 * its own body or query), else references to the common ones.
 */
export function problemExamples(status: number, policy: Policy, writes: boolean, named: RouteProblems, badRequest: ProblemExample) {
  const own = named[status] ?? (status === 400 ? [badRequest] : undefined)
  if (!own) return Object.fromEntries(commonProblemsOf(status, policy, writes).map((name) => [name, { $ref: `#/components/examples/${name}` }]))
  return Object.fromEntries(own.map((example, index) => {
    if (problemTypes[example.code].status !== status) throw new Error(`problem ${example.code} is not a ${status}`)
    const sameCodeBefore = own.slice(0, index).filter((other) => other.code === example.code).length
    return [sameCodeBefore ? `${example.code}-${sameCodeBefore + 1}` : example.code, exampleObject(example)]
  }))
}

/** The 404 of a route, worded as `notFound()` words it. */
export const notFoundExample = (what: string): RouteProblems => ({ 404: [{ code: 'not-found', detail: `${what} does not exist` }] })

/** One route's own problems from several parts (its 404, its rules), in the order given. */
export function routeProblems(...parts: RouteProblems[]): RouteProblems {
  const merged: RouteProblems = {}
  for (const part of parts) {
    for (const [status, problems] of Object.entries(part)) merged[Number(status)] = [...merged[Number(status)] ?? [], ...problems ?? []]
  }
  return merged
}

/** The refusals of a URL the service would call (`jwksUri`, `webhookUrl`, an external media file). */
export const outboundUrlProblems: RouteProblems = {
  422: [
    { code: 'outbound-url-insecure', detail: 'http://province-79.example.vn is not https; plain http only reaches hosts the operator lists in OUTBOUND_ALLOWED_HOSTS' },
    { code: 'outbound-address-forbidden', detail: '10.0.0.7 is not a public internet address' },
    { code: 'outbound-url-invalid', detail: 'a URL the service calls carries no credentials' },
  ],
}
