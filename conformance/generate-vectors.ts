/**
 * Writes the published test vectors (conformance/vectors/) from the fixed test keys, signing with
 * the project's own code, then checks every vector through the service's token checker and the
 * client's receipt verifier before it writes anything: `npm run vectors`.
 *
 * ECDSA signatures are randomised, so each run gives other ES256 tokens: the committed files are
 * the reference, and test/conformance/vectors.test.ts holds the service to them.
 */
import { createHash } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { SignJWT, base64url, decodeProtectedHeader, type JWK, type JWTPayload } from 'jose'
import { migrateToLatest } from '../src/db/migrator.js'
import { openEmbedded } from '../src/db/database.js'
import { importSigningKey, publicPart, type SigningKey } from '../src/client/keys.js'
import { bodyHash, signCall, CALL_TOKEN_TYPE, type CallToSign } from '../src/client/sign.js'
import { signReceipt, type ReceiptContent } from '../src/modules/receipts/issuer.js'
import type { ProblemCode } from '../src/http/problem.js'
import {
  TEST_KEYS_DIR, VECTORS_DIR, VECTOR_FILES, receiptVerdict, requestOf, tokenChecker,
  type CallerKey, type KeysFile, type ReceiptVector, type ReceiptsFile, type RequestVector, type TokenOutcome, type TokenVector, type TokensFile, type Vectors,
} from './vectors.js'

const SERVICE_ID = 'ttn-central'
/** 2026-03-02 09:00 in Vietnam: every token is checked as if the service's clock read this. */
const NOW = new Date('2026-03-02T02:00:00Z')
const NOW_SECONDS = NOW.getTime() / 1000
const CLOCK_SKEW_SECONDS = 60

const readJson = async <T>(file: string) => JSON.parse(await readFile(join(TEST_KEYS_DIR, file), 'utf8')) as T

async function testKeys() {
  const es256 = await readJson<JWK>('province-79.es256.private.jwk.json')
  const ed25519 = await readJson<JWK>('province-01.ed25519.private.jwk.json')
  const service = await readJson<{ keys: JWK[] }>('service.private.jwks.json')
  const caller = (systemId: string, provinceCode: string, jwk: JWK): CallerKey => ({
    systemId, role: 'province', provinceCode, alg: jwk.alg as CallerKey['alg'], privateJwk: jwk, publicJwk: publicPart(jwk),
  })
  const keys: KeysFile = {
    testOnly: 'TEST KEYS, published on purpose: never register them with a real deployment, never trust anything they sign.',
    serviceId: SERVICE_ID,
    callers: [caller('province-79', '79', es256), caller('province-01', '01', ed25519)],
    serviceJwks: { keys: service.keys.map(publicPart) },
  }
  return {
    keys,
    es256: await importSigningKey(es256),
    ed25519: await importSigningKey(ed25519),
    serviceCurrent: await importSigningKey(service.keys[0]!),
    servicePrevious: await importSigningKey(service.keys[1]!),
  }
}

function request(id: string, description: string, method: string, pathAndQuery: string, body: string | Uint8Array = ''): RequestVector {
  const bytes = Buffer.from(body)
  const utf8 = typeof body === 'string' && body !== '' ? { bodyUtf8: body } : {}
  return { id, description, method, pathAndQuery, bodyBase64: bytes.toString('base64'), ...utf8, bsh: bodyHash(bytes) }
}

const station = {
  id: 'dai-26740', communeCode: '26740', name: 'Đài truyền thanh phường Sài Gòn', kind: 'ip', status: 'operating', establishedOn: '2024-09-01',
}

const requests: RequestVector[] = [
  request('get-system', 'A GET without a body: bsh is the hash of no bytes.', 'GET', '/v2/systems/province-79'),
  request('list-stations', 'A GET with a query string, signed exactly as sent.', 'GET', '/v2/provinces/79/stations?commune=26740&limit=10'),
  request('list-stations-reordered', 'The same query with its parameters the other way round: another htu.', 'GET', '/v2/provinces/79/stations?limit=10&commune=26740'),
  request('put-stations', 'A PUT of one station, compact JSON with Vietnamese text (UTF-8).', 'PUT', '/v2/provinces/79/stations', JSON.stringify({ items: [station] })),
  request('put-stations-spaced', 'The same JSON value written with spaces and a final newline: other bytes, another bsh.', 'PUT', '/v2/provinces/79/stations', JSON.stringify({ items: [station] }, null, 2) + '\n'),
  request('patch-system', 'A PATCH of its own system by province 01 (the Ed25519 caller).', 'PATCH', '/v2/systems/province-01', JSON.stringify({ name: 'Hệ thống thông tin nguồn thành phố Hà Nội' })),
  request('binary-body', 'A body that is not text (every byte value once), as a media chunk is: the hash is over the bytes.', 'PATCH', '/v2/media/uploads/vectors-upload-1', Uint8Array.from({ length: 256 }, (_, i) => i)),
]

const decodePayload = (token: string) => JSON.parse(new TextDecoder().decode(base64url.decode(token.split('.')[1]!))) as JWTPayload

/** A token with the claims `signCall` gives but a header no conforming signer writes, signed by `key`. */
const withHeader = (claimsFrom: string, header: Record<string, unknown>, key: SigningKey) =>
  new SignJWT(decodePayload(claimsFrom)).setProtectedHeader({ alg: key.alg, ...header }).sign(key.key)

const segments = (...parts: (string | object)[]) => parts.map((p) => (typeof p === 'string' ? p : base64url.encode(JSON.stringify(p)))).join('.')

/** Flips one bit in the middle of the signature: a signature of the right length that does not verify. */
function flipSignatureBit(token: string): string {
  const [header, payload, signature] = token.split('.') as [string, string, string]
  const bytes = base64url.decode(signature)
  bytes[bytes.length >> 1]! ^= 0x01
  return `${header}.${payload}.${base64url.encode(bytes)}`
}

const refused = (code: ProblemCode): TokenOutcome => ({ accepted: false, status: 401, code })
const accepted: TokenOutcome = { accepted: true }

async function tokenVectors(k: Awaited<ReturnType<typeof testKeys>>): Promise<TokenVector[]> {
  const sign = (id: string, requestId: string, options: Partial<CallToSign> = {}) => {
    const r = requestOf({ requests }, requestId)
    return signCall({
      issuer: 'province-79', audience: SERVICE_ID, key: k.es256, method: r.method, pathAndQuery: r.pathAndQuery, body: Buffer.from(r.bodyBase64, 'base64'),
      now: NOW, jti: `vector-${id}`, ...options,
    })
  }
  const asHanoi = { issuer: 'province-01', key: k.ed25519 }
  const vector = async (id: string, description: string, requestId: string, token: string | Promise<string>, expected: TokenOutcome): Promise<TokenVector> =>
    ({ id, description, request: requestId, token: await token, expected })
  const seconds = (s: number) => new Date(NOW.getTime() + s * 1000)
  const putStations = await sign('tampered-claims', 'put-stations')
  const tampered = putStations.split('.')
  const moreTime = { ...decodePayload(putStations), exp: NOW_SECONDS + 3600 }

  return Promise.all([
    vector('es256-get', 'ES256, a GET: accepted.', 'get-system', sign('es256-get', 'get-system'), accepted),
    vector('es256-get-query', 'ES256, a GET with a query string: accepted.', 'list-stations', sign('es256-get-query', 'list-stations'), accepted),
    vector('es256-put', 'ES256, a PUT with a body: accepted (receipts.json has its receipt).', 'put-stations', sign('es256-put', 'put-stations'), accepted),
    vector('eddsa-patch', 'EdDSA (Ed25519), a PATCH with a body: accepted.', 'patch-system', sign('eddsa-patch', 'patch-system', asHanoi), accepted),
    vector('eddsa-binary', 'EdDSA, a body of raw bytes: accepted.', 'binary-body', sign('eddsa-binary', 'binary-body', asHanoi), accepted),
    vector('iat-within-skew', 'Issued 30 s ahead of the service clock, within the allowed skew: accepted.', 'get-system', sign('iat-within-skew', 'get-system', { now: seconds(30) }), accepted),
    vector('exp-within-skew', 'Expired 30 s ago, within the allowed skew: accepted.', 'get-system', sign('exp-within-skew', 'get-system', { now: seconds(-90), lifetimeSeconds: 60 }), accepted),

    vector('wrong-typ', 'typ JWT instead of ttn-call+jwt.', 'get-system', withHeader(await sign('wrong-typ', 'get-system'), { kid: k.es256.kid, typ: 'JWT' }, k.es256), refused('token-type')),
    vector('no-typ', 'No typ at all.', 'get-system', withHeader(await sign('no-typ', 'get-system'), { kid: k.es256.kid }, k.es256), refused('token-type')),
    vector('alg-none', 'alg none and no signature.', 'get-system',
      segments({ alg: 'none', kid: k.es256.kid, typ: CALL_TOKEN_TYPE }, decodePayload(await sign('alg-none', 'get-system')), ''), refused('token-algorithm')),
    vector('alg-hs256', 'HS256 with the caller\'s public JWK as the shared secret (the algorithm-confusion attack).', 'get-system',
      new SignJWT(decodePayload(await sign('alg-hs256', 'get-system'))).setProtectedHeader({ alg: 'HS256', kid: k.es256.kid, typ: CALL_TOKEN_TYPE })
        .sign(new TextEncoder().encode(JSON.stringify(k.es256.publicJwk))), refused('token-algorithm')),
    vector('alg-not-of-key', 'Signed with an Ed25519 key but naming the caller\'s ES256 key: alg EdDSA is not that key\'s algorithm.', 'get-system',
      withHeader(await sign('alg-not-of-key', 'get-system'), { kid: k.es256.kid, typ: CALL_TOKEN_TYPE }, k.ed25519), refused('token-algorithm')),
    vector('embedded-jwk', 'The header carries a jwk (here the caller\'s own public key): keys come from the registry only.', 'get-system',
      withHeader(await sign('embedded-jwk', 'get-system'), { kid: k.es256.kid, typ: CALL_TOKEN_TYPE, jwk: k.es256.publicJwk }, k.es256), refused('token-embedded-key')),
    vector('embedded-jku', 'The header carries a jku.', 'get-system',
      withHeader(await sign('embedded-jku', 'get-system'), { kid: k.es256.kid, typ: CALL_TOKEN_TYPE, jku: 'https://attacker.example/jwks.json' }, k.es256), refused('token-embedded-key')),
    vector('no-kid', 'No kid in the header.', 'get-system', withHeader(await sign('no-kid', 'get-system'), { typ: CALL_TOKEN_TYPE }, k.es256), refused('token-malformed')),
    vector('issuer-unknown', 'iss names a system that is not registered.', 'get-system', sign('issuer-unknown', 'get-system', { issuer: 'province-96' }), refused('issuer-unknown')),
    vector('key-of-another-system', 'iss province-79 with the kid of province-01\'s key: province-79 has no such key.', 'get-system',
      sign('key-of-another-system', 'get-system', { key: k.ed25519 }), refused('key-unknown')),
    vector('claims-tampered', 'The payload changed after signing (exp an hour later), the signature kept.', 'put-stations',
      `${tampered[0]}.${base64url.encode(JSON.stringify(moreTime))}.${tampered[2]}`, refused('signature-invalid')),
    vector('signature-bit-flipped', 'ES256: one bit of the signature flipped.', 'get-system', flipSignatureBit(await sign('signature-bit-flipped', 'get-system')), refused('signature-invalid')),
    vector('eddsa-signature-bit-flipped', 'EdDSA: one bit of the signature flipped.', 'patch-system',
      flipSignatureBit(await sign('eddsa-signature-bit-flipped', 'patch-system', asHanoi)), refused('signature-invalid')),
    vector('signature-der', 'ES256 with the signature DER-encoded instead of the 64 bytes R || S JOSE requires.', 'get-system',
      derSignature(await sign('signature-der', 'get-system')), refused('signature-invalid')),
    vector('audience-mismatch', 'aud names a province, not the service.', 'get-system', sign('audience-mismatch', 'get-system', { audience: 'province-01' }), refused('audience-mismatch')),
    vector('lifetime-too-long', 'exp 600 s after iat, over the 300 s allowed.', 'get-system', sign('lifetime-too-long', 'get-system', { lifetimeSeconds: 600 }), refused('token-lifetime')),
    vector('not-yet-valid', 'Issued 120 s ahead of the service clock, beyond the 60 s skew.', 'get-system', sign('not-yet-valid', 'get-system', { now: seconds(120) }), refused('token-not-yet-valid')),
    vector('expired', 'Expired 90 s ago (issued 150 s ago for 60 s), beyond the skew.', 'get-system', sign('expired', 'get-system', { now: seconds(-150), lifetimeSeconds: 60 }), refused('token-expired')),
    vector('method-mismatch', 'Signed for POST, sent as PUT.', 'put-stations', sign('method-mismatch', 'put-stations', { method: 'POST' }), refused('method-mismatch')),
    vector('method-lower-case', 'htm in lower case: the method is compared as sent on the request line, upper case.', 'get-system',
      lowerCaseMethod(k.es256, 'method-lower-case'), refused('method-mismatch')),
    vector('path-mismatch', 'Signed for another path.', 'get-system', sign('path-mismatch', 'get-system', { pathAndQuery: '/v2/systems/province-01' }), refused('path-mismatch')),
    vector('query-reordered', 'Signed for ?commune=26740&limit=10, sent as ?limit=10&commune=26740: htu is the query as sent, not a normalised one.', 'list-stations-reordered',
      sign('query-reordered', 'list-stations'), refused('path-mismatch')),
    vector('query-missing', 'Signed without the query string the request has.', 'list-stations', sign('query-missing', 'list-stations', { pathAndQuery: '/v2/provinces/79/stations' }), refused('path-mismatch')),
    vector('body-reformatted', 'Signed over the compact body, sent with the same JSON value reformatted.', 'put-stations-spaced',
      sign('body-reformatted', 'put-stations'), refused('body-hash-mismatch')),
    vector('body-missing-from-hash', 'A PUT signed as if it had no body.', 'put-stations', sign('body-missing-from-hash', 'put-stations', { body: undefined }), refused('body-hash-mismatch')),
  ])

  /** signCall always writes the method in upper case, so this one is assembled by hand from its claims. */
  async function lowerCaseMethod(key: SigningKey, id: string) {
    const claims = { ...decodePayload(await sign(id, 'get-system')), htm: 'get' }
    return new SignJWT(claims).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: CALL_TOKEN_TYPE }).sign(key.key)
  }
}

/** Re-encodes a JOSE ES256 signature (R || S) as the DER SEQUENCE of two INTEGERs that many crypto libraries produce. */
function derSignature(token: string): string {
  const [header, payload, signature] = token.split('.') as [string, string, string]
  const raw = base64url.decode(signature)
  const integer = (bytes: Uint8Array) => {
    let i = 0
    while (i < bytes.length - 1 && bytes[i] === 0) i++
    const trimmed = bytes.subarray(i)
    const body = trimmed[0]! & 0x80 ? Uint8Array.from([0, ...trimmed]) : trimmed
    return [0x02, body.length, ...body]
  }
  const content = [...integer(raw.subarray(0, 32)), ...integer(raw.subarray(32))]
  return `${header}.${payload}.${base64url.encode(Uint8Array.from([0x30, content.length, ...content]))}`
}

async function receiptVectors(k: Awaited<ReturnType<typeof testKeys>>, tokens: TokenVector[]): Promise<ReceiptVector[]> {
  const put = tokens.find((t) => t.id === 'es256-put')!
  const putRequest = requestOf({ requests }, put.request)
  const content: ReceiptContent = {
    issuer: SERVICE_ID,
    subject: 'province-79',
    id: 'vectors-receipt-0001',
    issuedAt: NOW,
    req: { jti: 'vector-es256-put', htm: putRequest.method, htu: putRequest.pathAndQuery, bsh: putRequest.bsh, receivedAt: NOW.toISOString(), kid: decodeProtectedHeader(put.token).kid! },
    res: { status: 200, records: [{ entity: 'station', created: ['dai-26740'], updated: [] }] },
    // An illustrative place in the log: no inclusion proof is published for it.
    log: { index: 41, leafHash: createHash('sha256').update('an illustrative audit entry').digest('base64url') },
  }
  const valid = await signReceipt(k.serviceCurrent, content)
  const [header, , signature] = valid.split('.') as [string, string, string]
  const changed = decodePayload(valid) as unknown as ReceiptContent
  changed.res.records = [{ entity: 'station', created: ['dai-26741'], updated: [] }]

  const claimsOf = (jws: string) => decodePayload(jws) as never
  const vector = async (id: string, description: string, jws: string | Promise<string>, invalid?: Extract<ReceiptVector['expected'], { valid: false }>['reason']): Promise<ReceiptVector> => {
    const signed = await jws
    return { id, description, jws: signed, expected: invalid ? { valid: false, reason: invalid } : { valid: true, claims: claimsOf(signed) } }
  }
  return Promise.all([
    vector('valid-es256', 'The receipt of the es256-put call, signed with the service\'s current ES256 key.', valid),
    vector('valid-older-key', 'A receipt for the eddsa-patch call, signed with the service\'s previous (Ed25519) key, still published: it still verifies.',
      signReceipt(k.servicePrevious, {
        ...content, subject: 'province-01', id: 'vectors-receipt-0002',
        req: { ...content.req, jti: 'vector-eddsa-patch', htm: 'PATCH', htu: '/v2/systems/province-01', bsh: requestOf({ requests }, 'patch-system').bsh, kid: k.ed25519.kid },
        res: { status: 200, records: [{ entity: 'system', id: 'province-01', version: 2 }] },
        log: { ...content.log, index: 42 },
      })),
    vector('tampered', 'valid-es256 with one record id changed in the payload, the signature kept.', `${header}.${base64url.encode(JSON.stringify(changed))}.${signature}`, 'signature-invalid'),
    vector('signed-by-a-caller', 'The same claims signed with a caller\'s key under the kid of the service\'s key.',
      new SignJWT(decodePayload(valid)).setProtectedHeader({ alg: 'ES256', kid: k.serviceCurrent.kid, typ: 'ttn-receipt+jwt' }).sign(k.es256.key), 'signature-invalid'),
    vector('kid-not-published', 'Signed with a key whose kid the service\'s JWKS does not list.',
      new SignJWT(decodePayload(valid)).setProtectedHeader({ alg: 'ES256', kid: k.es256.kid, typ: 'ttn-receipt+jwt' }).sign(k.es256.key), 'key-unknown'),
    vector('alg-none', 'alg none and no signature.', segments({ alg: 'none', kid: k.serviceCurrent.kid, typ: 'ttn-receipt+jwt' }, decodePayload(valid), ''), 'algorithm-not-allowed'),
    vector('call-token-not-receipt', 'Signed by the service key but typ ttn-call+jwt: a webhook call token is not a receipt.',
      new SignJWT(decodePayload(valid)).setProtectedHeader({ alg: 'ES256', kid: k.serviceCurrent.kid, typ: CALL_TOKEN_TYPE }).sign(k.serviceCurrent.key), 'not-a-receipt'),
    vector('another-issuer', 'Signed by the service key with iss another service\'s id.', signReceipt(k.serviceCurrent, { ...content, issuer: 'ttn-staging' }), 'issuer-mismatch'),
  ])
}

/** Checks each vector through the real code, on a database of its own; throws naming every vector whose outcome is not the declared one. */
async function checkAll(vectors: Vectors): Promise<void> {
  const database = await openEmbedded()
  try {
    await migrateToLatest(database.db)
    const checker = await tokenChecker(database, vectors.keys, vectors.tokens)
    const wrong: string[] = []
    for (const vector of vectors.tokens.tokens) {
      const outcome = await checker.outcome(vector.token, requestOf(vectors, vector.request))
      if (JSON.stringify(outcome) !== JSON.stringify(vector.expected)) wrong.push(`token ${vector.id}: ${JSON.stringify(outcome)}`)
    }
    await checker.close()
    for (const vector of vectors.receipts.receipts) {
      const verdict = await receiptVerdict(vector.jws, vectors.keys.serviceJwks, vectors.receipts.issuer)
      if (JSON.stringify(verdict) !== JSON.stringify(vector.expected)) wrong.push(`receipt ${vector.id}: ${JSON.stringify(verdict)}`)
    }
    if (wrong.length > 0) throw new Error(`vectors whose outcome is not the one declared:\n${wrong.join('\n')}`)
  } finally {
    await database.close()
  }
}

const k = await testKeys()
const tokens: TokensFile = { now: NOW_SECONDS, nowIso: NOW.toISOString(), clockSkewSeconds: CLOCK_SKEW_SECONDS, tokens: await tokenVectors(k) }
const receipts: ReceiptsFile = { issuer: SERVICE_ID, receipts: await receiptVectors(k, tokens.tokens) }
const vectors: Vectors = { keys: k.keys, requests, tokens, receipts }
await checkAll(vectors)
for (const [name, file] of Object.entries(VECTOR_FILES)) {
  await writeFile(join(VECTORS_DIR, file), JSON.stringify(vectors[name as keyof Vectors], null, 2) + '\n')
}
console.log(`${requests.length} requests, ${tokens.tokens.length} tokens, ${receipts.receipts.length} receipts written to ${VECTORS_DIR}`)
