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
  'body-too-large': { status: 413, title: 'The body is larger than the service accepts' },
  'unsupported-media-type': { status: 415, title: 'The body must be application/json' },
  'not-ready': { status: 503, title: 'The service cannot serve requests yet' },
  'database-unavailable': { status: 503, title: 'The database is unavailable; retry later' },
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

  constructor(code: ProblemCode, detail: string, options: { errors?: Problem['errors'], headers?: Record<string, string>, status?: number } = {}) {
    super(detail)
    this.code = code
    this.status = options.status ?? problemTypes[code].status
    this.errors = options.errors
    this.headers = options.headers ?? {}
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
    }
  }
}

export const notFound = (what: string) => new HttpProblem('not-found', `${what} does not exist`)
