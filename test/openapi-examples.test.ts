import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { Ajv2020 } from 'ajv/dist/2020.js'
import addFormats from 'ajv-formats'
import t from 'tap'
import { problemTypes } from '../src/http/problem.js'
import { CHECKED_ELSEWHERE } from '../src/http/validation.js'
import { projectPath } from '../src/paths.js'
import { buildTestApp } from './helpers/app.js'
import { registerSystem, signedInject } from './helpers/systems.js'

type Json = Record<string, unknown>
interface Media { schema?: Json, example?: unknown, examples?: Record<string, { $ref?: string, value?: unknown }> }
interface Operation { operationId: string, requestBody?: { content: Record<string, Media> }, responses: Record<string, { content?: Record<string, Media> }> }

const contract = JSON.parse(readFileSync(projectPath('openapi', 'openapi.json'), 'utf8')) as {
  paths: Record<string, Record<string, Operation>>
  components: { schemas: Record<string, Json>, examples: Record<string, { value: unknown }> }
}
const schemas = contract.components.schemas
const operations = Object.values(contract.paths).flatMap((item) => Object.values(item).filter((op): op is Operation => typeof op === 'object' && 'responses' in op))
const isJson = (mediaType: string) => /json$/.test(mediaType)

// The contract's schemas, as the service's validator reads them (its options), under JSON Schema 2020-12 as OpenAPI 3.1 has them.
const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true })
addFormats.default(ajv)
ajv.addFormat('int64', { type: 'number', validate: Number.isSafeInteger })
ajv.addKeyword({ keyword: CHECKED_ELSEWHERE, schemaType: 'string' })
// OpenAPI's annotations: an example, and the discriminator that names the member of a union for code generators.
ajv.addVocabulary(['example', 'discriminator'])
const local = (schema: unknown): unknown => JSON.parse(JSON.stringify(schema).replaceAll('"#/components/schemas/', '"contract#/$defs/'))
ajv.addSchema({ $id: 'contract', $defs: local(schemas) })

const validatorOf = (schema: Json) => ajv.compile(local(schema) as Json)
const componentOf = (schema: Json | undefined) => (schema?.$ref ? schemas[String(schema.$ref).split('/').pop()!] : schema)

/** The examples of a media type: its own, or those of the schema it names. */
function examplesOf(media: Media): unknown[] {
  const own = [
    ...(media.example === undefined ? [] : [media.example]),
    ...Object.values(media.examples ?? {}).map((e) => (e.$ref ? contract.components.examples[e.$ref.split('/').pop()!]!.value : e.value)),
  ]
  return own.length > 0 ? own : (componentOf(media.schema)?.examples as unknown[] | undefined) ?? []
}

const communes = new Set(readFileSync('/work/shared/data/communes-2025.csv', 'utf8').split('\n').slice(1).map((line) => line.split(',')[0]))
const provinces = new Set(readFileSync('/work/shared/data/provinces-2025.csv', 'utf8').split('\n').slice(1).map((line) => line.split(',')[0]))

/** Every administrative-unit code an example names, by the field it is in, that is not a unit of today. */
function unknownUnits(value: unknown, field = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((item) => unknownUnits(item, field))
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([key, item]) => unknownUnits(item, key))
  if (typeof value !== 'string') return []
  if (/^(communeCode|communes|code)$/.test(field) && /^[0-9]{5}$/.test(value) && !communes.has(value)) return [`${field}=${value}`]
  if (/^(province|provinceCode|targets)$/.test(field) && /^[0-9]{2}$/.test(value) && !provinces.has(value)) return [`${field}=${value}`]
  return []
}

t.test('every request body and every JSON response of every operation has an example that its schema accepts', async (t) => {
  t.equal(operations.length, 102)
  for (const op of operations) {
    const bodies = Object.entries(op.requestBody?.content ?? {}).map(([type, media]) => [`request ${type}`, media] as const)
    const answers = Object.entries(op.responses).flatMap(([status, response]) => Object.entries(response.content ?? {}).map(([type, media]) => [`${status} ${type}`, media] as const))
    for (const [what, media] of [...bodies, ...answers]) {
      const type = what.split(' ')[1]!
      // A 304 has no body; CSV, XML and media files are not JSON documents.
      if (!isJson(type) || !media.schema || what.startsWith('304')) continue
      const examples = examplesOf(media)
      t.ok(examples.length > 0, `${op.operationId} ${what} has an example`)
      const validate = validatorOf(media.schema)
      for (const example of examples) {
        t.ok(validate(example), `${op.operationId} ${what}: the example is valid`, { errors: validate.errors })
      }
    }
  }
})

t.test('every example a component declares is valid against it and names units of today', async (t) => {
  let withExamples = 0
  for (const [name, schema] of Object.entries(schemas)) {
    if (!Array.isArray(schema.examples)) continue
    withExamples++
    // The catalogue also describes the units retired in 2025.
    const unitsOfToday = !name.startsWith('AdminUnit')
    const validate = validatorOf({ $ref: `#/components/schemas/${name}` })
    for (const example of schema.examples as unknown[]) {
      if (typeof example !== 'object' || example === null) continue
      t.ok(validate(example), `${name}: its example is valid`, { errors: validate.errors })
      if (unitsOfToday) t.same(unknownUnits(example), [], `${name}: its example names real provinces and communes`)
    }
  }
  t.ok(withExamples >= 120, `${withExamples} components have examples`)
})

t.test('every problem example answers the status it is shown under, with a code the service knows', async (t) => {
  const statuses = new Map<string, Set<string>>()
  for (const op of operations) {
    for (const [status, response] of Object.entries(op.responses)) {
      const problem = response.content?.['application/problem+json']
      if (!problem) continue
      const examples = examplesOf(problem) as { status: number, code: keyof typeof problemTypes, type: string, title: string }[]
      t.ok(Object.keys(problem.examples ?? {}).length > 0, `${op.operationId} ${status} shows problems of its own status`)
      for (const example of examples) {
        t.equal(example.status, Number(status), `${op.operationId} ${status}: ${example.code} is a ${status}`)
        t.ok(Object.hasOwn(problemTypes, example.code), `${op.operationId} ${status}: ${example.code} is a problem the service answers`)
        t.equal(example.type, `/problems/${example.code}`)
        t.equal(example.title, problemTypes[example.code]?.title)
        statuses.set(status, (statuses.get(status) ?? new Set()).add(JSON.stringify(example)))
      }
    }
  }
  t.same([...statuses.keys()].sort(), ['400', '401', '403', '404', '409', '410', '412', '413', '415', '416', '422', '428', '429', '500', '503'])
  const bodies = [...statuses.values()].flatMap((examples) => [...examples])
  t.equal(new Set(bodies).size, bodies.length, 'no two statuses show the same problem document')
})

t.test('the example request bodies are accepted by the service', async (t) => {
  const { app, database } = await buildTestApp(t)
  const hcm = await registerSystem(database, 'province-79')
  const bodyOf = (path: string, method: string) => {
    const media = contract.paths[path]![method]!.requestBody!.content['application/json']!
    return examplesOf(media)[0]
  }
  const send = (method: 'PUT' | 'POST', url: string, path: string) =>
    signedInject(app, hcm, { method, url, body: bodyOf(path, method.toLowerCase()), headers: { 'idempotency-key': randomUUID() } })

  const registry = await send('PUT', '/v2/provinces/79/registry', '/v2/provinces/{code}/registry')
  t.equal(registry.statusCode, 200, registry.body)
  const status = await send('POST', '/v2/provinces/79/status-events', '/v2/provinces/{code}/status-events')
  t.equal(status.statusCode, 200, status.body)
  t.equal((status.json() as { accepted: number }).accepted + (status.json() as { rejected: number }).rejected, 2)
})
