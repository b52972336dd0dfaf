import { readFile } from 'node:fs/promises'
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js'
import addFormats from 'ajv-formats'

export type JsonSchema = Record<string, unknown>

export interface Parameter {
  name: string
  in: 'path' | 'query' | 'header' | 'cookie'
  required?: boolean
  schema: JsonSchema
}

export interface MediaType {
  schema?: JsonSchema
  /** On a problem response: every `code` the operation may answer at that status. */
  'x-problem-codes'?: string[]
}

export interface HeaderObject { required?: boolean, schema?: JsonSchema }

export interface ResponseObject { content?: Record<string, MediaType>, headers?: Record<string, HeaderObject> }

export interface OperationObject {
  operationId?: string
  description?: string
  parameters?: Parameter[]
  requestBody?: { required?: boolean, content: Record<string, MediaType> }
  responses: Record<string, ResponseObject>
  security?: Record<string, string[]>[]
  'x-ttn-policy'?: string
  /**
   * JSON pointer to the array of a batch body whose items the service accepts or rejects one
   * by one, naming each rejected item in a 2xx answer instead of refusing the whole request.
   */
  'x-ttn-per-item'?: string
}

export interface OpenApiDocument {
  openapi: string
  info?: { title?: string, version?: string }
  paths?: Record<string, Record<string, OperationObject>>
  webhooks?: Record<string, Record<string, OperationObject>>
  components?: { schemas?: Record<string, JsonSchema> }
  security?: Record<string, string[]>[]
}

export interface Operation {
  id: string
  method: string
  path: string
  definition: OperationObject
  /** Who may call it, from `x-ttn-policy`; `public` when the operation needs no token. */
  policy: string
  secured: boolean
}

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options']
/** Every schema is compiled on its own, so references into the document are made absolute against this id. */
const DOCUMENT_ID = 'contract.json'

/**
 * The contract under test: its operations, and validators for any schema in it. Components
 * are read from the document itself, so operations added to the contract are covered as they land.
 */
export class Contract {
  readonly operations: Operation[]
  private readonly ajv = new Ajv2020({ strict: false, allErrors: false, validateFormats: true })
  private readonly textAjv = new Ajv2020({ strict: false, coerceTypes: true })
  private readonly compiled = new WeakMap<object, ValidateFunction>()
  private readonly compiledText = new WeakMap<object, ValidateFunction>()

  constructor(readonly document: OpenApiDocument) {
    this.document = absoluteRefs(structuredClone(document)) as OpenApiDocument
    for (const ajv of [this.ajv, this.textAjv]) {
      addFormats.default(ajv)
      ajv.addSchema({ components: this.document.components ?? {} }, DOCUMENT_ID)
    }
    this.operations = operationsOf(this.document.paths ?? {}, this.document.security)
  }

  static async read(file: string): Promise<Contract> {
    return new Contract(JSON.parse(await readFile(file, 'utf8')) as OpenApiDocument)
  }

  webhooks(): Operation[] {
    return operationsOf(this.document.webhooks ?? {}, this.document.security)
  }

  /** The schema a `$ref` names, or the schema itself. */
  resolve(schema: JsonSchema): JsonSchema {
    let current = schema
    for (let hops = 0; typeof current.$ref === 'string'; hops++) {
      if (hops > 32) throw new Error(`reference cycle at ${String(schema.$ref)}`)
      const ref = current.$ref as string
      const pointer = ref.startsWith(`${DOCUMENT_ID}#/`) ? ref.slice(DOCUMENT_ID.length + 2) : undefined
      if (!pointer) throw new Error(`unsupported reference ${ref}`)
      let target: unknown = this.document
      for (const segment of pointer.split('/')) {
        target = (target as Record<string, unknown> | undefined)?.[segment.replaceAll('~1', '/').replaceAll('~0', '~')]
      }
      if (!target || typeof target !== 'object') throw new Error(`unresolved reference ${ref}`)
      current = target as JsonSchema
    }
    return current
  }

  validator(schema: JsonSchema): ValidateFunction {
    let validate = this.compiled.get(schema)
    if (!validate) {
      validate = this.ajv.compile(schema)
      this.compiled.set(schema, validate)
    }
    return validate
  }

  /** Checks a value against a schema; the reason names the first failing field. */
  check(schema: JsonSchema, value: unknown): string | undefined {
    const validate = this.validator(schema)
    if (validate(value)) return undefined
    const [error] = validate.errors ?? []
    return `${error?.instancePath || '/'} ${error?.message ?? 'is invalid'}`
  }

  /** Whether a text value (a query, path or header parameter) is valid once coerced to its declared type. */
  acceptsText(schema: JsonSchema, text: string): boolean {
    const wrapper = { type: 'object', properties: { value: schema } }
    let validate = this.compiledText.get(schema)
    if (!validate) {
      validate = this.textAjv.compile(wrapper)
      this.compiledText.set(schema, validate)
    }
    return validate({ value: text })
  }
}

/**
 * A branch of `anyOf`/`oneOf` with the keywords of the schema around it, so that a branch
 * which only adds a constraint (`required`, a `minItems` on one property) is complete.
 */
export function withBranch(parent: JsonSchema, branch: JsonSchema): JsonSchema {
  const { anyOf: _anyOf, oneOf: _oneOf, ...rest } = parent
  if (Object.keys(rest).every((key) => ['description', 'title', 'examples', '$id'].includes(key))) return branch
  const properties: Record<string, JsonSchema> = { ...(rest.properties as Record<string, JsonSchema> | undefined) }
  for (const [name, constraint] of Object.entries((branch.properties ?? {}) as Record<string, JsonSchema>)) {
    properties[name] = { ...properties[name], ...constraint }
  }
  const required = [...new Set([...(rest.required as string[] | undefined ?? []), ...(branch.required as string[] | undefined ?? [])])]
  return { ...rest, ...branch, properties, required }
}

function absoluteRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(absoluteRefs)
  if (!value || typeof value !== 'object') return value
  const result: Record<string, unknown> = {}
  for (const [key, item] of Object.entries(value)) {
    result[key] = key === '$ref' && typeof item === 'string' && item.startsWith('#/') ? DOCUMENT_ID + item : absoluteRefs(item)
  }
  return result
}

function operationsOf(paths: Record<string, Record<string, OperationObject>>, documentSecurity: OpenApiDocument['security']): Operation[] {
  const operations: Operation[] = []
  for (const [path, item] of Object.entries(paths)) {
    for (const method of HTTP_METHODS) {
      const definition = item[method]
      if (!definition) continue
      const security = definition.security ?? documentSecurity ?? []
      const secured = security.length > 0 && security.every((requirement) => Object.keys(requirement).length > 0)
      operations.push({
        id: definition.operationId ?? `${method.toUpperCase()} ${path}`,
        method: method.toUpperCase(),
        path,
        definition,
        policy: definition['x-ttn-policy'] ?? (secured ? 'system' : 'public'),
        secured,
      })
    }
  }
  return operations
}
