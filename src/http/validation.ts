import { Ajv, type Options, type ValidateFunction } from 'ajv'
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
/**
 * Marks an open object of the contract whose content another schema checks, named by the keyword:
 * a JSON Schema a caller defines, or a form that must satisfy one. An annotation only.
 */
export const CHECKED_ELSEWHERE = 'x-ttn-checked-against'

const makeAjv = (coerceTypes: Options['coerceTypes']) => {
  const ajv = new Ajv({ ...base, coerceTypes })
  addFormats.default(ajv)
  ajv.addKeyword({ keyword: CHECKED_ELSEWHERE, schemaType: 'string' })
  for (const component of components) ajv.addSchema(component)
  return ajv
}
const forBody = makeAjv(false)
const forText = makeAjv('array')

/** The JSON pointer of the first number that is not finite (1e400 in JSON or a query string is Infinity). */
function nonFinite(value: unknown, pointer = ''): string | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : pointer || '/'
  if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      const found = nonFinite(item, `${pointer}/${key}`)
      if (found) return found
    }
  }
  return undefined
}

/**
 * Ajv lets Infinity through `integer` and `maximum`, so every validator also refuses
 * numbers that are not finite, before any of them reaches a query or the database.
 * It calls `compile` for the validator on the first value it checks.
 */
function finiteOnly(compile: () => ValidateFunction): ValidateFunction {
  let validate: ValidateFunction | undefined
  const wrapped = ((data: unknown) => {
    validate ??= compile()
    if (!validate(data)) {
      wrapped.errors = validate.errors
      return false
    }
    const pointer = nonFinite(data)
    wrapped.errors = pointer ? [{ instancePath: pointer === '/' ? '' : pointer, schemaPath: '#', keyword: 'type', params: {}, message: 'must be a finite number' }] : null
    return !pointer
  }) as ValidateFunction
  return wrapped
}

/** A body declared as raw bytes (an upload chunk) is valid when it arrived as bytes, through its own content type. */
const BINARY = (schema: TSchema) => (schema as { format?: string }).format === 'binary'
const bytesOnly = ((data: unknown) => {
  const ok = Buffer.isBuffer(data)
  bytesOnly.errors = ok ? null : [{ instancePath: '', schemaPath: '#', keyword: 'format', params: {}, message: 'must be the raw bytes of the chunk, sent as application/offset+octet-stream' }]
  return ok
}) as ValidateFunction

/**
 * Route validators are compiled on each route's first request: compiling all of them before
 * listening held a start (and a restart after a crash) for seconds of blocked event loop.
 */
export function createValidatorCompiler(): FastifySchemaCompiler<TSchema> {
  return ({ schema, httpPart }) => {
    if (httpPart === 'body' && BINARY(schema)) return bytesOnly
    const ajv = httpPart === 'body' ? forBody : forText
    const id = (schema as { $id?: string }).$id
    return finiteOnly(() => (id && ajv.getSchema(id)) || ajv.compile(schema))
  }
}

/** The same validation as request bodies, for JSON read from elsewhere (files, fetched documents). */
export function compileValidator(schema: TSchema): ValidateFunction {
  const id = (schema as { $id?: string }).$id
  const validate = (id && forBody.getSchema(id)) || forBody.compile(schema)
  return finiteOnly(() => validate)
}

/**
 * The shape of a container whose items the handler checks one by one (so one bad item is
 * refused alone): no finite-number walk here, the items' own validator does it.
 */
export function compileEnvelopeValidator(schema: TSchema): ValidateFunction {
  return forBody.compile(schema)
}

/** Compiles a schema a caller defined (a custom report form) in an instance of its own, with the same rules as the contract's. */
export function compileCallerSchema(schema: object): ValidateFunction {
  const ajv = new Ajv({ ...base, useDefaults: false, coerceTypes: false })
  addFormats.default(ajv)
  const validate = ajv.compile(schema)
  return finiteOnly(() => validate)
}
