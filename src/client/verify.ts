import { compactVerify, createLocalJWKSet, type JSONWebKeySet } from 'jose'

export interface ReceiptClaims {
  iss: string
  sub: string
  jti: string
  iat: number
  /** The call: its token's jti, method, path and body hash, when it was received, and the key that signed it. */
  req: { jti: string, htm: string, htu: string, bsh: string, receivedAt: string, kid?: string, act?: { id: string, name: string | null, draftedBy: { id: string, name: string | null } | null } }
  res: { status: number, records: Record<string, unknown>[] }
  /** Where the call's audit entry is in the transparency log: its leaf index and leaf hash. */
  log?: { index: number, leafHash: string }
}

/** A receipt whose signature verifies but which is not what the caller expects: another type of token, or another issuer's. */
export class ReceiptError extends Error {
  constructor(readonly code: 'not-a-receipt' | 'issuer-mismatch', message: string) {
    super(message)
  }
}

/**
 * Verifies a receipt offline with the service's JWKS (`/.well-known/jwks.json`) and returns
 * what it attests; throws if a single byte differs from what the service signed.
 */
export async function verifyReceipt(jws: string, serviceJwks: JSONWebKeySet, expectedIssuer?: string): Promise<ReceiptClaims> {
  const { payload, protectedHeader } = await compactVerify(jws, createLocalJWKSet(serviceJwks), { algorithms: ['ES256', 'EdDSA'] })
  if (protectedHeader.typ !== 'ttn-receipt+jwt') throw new ReceiptError('not-a-receipt', 'not a ttn receipt')
  const claims = JSON.parse(new TextDecoder().decode(payload)) as ReceiptClaims
  if (expectedIssuer !== undefined && claims.iss !== expectedIssuer) throw new ReceiptError('issuer-mismatch', `receipt issued by ${claims.iss}, not ${expectedIssuer}`)
  return claims
}
