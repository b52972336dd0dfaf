import { createHash } from 'node:crypto'
import type { FastifyBodyParser, FastifyInstance, FastifyRequest } from 'fastify'
import secureJson from 'secure-json-parse'
import { CHUNK_CONTENT_TYPE } from '../../schemas/media.js'
import { HttpProblem } from './problem.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** base64url SHA-256 of the exact body bytes received (of no bytes for a request without a body). */
    bodySha256: string
  }
}

export const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('base64url')
const EMPTY_SHA256 = sha256('')
/** The JSON escape of U+0000 (a raw NUL is not valid JSON at all), not preceded by an escaping backslash. */
const NUL_ESCAPE = /(?<!\\)(?:\\\\)*\\u0000/

/**
 * JSON bodies are read as raw bytes, hashed, then parsed once: the call token signs the
 * hash of exactly these bytes, so nothing may re-serialise the body to hash it.
 * `beforeParse` sees the hash first, so a body that is not the signed one is never parsed.
 * The raw chunks of a media upload are hashed and checked the same way.
 */
export function registerSignedBodies(app: FastifyInstance, beforeParse: (request: FastifyRequest) => void = () => {}): void {
  app.decorateRequest('bodySha256', EMPTY_SHA256)
  app.removeAllContentTypeParsers()
  /** Hashes the bytes and checks them against the token; the refusal, if any. */
  const refusal = (request: FastifyRequest, bytes: Buffer): Error | undefined => {
    request.bodySha256 = sha256(bytes)
    try {
      beforeParse(request)
      return undefined
    } catch (error) {
      return error as Error
    }
  }
  const parse: FastifyBodyParser<Buffer> = (request, bytes, done) => {
    const refused = refusal(request, bytes)
    if (refused) {
      done(refused)
      return
    }
    if (bytes.length === 0) {
      done(new HttpProblem('malformed-json', 'the body is empty; send a JSON document or no Content-Type'))
      return
    }
    // PostgreSQL text cannot hold U+0000: refused here rather than failing deep in a statement.
    if (bytes.includes('\\u0000') && NUL_ESCAPE.test(bytes.toString('latin1'))) {
      done(new HttpProblem('bad-request', 'the body holds a NUL character (\\u0000), which no field accepts'))
      return
    }
    try {
      done(null, secureJson.parse(bytes, undefined, { protoAction: 'error', constructorAction: 'error' }))
    } catch (error) {
      done(new HttpProblem('malformed-json', `the body is not valid JSON: ${(error as Error).message}`))
    }
  }
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, parse)
  app.addContentTypeParser(/^application\/[a-z0-9.+-]+\+json$/, { parseAs: 'buffer' }, parse)
  // Upload chunks are signed like any body and handed on as the bytes they are.
  app.addContentTypeParser(CHUNK_CONTENT_TYPE, { parseAs: 'buffer' }, (request, bytes: Buffer, done) => {
    const refused = refusal(request, bytes)
    if (refused) done(refused)
    else done(null, bytes)
  })
}
