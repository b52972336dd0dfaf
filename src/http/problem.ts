import type { Problem } from '../../schemas/common.js'

interface ProblemType {
  status: number
  title: string
}

/**
 * Every problem code the service can answer with. The code is stable: integrators branch
 * on it, and `/problems/{code}` describes it.
 */
export const problemTypes = {
  'bad-request': { status: 400, title: 'The request is malformed' },
  'validation-failed': { status: 400, title: 'The request does not match the contract' },
  'malformed-json': { status: 400, title: 'The body is not well-formed JSON' },
  'invalid-cursor': { status: 400, title: 'The cursor is not one this service issued' },
  'route-not-found': { status: 404, title: 'No operation at this method and path' },
  'not-found': { status: 404, title: 'The resource does not exist' },
  'conflict': { status: 409, title: 'The request conflicts with the current state' },
  'precondition-failed': { status: 412, title: 'The If-Match tag is not the current version' },
  'precondition-required': { status: 428, title: 'The operation needs an If-Match header' },
  'idempotency-key-in-flight': { status: 409, title: 'A request with this Idempotency-Key is still running' },
  'idempotency-answer-lost': { status: 409, title: 'The write under this Idempotency-Key was applied, but its answer was lost; its receipt stands' },
  'idempotency-key-reused': { status: 422, title: 'The Idempotency-Key was used for another request' },
  'log-entry-pending': { status: 409, title: 'The audit entry is not in a signed checkpoint yet; retry after Retry-After seconds' },
  'cosignature-invalid': { status: 422, title: 'The cosignature is not a JWS the caller signed over a checkpoint of this log' },
  'checkpoint-mismatch': { status: 409, title: 'The cosigned checkpoint has another root than the one the service signed at that size' },
  'outbound-url-insecure': { status: 422, title: 'A URL the service would call is not https, and its host is not on the operator\'s test list' },
  'outbound-address-forbidden': { status: 422, title: 'A URL the service would call names a loopback, private, link-local or otherwise non-public address' },
  'outbound-url-invalid': { status: 422, title: 'A URL the service would call is not a plain absolute URL without credentials' },
  'media-too-large': { status: 413, title: 'The media file is larger than the service accepts (MEDIA_MAX_BYTES)' },
  'media-type-refused': { status: 422, title: 'The file\'s bytes are not of an accepted audio, video or image type, or cannot be read as the type they show' },
  'media-hash-mismatch': { status: 422, title: 'The file\'s SHA-256 is not the one declared' },
  'media-fetch-failed': { status: 422, title: 'The external media file could not be fetched from its URL' },
  'media-not-stored': { status: 422, title: 'A content item names a media file the service neither holds nor has verified' },
  'media-removed': { status: 410, title: 'The media file was removed by the retention job' },
  'upload-offset-mismatch': { status: 409, title: 'The chunk does not start at the upload\'s offset; read the upload and send from its offset' },
  'upload-not-open': { status: 409, title: 'The upload takes no more bytes: it is complete, rejected, cancelled or expired' },
  'range-not-satisfiable': { status: 416, title: 'The requested range starts beyond the end of the file' },
  'rule-violated': { status: 422, title: 'The request is well-formed but breaks a rule of the domain' },
  'body-too-large': { status: 413, title: 'The body is larger than the service accepts' },
  'unsupported-media-type': { status: 415, title: 'The body must be application/json (application/offset+octet-stream for an upload chunk)' },
  'token-in-query': { status: 400, title: 'A token was sent in the query string, where logs and proxies keep it; it is spent, send it as Authorization: Bearer' },
  'token-missing': { status: 401, title: 'The call carries no bearer call token' },
  'token-malformed': { status: 401, title: 'The call token is not a well-formed compact JWS with the required claims' },
  'token-type': { status: 401, title: 'The call token header typ is not ttn-call+jwt' },
  'token-algorithm': { status: 401, title: 'The call token algorithm is not ES256 or EdDSA' },
  'token-embedded-key': { status: 401, title: 'The call token carries or points to a key; keys come only from the registry' },
  'issuer-unknown': { status: 401, title: 'The call token issuer is not a registered system' },
  'key-unknown': { status: 401, title: 'The kid is not among the issuer\'s registered keys' },
  'key-retired': { status: 401, title: 'The kid names a retired key' },
  'signature-invalid': { status: 401, title: 'The call token signature does not verify' },
  'audience-mismatch': { status: 401, title: 'The call token aud is not this service' },
  'token-expired': { status: 401, title: 'The call token has expired' },
  'token-not-yet-valid': { status: 401, title: 'The call token was issued in the future beyond the allowed clock skew' },
  'token-lifetime': { status: 401, title: 'The call token lives longer than 300 seconds' },
  'method-mismatch': { status: 401, title: 'The call token htm is not the method of this request' },
  'path-mismatch': { status: 401, title: 'The call token htu is not the path and query of this request' },
  'body-hash-mismatch': { status: 401, title: 'The call token bsh is not the SHA-256 of the body received' },
  'token-replayed': { status: 401, title: 'The call token jti was already used' },
  'issuer-suspended': { status: 403, title: 'The calling system is suspended' },
  'role-forbidden': { status: 403, title: 'The caller\'s role may not perform this operation' },
  'scope-forbidden': { status: 403, title: 'The caller may not act on another province\'s or system\'s data' },
  'not-ready': { status: 503, title: 'The service cannot serve requests yet' },
  'database-unavailable': { status: 503, title: 'The database is unavailable; nothing was written, retry later' },
  'write-outcome-unknown': { status: 503, title: 'The database connection broke while the write committed; it may have been applied: check its receipt, or retry with the same Idempotency-Key' },
  'rate-limited': { status: 429, title: 'The caller exceeded its rate; retry after Retry-After seconds' },
  'body-rate-exceeded': { status: 429, title: 'The caller sent more request-body bytes than its budget on this instance; retry after Retry-After seconds' },
  'caller-busy': { status: 429, title: 'The caller has as many requests running and waiting as it may on this instance; retry after Retry-After seconds' },
  'overloaded': { status: 503, title: 'The instance is overloaded; retry after Retry-After seconds' },
  'internal-error': { status: 500, title: 'The service failed; the failure is logged under the request id' },
} satisfies Record<string, ProblemType>

export type ProblemCode = keyof typeof problemTypes

export const problemTypeUri = (code: string) => `/problems/${code}`

/** An error that becomes a problem document; anything thrown that is not one is a 500. */
export class HttpProblem extends Error {
  readonly status: number
  readonly code: ProblemCode
  readonly errors: Problem['errors']
  readonly headers: Record<string, string>
  readonly receiptId: string | undefined

  constructor(code: ProblemCode, detail: string, options: { errors?: Problem['errors'], headers?: Record<string, string>, status?: number, receiptId?: string } = {}) {
    super(detail)
    this.code = code
    this.status = options.status ?? problemTypes[code].status
    this.errors = options.errors
    this.headers = options.headers ?? {}
    this.receiptId = options.receiptId
  }

  toDocument(instance?: string): Problem {
    return {
      type: problemTypeUri(this.code),
      title: problemTypes[this.code].title,
      status: this.status,
      detail: this.message,
      code: this.code,
      ...(instance ? { instance } : {}),
      ...(this.errors ? { errors: this.errors } : {}),
      ...(this.receiptId ? { receiptId: this.receiptId } : {}),
    }
  }
}

export const notFound = (what: string) => new HttpProblem('not-found', `${what} does not exist`)
