import { readFile } from 'node:fs/promises'
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose'

export type SigningAlg = 'ES256' | 'EdDSA'

/** A private signing key ready to use, with the public JWK others verify it by. */
export interface SigningKey {
  kid: string
  alg: SigningAlg
  key: CryptoKey
  publicJwk: JWK
}

export function algOf(jwk: JWK): SigningAlg {
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') return 'ES256'
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return 'EdDSA'
  throw new Error(`unsupported key type ${jwk.kty}/${jwk.crv}: use ES256 (P-256) or EdDSA (Ed25519)`)
}

export function publicPart(jwk: JWK): JWK {
  const { d: _d, ...rest } = jwk
  return rest
}

/** A new key pair; its kid is the RFC 7638 thumbprint of the public key. */
export async function generateKey(alg: SigningAlg = 'ES256'): Promise<{ privateJwk: JWK, publicJwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  const publicJwk = await exportJWK(publicKey)
  const kid = await calculateJwkThumbprint(publicJwk)
  return {
    privateJwk: { ...await exportJWK(privateKey), kid, alg, use: 'sig' },
    publicJwk: { ...publicJwk, kid, alg, use: 'sig' },
  }
}

export async function importSigningKey(jwk: JWK): Promise<SigningKey> {
  if (!jwk.d) throw new Error('a signing key must be a private JWK (with "d")')
  const alg = algOf(jwk)
  const kid = jwk.kid ?? await calculateJwkThumbprint(publicPart(jwk))
  const publicJwk: JWK = { ...publicPart(jwk), kid, alg, use: 'sig' }
  return { kid, alg, key: await importJWK({ ...jwk, alg }, alg) as CryptoKey, publicJwk }
}

/** Reads the private JWK files `ttn keys generate` writes: one JWK, or a set whose first key signs. */
export async function readSigningKeys(file: string): Promise<SigningKey[]> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as JWK | { keys: JWK[] }
    const jwks = 'keys' in parsed ? parsed.keys : [parsed]
    if (jwks.length === 0) throw new Error('holds no keys')
    return await Promise.all(jwks.map(importSigningKey))
  } catch (error) {
    throw new Error(`${file}: ${(error as Error).message}`, { cause: error })
  }
}

export async function readSigningKey(file: string): Promise<SigningKey> {
  const [first] = await readSigningKeys(file)
  return first!
}
