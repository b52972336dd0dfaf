import type { FastifyInstance } from 'fastify'
import type { Policy } from '../auth/policy.js'
import type { RouteProblems } from './problem-examples.js'
import { problemTypes, type ProblemCode } from './problem.js'

/** What the shared machinery needs to know of an operation to tell which problems it can answer. */
export interface OperationTraits {
  policy: Policy
  /** A write of an authenticated caller: idempotency, receipts and commit-time failures apply. */
  writes: boolean
  takesBody: boolean
  takesCursor: boolean
}

const tokenChecks = (Object.keys(problemTypes) as ProblemCode[]).filter((code) => problemTypes[code].status === 401)

const forbiddenByPolicy: Record<Policy, ProblemCode[]> = {
  public: [],
  central: ['issuer-suspended', 'role-forbidden'],
  province: ['issuer-suspended', 'role-forbidden', 'scope-forbidden'],
  'province-or-central': ['issuer-suspended', 'scope-forbidden'],
  self: ['issuer-suspended', 'scope-forbidden'],
  'self-or-central': ['issuer-suspended', 'scope-forbidden'],
  system: ['issuer-suspended', 'scope-forbidden'],
}

/** The codes the shared machinery (validation, trust, idempotency, limits, failure) can answer an operation with at a status. */
function machineryCodes(status: number, traits: OperationTraits): ProblemCode[] {
  const { policy, writes, takesBody, takesCursor } = traits
  switch (status) {
    case 400: return ['validation-failed', 'bad-request', 'token-in-query', ...(takesBody ? ['malformed-json' as const] : []), ...(takesCursor ? ['invalid-cursor' as const] : [])]
    case 401: return policy === 'public' ? [] : tokenChecks
    case 403: return forbiddenByPolicy[policy]
    case 404: return ['not-found']
    case 409: return writes ? ['idempotency-key-in-flight', 'idempotency-answer-lost'] : []
    case 410: return ['media-removed']
    case 412: return ['precondition-failed']
    case 413: return ['body-too-large']
    case 415: return ['unsupported-media-type']
    case 416: return ['range-not-satisfiable']
    case 422: return writes ? ['idempotency-key-reused'] : []
    case 428: return ['precondition-required']
    case 429: return ['rate-limited', 'caller-busy', ...(takesBody ? ['body-rate-exceeded' as const] : [])]
    case 500: return ['internal-error']
    case 503: return ['database-unavailable', 'overloaded', ...(writes ? ['write-outcome-unknown' as const] : [])]
    default: return []
  }
}

/**
 * Every problem code an operation can answer at a status: those of the shared machinery, and
 * those the route names as its own (`config.problems`), in the order of `problemTypes`.
 */
export function operationProblemCodes(status: number, traits: OperationTraits, named: RouteProblems): ProblemCode[] {
  const codes = new Set<ProblemCode>([...machineryCodes(status, traits), ...(named[status] ?? []).map((problem) => problem.code)])
  return (Object.keys(problemTypes) as ProblemCode[]).filter((code) => codes.has(code))
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The problem codes the contract declares for this route, by status; set as the route is registered. */
    problemCodes?: Partial<Record<number, ProblemCode[]>>
  }
  interface FastifyInstance {
    /** `METHOD url status code` of every problem answered that the contract does not declare for its operation. */
    undeclaredProblems: Set<string>
  }
}

/**
 * Notes each problem an operation answers that its contract does not declare: a client that
 * branches on the declared codes would meet one it was never told of. Logged, and kept for tests.
 */
export function registerProblemCodeCheck(app: FastifyInstance): void {
  app.decorate('undeclaredProblems', new Set<string>())
  app.addHook('onSend', async (request, reply) => {
    const code = reply.problemCode as ProblemCode | undefined
    const declared = request.routeOptions.config.problemCodes
    if (!code || !declared) return
    if (declared[reply.statusCode]?.includes(code)) return
    const drift = `${request.method} ${request.routeOptions.url ?? ''} ${reply.statusCode} ${code}`
    if (!app.undeclaredProblems.has(drift)) request.log.warn({ drift }, 'problem answered that the contract does not declare for this operation')
    app.undeclaredProblems.add(drift)
  })
}
