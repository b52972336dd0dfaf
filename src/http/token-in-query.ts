import type { IncomingMessage } from 'node:http'
import type { App } from '../app-type.js'
import type { ReplayStore } from '../auth/replay-store.js'
import { HttpProblem } from './problem.js'

const COMPACT_JWS = /eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g
const TOKEN_PARAMETER = /([?&](?:access_token|id_token|token|jwt|authorization)=)[^&#]*/gi

declare module 'node:http' {
  interface IncomingMessage {
    /** A call token found in the query string, taken out before anything logs the URL. */
    tokenInQuery?: string
  }
}

/**
 * Takes a token out of a URL's query before routing, so no log line, metric or audit entry ever
 * holds it; the request is then refused. Call tokens go in the Authorization header only.
 */
export function redactTokenInQuery(req: IncomingMessage): string {
  const url = req.url ?? '/'
  const query = url.indexOf('?')
  if (query < 0) return url
  const tail = url.slice(query)
  const found = tail.match(COMPACT_JWS)?.[0]
  const redacted = tail.replace(COMPACT_JWS, 'redacted').replace(TOKEN_PARAMETER, '$1redacted')
  if (redacted === tail) return url
  req.tokenInQuery = found ?? ''
  return url.slice(0, query) + redacted
}

/**
 * Refuses a request whose query carried a token, and spends that token's jti so that whoever
 * read it in a proxy log or a browser history cannot replay it.
 */
export function registerTokenInQueryRefusal(app: App, replays: ReplayStore, maxLifetimeSeconds: number): void {
  app.addHook('onRequest', async (request) => {
    const token = request.raw.tokenInQuery
    if (token === undefined) return
    const claims = (() => {
      try {
        return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { iss?: unknown, jti?: unknown, exp?: unknown }
      } catch {
        return {}
      }
    })()
    const now = Math.floor(Date.now() / 1000)
    if (typeof claims.iss === 'string' && typeof claims.jti === 'string' && typeof claims.exp === 'number' && claims.exp > now && claims.exp <= now + maxLifetimeSeconds) {
      await replays.firstUse(claims.iss.slice(0, 64), claims.jti.slice(0, 128), new Date(claims.exp * 1000))
    }
    throw new HttpProblem('token-in-query', 'a call token was sent in the query string; send it only as Authorization: Bearer. ' +
      'It was not logged, and it can no longer be used')
  })
}
