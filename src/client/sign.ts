import { createHash, randomUUID } from 'node:crypto'
import { SignJWT } from 'jose'
import type { SigningKey } from './keys.js'

export const CALL_TOKEN_TYPE = 'ttn-call+jwt'
export const MAX_CALL_TOKEN_LIFETIME_SECONDS = 300

export const bodyHash = (body: string | Uint8Array | undefined) =>
  createHash('sha256').update(body ?? '').digest('base64url')

export interface CallToSign {
  /** The caller's system id (`iss`). */
  issuer: string
  /** The callee's system id (`aud`): the service's SERVICE_ID, or a province for webhook calls. */
  audience: string
  key: SigningKey
  method: string
  /** Path and query exactly as sent, e.g. `/v2/provinces/79/stations?limit=10`. */
  pathAndQuery: string
  /** The exact body bytes sent; omitted for a request without a body. */
  body?: string | Uint8Array | undefined
  lifetimeSeconds?: number
  now?: Date
  jti?: string
  /**
   * The official acting (the `act` claim, RFC 8693 style): who approved and sent the call, and
   * in `draftedBy` who prepared what it carries. Opaque staff ids and display names, never credentials.
   */
  actor?: Actor
}

export interface Actor {
  id: string
  name?: string
  draftedBy?: { id: string, name?: string }
}

/** The `act` claim of an actor: `sub` and `name`, with the drafter as the nested `act` (RFC 8693 4.1). */
export const actClaim = (actor: Actor) => ({
  sub: actor.id, ...(actor.name ? { name: actor.name } : {}),
  ...(actor.draftedBy ? { act: { sub: actor.draftedBy.id, ...(actor.draftedBy.name ? { name: actor.draftedBy.name } : {}) } } : {}),
})

/**
 * Mints the call token for one request: a JWS signed by the caller over the method, the
 * path and query, and the SHA-256 of the exact body bytes, valid for a minute by default.
 */
export async function signCall(call: CallToSign): Promise<string> {
  const iat = Math.floor((call.now ?? new Date()).getTime() / 1000)
  return new SignJWT({
    htm: call.method.toUpperCase(),
    htu: call.pathAndQuery,
    bsh: bodyHash(call.body),
    ...(call.actor ? { act: actClaim(call.actor) } : {}),
  })
    .setProtectedHeader({ alg: call.key.alg, kid: call.key.kid, typ: CALL_TOKEN_TYPE })
    .setIssuer(call.issuer)
    .setAudience(call.audience)
    .setIssuedAt(iat)
    .setExpirationTime(iat + (call.lifetimeSeconds ?? 60))
    .setJti(call.jti ?? randomUUID())
    .sign(call.key.key)
}
