/**
 * The service process for the trust benchmark: the real app on PostgreSQL, plus the very same
 * PATCH /v2/systems/:id handler mounted at /v2/bench-unsigned/systems/:id (audited like every /v2 call) without call-token
 * verification, its caller (the system named in the path, renaming itself) set as a trusted gateway would.
 * Used by bench/trust-overhead.ts only.
 */
import { randomUUID } from 'node:crypto'
import { buildApp } from '../src/app.js'
import { loadServiceKeys } from '../src/auth/service-keys.js'
import { loadConfig } from '../src/config.js'
import { openConfigured } from '../src/db/database.js'
import { migrateToLatest } from '../src/db/migrator.js'
import { createLogger } from '../src/logger.js'
import { applySystemsFile } from '../src/modules/systems/file.js'
import { updateSystemHandler, updateSystemSchema } from '../src/modules/systems/routes.js'

const config = loadConfig()
const logger = createLogger(config)
const database = await openConfigured(config)
await migrateToLatest(database.db)
await applySystemsFile(config.SYSTEMS_FILE!, database.db)
const serviceKeys = await loadServiceKeys(config, () => {})
const app = await buildApp({ config, database, serviceKeys, logger })

app.patch('/v2/bench-unsigned/systems/:id', {
  config: { policy: 'public' },
  schema: { ...updateSystemSchema, operationId: 'benchUnsignedUpdateSystem', hide: true },
  preHandler: async (request) => {
    const systemId = (request.params as { id: string }).id
    const provinceCode = systemId.slice('province-'.length)
    request.caller = { systemId, role: 'province', provinceCode, actor: null }
    request.signedCall = { issuer: { id: systemId, role: 'province', provinceCode, status: 'active', jwksUri: null, keys: [] }, kid: 'unsigned', jti: randomUUID(), bsh: request.bodySha256, htu: request.url, iat: 0, exp: 0, token: '', actor: null }
  },
}, updateSystemHandler(app))

const address = await app.listen({ port: config.PORT, host: '127.0.0.1' })
process.stdout.write(`listening on ${address}\n`)
process.on('SIGTERM', () => void app.close().then(() => database.close()).then(() => process.exit(0)))
