import { request } from 'undici'

export interface PreparedRequest {
  method: string
  /** Path and query exactly as sent and signed. */
  pathAndQuery: string
  headers: Record<string, string>
  body?: string | Uint8Array | undefined
}

export interface Answer {
  status: number
  mediaType: string
  text: string
  /** Response headers, names in lower case; a repeated header's values joined with `, `. */
  headers: Record<string, string>
  /** Seconds a 429 or 503 asked to wait, when it said. */
  retryAfter?: number
}

const MAX_RETRY_AFTER_SECONDS = 60

/** The media type of a Content-Type header, without parameters. */
export const mediaTypeOf = (contentType: string | string[] | undefined) =>
  ((Array.isArray(contentType) ? contentType[0] : contentType) ?? '').split(';')[0]!.trim().toLowerCase()

/**
 * Sends one request. A 429 or 503 with `Retry-After` is waited out and the request prepared
 * again (a fresh token each time), so a rate-limited target slows the run instead of failing it.
 */
export async function send(baseUrl: string, prepare: () => Promise<PreparedRequest>, attempts = 4): Promise<Answer> {
  for (let attempt = 1; ; attempt++) {
    const prepared = await prepare()
    const response = await request(new URL(prepared.pathAndQuery, baseUrl), {
      method: prepared.method as 'GET',
      headers: prepared.headers,
      ...(prepared.body !== undefined ? { body: prepared.body } : {}),
    })
    const text = await response.body.text()
    const retryAfter = Number(response.headers['retry-after'])
    const headers = Object.fromEntries(Object.entries(response.headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(', ') : value ?? '']))
    const answer = { status: response.statusCode, mediaType: mediaTypeOf(response.headers['content-type']), text, headers }
    if (!(response.statusCode === 429 || response.statusCode === 503) || !Number.isFinite(retryAfter)) return answer
    if (attempt >= attempts) return { ...answer, retryAfter }
    await waitOut({ ...answer, retryAfter })
  }
}

/** Waits what a 429 or 503 asked for, within reason. */
export const waitOut = (answer: Answer) =>
  new Promise((resolve) => setTimeout(resolve, Math.min(Math.max(answer.retryAfter ?? 1, 1), MAX_RETRY_AFTER_SECONDS) * 1000))
