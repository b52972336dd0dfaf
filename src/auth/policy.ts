/**
 * Who may call a route. Every route declares one; the app refuses to start with a route
 * that does not, so no operation is reachable by accident.
 */
export type Policy = 'public'

declare module 'fastify' {
  interface FastifyContextConfig {
    policy?: Policy
  }
}
