import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { JWK, JSONWebKeySet } from 'jose'
import { errors } from 'jose'
import type { PublicJwk } from '../schemas/trust.js'
import { CallTokenVerifier } from '../src/auth/call-token.js'
import { KeyDirectory } from '../src/auth/key-directory.js'
import { ReplayStore } from '../src/auth/replay-store.js'
import type { SigningAlg } from '../src/client/keys.js'
import { ReceiptError, verifyReceipt, type ReceiptClaims } from '../src/client/verify.js'
import type { Database } from '../src/db/database.js'
import { OutboundClient, outboundPolicy } from '../src/http/outbound.js'
import { HttpProblem, type ProblemCode } from '../src/http/problem.js'
import { sha256 } from '../src/http/signed-body.js'
import { SystemsStore } from '../src/modules/systems/store.js'
import { projectPath } from '../src/paths.js'

/** The published vectors: what other stacks check their signing and verifying code against. */
export const VECTORS_DIR = projectPath('conformance', 'vectors')
/** The private keys the vectors were made with, the service's included: published on purpose, for tests only. */
export const TEST_KEYS_DIR = projectPath('conformance', 'test-keys')

export interface CallerKey {
  /** The system the key is registered for, the `iss` of its tokens. */
  systemId: string
  role: 'province'
  provinceCode: string
  alg: SigningAlg
  privateJwk: JWK
  publicJwk: JWK
}

export interface KeysFile {
  testOnly: string
  /** The service's SERVICE_ID: the `aud` of call tokens and the `iss` of receipts. */
  serviceId: string
  /** The systems the service has registered when it checks the token vectors, each with its one key. */
  callers: CallerKey[]
  /** What `/.well-known/jwks.json` would publish: the key receipts are signed with first, then an older one. */
  serviceJwks: JSONWebKeySet
}

export interface RequestVector {
  id: string
  description: string
  method: string
  /** Path and query exactly as sent: the `htu` a token for it carries. */
  pathAndQuery: string
  /** The exact body bytes, base64 (standard alphabet, padded); empty for a request without a body. */
  bodyBase64: string
  /** The same bytes as text, when they are UTF-8: for reading only, the bytes are in bodyBase64. */
  bodyUtf8?: string
  /** base64url (no padding) SHA-256 of the body bytes. */
  bsh: string
}

export type TokenOutcome = { accepted: true } | { accepted: false, status: number, code: ProblemCode }

export interface TokenVector {
  id: string
  description: string
  /** The request the token is presented with (an id in requests.json), which may not be the one it was signed for. */
  request: string
  token: string
  expected: TokenOutcome
}

export interface TokensFile {
  /** The service's clock when it checks every token, as NumericDate and as an instant. */
  now: number
  nowIso: string
  clockSkewSeconds: number
  tokens: TokenVector[]
}

export type ReceiptVerdict =
  | { valid: true, claims: ReceiptClaims }
  | { valid: false, reason: 'signature-invalid' | 'key-unknown' | 'algorithm-not-allowed' | 'not-a-receipt' | 'issuer-mismatch' }

export interface ReceiptVector {
  id: string
  description: string
  jws: string
  expected: ReceiptVerdict
}

export interface ReceiptsFile {
  /** Every receipt is verified against keys.json's serviceJwks, expecting this issuer. */
  issuer: string
  receipts: ReceiptVector[]
}

export interface Vectors {
  keys: KeysFile
  requests: RequestVector[]
  tokens: TokensFile
  receipts: ReceiptsFile
}

export const VECTOR_FILES = { keys: 'keys.json', requests: 'requests.json', tokens: 'tokens.json', receipts: 'receipts.json' } as const

export async function readVectors(dir = VECTORS_DIR): Promise<Vectors> {
  const read = async <T>(file: string) => JSON.parse(await readFile(join(dir, file), 'utf8')) as T
  return {
    keys: await read<KeysFile>(VECTOR_FILES.keys),
    requests: await read<RequestVector[]>(VECTOR_FILES.requests),
    tokens: await read<TokensFile>(VECTOR_FILES.tokens),
    receipts: await read<ReceiptsFile>(VECTOR_FILES.receipts),
  }
}

export const bodyBytes = (request: RequestVector) => Buffer.from(request.bodyBase64, 'base64')

export function requestOf(vectors: Pick<Vectors, 'requests'>, id: string): RequestVector {
  const request = vectors.requests.find((r) => r.id === id)
  if (!request) throw new Error(`no request ${id} in ${VECTOR_FILES.requests}`)
  return request
}

/**
 * The service's own token checker (src/auth) with the vectors' callers registered in `database`
 * and its clock stopped at the vectors' `now`: each token meets every check a real call meets, the
 * body hash and the replay guard included, in the same order.
 */
export async function tokenChecker(database: Database, keys: KeysFile, tokens: Pick<TokensFile, 'now' | 'clockSkewSeconds'>) {
  const systems = new SystemsStore(database.db)
  for (const caller of keys.callers) {
    await systems.register({
      id: caller.systemId, role: caller.role, provinceCode: caller.provinceCode, name: `Test vectors ${caller.systemId}`,
      jwks: { keys: [caller.publicJwk as PublicJwk] },
    }, database.db)
  }
  // No vector caller has a jwksUri, so nothing is ever fetched; the client is there because the directory needs one.
  const outbound = new OutboundClient(outboundPolicy(''), { connectMs: 1, headersMs: 1, totalMs: 1, maxBytes: 1 })
  const now = () => tokens.now * 1000
  const verifier = new CallTokenVerifier({
    serviceId: keys.serviceId,
    skewSeconds: tokens.clockSkewSeconds,
    keys: new KeyDirectory(systems, { cacheMs: 0, jwksRefreshSeconds: 600, outbound, now }),
    replays: new ReplayStore(database.db),
    now,
  })
  return {
    async outcome(token: string, request: RequestVector): Promise<TokenOutcome> {
      try {
        const call = await verifier.begin(`Bearer ${token}`, request.method, request.pathAndQuery, {})
        await verifier.complete(call, sha256(bodyBytes(request)))
        return { accepted: true }
      } catch (error) {
        if (error instanceof HttpProblem) return { accepted: false, status: error.status, code: error.code }
        throw error
      }
    },
    close: () => outbound.close(),
  }
}

/** What the client's receipt verifier says of a receipt, named as receipts.json names verdicts. */
export async function receiptVerdict(jws: string, serviceJwks: JSONWebKeySet, issuer: string): Promise<ReceiptVerdict> {
  try {
    return { valid: true, claims: await verifyReceipt(jws, serviceJwks, issuer) }
  } catch (error) {
    if (error instanceof errors.JWSSignatureVerificationFailed) return { valid: false, reason: 'signature-invalid' }
    if (error instanceof errors.JWKSNoMatchingKey) return { valid: false, reason: 'key-unknown' }
    if (error instanceof errors.JOSEAlgNotAllowed) return { valid: false, reason: 'algorithm-not-allowed' }
    if (error instanceof ReceiptError) return { valid: false, reason: error.code }
    throw error
  }
}
