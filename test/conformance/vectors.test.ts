import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { calculateJwkThumbprint, decodeProtectedHeader, type JWK } from 'jose'
import { algOf, publicPart } from '../../src/client/keys.js'
import { sha256 } from '../../src/http/signed-body.js'
import { TEST_KEYS_DIR, bodyBytes, readVectors, receiptVerdict, requestOf, tokenChecker } from '../../conformance/vectors.js'
import { testDatabase } from '../helpers/database.js'

// The committed files are the reference other stacks test against: the service must still give each the stated outcome.
const vectors = await readVectors()

t.test('every caller key is a matching private and public pair, named by its thumbprint, and is the committed test key', async (t) => {
  const committed = [
    JSON.parse(await readFile(join(TEST_KEYS_DIR, 'province-79.es256.private.jwk.json'), 'utf8')) as JWK,
    JSON.parse(await readFile(join(TEST_KEYS_DIR, 'province-01.ed25519.private.jwk.json'), 'utf8')) as JWK,
  ]
  t.same(vectors.keys.callers.map((c) => c.privateJwk), committed)
  t.same(vectors.keys.callers.map((c) => c.alg).sort(), ['ES256', 'EdDSA'])
  for (const caller of vectors.keys.callers) {
    t.same(caller.publicJwk, publicPart(caller.privateJwk), `${caller.systemId}: the public JWK is the private one without d`)
    t.equal(caller.publicJwk.kid, await calculateJwkThumbprint(caller.publicJwk), `${caller.systemId}: kid is the RFC 7638 thumbprint`)
    t.equal(algOf(caller.publicJwk), caller.alg)
  }
  const service = JSON.parse(await readFile(join(TEST_KEYS_DIR, 'service.private.jwks.json'), 'utf8')) as { keys: JWK[] }
  t.same(vectors.keys.serviceJwks.keys, service.keys.map(publicPart), 'the service JWKS publishes the test service keys, public parts only')
  t.ok(vectors.keys.serviceJwks.keys.every((k) => !('d' in k)))
})

t.test('every request\'s bsh is the SHA-256 the service computes of its body bytes', async (t) => {
  for (const request of vectors.requests) {
    t.equal(sha256(bodyBytes(request)), request.bsh, request.id)
    if (request.bodyUtf8 !== undefined) t.equal(Buffer.from(request.bodyUtf8, 'utf8').toString('base64'), request.bodyBase64, `${request.id}: bodyUtf8 is the same bytes`)
  }
})

t.test('every token gives its stated outcome through the service\'s token checker at the vectors\' time', async (t) => {
  const ids = vectors.tokens.tokens.map((v) => v.id)
  t.equal(new Set(ids).size, ids.length, 'ids are unique')
  const checker = await tokenChecker(await testDatabase(t), vectors.keys, vectors.tokens)
  t.teardown(() => checker.close())
  for (const vector of vectors.tokens.tokens) {
    t.same(await checker.outcome(vector.token, requestOf(vectors, vector.request)), vector.expected, `${vector.id}: ${vector.description}`)
  }
  const codes = new Set(vectors.tokens.tokens.flatMap((v) => (v.expected.accepted ? [] : [v.expected.code])))
  for (const code of ['signature-invalid', 'token-expired', 'path-mismatch', 'method-mismatch', 'body-hash-mismatch', 'audience-mismatch', 'token-type', 'token-algorithm', 'token-embedded-key']) {
    t.ok(codes.has(code as never), `a vector is refused with ${code}`)
  }
  t.ok(vectors.tokens.tokens.some((v) => v.expected.accepted && decodeProtectedHeader(v.token).alg === 'EdDSA'), 'an EdDSA token is accepted')
})

t.test('a token is accepted once: presented again, the replay guard refuses it', async (t) => {
  const checker = await tokenChecker(await testDatabase(t), vectors.keys, vectors.tokens)
  t.teardown(() => checker.close())
  const vector = vectors.tokens.tokens.find((v) => v.expected.accepted)!
  const request = requestOf(vectors, vector.request)
  t.same(await checker.outcome(vector.token, request), { accepted: true })
  t.match(await checker.outcome(vector.token, request), { accepted: false, code: 'token-replayed' })
})

t.test('every receipt gives its stated verdict through the client\'s receipt verifier', async (t) => {
  for (const vector of vectors.receipts.receipts) {
    t.same(await receiptVerdict(vector.jws, vectors.keys.serviceJwks, vectors.receipts.issuer), vector.expected, `${vector.id}: ${vector.description}`)
  }
  const valid = vectors.receipts.receipts.find((r) => r.id === 'valid-es256')!
  const put = vectors.tokens.tokens.find((v) => v.id === 'es256-put')!
  t.match(valid.expected, { valid: true, claims: { sub: 'province-79', req: { jti: 'vector-es256-put', bsh: requestOf(vectors, put.request).bsh } } },
    'the valid receipt is the receipt of the accepted PUT vector')
})
