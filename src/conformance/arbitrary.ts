import fc from 'fast-check'
import { withBranch, type Contract, type JsonSchema } from './contract.js'

/** Generated strings and arrays stay short unless the schema asks for more: requests test the contract, not the body limit. */
const SOFT_MAX_LENGTH = 24
const SOFT_MAX_ITEMS = 3

const FORMATS: Record<string, () => fc.Arbitrary<string>> = {
  'date-time': () => fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2099-12-31T23:59:59Z'), noInvalidDate: true }).map((d) => d.toISOString()),
  date: () => fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2099-12-31T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10)),
  email: () => fc.emailAddress(),
  uuid: () => fc.uuid(),
  uri: () => fc.webUrl(),
  url: () => fc.webUrl(),
  ipv4: () => fc.ipV4(),
  ipv6: () => fc.ipV6(),
}

const typesOf = (schema: JsonSchema): string[] =>
  Array.isArray(schema.type) ? schema.type as string[] : typeof schema.type === 'string' ? [schema.type] : []

/**
 * fast-check arbitraries for the JSON Schema subset OpenAPI documents use: type, enum, const,
 * format, pattern, lengths and bounds, items and their counts, properties with required and
 * additionalProperties, `$ref` into the document, anyOf/oneOf and OpenAPI 3.0 `nullable`.
 * Values are meant to be valid; callers filter with the contract's own validator, which
 * catches what a generator cannot promise (lengths of patterned strings, minProperties).
 */
export class SchemaArbitraries {
  private readonly cache = new WeakMap<object, fc.Arbitrary<unknown>>()

  constructor(private readonly contract: Contract) {}

  of(schema: JsonSchema): fc.Arbitrary<unknown> {
    let arbitrary = this.cache.get(schema)
    if (!arbitrary) {
      arbitrary = this.build(schema)
      this.cache.set(schema, arbitrary)
    }
    return arbitrary
  }

  private build(schema: JsonSchema): fc.Arbitrary<unknown> {
    if (typeof schema.$ref === 'string') {
      const target = this.contract.resolve(schema)
      return fc.constant(null).chain(() => this.of(target))
    }
    const nullable = schema.nullable === true
    const plain = this.buildNonNull(schema)
    return nullable ? fc.option(plain, { nil: null, freq: 4 }) : plain
  }

  private buildNonNull(schema: JsonSchema): fc.Arbitrary<unknown> {
    if ('const' in schema) return fc.constant(schema.const)
    if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]))
    const branches = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined
    if (branches) return fc.oneof(...branches.map((branch) => this.of(withBranch(schema, branch))))
    if (Array.isArray(schema.allOf)) {
      const { allOf, ...rest } = schema
      return this.of((allOf as JsonSchema[]).reduce<JsonSchema>((merged, part) => withBranch(merged, this.contract.resolve(part)), rest))
    }
    const types = typesOf(schema)
    if (types.length > 1) return fc.oneof(...types.map((type) => this.ofType({ ...schema, type }, type)))
    const type = types[0] ?? (schema.properties ? 'object' : schema.items ? 'array' : undefined)
    if (!type) return fc.jsonValue({ maxDepth: 2 })
    return this.ofType(schema, type)
  }

  private ofType(schema: JsonSchema, type: string): fc.Arbitrary<unknown> {
    switch (type) {
      case 'null': return fc.constant(null)
      case 'boolean': return fc.boolean()
      case 'integer': return this.integer(schema)
      case 'number': return this.number(schema)
      case 'string': return this.string(schema)
      case 'array': return this.array(schema)
      case 'object': return this.object(schema)
      default: throw new Error(`unsupported schema type ${type}`)
    }
  }

  private integer(schema: JsonSchema): fc.Arbitrary<number> {
    const [min, max] = bounds(schema, 1)
    return fc.integer({ min: Math.max(min, Number.MIN_SAFE_INTEGER), max: Math.min(max, Number.MAX_SAFE_INTEGER) })
  }

  private number(schema: JsonSchema): fc.Arbitrary<number> {
    const [min, max] = bounds(schema, Number.EPSILON)
    return fc.double({ min: Math.max(min, -1e12), max: Math.min(max, 1e12), noNaN: true, noDefaultInfinity: true })
  }

  private string(schema: JsonSchema): fc.Arbitrary<string> {
    const minLength = (schema.minLength as number | undefined) ?? 0
    const maxLength = (schema.maxLength as number | undefined) ?? Infinity
    const within = (s: string) => [...s].length >= minLength && [...s].length <= maxLength
    const format = typeof schema.format === 'string' ? FORMATS[schema.format] : undefined
    if (format) return format().filter(within)
    if (typeof schema.pattern === 'string') {
      const soft = Math.min(maxLength, Math.max(minLength, SOFT_MAX_LENGTH))
      // A single repeated character class takes its length from the schema; other patterns from fast-check's size.
      const repeated = /^\^(\[(?:[^\]\\]|\\.)+\])([+*])\$$/.exec(schema.pattern)
      const least = Math.max(minLength, repeated?.[2] === '+' ? 1 : 0)
      const pattern = repeated ? `^${repeated[1]}{${least},${Math.max(soft, least)}}$` : schema.pattern
      return fc.stringMatching(new RegExp(pattern, 'u'), { size: 'small' }).filter(within)
    }
    const soft = { minLength, maxLength: Math.min(maxLength, Math.max(minLength, SOFT_MAX_LENGTH)) }
    return fc.oneof(fc.string(soft), fc.string({ ...soft, unit: 'grapheme' }).filter(within))
  }

  private array(schema: JsonSchema): fc.Arbitrary<unknown[]> {
    const minLength = (schema.minItems as number | undefined) ?? 0
    const maxLength = Math.min((schema.maxItems as number | undefined) ?? Infinity, minLength + SOFT_MAX_ITEMS)
    const items = schema.items && typeof schema.items === 'object' ? this.of(schema.items as JsonSchema) : fc.jsonValue({ maxDepth: 1 })
    return schema.uniqueItems
      ? fc.uniqueArray(items, { minLength, maxLength, selector: (item) => JSON.stringify(item) })
      : fc.array(items, { minLength, maxLength })
  }

  private object(schema: JsonSchema): fc.Arbitrary<Record<string, unknown>> {
    const properties = (schema.properties ?? {}) as Record<string, JsonSchema>
    const required = new Set((schema.required ?? []) as string[])
    const model = Object.fromEntries(Object.entries(properties).map(([name, property]) => [name, this.of(property)]))
    const declared = fc.record(model, { requiredKeys: Object.keys(properties).filter((name) => required.has(name)) })
    const extra = schema.additionalProperties
    if (extra === false || Object.keys(properties).length > 0 || extra === undefined) return declared
    const values = extra === true ? fc.jsonValue({ maxDepth: 1 }) : this.of(extra as JsonSchema)
    return fc.tuple(declared, fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }), values, { maxKeys: SOFT_MAX_ITEMS }))
      .map(([known, more]) => ({ ...more, ...known }))
  }
}

/** Inclusive bounds, with exclusive ones moved in by `step`. */
function bounds(schema: JsonSchema, step: number): [number, number] {
  let min = typeof schema.minimum === 'number' ? schema.minimum : -1e9
  let max = typeof schema.maximum === 'number' ? schema.maximum : 1e9
  if (typeof schema.exclusiveMinimum === 'number') min = Math.max(min, schema.exclusiveMinimum + step)
  if (typeof schema.exclusiveMaximum === 'number') max = Math.min(max, schema.exclusiveMaximum - step)
  if (schema.exclusiveMinimum === true) min += step
  if (schema.exclusiveMaximum === true) max -= step
  return [step === 1 ? Math.ceil(min) : min, step === 1 ? Math.floor(max) : max]
}

/** One value from an arbitrary, fixed by the seed. */
export function sampleOne<T>(arbitrary: fc.Arbitrary<T>, seed: number): T {
  return fc.sample(arbitrary, { seed, numRuns: 1 })[0]!
}

/** A seed derived from the run's seed and names, so one operation's requests do not shift when others are added. */
export function deriveSeed(seed: number, ...names: (string | number)[]): number {
  let hash = seed | 0
  for (const char of names.join('\u0000')) hash = Math.imul(hash ^ char.codePointAt(0)!, 0x01000193)
  return hash | 0
}
