import { compactVerify, decodeProtectedHeader, type ProtectedHeaderParameters } from 'jose'
import { CALL_TOKEN_TYPE, MAX_CALL_TOKEN_LIFETIME_SECONDS } from '../client/sign.js'
import { HttpProblem, type ProblemCode } from '../http/problem.js'
import type { IssuerRecord } from '../modules/systems/store.js'
import type { KeyDirectory } from './key-directory.js'
import type { ReplayStore } from './replay-store.js'

export interface Person { id: string, name: string | null }

/** The official a call names in its `act` claim: who sent it, and who drafted what it carries. */
export interface Actor extends Person { draftedBy: Person | null }

export interface Caller {
  systemId: string
  role: 'province' | 'central'
  provinceCode: string | null
  actor: Actor | null
}

/** What a token claimed, kept for the audit log even when verification fails. */
export interface TokenAttempt {
  issuer?: string
  jti?: string
  kid?: string
}

/** A token that passed every check up to the body hash; `complete()` runs the rest. */
export interface SignedCall {
  issuer: IssuerRecord
  /** The key that signed, among the issuer's registered keys. */
  kid: string
  jti: string
  bsh: string
  /** The path and query the caller signed: the request's, under PUBLIC_BASE_PATH when a gateway strips one. */
  htu: string
  iat: number
  exp: number
  /** The compact token itself, kept with the audit entry of an accepted write as proof of origin. */
  token: string
  actor: Actor | null
}

/** Reads an `act` claim: an object with `sub` (and `name`), nesting at most one earlier actor. */
function actorOf(act: unknown): Actor | null | 'malformed' {
  if (act === undefined) return null
  const person = (value: unknown): Person | undefined => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined
    const { sub, name } = value as { sub?: unknown, name?: unknown }
    if (!isString(sub, 64) || (name !== undefined && !isString(name, 200))) return undefined
    return { id: sub, name: (name as string | undefined) ?? null }
  }
  const outer = person(act)
  if (!outer) return 'malformed'
  const inner = (act as { act?: unknown }).act
  if (inner === undefined) return { ...outer, draftedBy: null }
  const drafter = person(inner)
  if (!drafter || (inner as { act?: unknown }).act !== undefined) return 'malformed'
  return { ...outer, draftedBy: drafter }
}

const ALGORITHMS = ['ES256', 'EdDSA']
const KEY_HEADERS = ['jwk', 'jku', 'x5u', 'x5c', 'x5t', 'x5t#S256'] as const
const BEARER = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/

const refuse = (code: ProblemCode, detail: string) => new HttpProblem(code, detail, {
  headers: code === 'issuer-suspended' ? {} : { 'www-authenticate': `Bearer error="invalid_token", error_description="${code}"` },
})

const isString = (value: unknown, max = 512): value is string => typeof value === 'string' && value.length > 0 && value.length <= max
const isTime = (value: unknown): value is number => typeof value === 'number' && Number.isInteger(value) && value > 0

export interface CallTokenVerifierOptions {
  serviceId: string
  skewSeconds: number
  keys: KeyDirectory
  replays: ReplayStore
  /** The prefix a gateway strips before the service sees the path: callers sign the path as they send it, prefix included. */
  basePath?: string
  now?: () => number
}

/**
 * Verifies call tokens in the order of the trust model; each failed check has its own
 * problem code. Everything up to the request line is checked before the body is read
 * (`begin`); the body hash, replay, issuer status and role come after (`complete`).
 */
export class CallTokenVerifier {
  private readonly now: () => number

  constructor(private readonly options: CallTokenVerifierOptions) {
    this.now = options.now ?? Date.now
  }

  async begin(authorization: string | undefined, method: string, pathAndQuery: string, attempt: TokenAttempt): Promise<SignedCall> {
    if (!authorization) throw refuse('token-missing', 'send Authorization: Bearer <call token>')
    const match = BEARER.exec(authorization)
    if (!match) throw refuse('token-malformed', 'the Authorization header is not Bearer <compact JWS>')
    const token = match[1]!

    let header: ProtectedHeaderParameters
    let claims: Record<string, unknown>
    try {
      header = decodeProtectedHeader(token)
      claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>
    } catch {
      throw refuse('token-malformed', 'the token header or payload is not base64url JSON')
    }
    if (typeof claims !== 'object' || claims === null) throw refuse('token-malformed', 'the token payload is not a JSON object')
    if (isString(claims.iss, 64)) attempt.issuer = claims.iss
    if (isString(claims.jti, 128)) attempt.jti = claims.jti

    if (header.typ !== CALL_TOKEN_TYPE) throw refuse('token-type', `typ must be ${CALL_TOKEN_TYPE}`)
    if (!ALGORITHMS.includes(header.alg ?? '')) throw refuse('token-algorithm', `alg ${String(header.alg)} is not allowed; use ES256 or EdDSA`)
    const embedded = KEY_HEADERS.find((name) => name in header)
    if (embedded) throw refuse('token-embedded-key', `the header carries ${embedded}; keys come only from the registry`)
    if (header.crit !== undefined) throw refuse('token-malformed', 'no crit header extensions are understood')
    if (!isString(header.kid, 128)) throw refuse('token-malformed', 'the header has no kid')
    attempt.kid = header.kid
    if (!isString(claims.iss, 64)) throw refuse('token-malformed', 'the token has no iss')

    const issuer = await this.options.keys.issuer(claims.iss)
    if (!issuer) throw refuse('issuer-unknown', `no system ${claims.iss} is registered`)
    const lookup = await this.options.keys.key(issuer, header.kid)
    if (!lookup.found) {
      throw refuse(lookup.reason, lookup.reason === 'key-retired'
        ? `key ${header.kid} of ${issuer.id} is retired`
        : `${issuer.id} has no active key ${header.kid}`)
    }
    if (lookup.alg !== header.alg) throw refuse('token-algorithm', `key ${header.kid} is an ${lookup.alg} key`)
    try {
      await compactVerify(token, lookup.key, { algorithms: [lookup.alg] })
    } catch {
      throw refuse('signature-invalid', 'the signature does not verify with the registered key')
    }

    if (claims.aud !== this.options.serviceId) throw refuse('audience-mismatch', `aud must be ${this.options.serviceId}`)

    const { iat, exp } = claims
    if (!isTime(iat) || !isTime(exp)) throw refuse('token-malformed', 'iat and exp must be NumericDate integers')
    const now = Math.floor(this.now() / 1000)
    const skew = this.options.skewSeconds
    if (exp <= iat || exp - iat > MAX_CALL_TOKEN_LIFETIME_SECONDS) {
      throw refuse('token-lifetime', `exp must come after iat by at most ${MAX_CALL_TOKEN_LIFETIME_SECONDS} seconds`)
    }
    if (iat > now + skew) throw refuse('token-not-yet-valid', `iat is ${iat - now} seconds in the future; allowed skew is ${skew}`)
    if (exp + skew < now) throw refuse('token-expired', `the token expired ${now - exp} seconds ago`)

    if (claims.htm !== method) throw refuse('method-mismatch', `htm must be ${method}`)
    const htu = (this.options.basePath ?? '') + pathAndQuery
    if (claims.htu !== htu) throw refuse('path-mismatch', `htu must be the path and query of this request, as sent: ${htu}`)
    if (!isString(claims.bsh, 64)) throw refuse('token-malformed', 'the token has no bsh')
    if (!isString(claims.jti, 128)) throw refuse('token-malformed', 'the token has no jti (at most 128 characters)')
    const actor = actorOf(claims.act)
    if (actor === 'malformed') throw refuse('token-malformed', 'act must be {"sub": staff id (at most 64), "name"?: display name (at most 200), "act"?: the drafter, likewise}')

    return { issuer, kid: header.kid, jti: claims.jti, bsh: claims.bsh, htu, iat, exp, token, actor }
  }

  /** The body hash must match before the body is parsed. */
  checkBody(call: SignedCall, bodySha256: string): void {
    if (call.bsh !== bodySha256) throw refuse('body-hash-mismatch', 'bsh is not the base64url SHA-256 of the body received')
  }

  async complete(call: SignedCall, bodySha256: string): Promise<Caller> {
    this.checkBody(call, bodySha256)
    const firstUse = await this.options.replays.firstUse(call.issuer.id, call.jti, new Date(call.exp * 1000))
    if (!firstUse) throw refuse('token-replayed', `jti ${call.jti} was already used by ${call.issuer.id}`)
    if (call.issuer.status !== 'active') throw refuse('issuer-suspended', `${call.issuer.id} is suspended`)
    return { systemId: call.issuer.id, role: call.issuer.role, provinceCode: call.issuer.provinceCode, actor: call.actor }
  }
}
