import { existsSync } from 'node:fs'
import { chmod, mkdir, open, readFile, rename, rm } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { JWK } from 'jose'
import { generateKey, importSigningKey, publicPart, type SigningAlg, type SigningKey } from '../client/keys.js'

/** The public part of a key the service no longer holds, published so that what it signed still verifies. */
export type RetiredServiceKey = JWK & { retiredAt: string }

/**
 * The keys the service signs with: the first signs; the others it still holds and the retired
 * ones it no longer holds are all published, so no signature it ever made stops verifying.
 */
export interface ServiceKeys {
  current: SigningKey
  all: SigningKey[]
  retired: RetiredServiceKey[]
  /** Every public key: held ones first (the signing one first), then the retired ones. */
  jwks: { keys: JWK[] }
}

export function serviceKeysOf(all: SigningKey[], retired: RetiredServiceKey[] = []): ServiceKeys {
  if (all.length === 0) throw new Error('the service needs at least one signing key')
  const held = new Set(all.map((k) => k.kid))
  return {
    current: all[0]!,
    all,
    retired,
    jwks: { keys: [...all.map((k) => k.publicJwk), ...retired.filter((k) => !held.has(k.kid!)).map(({ retiredAt: _, ...jwk }) => jwk)] },
  }
}

interface KeyFile { keys: JWK[], retired?: RetiredServiceKey[] }

async function readKeyFile(file: string): Promise<KeyFile> {
  const parsed = JSON.parse(await readFile(file, 'utf8')) as JWK | KeyFile
  return 'keys' in parsed ? parsed : { keys: [parsed] }
}

export async function readServiceKeys(file: string): Promise<ServiceKeys> {
  const { keys, retired = [] } = await readKeyFile(file)
  if (keys.length === 0) throw new Error(`${file} holds no keys`)
  return serviceKeysOf(await Promise.all(keys.map(importSigningKey)), retired)
}

/** A key that lives only in memory: for generating the contract, which signs nothing. */
export const ephemeralServiceKeys = async () => serviceKeysOf([await importSigningKey((await generateKey()).privateJwk)])

export const generatedKeyFile = (dataDir: string) => join(dataDir, 'service-keys.json')

/**
 * Writes a key file readable by its owner only, atomically: a new file is written and synced
 * beside it, then renamed over it, so a crash leaves the old file or the new one, never half of one.
 */
async function writeKeyFile(file: string, content: KeyFile, exclusive = false): Promise<void> {
  const target = exclusive ? file : `${file}.${process.pid}.tmp`
  const handle = await open(target, exclusive ? 'wx' : 'w', 0o600)
  try {
    await handle.writeFile(JSON.stringify(content, null, 2) + '\n')
    await handle.sync()
  } finally {
    await handle.close()
  }
  if (exclusive) return
  await chmod(target, 0o600)
  await rename(target, file).catch(async (error: unknown) => {
    await rm(target, { force: true })
    throw error
  })
}

/**
 * A key file holding one new signing key, readable by its owner only. An existing file is
 * replaced only when `replace` says so; otherwise it fails with EEXIST, so two instances
 * starting at once cannot each write a key of their own.
 */
export async function createServiceKeyFile(file: string, options: { replace?: boolean, alg?: SigningAlg } = {}): Promise<JWK> {
  const { privateJwk } = await generateKey(options.alg ?? 'ES256')
  await mkdir(dirname(file), { recursive: true })
  await writeKeyFile(file, { keys: [privateJwk] }, options.replace !== true)
  return publicPart(privateJwk)
}

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
    try {
      await createServiceKeyFile(file)
      warn(`CENTRAL_KEY_FILE is not set: generated a service signing key in ${file}; ` +
        'in production set CENTRAL_KEY_FILE, the same file for every instance')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }
  }
  return readServiceKeys(file)
}

/**
 * Puts a new key in front of a key file: it signs from the next start. The file keeps the
 * private parts of the newest `keep` keys; older ones lose their private part but stay in the
 * file, public, with the time they were retired, so everything they signed still verifies.
 */
export async function rotateServiceKeyFile(file: string, alg: SigningAlg = 'ES256', keep = 3): Promise<JWK> {
  if (!Number.isInteger(keep) || keep < 1) throw new Error('keep at least one key')
  const { keys, retired = [] } = await readKeyFile(file)
  const { privateJwk } = await generateKey(alg)
  const held = [privateJwk, ...keys]
  const retiredAt = new Date().toISOString()
  await writeKeyFile(file, {
    keys: held.slice(0, keep),
    retired: [...held.slice(keep).map((jwk) => ({ ...publicPart(jwk), retiredAt })), ...retired],
  })
  return publicPart(privateJwk)
}
