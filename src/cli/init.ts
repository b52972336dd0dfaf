import { existsSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { parse } from 'csv-parse/sync'
import { Command } from 'commander'
import type { SystemsFileEntry } from '../../schemas/systems.js'
import type { PublicJwk } from '../../schemas/trust.js'
import { createServiceKeyFile } from '../auth/service-keys.js'
import { LOCAL_ENV_FILE } from '../config.js'
import { projectPath } from '../paths.js'
import { print } from './common.js'
import { keyPairFiles, writeKeyPair } from './keys.js'

/** The central-role system of a local setup: the operator's, for the `ttn systems` commands. */
export const OPERATOR_ID = 'ops-console'

export interface InitOptions { dir: string, province: string, url: string, force?: boolean }

/** What `ttn init` wrote, by role. */
export interface LocalSetup {
  serviceKeyFile: string
  systemsFile: string
  envFile: string
  operator: { id: string, privateFile: string }
  province: { id: string, name: string, privateFile: string }
}

/** A word the shell and an env file both take as it is, else quoted so that they do. */
function quoted(value: string): string {
  if (/^[\w./:@%+=,-]+$/.test(value)) return value
  if (/['\n\r]/.test(value)) throw new Error(`${JSON.stringify(value)}: choose a folder whose path has no quote or line break`)
  return `'${value}'`
}

async function provinceName(code: string): Promise<string> {
  const provinces = parse(await readFile(projectPath('reference', 'provinces-2025.csv')), { columns: true, skip_empty_lines: true }) as { code: string, name: string }[]
  const province = provinces.find((p) => p.code === code)
  if (!province) throw new Error(`--province ${code} is not a province in force; one of ${provinces.map((p) => p.code).join(', ')}`)
  return province.name
}

/**
 * Writes a working local setup into `dir`: the service's signing key, a central operator and one
 * provincial system each with a key pair, the systems file registering both, and an env file
 * pointing the service at them. Refuses to replace a setup unless `force`.
 */
export async function writeLocalSetup(options: InitOptions): Promise<LocalSetup> {
  const name = await provinceName(options.province)
  const { dir } = options
  const operatorDir = join(dir, OPERATOR_ID)
  const provinceId = `province-${options.province}`
  const provinceDir = join(dir, provinceId)
  const serviceKeyFile = join(dir, 'service-keys.json')
  const systemsFile = join(dir, 'systems.json')
  const envFile = join(dir, 'ttn.env')
  // Every path is printed in commands and written to the env file: one that neither could hold is refused first.
  quoted(dir)
  const targets = [serviceKeyFile, systemsFile, envFile, ...Object.values(keyPairFiles(operatorDir)), ...Object.values(keyPairFiles(provinceDir))]
  const present = targets.filter((file) => existsSync(file))
  if (present.length > 0 && !options.force) {
    throw new Error(`${dir} holds a setup already (${present.length > 1 ? `${present[0]!} and ${present.length - 1} more files` : present[0]!}); --force replaces it, keys included`)
  }

  await mkdir(dir, { recursive: true, mode: 0o700 })
  await createServiceKeyFile(serviceKeyFile, { replace: options.force === true })
  const operator = await writeKeyPair(operatorDir, 'ES256', options.force)
  const province = await writeKeyPair(provinceDir, 'ES256', options.force)
  const systems: SystemsFileEntry[] = [
    { id: OPERATOR_ID, role: 'central', name: 'Bảng điều khiển vận hành trung ương', jwks: { keys: [operator.publicJwk as PublicJwk] } },
    { id: provinceId, role: 'province', provinceCode: options.province, name: `HTTTN ${name}`, jwks: { keys: [province.publicJwk as PublicJwk] } },
  ]
  const flag = options.force ? 'w' : 'wx'
  await writeFile(systemsFile, JSON.stringify(systems, null, 2) + '\n', { flag })
  await writeFile(envFile, [
    `# The settings of the local setup in ${dir}, as \`ttn init\` wrote them. The service reads this file at start`,
    `# when it is ${LOCAL_ENV_FILE} or ENV_FILE names it; a variable set in the environment overrides it.`,
    `CENTRAL_KEY_FILE=${quoted(serviceKeyFile)}`,
    `SYSTEMS_FILE=${quoted(systemsFile)}`,
    '',
  ].join('\n'), { flag })
  return {
    serviceKeyFile, systemsFile, envFile,
    operator: { id: OPERATOR_ID, privateFile: operator.privateFile },
    province: { id: provinceId, name, privateFile: province.privateFile },
  }
}

/** The first signed call of a setup, to paste into a shell once the service runs. */
export function firstCall(setup: LocalSetup, url: string): string {
  const path = `/v2/systems/${setup.province.id}`
  const token = `npx ttn token --system-id ${setup.province.id} --key ${quoted(setup.province.privateFile)} --method GET --path ${path}`
  return `curl --fail-with-body -H "Authorization: Bearer $(${token})" ${quoted(url.replace(/\/+$/, '') + path)}`
}

export function initCommand(): Command {
  return new Command('init')
    .description('Write a local setup to call the service with at once: its signing key, a central operator and one provincial system ' +
      'with key pairs of their own, the SYSTEMS_FILE registering both, and the env file `npm start` reads.')
    .option('--dir <dir>', 'folder to write the setup to', 'local')
    .option('--province <code>', 'the province of the sample provincial system', '79')
    .option('--url <url>', 'where the service will be reached, for the commands printed', 'http://127.0.0.1:8080')
    .option('--force', 'replace a setup already in the folder, with new keys')
    .action(async (options: InitOptions) => {
      const setup = await writeLocalSetup(options)
      const usesDefault = resolve(setup.envFile) === resolve(LOCAL_ENV_FILE)
      print(`wrote a local setup in ${options.dir}:`)
      print(`  ${setup.serviceKeyFile}  the service's signing key (CENTRAL_KEY_FILE)`)
      print(`  ${setup.operator.privateFile}  the private key of ${setup.operator.id}, a central operator (the public JWKS beside it)`)
      print(`  ${setup.province.privateFile}  the private key of ${setup.province.id}, the provincial system of ${setup.province.name}`)
      print(`  ${setup.systemsFile}  registers both at the service's start (SYSTEMS_FILE)`)
      print(`  ${setup.envFile}  points the service at these files`)
      print('private keys are readable by their owner only; keep this folder out of version control.')
      if (options.force) {
        print('a database that holds these systems already keeps their former keys (the systems file registers only new systems): ' +
          'start on a fresh DATA_DIR to use the new ones.')
      }
      print('\nstart the service, from the project folder:')
      print(`  ${usesDefault ? '' : `ENV_FILE=${quoted(setup.envFile)} `}npm start`)
      print(`\nthen make the first signed call, as ${setup.province.id}:`)
      print(`  ${firstCall(setup, options.url)}`)
      print(`\ncentral's calls: --system-id ${setup.operator.id} --key ${quoted(setup.operator.privateFile)} (e.g. ttn systems list).`)
    })
}
