import { Ajv, type Options } from 'ajv'
import addFormats from 'ajv-formats'
import type { FastifySchemaCompiler } from 'fastify'
import type { TSchema } from 'typebox'
import { components } from '../../schemas/index.js'

/**
 * Validation for every route. Bodies are checked as sent: no type coercion and no removal
 * of unknown fields, so `"5"` is not a number and an undeclared field is a 400. Query,
 * path and header values arrive as text and are coerced to their declared types.
 * allErrors lists every failing field; its cost is bounded by the body and batch limits.
 */
const base: Options = { allErrors: true, removeAdditional: false, useDefaults: true, strict: true, allowUnionTypes: true }
const makeAjv = (coerceTypes: Options['coerceTypes']) => {
  const ajv = new Ajv({ ...base, coerceTypes })
  addFormats.default(ajv)
  for (const component of components) ajv.addSchema(component)
  return ajv
}
const forBody = makeAjv(false)
const forText = makeAjv('array')

export function createValidatorCompiler(): FastifySchemaCompiler<TSchema> {
  return ({ schema, httpPart }) => {
    const ajv = httpPart === 'body' ? forBody : forText
    const id = (schema as { $id?: string }).$id
    return (id && ajv.getSchema(id)) || ajv.compile(schema)
  }
}

/** The same validation as request bodies, for JSON read from elsewhere (files, fetched documents). */
export function compileValidator(schema: TSchema) {
  const id = (schema as { $id?: string }).$id
  return (id && forBody.getSchema(id)) || forBody.compile(schema)
}
