import { readFile } from 'node:fs/promises'
import t from 'tap'
import { Validator } from '@seriousme/openapi-schema-validator'
import { generateOpenApi } from '../src/openapi.js'
import { projectPath } from '../src/paths.js'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { ephemeralServiceKeys } from '../src/auth/service-keys.js'
import { testDatabase } from './helpers/database.js'

const generated = await generateOpenApi()
const document = JSON.parse(generated)

t.test('the committed contract is what the code declares (npm run openapi regenerates it)', async (t) => {
  const committed = await readFile(projectPath('openapi', 'openapi.json'), 'utf8')
  t.equal(committed, generated, 'openapi/openapi.json is in sync with the code')
})

t.test('the contract is valid OpenAPI 3.1', async (t) => {
  const validator = new Validator()
  const result = await validator.validate(document)
  t.equal(validator.version, '3.1')
  t.same(result.errors ?? [], [], 'no schema errors')
  t.ok(result.valid)
})

const operations = () => Object.entries(document.paths as Record<string, Record<string, any>>)
  .flatMap(([path, item]) => Object.entries(item).map(([method, operation]) => ({ path, method, operation })))

t.test('every operation has an id, a summary, a tag, and documents its errors as problems', async (t) => {
  const ids = new Set<string>()
  for (const { path, method, operation } of operations()) {
    const name = `${method.toUpperCase()} ${path}`
    t.ok(operation.operationId, `${name} has an operationId`)
    t.notOk(ids.has(operation.operationId), `${name} operationId is unique`)
    ids.add(operation.operationId)
    t.ok(operation.summary, `${name} has a summary`)
    t.ok(operation.tags?.length, `${name} has a tag`)
    for (const status of ['400', '500', '503']) {
      t.ok(operation.responses[status]?.content?.['application/problem+json'], `${name} declares ${status} as a problem`)
    }
    t.ok(Array.isArray(operation.security), `${name} declares its security`)
    if (operation.security.length > 0) {
      t.same(operation.security, [{ callToken: [] }], `${name} needs a call token`)
      for (const status of ['401', '403']) t.ok(operation.responses[status], `${name} declares ${status}`)
    }
    if (operation.requestBody) {
      for (const status of ['413', '415']) t.ok(operation.responses[status], `${name} declares ${status}`)
    }
  }
})

t.test('the call token is a security scheme explained in the contract', async (t) => {
  const scheme = document.components.securitySchemes.callToken
  t.match(scheme, { type: 'http', scheme: 'bearer', bearerFormat: 'ttn-call+jwt' })
  for (const claim of ['iss', 'aud', 'iat', 'exp', 'jti', 'htm', 'htu', 'bsh']) t.match(scheme.description, `\`${claim}\``, `explains ${claim}`)
  const publicOperations = operations().filter(({ operation }) => operation.security.length === 0).map(({ method, path }) => `${method} ${path}`)
  t.same(publicOperations.sort(), [
    'get /.well-known/jwks.json', 'get /health/live', 'get /health/ready', 'get /problems', 'get /problems/{code}',
    'get /v2/admin-units', 'get /v2/admin-units/versions', 'get /v2/admin-units/versions/{version}/changes', 'get /v2/admin-units/{code}', 'post /v2/admin-units/resolve',
  ], 'only these operations are public')
})

t.test('every object a caller sends refuses unknown fields', async (t) => {
  const schemas = document.components.schemas as Record<string, any>
  const resolve = (schema: any): any => schema?.$ref ? schemas[schema.$ref.split('/').pop()] : schema
  const visit = (schema: any, where: string, seen = new Set<any>()): void => {
    schema = resolve(schema)
    if (!schema || typeof schema !== 'object' || seen.has(schema)) return
    seen.add(schema)
    // An open object another schema checks says which (a form central defines, for one).
    if (schema['x-ttn-checked-against']) return
    if (schema.type === 'object') t.equal(schema.additionalProperties, false, `${where} is strict`)
    for (const sub of [...Object.values(schema.properties ?? {}), schema.items, ...(schema.anyOf ?? []), ...(schema.oneOf ?? [])]) visit(sub, where, seen)
  }
  for (const { path, method, operation } of operations()) {
    for (const media of Object.values(operation.requestBody?.content ?? {}) as any[]) visit(media.schema, `${method} ${path} body`)
  }
})


t.test('every write answers with its receipt', async (t) => {
  const schemas = document.components.schemas as Record<string, any>
  const resolve = (schema: any): any => schema?.$ref ? schemas[schema.$ref.split('/').pop()] : schema
  // Reads that take a body: they change nothing, so there is nothing to attest.
  const reads = new Set(['resolveAdminUnits'])
  const writes = operations().filter(({ method, operation }) => ['post', 'put', 'patch', 'delete'].includes(method) && !reads.has(operation.operationId))
  t.ok(writes.length > 30, 'the writes are found')
  for (const { path, method, operation } of writes) {
    const successes = Object.entries(operation.responses as Record<string, any>).filter(([status]) => status.startsWith('2'))
    t.ok(successes.length > 0, `${method} ${path} declares a success`)
    for (const [status, answer] of successes) {
      const schema = resolve(answer.content?.['application/json']?.schema)
      t.same(resolve(schema?.properties?.receipt), schemas.Receipt, `${method} ${path} answers ${status} with its receipt`)
      t.ok(schema?.required?.includes('receipt'), `${method} ${path} always carries the receipt in ${status}`)
    }
  }
})
t.test('a route that declares no policy cannot be registered', async (t) => {
  const database = await testDatabase(t)
  const app = await buildApp({ config: loadConfig({ LOG_LEVEL: 'silent' }), database, serviceKeys: await ephemeralServiceKeys() })
  t.teardown(() => app.close())
  t.throws(() => app.get('/v2/unguarded', async () => 'open'), /route GET \/v2\/unguarded declares no policy/)
})

t.test('the headers the service sends are declared for the answers it sends them with', async (t) => {
  const { buildTestApp } = await import('./helpers/app.js')
  const { registerSystem, signedInject } = await import('./helpers/systems.js')
  const { bulletin } = await import('./helpers/content.js')
  const { app, database } = await buildTestApp(t)
  const central = await registerSystem(database, 'central-portal')
  // Headers of the protocol that every answer has, or that say nothing about this service.
  const generic = new Set(['content-type', 'content-length', 'date', 'connection', 'keep-alive', 'transfer-encoding', 'cache-control'])
  const check = (operationId: string, answer: { statusCode: number, headers: Record<string, unknown> }) => {
    const operation = operations().find((o) => o.operation.operationId === operationId)!.operation
    const declared = new Set(Object.keys(operation.responses[String(answer.statusCode)]?.headers ?? {}).map((name) => name.toLowerCase()))
    const undeclared = Object.keys(answer.headers).filter((name) => !generic.has(name) && !declared.has(name))
    t.same(undeclared, [], `${operationId} ${answer.statusCode} declares every header it sends`)
  }
  const published = await signedInject(app, central, { method: 'POST', url: '/v2/contents', body: bulletin(), headers: { 'idempotency-key': 'k-1' } })
  check('publishContent', published)
  const replayed = await signedInject(app, central, { method: 'POST', url: '/v2/contents', body: bulletin(), headers: { 'idempotency-key': 'k-1' } })
  t.equal(replayed.headers['idempotency-replayed'], 'true')
  check('publishContent', replayed)
  check('getContent', await signedInject(app, central, { method: 'GET', url: `/v2/contents/${published.json().content.id}` }))
  const unsigned = await app.inject({ method: 'GET', url: '/v2/contents' })
  t.equal(unsigned.statusCode, 401)
  check('listContents', unsigned)
  check('listContents', await signedInject(app, central, { method: 'GET', url: '/v2/contents?limit=0' }))
})
