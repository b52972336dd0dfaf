import { existsSync } from 'node:fs'
import { chmod, mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Command, Option } from 'commander'
import type { JWK } from 'jose'
import { generatedKeyFile, rotateServiceKeyFile } from '../auth/service-keys.js'
import { generateKey, type SigningAlg } from '../client/keys.js'
import { loadConfig } from '../config.js'
import { print } from './common.js'

export const keyPairFiles = (dir: string) => ({ privateFile: join(dir, 'private.jwk.json'), publicFile: join(dir, 'public.jwks.json') })

/**
 * Writes a new key pair into `dir`: the private JWK readable by its owner only, the public JWKS to
 * register. Existing files are replaced only when `replace` says so.
 */
export async function writeKeyPair(dir: string, alg: SigningAlg = 'ES256', replace = false): Promise<{ publicJwk: JWK, privateFile: string, publicFile: string }> {
  const { privateFile, publicFile } = keyPairFiles(dir)
  const { privateJwk, publicJwk } = await generateKey(alg)
  const flag = replace ? 'w' : 'wx'
  await mkdir(dir, { recursive: true })
  await writeFile(privateFile, JSON.stringify(privateJwk, null, 2) + '\n', { mode: 0o600, flag })
  // The mode of a file applies when it is created: a replaced one is made owner-only again.
  await chmod(privateFile, 0o600)
  await writeFile(publicFile, JSON.stringify({ keys: [publicJwk] }, null, 2) + '\n', { flag })
  return { publicJwk, privateFile, publicFile }
}

const algOption = () => new Option('--alg <alg>', 'signature algorithm').choices(['ES256', 'EdDSA']).default('ES256')

export function keysCommand(): Command {
  const keys = new Command('keys').description('Signing keys for systems and for the service.')

  keys.command('generate')
    .description('Write a new private JWK (private.jwk.json, keep it secret) and its public JWKS (public.jwks.json, register it).')
    .addOption(algOption())
    .requiredOption('--out <dir>', 'folder to write the two files to')
    .action(async (options: { alg: SigningAlg, out: string }) => {
      for (const file of Object.values(keyPairFiles(options.out))) {
        if (existsSync(file)) throw new Error(`${file} exists; choose another folder rather than overwrite a key`)
      }
      const { publicJwk, privateFile, publicFile } = await writeKeyPair(options.out, options.alg)
      print(`kid ${publicJwk.kid}: private key in ${privateFile}, public JWKS in ${publicFile}`)
    })

  keys.command('rotate-service')
    .description('Put a new signing key in front of the service key file (CENTRAL_KEY_FILE, or the one generated in DATA_DIR). ' +
      'Instances sign with it once restarted; the previous keys stay published so older receipts still verify.')
    .addOption(algOption())
    .option('--keep <n>', 'how many keys the file keeps, newest first', (v) => Number.parseInt(v, 10), 3)
    .action(async (options: { alg: SigningAlg, keep: number }) => {
      const config = loadConfig()
      const file = config.CENTRAL_KEY_FILE ?? generatedKeyFile(config.DATA_DIR)
      if (!existsSync(file)) throw new Error(`${file} does not exist; start the service once or set CENTRAL_KEY_FILE`)
      const added = await rotateServiceKeyFile(file, options.alg, options.keep)
      print(`new service key ${String(added.kid)} in ${file}; restart the instances to sign with it`)
    })

  return keys
}
