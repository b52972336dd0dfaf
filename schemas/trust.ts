import { Type, type Static } from 'typebox'
import { Instant, Nullable, ref, Strict, StringEnum } from './common.js'

const base64url = (description: string, maxLength = 128) => Type.String({ pattern: '^[A-Za-z0-9_-]+$', maxLength, description })

/** A public key as JWK: ES256 (EC P-256) or EdDSA (Ed25519). Private members are refused. */
export const PublicJwk = Type.Union([
  Strict({
    kty: Type.Literal('EC'),
    crv: Type.Literal('P-256'),
    x: base64url('Public x coordinate.', 64),
    y: base64url('Public y coordinate.', 64),
    kid: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:-]+$', description: 'Key id, named by the `kid` header of call tokens.' }),
    alg: Type.Optional(Type.Literal('ES256')),
    use: Type.Optional(Type.Literal('sig')),
  }),
  Strict({
    kty: Type.Literal('OKP'),
    crv: Type.Literal('Ed25519'),
    x: base64url('Public key.', 64),
    kid: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:-]+$', description: 'Key id, named by the `kid` header of call tokens.' }),
    alg: Type.Optional(Type.Literal('EdDSA')),
    use: Type.Optional(Type.Literal('sig')),
  }),
], {
  $id: 'PublicJwk',
  description: 'A public signing key (khóa công khai) as a JSON Web Key: ES256 on P-256, or EdDSA on Ed25519.',
  examples: [{ kty: 'EC', crv: 'P-256', kid: 'province-79-2026', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0' }],
})
export type PublicJwk = Static<typeof PublicJwk>

export const Jwks = Strict({
  keys: Type.Array(ref(PublicJwk), { minItems: 1, maxItems: 10, description: 'The keys, at most 10.' }),
}, { $id: 'Jwks', description: 'A JSON Web Key Set of public keys.' })
export type Jwks = Static<typeof Jwks>

export const ServiceKey = Strict({
  kty: StringEnum(['EC', 'OKP']),
  crv: StringEnum(['P-256', 'Ed25519']),
  x: base64url('Public x coordinate, or the Ed25519 public key.', 64),
  y: Type.Optional(base64url('Public y coordinate (EC only).', 64)),
  kid: Type.String({ maxLength: 128, description: 'Key id, named by the `kid` header of what the service signs.' }),
  alg: StringEnum(['ES256', 'EdDSA']),
  use: Type.Literal('sig'),
  status: StringEnum(['active', 'retired'], { description: '`active`: the key the service signs with now; `retired`: a key it signed with before, kept so that what it signed still verifies.' }),
  validFrom: Nullable(Instant('When the service first signed with it.')),
  validUntil: Nullable(Instant('When the next key took over; signatures of a retired key made before this (plus a few minutes while instances restart) are genuine.')),
}, { $id: 'ServiceKey', description: 'A public key of the service (khóa công khai của hệ thống trung ương).' })

export const ServiceJwks = Strict({
  keys: Type.Array(ref(ServiceKey), { maxItems: 1000, description: 'The active key first, then every retired key, newest first.' }),
}, { $id: 'ServiceJwks', description: 'The JSON Web Key Set of the service: every key it ever signed with.' })

export const ReceiptId = base64url('Receipt id.', 64)

/** What an accepted write answers with, so the caller can later prove what it sent and when. */
export const Receipt = Strict({
  id: base64url('Receipt id; `GET /v2/receipts/{id}` returns the receipt again.', 64),
  jws: Type.String({ description: 'Compact JWS (`typ` `ttn-receipt+jwt`) signed by the service over the request and its result; verify it with `/.well-known/jwks.json`.' }),
}, {
  $id: 'Receipt',
  description: 'A signed receipt (biên nhận) for an accepted write. Its claims: `iss` the service, `sub` the caller, `jti` the receipt id, ' +
    '`iat` the time received, `req` (`jti`, `htm`, `htu`, `bsh` of the call, `receivedAt`, and `kid`, the caller\'s key that signed it), ' +
    '`res` (`status` and the `records` touched) and `log` (`index`, the leaf of the call\'s audit entry in the transparency log, and its `leafHash`): ' +
    '`GET /v2/receipts/{id}/proof` proves that leaf is in a signed checkpoint.',
})
export type Receipt = Static<typeof Receipt>

export const ReceiptRecord = Strict({
  id: ReceiptId,
  issuedAt: Instant('When the request was received.'),
  caller: Type.String({ maxLength: 64, description: 'System id of the caller.' }),
  jws: Type.String({ description: 'The signed receipt.' }),
}, { $id: 'ReceiptRecord', description: 'A stored receipt.' })

export const trustComponents = [PublicJwk, Jwks, ServiceKey, ServiceJwks, Receipt, ReceiptRecord]

