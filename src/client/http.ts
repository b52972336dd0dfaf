import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { request, type Dispatcher } from 'undici'
import type { Problem } from '../../schemas/common.js'
import type { SigningKey } from './keys.js'
import { signCall, type Actor } from './sign.js'

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  attempts: number
  /** First wait; each retry waits about twice as long, with jitter, unless the service says Retry-After. */
  baseDelayMs: number
  maxDelayMs: number
}

export interface ClientOptions {
  /**
   * Where the service is, e.g. `https://ttn.example.gov.vn`, or under a gateway's path
   * `https://gw.example.gov.vn/ttn`: calls go under that path and their tokens sign it.
   */
  baseUrl: string
  /** The caller's system id, the `iss` of its call tokens. */
  systemId: string
  key: SigningKey
  /** The service's SERVICE_ID. */
  audience?: string
  dispatcher?: Dispatcher
  timeoutMs?: number
  retry?: Partial<RetryPolicy>
  /** The official every call is made for (the `act` claim); a call's own `actor` option overrides it. */
  actor?: Actor
}

/** A problem document answered by the service, or an answer without one. */
export class TtnApiError extends Error {
  constructor(readonly status: number, readonly problem: Problem | undefined, readonly headers: Record<string, string | string[] | undefined>,
    readonly request?: { method: string, url: string }) {
    super(`${request ? `${request.method} ${request.url}: ` : ''}${status} ${problem ? `${problem.code}: ${problem.detail}` : 'without a problem document'}`)
  }

  /** Worth sending again: the service was unavailable or asked the caller to slow down. */
  get retryable(): boolean {
    return this.status === 429 || this.status === 502 || this.status === 503 || this.status === 504
  }
}

export interface CallOptions {
  headers?: Record<string, string>
  /**
   * Whether sending the call twice does no harm; true unless said otherwise. GET, PUT and
   * DELETE are by nature; a POST becomes so with the Idempotency-Key the client adds to it.
   */
  idempotent?: boolean
  /** Whether to retry here; a caller with its own retry loop (the outbox) turns it off. Default: when idempotent. */
  retry?: boolean
  /** Send the body, a Buffer, as these bytes of this media type instead of as JSON. */
  contentType?: string
  /** Ask for this media type and hand back the body as text (CSV, for example) instead of parsed JSON. */
  text?: string
  /** Ask for this media type and hand back the body as bytes (an xlsx workbook, for example). */
  bytes?: string
  /** The official this call is made for: who approved it and, nested, who drafted what it carries. */
  actor?: Actor
}

export interface Answer<T> {
  status: number
  body: T
  headers: Record<string, string | string[] | undefined>
}

const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 500, maxDelayMs: 30_000 }
const NETWORK_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CLOSED'])

const isNetworkError = (error: unknown) => NETWORK_ERRORS.has((error as { code?: string }).code ?? '') ||
  NETWORK_ERRORS.has(((error as { cause?: { code?: string } }).cause?.code) ?? '')

/** Milliseconds a Retry-After header asks for (seconds or an HTTP date). */
export function retryAfterMs(header: string | string[] | undefined, now = Date.now()): number | undefined {
  const value = Array.isArray(header) ? header[0] : header
  if (!value) return undefined
  if (/^\d+$/.test(value.trim())) return Number(value) * 1000
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

/**
 * Sends signed calls: every attempt carries a fresh call token over its method, path and
 * body bytes. Idempotent calls are retried on network failures, 429 and 503, waiting as the
 * service's Retry-After says, else with exponential backoff and jitter.
 */
/** The path a base URL carries (a gateway's prefix, without a trailing slash): every path called and signed goes under it. */
export const basePathOf = (baseUrl: string) => new URL(baseUrl).pathname.replace(/\/+$/, '')

export class SignedHttp {
  readonly audience: string
  private readonly retry: RetryPolicy
  private readonly origin: string
  /** The base URL's path without its trailing slash: what a gateway in front of the service strips. */
  private readonly basePath: string

  constructor(readonly options: ClientOptions) {
    this.audience = options.audience ?? 'ttn-central'
    this.retry = { ...DEFAULT_RETRY, ...options.retry }
    this.origin = new URL(options.baseUrl).origin
    this.basePath = basePathOf(options.baseUrl)
  }

  /** The URL a path and query of the API is called at. */
  url(pathAndQuery: string): string {
    return this.origin + this.basePath + pathAndQuery
  }

  async call<T>(method: string, pathAndQuery: string, body?: unknown, options: CallOptions = {}): Promise<T> {
    return (await this.send<T>(method, pathAndQuery, body, options)).body
  }

  async send<T>(method: string, pathAndQuery: string, body?: unknown, options: CallOptions = {}): Promise<Answer<T>> {
    const idempotent = options.idempotent ?? true
    const headers = { ...options.headers }
    if (method === 'POST' && idempotent && !headers['idempotency-key']) headers['idempotency-key'] = randomUUID()
    const payload = body === undefined ? undefined : options.contentType ? body as Buffer : JSON.stringify(body)
    const contentType = options.contentType ?? 'application/json'
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.once<T>(method, pathAndQuery, payload, contentType, headers, options, options.actor ?? this.options.actor)
      } catch (error) {
        const retryable = error instanceof TtnApiError ? error.retryable : isNetworkError(error)
        if (!(options.retry ?? idempotent) || !retryable || attempt >= this.retry.attempts) throw error
        const backoff = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (attempt - 1))
        const asked = error instanceof TtnApiError ? retryAfterMs(error.headers['retry-after']) : undefined
        await sleep(asked ?? backoff / 2 + Math.random() * backoff / 2)
      }
    }
  }

  private async once<T>(method: string, pathAndQuery: string, payload: string | Buffer | undefined, contentType: string, headers: Record<string, string>,
    { text, bytes }: Pick<CallOptions, 'text' | 'bytes'>, actor?: Actor): Promise<Answer<T>> {
    // Signed as sent, base path included: a gateway strips it, and the service (PUBLIC_BASE_PATH) checks the token against it put back.
    const token = await signCall({
      issuer: this.options.systemId, audience: this.audience, key: this.options.key, method, pathAndQuery: this.basePath + pathAndQuery, body: payload, ...(actor ? { actor } : {}),
    })
    const url = this.url(pathAndQuery)
    const response = await request(url, {
      method: method as Dispatcher.HttpMethod,
      headers: {
        authorization: `Bearer ${token}`,
        accept: bytes ?? text ?? 'application/json',
        ...(payload !== undefined ? { 'content-type': contentType } : {}),
        ...headers,
      },
      ...(payload !== undefined ? { body: payload } : {}),
      ...(this.options.dispatcher ? { dispatcher: this.options.dispatcher } : {}),
      headersTimeout: this.options.timeoutMs ?? 30_000,
      bodyTimeout: this.options.timeoutMs ?? 30_000,
    }).catch((error: Error & { code?: string }) => {
      // Named by the call that failed, keeping the code that tells a network failure worth retrying.
      throw Object.assign(new Error(`${method} ${url}: ${error.message}`, { cause: error }), { code: error.code })
    })
    // Decoded by hand: text() would drop a byte-order mark, which a CSV for spreadsheets needs to keep.
    const received = Buffer.from(await response.body.arrayBuffer())
    if (bytes && response.statusCode < 400) return { status: response.statusCode, body: received as T, headers: response.headers }
    const raw = received.toString('utf8')
    if (text && response.statusCode < 400) return { status: response.statusCode, body: raw as T, headers: response.headers }
    let parsed: unknown
    try {
      parsed = raw ? JSON.parse(raw) : undefined
    } catch {
      parsed = undefined
    }
    if (response.statusCode >= 400) throw new TtnApiError(response.statusCode, parsed as Problem | undefined, response.headers, { method, url })
    return { status: response.statusCode, body: parsed as T, headers: response.headers }
  }
}
