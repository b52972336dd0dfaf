import { Type, type Static, type TProperties, type TSchema, type TObject, type TUnsafe } from 'typebox'

/**
 * An object that rejects fields it does not declare: every request and response object of
 * the contract is built with it, so an unknown field is a 400, never silently dropped.
 */
export const Strict = <P extends TProperties>(properties: P, options: Record<string, unknown> = {}): TObject<P> =>
  Type.Object(properties, { ...options, additionalProperties: false })

/**
 * One of a fixed set of strings, written as JSON Schema's `enum` with its `type`, so that
 * generated clients get an enumeration, not a union of constants.
 */
export const StringEnum = <const V extends readonly [string, ...string[]]>(values: V, options: Record<string, unknown> = {}) =>
  Type.Unsafe<V[number]>({ ...options, type: 'string', enum: [...values] }) as TUnsafe<V[number]> & { enum: V }

/**
 * A value or null. A schema of one `type` becomes a type array (`["string", "null"]`), which
 * generated clients read as a nullable field of that type; a reference or a union is `anyOf` with null.
 */
export function Nullable<T extends TSchema>(schema: T, options: Record<string, unknown> = {}): TUnsafe<Static<T> | null> {
  const { type, enum: values, const: constant, ...rest } = schema as TSchema & { type?: unknown, enum?: unknown[], const?: unknown, $id?: string }
  if (typeof type !== 'string' || rest.$id) return Type.Union([schema, Type.Null()], options) as unknown as TUnsafe<Static<T> | null>
  const allowed = values ?? (constant === undefined ? undefined : [constant])
  return Type.Unsafe<Static<T> | null>({ ...rest, ...options, type: [type, 'null'], ...(allowed ? { enum: [...allowed, null] } : {}) })
}

/** A reference to a named component that keeps the component's static type. */
export const ref = <T extends TSchema>(schema: T) => {
  const id = (schema as { $id?: string }).$id
  if (!id) throw new Error('ref() needs a schema with an $id')
  return Type.Unsafe<Static<T>>(Type.Ref(id))
}

export const ProvinceCode = (description = 'Two-digit province code (mã tỉnh) under QĐ 124/2004 and QĐ 19/2025.') =>
  Type.String({ minLength: 2, maxLength: 2, pattern: '^[0-9]{2}$', description, examples: ['79'] })

/** Path parameters of every route under `/v2/provinces/{code}`. */
export const ProvinceParams = Strict({ code: ProvinceCode() })

export const CommuneCode = (description = 'Five-digit commune-level unit code (mã đơn vị hành chính cấp xã).') =>
  Type.String({ minLength: 5, maxLength: 5, pattern: '^[0-9]{5}$', description, examples: ['26740'] })

export const AdminUnitCode = (description = 'Code of a province (2 digits) or a commune-level unit (5 digits).') =>
  Type.String({ minLength: 2, maxLength: 5, pattern: '^([0-9]{2}|[0-9]{5})$', description, examples: ['79', '26740'] })

export const Instant = (description = 'An instant in RFC 3339 form, with its offset.') =>
  Type.String({ format: 'date-time', maxLength: 40, description })

export const CalendarDate = (description = 'A calendar date, YYYY-MM-DD.') =>
  Type.String({ format: 'date', maxLength: 10, description })

/** Where a list goes on: what a page gives as `nextCursor` and takes back as `cursor`, so one always fits the other. */
export const PageCursor = (description: string) => Type.String({ minLength: 1, maxLength: 512, pattern: '^[A-Za-z0-9_-]+$', description })

/** Where a feed goes on: its `nextCursor`, taken back as `after`. */
export const FeedCursor = (description: string) => Type.String({ minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9_-]+$', description })

export const MAX_PAGE_LIMIT = 1000
export const DEFAULT_PAGE_LIMIT = 100

/** Query parameters every list takes. */
export const PageQuery = {
  limit: Type.Optional(Type.Integer({ format: 'int32',
    minimum: 1, maximum: MAX_PAGE_LIMIT, default: DEFAULT_PAGE_LIMIT,
    description: `Most items in one page (1 to ${MAX_PAGE_LIMIT}).`,
  })),
  cursor: Type.Optional(PageCursor('Opaque cursor from the `nextCursor` of the previous page.')),
}

/** One page of a list; `nextCursor` is null on the last page. */
export const Page = <T extends TSchema>(id: string, item: T, description: string) => Strict({
  items: Type.Array(item),
  nextCursor: Nullable(PageCursor('Cursor of the next page, or null when this page is the last.')),
}, { $id: id, description })

export const ProblemFieldError = Strict({
  in: StringEnum(['body', 'query', 'path', 'header'], { description: 'Which part of the request the pointer is into.' }),
  pointer: Type.String({ description: 'JSON pointer (RFC 6901) to the failing value; for query and path, `/name` of the parameter.' }),
  message: Type.String({ description: 'What is wrong with the value.' }),
}, { $id: 'ProblemFieldError', description: 'One failing field of a request.' })

export const Problem = Type.Object({
  type: Type.String({ maxLength: 200, description: 'URI reference naming the problem type; `/problems/{code}` on this service describes it.' }),
  title: Type.String({ maxLength: 300, description: 'Short summary of the problem type.' }),
  status: Type.Integer({ format: 'int32', minimum: 400, maximum: 599, description: 'The HTTP status code.' }),
  detail: Type.String({ description: 'What went wrong with this request.' }),
  code: Type.String({ maxLength: 64, description: 'Stable machine-readable problem code; the same as the last segment of `type`. A string, not an enum: new codes come within `/v2`.' }),
  instance: Type.Optional(Type.String({ maxLength: 128, description: 'Request id of the call, as in the `x-request-id` header.' })),
  errors: Type.Optional(Type.Array(ref(ProblemFieldError), { description: 'Every failing field, for validation problems.' })),
  receiptId: Type.Optional(Type.String({ maxLength: 64, description: 'For `idempotency-answer-lost` and `idempotency-key-in-flight`: the receipt of the write that was applied; for `write-outcome-unknown`: the receipt the write has if it was applied.' })),
}, {
  $id: 'Problem',
  additionalProperties: false,
  description: 'An RFC 9457 problem document, sent as `application/problem+json` with every error.',
  examples: [{
    type: '/problems/validation-failed',
    title: 'The request does not match the contract',
    status: 400,
    detail: 'query /limit: must be <= 1000',
    code: 'validation-failed',
    instance: 'req-1',
    errors: [{ in: 'query', pointer: '/limit', message: 'must be <= 1000' }],
  }],
})
export type Problem = Static<typeof Problem>

export const ProblemType = Strict({
  type: Type.String({ maxLength: 200, description: 'The problem type URI, as in problem documents.' }),
  code: Type.String({ maxLength: 64, description: 'The stable problem code.' }),
  status: Type.Integer({ format: 'int32', minimum: 400, maximum: 599, description: 'The HTTP status answered with this problem.' }),
  title: Type.String({ maxLength: 300, description: 'What the problem means.' }),
}, { $id: 'ProblemType', description: 'One problem type this service can answer with.' })
