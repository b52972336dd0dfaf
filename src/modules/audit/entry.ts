import type { FastifyRequest } from 'fastify'
import type { AuditLeafFields } from '../../client/transparency.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The id of the audit entry written in this request's write transaction, if it wrote one. */
    auditEntryId?: number
  }
}

const MAX_PATH = 2000

/** The audit entry of a call: what was asked, by whom as verified or claimed, and what was answered. */
export function callEntry(
  request: FastifyRequest,
  answer: { status: number, problemCode: string | null, receiptId: string | null, callToken: string | null },
): AuditLeafFields {
  const call = request.signedCall
  return {
    kind: 'call',
    at: new Date().toISOString(),
    caller: request.caller?.systemId ?? request.tokenAttempt?.issuer ?? null,
    verified: request.caller !== undefined,
    kid: call?.kid ?? request.tokenAttempt?.kid ?? null,
    jti: request.tokenAttempt?.jti ?? null,
    method: request.method,
    path: request.url.slice(0, MAX_PATH),
    operation: (request.routeOptions.schema as { operationId?: string } | undefined)?.operationId ?? null,
    bodySha256: request.bodySha256 ?? null,
    status: answer.status,
    problemCode: answer.problemCode,
    receiptId: answer.receiptId,
    requestId: request.id,
    callToken: answer.callToken,
    refusals: null,
    until: null,
    actor: request.caller?.actor ?? call?.actor ?? null,
  }
}
