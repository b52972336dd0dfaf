import { buildApp } from './src/app.js'
import { ephemeralServiceKeys } from './src/auth/service-keys.js'
import { loadConfig } from './src/config.js'
import { openEmbedded } from './src/db/database.js'
import { migrateToLatest } from './src/db/migrator.js'
import { registerSystem } from './test/helpers/systems.js'
import { Contract } from './src/conformance/contract.js'
import { ApiConformance } from './src/conformance/runner.js'
const database = await openEmbedded({})
await migrateToLatest(database.db)
const config = loadConfig({ LOG_LEVEL: 'silent', OVERLOAD_EVENT_LOOP_DELAY_MS: '0', RATE_LIMIT_PER_MINUTE: '100000' })
const app = await buildApp({ config, database, serviceKeys: await ephemeralServiceKeys() })
const url = await app.listen({ host: '127.0.0.1', port: 0 })
const province = await registerSystem(database, 'province-79')
const central = await registerSystem(database, 'central-main')
const contract = await Contract.read('openapi/openapi.json')
const kit = new ApiConformance({ target: url, contract, province: { systemId: province.id, key: province.key }, central: { systemId: central.id, key: central.key }, audience: config.SERVICE_ID, seed: 1, runs: Number(process.env.RUNS ?? 4) })
const log = await kit.run()
console.log(log.summary('conformance'))
await app.close(); await database.close()
