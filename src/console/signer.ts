/**
 * The console's local signer: it holds the operator's key and signs calls to the service for
 * the pages the official reads. It only ever reads: the operations it forwards are the GETs
 * on this list, and any other path is refused before anything is signed.
 */
import type { IncomingHttpHeaders } from 'node:http'
import type { Problem } from '../../schemas/common.js'
import type { TtnClient } from '../client/client.js'
import { TtnApiError } from '../client/http.js'

/** A path segment the service names a record with; never `.` or `..`, never percent-escaped. */
const SEGMENT = '[A-Za-z0-9_-][A-Za-z0-9._~-]*'
const FORM = '(?:indicators|feedback|appendix-02|appendix-03)'

/** The service's GET operations the console needs, as path patterns (the query string is the service's to check). */
const FORWARDED = [
  `/v2/systems/${SEGMENT}`,
  '/v2/summaries/national',
  `/v2/summaries/provinces/${SEGMENT}`,
  '/v2/trends',
  `/v2/provinces/${SEGMENT}/trends`,
  `/v2/provinces/${SEGMENT}/(?:stations|clusters|boards|status)`,
  `/v2/provinces/${SEGMENT}/devices/(?:station|cluster|board)/${SEGMENT}/status-history`,
  `/v2/provinces/${SEGMENT}/reports/${SEGMENT}/${FORM}`,
  '/v2/report-periods',
  `/v2/report-periods/${SEGMENT}/status`,
  '/v2/contents',
  `/v2/contents/${SEGMENT}`,
  `/v2/contents/${SEGMENT}/(?:deliveries|reach)`,
].map((pattern) => new RegExp(`^${pattern}$`))

export const isForwarded = (pathAndQuery: string): boolean => {
  const [path = ''] = pathAndQuery.split('?', 1)
  return FORWARDED.some((pattern) => pattern.test(path))
}

/** The console's own refusals, as RFC 9457 problem documents. */
const refusals = {
  'host-refused': { status: 403, title: 'The request names another host than the console\'s own loopback address and port' },
  'cross-site-refused': { status: 403, title: 'The request comes from another site than the console' },
  'operation-not-forwarded': { status: 403, title: 'The console forwards only the read operations it needs' },
  'method-not-allowed': { status: 405, title: 'The console only reads: GET and HEAD' },
  'validation-failed': { status: 400, title: 'The request does not match what the console takes' },
  'not-found': { status: 404, title: 'No page at this path' },
  'service-unreachable': { status: 502, title: 'The service could not be reached' },
  'console-failed': { status: 500, title: 'The console failed while making the page' },
}
export type RefusalCode = keyof typeof refusals

export class ConsoleProblem extends Error {
  constructor(readonly code: RefusalCode, detail: string) { super(detail) }
  get status(): number { return refusals[this.code].status }
  toDocument(): Problem {
    return { type: `urn:ttn-console:problem:${this.code}`, title: refusals[this.code].title, status: this.status, detail: this.message, code: this.code }
  }
}

/**
 * Refuses what a page elsewhere in the official's browser could send: a Host other than the
 * console's own (a DNS-rebinding name pointed at 127.0.0.1), and cross-site requests, by
 * their Origin or Sec-Fetch-Site. A request a browser makes from the console's own pages, or
 * the official types, passes; so do clients that send neither header (curl).
 */
export function checkRequest(method: string, headers: IncomingHttpHeaders, ownHost: string): void {
  if (headers.host !== ownHost) throw new ConsoleProblem('host-refused', `the console answers only at ${ownHost}, not ${headers.host ?? 'a request without Host'}`)
  const origin = headers.origin
  if (origin !== undefined && origin !== `http://${ownHost}`) throw new ConsoleProblem('cross-site-refused', `requests from ${origin} are refused`)
  const site = headers['sec-fetch-site']
  if (site !== undefined && site !== 'same-origin' && site !== 'none') throw new ConsoleProblem('cross-site-refused', `a ${String(site)} request is refused`)
  if (method !== 'GET' && method !== 'HEAD') throw new ConsoleProblem('method-not-allowed', `${method} is refused: the console only reads`)
}

/** What the service answered to a forwarded call: its status and body, a problem included. */
export interface Forwarded { status: number, body: unknown, contentType: string }

/** Signs and sends the forwarded reads, and nothing else. */
export class ServiceReader {
  constructor(private readonly client: TtnClient) {}

  get systemId(): string { return this.client.http.options.systemId }

  private allow(pathAndQuery: string): void {
    if (!isForwarded(pathAndQuery)) throw new ConsoleProblem('operation-not-forwarded', `GET ${pathAndQuery.split('?', 1)[0]} is not an operation the console forwards`)
  }

  /** The body of a forwarded read; a problem the service answers is thrown as TtnApiError. */
  async get<T>(pathAndQuery: string): Promise<T> {
    this.allow(pathAndQuery)
    return this.client.http.call<T>('GET', pathAndQuery)
  }

  /** A forwarded read as the service answered it, for the console's /api passage. */
  async forward(pathAndQuery: string): Promise<Forwarded> {
    this.allow(pathAndQuery)
    try {
      if (new URLSearchParams(pathAndQuery.split('?')[1] ?? '').get('format') === 'csv') {
        return { status: 200, body: await this.client.http.call<string>('GET', pathAndQuery, undefined, { text: 'text/csv' }), contentType: 'text/csv; charset=utf-8' }
      }
      return { status: 200, body: await this.client.http.call('GET', pathAndQuery), contentType: 'application/json; charset=utf-8' }
    } catch (error) {
      if (error instanceof TtnApiError && error.problem) return { status: error.status, body: error.problem, contentType: 'application/problem+json; charset=utf-8' }
      throw error
    }
  }
}
