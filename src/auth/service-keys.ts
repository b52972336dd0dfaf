import { existsSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { JWK } from 'jose'
import type { Jwks } from '../../schemas/trust.js'
import { generateKey, importSigningKey, publicPart, readSigningKeys, type SigningAlg, type SigningKey } from '../client/keys.js'

/** The keys the service signs with: the first signs, all are published so older signatures still verify. */
export interface ServiceKeys {
  current: SigningKey
  all: SigningKey[]
  jwks: Jwks
}

export function serviceKeysOf(all: SigningKey[]): ServiceKeys {
  if (all.length === 0) throw new Error('the service needs at least one signing key')
  return { current: all[0]!, all, jwks: { keys: all.map((k) => k.publicJwk) as Jwks['keys'] } }
}

export const readServiceKeys = async (file: string) => serviceKeysOf(await readSigningKeys(file))

/** A key that lives only in memory: for generating the contract, which signs nothing. */
export const ephemeralServiceKeys = async () => serviceKeysOf([await importSigningKey((await generateKey()).privateJwk)])

export const generatedKeyFile = (dataDir: string) => join(dataDir, 'service-keys.json')

/**
 * The service's keys from CENTRAL_KEY_FILE, or from DATA_DIR where one is generated on first
 * start (several instances must share CENTRAL_KEY_FILE instead, or their receipts differ).
 */
export async function loadServiceKeys(
  settings: { CENTRAL_KEY_FILE?: string | undefined, DATA_DIR: string },
  warn: (message: string) => void,
): Promise<ServiceKeys> {
  if (settings.CENTRAL_KEY_FILE) return readServiceKeys(settings.CENTRAL_KEY_FILE)
  const file = generatedKeyFile(settings.DATA_DIR)
  if (!existsSync(file)) {
    const { privateJwk } = await generateKey('ES256')
    await mkdir(dirname(file), { recursive: true })
    try {
      await writeFile(file, JSON.stringify({ keys: [privateJwk] }, null, 2) + '\n', { mode: 0o600, flag: 'wx' })
      warn(`CENTRAL_KEY_FILE is not set: generated a service signing key in ${file}; ` +
        'in production set CENTRAL_KEY_FILE, the same file for every instance')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }
  }
  return readServiceKeys(file)
}

/** Puts a new key in front of a key file: it signs from the next start; older ones stay published. */
export async function rotateServiceKeyFile(file: string, alg: SigningAlg = 'ES256', keep = 3): Promise<JWK> {
  const parsed = JSON.parse(await readFile(file, 'utf8')) as JWK | { keys: JWK[] }
  const existing = 'keys' in parsed ? parsed.keys : [parsed]
  const { privateJwk } = await generateKey(alg)
  await writeFile(file, JSON.stringify({ keys: [privateJwk, ...existing].slice(0, keep) }, null, 2) + '\n', { mode: 0o600 })
  return publicPart(privateJwk)
}
