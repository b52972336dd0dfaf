import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKey, importSigningKey } from '../../src/client/keys.js'
import type { App } from '../../src/app-type.js'
import { SystemsStore } from '../../src/modules/systems/store.js'
import type { PublicJwk } from '../../schemas/trust.js'
import { buildTestApp, type TestApp } from './app.js'
import type { Teardown } from './database.js'
import { registerSystem } from './systems.js'

export const PROVINCE = 'province-79'
export const CENTRAL = 'central-conformance'
// The kit sends thousands of calls, many deliberately unsigned or forged, from one address; its
// audit proofs wait for a checkpoint, which a short seal interval brings soon.
const env = { RATE_LIMIT_PER_MINUTE: '1000000', UNVERIFIED_RATE_PER_MINUTE: '1000000', AUDIT_SEAL_INTERVAL_MS: '200' }

/**
 * The service with a provincial and a central system registered, their private keys in files as
 * an integrator has them; central may recover keys, as the kit's scenario needs. `broken` changes
 * the app before it is ready, to build a variant that breaks the contract on purpose.
 */
export async function serviceWithCallers(t: Teardown, options: { broken?: (app: App) => void, env?: Record<string, string> } = {}) {
  const service = await buildTestApp(t, { env: { ...env, ...options.env }, ...options.broken ? { beforeReady: options.broken } : {} })
  const folder = await mkdtemp(join(tmpdir(), 'ttn-conformance-'))
  const callers = await Promise.all([PROVINCE, CENTRAL].map(async (id) => {
    const { privateJwk, publicJwk } = await generateKey()
    await registerSystem(service.database, id, { extra: { jwks: { keys: [publicJwk as PublicJwk] } } })
    const keyFile = join(folder, `${id}.jwk.json`)
    await writeFile(keyFile, JSON.stringify(privateJwk))
    return { systemId: id, keyFile, key: await importSigningKey(privateJwk) }
  }))
  await new SystemsStore(service.database.db).setKeyRecovery(CENTRAL, true)
  return { ...service, folder, province: callers[0]!, central: callers[1]! }
}

export type ServiceWithCallers = Awaited<ReturnType<typeof serviceWithCallers>>

export const listen = (app: TestApp['app']): Promise<string> => app.listen({ host: '127.0.0.1', port: 0 })
