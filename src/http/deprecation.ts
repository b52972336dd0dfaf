import type { FastifyInstance, RouteOptions } from 'fastify'

/**
 * An operation on its way out of `/v2`: from `since` it still works but is marked deprecated in
 * the contract and in every answer (RFC 9745 `Deprecation`, RFC 8594 `Sunset`); after `sunset`
 * it may be removed. Dates are calendar dates, taken as midnight UTC.
 */
export interface Deprecation {
  since: string
  sunset: string
  /** Path of the operation that replaces it, sent as `Link: <…>; rel="successor-version"`. */
  successor?: string
}

declare module 'fastify' {
  interface FastifyContextConfig {
    deprecation?: Deprecation
  }
}

/** At least this long between an operation's deprecation and its sunset: the policy the contract states. */
export const MIN_DEPRECATION_DAYS = 180

const DAY_MS = 86_400_000
const midnightUtc = (date: string) => {
  const time = Date.parse(`${date}T00:00:00Z`)
  if (Number.isNaN(time)) throw new Error(`not a calendar date: ${date}`)
  return time
}

export const deprecationHeaders = {
  Deprecation: { type: 'string', pattern: '^@\\d+$', required: true, description: 'On a deprecated operation: since when (RFC 9745), as `@` and Unix seconds.' },
  Sunset: { type: 'string', required: true, description: 'On a deprecated operation: the HTTP-date after which it may be removed (RFC 8594).' },
  Link: { type: 'string', description: 'On a deprecated operation with a successor: `<path>; rel="successor-version"`.' },
}

/** The answer headers of a deprecated route; checked when the route is registered, so never throws when answering. */
function headersOf(deprecation: Deprecation): Record<string, string> {
  const since = midnightUtc(deprecation.since)
  const sunset = midnightUtc(deprecation.sunset)
  if (sunset - since < MIN_DEPRECATION_DAYS * DAY_MS) {
    throw new Error(`a sunset must come at least ${MIN_DEPRECATION_DAYS} days after the deprecation (${deprecation.since} to ${deprecation.sunset})`)
  }
  return {
    deprecation: `@${since / 1000}`,
    sunset: new Date(sunset).toUTCString(),
    ...(deprecation.successor ? { link: `<${deprecation.successor}>; rel="successor-version"` } : {}),
  }
}

/** Marks a deprecated route in its schema, so the contract says so and declares the headers. */
export function declareDeprecation(route: RouteOptions, schema: Record<string, unknown>): void {
  const deprecation = route.config?.deprecation
  if (!deprecation) return
  headersOf(deprecation)
  schema.deprecated = true
  schema.description = [schema.description,
    `**Deprecated** since ${deprecation.since}; may be removed after ${deprecation.sunset}.` +
    (deprecation.successor ? ` Use \`${deprecation.successor}\` instead.` : '')].filter(Boolean).join('\n\n')
}

/** Sends the deprecation headers on every answer of a deprecated route, errors included. */
export function registerDeprecation(app: FastifyInstance): void {
  app.addHook('onSend', async (request, reply) => {
    const deprecation = request.routeOptions.config.deprecation
    if (deprecation) reply.headers(headersOf(deprecation))
  })
}
