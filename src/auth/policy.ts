import type { FastifyInstance, FastifyRequest } from 'fastify'
import { HttpProblem } from '../http/problem.js'
import type { Caller, CallTokenVerifier, SignedCall, TokenAttempt } from './call-token.js'

/**
 * Who may call a route. Every route declares one; the app refuses to register a route
 * that does not, so no operation is reachable by accident.
 *
 * - `public`: anyone, no token.
 * - `central`: central-role systems only.
 * - `province`: the provincial system of the province in the path (`:code`).
 * - `province-or-central`: that provincial system, or central.
 * - `self`: the system named in the path (`:id`) only: what it must prove itself, such as its keys.
 * - `self-or-central`: the system named in the path (`:id`), or central.
 * - `system`: any registered system; the handler narrows what it sees.
 */
export type Policy = 'public' | 'central' | 'province' | 'province-or-central' | 'self' | 'self-or-central' | 'system'

export const policyDescriptions: Record<Policy, string> = {
  public: 'Public: no call token needed.',
  central: 'Caller: a central-role system.',
  province: 'Caller: the provincial system of the province in the path.',
  'province-or-central': 'Caller: the provincial system of the province in the path, or a central-role system.',
  self: 'Caller: the system named in the path, signing with one of its own current keys; no other system, central included.',
  'self-or-central': 'Caller: the system named in the path, or a central-role system.',
  system: 'Caller: any registered system; a provincial system sees only its own province.',
}

declare module 'fastify' {
  interface FastifyContextConfig {
    policy?: Policy
  }
  interface FastifyRequest {
    /** The verified caller; set on every route whose policy is not `public`. */
    caller?: Caller
    signedCall?: SignedCall
    tokenAttempt?: TokenAttempt
    receivedAt: Date
  }
}

const forbidRole = (caller: Caller, what: string) =>
  new HttpProblem('role-forbidden', `${caller.systemId} (${caller.role}) may not ${what}`)
const forbidScope = (detail: string) => new HttpProblem('scope-forbidden', detail)

/** A province acts only on its own province, whatever a path, body or query names. */
export function requireProvinceScope(caller: Caller | undefined, provinceCode: string): void {
  if (caller?.role === 'province' && caller.provinceCode !== provinceCode) {
    throw forbidScope(`${caller.systemId} acts only on province ${caller.provinceCode}, not ${provinceCode}`)
  }
}

export function authorize(policy: Policy, caller: Caller, params: Record<string, string | undefined>): void {
  switch (policy) {
    case 'central':
      if (caller.role !== 'central') throw forbidRole(caller, 'call an operation reserved to the central system')
      return
    case 'province':
      if (caller.role !== 'province') throw forbidRole(caller, 'call an operation reserved to provincial systems')
      requireProvinceScope(caller, params.code ?? '')
      return
    case 'province-or-central':
      requireProvinceScope(caller, params.code ?? '')
      return
    case 'self':
      if (caller.systemId !== params.id) throw forbidScope(`only ${params.id ?? ''} itself may do this, with a call signed by one of its current keys`)
      return
    case 'self-or-central':
      if (caller.role !== 'central' && caller.systemId !== params.id) {
        throw forbidScope(`${caller.systemId} acts only on its own system, not ${params.id ?? ''}`)
      }
      return
    case 'system':
    case 'public':
      return
  }
}

/**
 * Call-token verification for every route whose policy is not `public`: the token is checked
 * against the request line before the body is read, its body hash before the body is parsed,
 * then replay, issuer status, role and scope before the schema and the handler see anything.
 */
export function registerAuthentication(app: FastifyInstance, verifier: CallTokenVerifier): void {
  app.decorateRequest('caller', undefined)
  app.decorateRequest('signedCall', undefined)
  app.decorateRequest('tokenAttempt', undefined)
  app.decorateRequest('receivedAt', null as unknown as Date)

  app.addHook('onRequest', async (request) => {
    request.receivedAt = new Date()
    const policy = request.routeOptions.config.policy
    if (!policy || policy === 'public') return
    request.tokenAttempt = {}
    request.signedCall = await verifier.begin(request.headers.authorization, request.method, request.url, request.tokenAttempt)
  })

  app.addHook('preValidation', async (request: FastifyRequest, reply) => {
    const call = request.signedCall
    if (!call) return
    const caller = await verifier.complete(call, request.bodySha256)
    authorize(request.routeOptions.config.policy!, caller, request.params as Record<string, string>)
    request.caller = caller
    // Every later log line of the request, "request completed" included, names the caller.
    request.log = reply.log = request.log.child({ caller: caller.systemId })
  })
}

/** The body parser calls this once it has hashed the bytes, so a body that is not the signed one is never parsed. */
export function checkSignedBody(verifier: CallTokenVerifier, request: FastifyRequest): void {
  if (request.signedCall) verifier.checkBody(request.signedCall, request.bodySha256)
}
