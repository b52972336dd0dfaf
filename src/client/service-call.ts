import { compactVerify, createLocalJWKSet, createRemoteJWKSet, decodeProtectedHeader, type JSONWebKeySet } from 'jose'
import { CALL_TOKEN_TYPE, MAX_CALL_TOKEN_LIFETIME_SECONDS, bodyHash } from './sign.js'

/** A call the service made to a receiver, as the receiver's HTTP framework hands it over. */
export interface ServiceCallRequest {
  method: string
  /** Path and query exactly as received, e.g. `/hooks/ttn?x=1`. */
  url: string
  headers: Record<string, string | string[] | undefined>
  /** The exact body bytes received, before any JSON parsing. */
  body: Uint8Array | string
}

/** Remembers the jti of every token accepted until it expires; false when it was seen before. */
export interface ReplayGuard {
  claim(jti: string, expiresAt: Date): boolean | Promise<boolean>
}

export interface ServiceCallOptions {
  /** The service's SERVICE_ID: the `iss` expected. */
  serviceId: string
  /** The receiving system's id: the `aud` expected. */
  systemId: string
  /** The service's public keys, or the URL of its `/.well-known/jwks.json` (fetched and cached). */
  keys: JSONWebKeySet | URL
  /** Shared by the receiver's instances when there are several; an in-memory guard otherwise. */
  replayGuard?: ReplayGuard
  clockToleranceSeconds?: number
  now?: Date
}

export interface ServiceCallClaims {
  iss: string
  aud: string
  iat: number
  exp: number
  jti: string
  htm: string
  htu: string
  bsh: string
}

/** A refused call; `code` names the check that failed, with the same codes the service uses. */
export class ServiceCallError extends Error {
  constructor(readonly code: string, message: string) {
    super(`${code}: ${message}`)
  }
}

/** An in-memory replay guard, pruned as tokens expire. */
export class MemoryReplayGuard implements ReplayGuard {
  private readonly seen = new Map<string, number>()
  private prunedAt = 0

  claim(jti: string, expiresAt: Date): boolean {
    const now = Date.now()
    if (now - this.prunedAt > 10_000) {
      this.prunedAt = now
      for (const [id, until] of this.seen) if (until < now) this.seen.delete(id)
    }
    if (this.seen.has(jti)) return false
    this.seen.set(jti, expiresAt.getTime())
    return true
  }
}

const defaultGuard = new MemoryReplayGuard()
const remoteKeySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>()
const BEARER = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/
const KEY_HEADERS = ['jwk', 'jku', 'x5u', 'x5c', 'x5t', 'x5t#S256']

const keySet = (keys: JSONWebKeySet | URL) => {
  if (!(keys instanceof URL)) return createLocalJWKSet(keys)
  let remote = remoteKeySets.get(keys.href)
  if (!remote) remoteKeySets.set(keys.href, remote = createRemoteJWKSet(keys))
  return remote
}

/**
 * Verifies a call the service made to a receiver (a webhook notification): the token's type,
 * algorithm and signature by the service's key, issuer, audience, lifetime and time window,
 * method, path, the SHA-256 of the exact body bytes, and that its jti was not seen before.
 * Resolves to the claims; rejects with a ServiceCallError whose `code` names the failed check.
 */
export async function verifyServiceCall(request: ServiceCallRequest, options: ServiceCallOptions): Promise<ServiceCallClaims> {
  const refuse = (code: string, message: string) => new ServiceCallError(code, message)
  const authorization = request.headers.authorization ?? request.headers.Authorization
  const header = Array.isArray(authorization) ? authorization[0] : authorization
  if (!header) throw refuse('token-missing', 'no Authorization: Bearer header')
  const token = BEARER.exec(header)?.[1]
  if (!token) throw refuse('token-malformed', 'the Authorization header is not Bearer <compact JWS>')

  let protectedHeader: ReturnType<typeof decodeProtectedHeader>
  try {
    protectedHeader = decodeProtectedHeader(token)
  } catch {
    throw refuse('token-malformed', 'the token header is not base64url JSON')
  }
  if (protectedHeader.typ !== CALL_TOKEN_TYPE) throw refuse('token-type', `typ must be ${CALL_TOKEN_TYPE}`)
  if (protectedHeader.alg !== 'ES256' && protectedHeader.alg !== 'EdDSA') throw refuse('token-algorithm', `alg ${String(protectedHeader.alg)} is not ES256 or EdDSA`)
  const embedded = KEY_HEADERS.find((name) => name in protectedHeader)
  if (embedded) throw refuse('token-embedded-key', `the header carries ${embedded}; the service's keys come from its JWKS`)

  let claims: Partial<ServiceCallClaims>
  try {
    const { payload } = await compactVerify(token, keySet(options.keys), { algorithms: ['ES256', 'EdDSA'] })
    claims = JSON.parse(new TextDecoder().decode(payload)) as Partial<ServiceCallClaims>
  } catch (error) {
    const code = (error as { code?: string }).code
    if (code === 'ERR_JWKS_NO_MATCHING_KEY') throw refuse('key-unknown', `the service publishes no key ${String(protectedHeader.kid)}`)
    throw refuse('signature-invalid', 'the signature does not verify with the service\'s keys')
  }

  if (claims.iss !== options.serviceId) throw refuse('issuer-unknown', `iss must be ${options.serviceId}`)
  if (claims.aud !== options.systemId) throw refuse('audience-mismatch', `aud must be ${options.systemId}`)
  const { iat, exp } = claims
  if (!Number.isInteger(iat) || !Number.isInteger(exp)) throw refuse('token-malformed', 'iat and exp must be NumericDate integers')
  if (exp! <= iat! || exp! - iat! > MAX_CALL_TOKEN_LIFETIME_SECONDS) throw refuse('token-lifetime', `exp must come after iat by at most ${MAX_CALL_TOKEN_LIFETIME_SECONDS} seconds`)
  const now = Math.floor((options.now ?? new Date()).getTime() / 1000)
  const tolerance = options.clockToleranceSeconds ?? 60
  if (iat! > now + tolerance) throw refuse('token-not-yet-valid', `iat is ${iat! - now} seconds in the future`)
  if (exp! + tolerance < now) throw refuse('token-expired', `the token expired ${now - exp!} seconds ago`)
  if (claims.htm !== request.method.toUpperCase()) throw refuse('method-mismatch', `htm must be ${request.method.toUpperCase()}`)
  if (claims.htu !== request.url) throw refuse('path-mismatch', 'htu is not the path and query received')
  if (claims.bsh !== bodyHash(request.body)) throw refuse('body-hash-mismatch', 'bsh is not the SHA-256 of the body received')
  if (typeof claims.jti !== 'string' || claims.jti.length === 0 || claims.jti.length > 128) throw refuse('token-malformed', 'the token has no jti')
  const guard = options.replayGuard ?? defaultGuard
  if (!await guard.claim(claims.jti, new Date((exp! + tolerance) * 1000))) throw refuse('token-replayed', `jti ${claims.jti} was already used`)
  return claims as ServiceCallClaims
}
