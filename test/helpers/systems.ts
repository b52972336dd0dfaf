import type { InjectOptions, LightMyRequestResponse } from 'fastify'
import type { App } from '../../src/app-type.js'
import { TtnClient } from '../../src/client/client.js'
import { generateKey, importSigningKey, type SigningAlg, type SigningKey } from '../../src/client/keys.js'
import { signCall, type CallToSign } from '../../src/client/sign.js'
import { provinceOfSystem } from '../../src/client/system-id.js'
import type { Database } from '../../src/db/database.js'
import { SystemsStore } from '../../src/modules/systems/store.js'
import type { SystemRegistration } from '../../schemas/systems.js'
import type { PublicJwk } from '../../schemas/trust.js'

export interface TestSystem {
  id: string
  key: SigningKey
}

export async function newKey(alg: SigningAlg = 'ES256'): Promise<SigningKey> {
  return importSigningKey((await generateKey(alg)).privateJwk)
}

/** Registers a system with a fresh key straight in the database: the setup a SYSTEMS_FILE does. */
export async function registerSystem(
  database: Database,
  id: string,
  options: { alg?: SigningAlg, status?: 'active' | 'suspended', extra?: Partial<SystemRegistration> } = {},
): Promise<TestSystem> {
  const key = await newKey(options.alg)
  const province = provinceOfSystem(id)
  await new SystemsStore(database.db).register({
    id,
    role: province ? 'province' : 'central',
    ...(province ? { provinceCode: province } : {}),
    name: `Test ${id}`,
    jwks: { keys: [key.publicJwk as PublicJwk] },
    ...(options.status ? { status: options.status } : {}),
    ...options.extra,
  }, database.db)
  return { id, key }
}

export interface SignedRequest {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  url: string
  /** Sent as JSON exactly as given (a Buffer as the raw bytes, with the content type of `headers`); signed over these bytes. */
  body?: unknown
  /** Changes to the signed claims, to forge a token. */
  sign?: Partial<CallToSign>
  headers?: Record<string, string>
}

/** Sends a request through the real app with a call token signed by `system`. */
export async function signedInject(app: App, system: TestSystem, request: SignedRequest): Promise<LightMyRequestResponse> {
  const raw = Buffer.isBuffer(request.body)
  const payload = request.body === undefined ? undefined : raw ? request.body as Buffer : JSON.stringify(request.body)
  const token = await signCall({
    issuer: system.id,
    audience: app.deps.config.SERVICE_ID,
    key: system.key,
    method: request.method,
    pathAndQuery: request.url,
    body: payload,
    ...request.sign,
  })
  const options: InjectOptions = {
    method: request.method,
    url: request.url,
    headers: { authorization: `Bearer ${token}`, ...(payload !== undefined && !raw ? { 'content-type': 'application/json' } : {}), ...request.headers },
    ...(payload !== undefined ? { payload } : {}),
  }
  return app.inject(options)
}

/** Typed clients of province 79 and of a central system, each registered with a fresh key, calling the service at `baseUrl`. */
export async function typedClients(database: Database, baseUrl: string, provinceExtra?: Partial<SystemRegistration>) {
  const province = await registerSystem(database, 'province-79', provinceExtra ? { extra: provinceExtra } : {})
  const central = await registerSystem(database, 'central-portal')
  return {
    asProvince: new TtnClient({ baseUrl, systemId: province.id, key: province.key }),
    asCentral: new TtnClient({ baseUrl, systemId: central.id, key: central.key }),
  }
}
