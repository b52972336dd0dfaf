import { randomUUID } from 'node:crypto'
import { CompactSign, generateKeyPair } from 'jose'
import type { SigningKey } from '../client/keys.js'
import { bodyHash, CALL_TOKEN_TYPE } from '../client/sign.js'

export interface TokenRequest {
  issuer: string
  audience: string
  key: SigningKey
  method: string
  pathAndQuery: string
  body?: string | Uint8Array | undefined
}

export interface Forgery {
  header?: Record<string, unknown>
  claims?: Record<string, unknown>
  /** How the token is signed: by the caller's key (default), another key under the caller's kid, HMAC, or not at all. */
  signing?: 'caller' | 'other-key' | 'hmac' | 'none'
}

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

/**
 * A call token with any header or claim changed, for the trust-model attacks. Built by hand
 * rather than with signCall so that what signCall refuses to produce can be sent too.
 */
export async function forgeToken(request: TokenRequest, forgery: Forgery = {}): Promise<string> {
  const iat = Math.floor(Date.now() / 1000)
  const header = { alg: request.key.alg, kid: request.key.kid, typ: CALL_TOKEN_TYPE, ...forgery.header }
  const claims = {
    iss: request.issuer,
    aud: request.audience,
    iat,
    exp: iat + 60,
    jti: randomUUID(),
    htm: request.method.toUpperCase(),
    htu: request.pathAndQuery,
    bsh: bodyHash(request.body),
    ...forgery.claims,
  }
  const payload = new TextEncoder().encode(JSON.stringify(claims))
  switch (forgery.signing ?? 'caller') {
    case 'none':
      return `${base64url({ ...header, alg: 'none' })}.${Buffer.from(payload).toString('base64url')}.`
    case 'hmac':
      // The classic confusion: the caller's public key used as an HMAC secret.
      return new CompactSign(payload)
        .setProtectedHeader({ ...header, alg: 'HS256' })
        .sign(new TextEncoder().encode(JSON.stringify(request.key.publicJwk)))
    case 'other-key': {
      const { privateKey } = await generateKeyPair(request.key.alg)
      return new CompactSign(payload).setProtectedHeader(header).sign(privateKey)
    }
    case 'caller':
      return new CompactSign(payload).setProtectedHeader(header).sign(request.key.key)
  }
}

/** The same token with one signature byte changed. */
export function tamperSignature(token: string): string {
  const [head, payload, signature] = token.split('.') as [string, string, string]
  const bytes = Buffer.from(signature, 'base64url')
  const middle = bytes.length >> 1
  bytes[middle] = bytes[middle]! ^ 0x5a
  return `${head}.${payload}.${bytes.toString('base64url')}`
}

export interface Attack {
  name: string
  /** What a faithful service does with it. */
  expectation: string
  token(request: TokenRequest): Promise<string | undefined>
}

const otherMethod = (method: string) => (method === 'GET' ? 'POST' : 'GET')
const now = () => Math.floor(Date.now() / 1000)

/** The attacks of the trust model (DESIGN.md section 5), each refused with 401 or 403 by a faithful service. */
export const ATTACKS: Attack[] = [
  { name: 'token-missing', expectation: 'a call without a token is refused', token: async () => undefined },
  { name: 'token-type', expectation: 'a token whose typ is not ttn-call+jwt is refused', token: (r) => forgeToken(r, { header: { typ: 'JWT' } }) },
  { name: 'alg-none', expectation: 'an unsigned token (alg none) is refused', token: (r) => forgeToken(r, { signing: 'none' }) },
  { name: 'alg-hs256', expectation: 'an HMAC token keyed with the public key is refused', token: (r) => forgeToken(r, { signing: 'hmac' }) },
  { name: 'embedded-key', expectation: 'a token carrying its own key (jwk header) is refused', token: (r) => forgeToken(r, { header: { jwk: r.key.publicJwk } }) },
  { name: 'unknown-kid', expectation: 'a token naming a key the caller never registered is refused', token: (r) => forgeToken(r, { header: { kid: `unknown-${randomUUID()}` } }) },
  { name: 'forged-signature', expectation: 'a token signed by another key under the caller\'s kid is refused', token: (r) => forgeToken(r, { signing: 'other-key' }) },
  { name: 'bad-signature', expectation: 'a token whose signature was altered is refused', token: async (r) => tamperSignature(await forgeToken(r)) },
  { name: 'wrong-audience', expectation: 'a token for another audience is refused', token: (r) => forgeToken(r, { claims: { aud: `${r.audience}-other` } }) },
  { name: 'expired', expectation: 'an expired token is refused', token: (r) => forgeToken(r, { claims: { iat: now() - 900, exp: now() - 600 } }) },
  { name: 'lifetime-over-300s', expectation: 'a token valid for more than 300 seconds is refused', token: (r) => forgeToken(r, { claims: { iat: now(), exp: now() + 600 } }) },
  { name: 'wrong-method', expectation: 'a token signed for another method is refused', token: (r) => forgeToken(r, { claims: { htm: otherMethod(r.method) } }) },
  { name: 'wrong-path', expectation: 'a token signed for another path is refused', token: (r) => forgeToken(r, { claims: { htu: `${r.pathAndQuery.split('?')[0]}/other` } }) },
  { name: 'wrong-body-hash', expectation: 'a token signed over other body bytes is refused', token: (r) => forgeToken(r, { claims: { bsh: bodyHash(Buffer.concat([Buffer.from(r.body ?? ''), Buffer.from(' ')])) } }) },
]
