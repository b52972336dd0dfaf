import { Type, type Static } from 'typebox'
import { Instant, Page, PageQuery, Strict, ref } from './common.js'

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

/** What an accepted write answers with, so the caller can later prove what it sent and when. */
export const Receipt = Strict({
  id: Type.String({ description: 'Receipt id; `GET /v2/receipts/{id}` returns the receipt again.' }),
  jws: Type.String({ description: 'Compact JWS (`typ` `ttn-receipt+jwt`) signed by the service over the request and its result; verify it with `/.well-known/jwks.json`.' }),
}, {
  $id: 'Receipt',
  description: 'A signed receipt (biên nhận) for an accepted write. Its claims: `iss` the service, `sub` the caller, `jti` the receipt id, ' +
    '`iat` the time received, `req` (`jti`, `htm`, `htu`, `bsh` of the call) and `res` (`status` and the `records` touched).',
})
export type Receipt = Static<typeof Receipt>

export const ReceiptRecord = Strict({
  id: Type.String({ description: 'Receipt id.' }),
  issuedAt: Instant('When the request was received.'),
  caller: Type.String({ description: 'System id of the caller.' }),
  jws: Type.String({ description: 'The signed receipt.' }),
}, { $id: 'ReceiptRecord', description: 'A stored receipt.' })

export const AuditEntry = Strict({
  id: Type.Integer({ description: 'Position in the log.' }),
  at: Instant('When the call was answered.'),
  caller: Type.Union([Type.String(), Type.Null()], { description: 'The system that called, as verified, or as it claimed when verification failed; null for anonymous calls.' }),
  verified: Type.Boolean({ description: 'Whether the call token passed every check.' }),
  jti: Type.Union([Type.String(), Type.Null()], { description: 'The `jti` of the call token, when there was one.' }),
  method: Type.String(),
  path: Type.String({ description: 'Path and query as received.' }),
  bodySha256: Type.String({ description: 'base64url SHA-256 of the body bytes received.' }),
  status: Type.Integer({ description: 'HTTP status answered.' }),
  problemCode: Type.Union([Type.String(), Type.Null()], { description: 'Problem code when the call was refused or failed.' }),
  receiptId: Type.Union([Type.String(), Type.Null()], { description: 'Receipt issued for an accepted write.' }),
  requestId: Type.String({ description: 'The `x-request-id` of the call.' }),
  sealId: Type.Union([Type.Integer(), Type.Null()], { description: 'The signed seal covering this entry; null until sealed.' }),
}, { $id: 'AuditEntry', description: 'One inter-system call in the tamper-evident audit log (nhật ký kiểm toán).' })

export const AuditPage = Page('AuditPage', ref(AuditEntry), 'A page of the audit log, oldest first.')

export const AuditQuery = Strict({
  caller: Type.Optional(Type.String({ maxLength: 64, description: 'Only calls by this system.' })),
  from: Type.Optional(Instant('Only calls answered at or after this instant.')),
  to: Type.Optional(Instant('Only calls answered before this instant.')),
  ...PageQuery,
})

export const trustComponents = [PublicJwk, Jwks, Receipt, ReceiptRecord, AuditEntry, AuditPage]

export const ReceiptId = base64url('Receipt id.', 64)
