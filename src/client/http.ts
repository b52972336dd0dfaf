import { request, type Dispatcher } from 'undici'
import type { Problem } from '../../schemas/common.js'
import type { SigningKey } from './keys.js'
import { signCall } from './sign.js'

export interface ClientOptions {
  /** Where the service is, e.g. `https://ttn.example.gov.vn`. */
  baseUrl: string
  /** The caller's system id, the `iss` of its call tokens. */
  systemId: string
  key: SigningKey
  /** The service's SERVICE_ID. */
  audience?: string
  dispatcher?: Dispatcher
  timeoutMs?: number
}

/** A problem document answered by the service. */
export class TtnApiError extends Error {
  constructor(readonly status: number, readonly problem: Problem | undefined, readonly headers: Record<string, string | string[] | undefined>) {
    super(problem ? `${status} ${problem.code}: ${problem.detail}` : `HTTP ${status}`)
  }
}

/** Sends signed calls: every request carries a fresh call token over its method, path and body bytes. */
export class SignedHttp {
  readonly audience: string

  constructor(readonly options: ClientOptions) {
    this.audience = options.audience ?? 'ttn-central'
  }

  async call<T>(method: string, pathAndQuery: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    const payload = body === undefined ? undefined : JSON.stringify(body)
    const token = await signCall({
      issuer: this.options.systemId, audience: this.audience, key: this.options.key, method, pathAndQuery, body: payload,
    })
    const response = await request(new URL(pathAndQuery, this.options.baseUrl), {
      method: method as Dispatcher.HttpMethod,
      headers: {
        authorization: `Bearer ${token}`,
        accept: 'application/json',
        ...(payload !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      ...(payload !== undefined ? { body: payload } : {}),
      ...(this.options.dispatcher ? { dispatcher: this.options.dispatcher } : {}),
      headersTimeout: this.options.timeoutMs ?? 30_000,
      bodyTimeout: this.options.timeoutMs ?? 30_000,
    })
    const text = await response.body.text()
    const parsed: unknown = text ? JSON.parse(text) : undefined
    if (response.statusCode >= 400) throw new TtnApiError(response.statusCode, parsed as Problem | undefined, response.headers)
    return parsed as T
  }
}
