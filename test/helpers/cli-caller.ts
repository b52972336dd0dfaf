import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { PublicJwk } from '../../schemas/trust.js'
import { generateKey, importSigningKey } from '../../src/client/keys.js'
import { provinceOfSystem } from '../../src/client/system-id.js'
import type { Database } from '../../src/db/database.js'
import { SystemsStore } from '../../src/modules/systems/store.js'
import { buildTestApp } from './app.js'
import type { Teardown } from './database.js'
import type { TestSystem } from './systems.js'

/**
 * Registers a system with a fresh key and writes its private key to `dir`, as `ttn` reads it:
 * `env` calls the service at `url` as that system.
 */
export async function cliCaller(database: Database, dir: string, url: string, id: string): Promise<TestSystem & { env: Record<string, string> }> {
  const { privateJwk, publicJwk } = await generateKey()
  const province = provinceOfSystem(id)
  await new SystemsStore(database.db).register({
    id, role: province ? 'province' : 'central', ...(province ? { provinceCode: province } : {}), name: `HTTTN ${id}`, jwks: { keys: [publicJwk as PublicJwk] },
  }, database.db)
  const keyFile = join(dir, `${id}.jwk.json`)
  await writeFile(keyFile, JSON.stringify(privateJwk))
  return { id, key: await importSigningKey(privateJwk), env: { TTN_URL: url, TTN_SYSTEM_ID: id, TTN_KEY_FILE: keyFile } }
}

/** The real service on a socket of its own, with central and province 79 as `ttn` callers whose keys are in `dir`. */
export async function cliTestbed(t: Teardown, name: string) {
  const dir = await mkdtemp(join(tmpdir(), `ttn-cli-${name}-`))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const { app, database } = await buildTestApp(t)
  const address = await app.listen({ port: 0, host: '127.0.0.1' })
  const central = await cliCaller(database, dir, address, 'central-portal')
  const hcm = await cliCaller(database, dir, address, 'province-79')
  return { dir, app, database, address, central, hcm }
}
