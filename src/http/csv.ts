import type { FastifyReply, FastifyRequest } from 'fastify'

/** `format` decides when given; otherwise a caller that accepts CSV gets it. */
export const wantsCsv = (request: FastifyRequest, format: 'json' | 'csv' | undefined) =>
  format ? format === 'csv' : /\btext\/csv\b/.test(request.headers.accept ?? '')

export const sendCsv = (reply: FastifyReply, name: string, body: string) =>
  reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${name}.csv"`).send(body)

/** Excel reads a CSV as UTF-8 only when it starts with a byte-order mark. */
export const CSV_BOM = '\uFEFF'

/** A 200 answered as JSON or as CSV, for an operation's responses. */
export const jsonOrCsv = (schema: object, what: string, csvDescription: string) => ({
  description: `${what}, as JSON or as CSV.`,
  content: { 'application/json': { schema }, 'text/csv': { schema: { type: 'string', description: csvDescription } } },
})
