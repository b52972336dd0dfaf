import { readFile, rename, writeFile } from 'node:fs/promises'
import { Command } from 'commander'
import type { JSONWebKeySet } from 'jose'
import { request } from 'undici'
import { readSigningKey } from '../client/keys.js'
import { LogForkError, witnessLog, type WitnessState } from '../client/witness.js'
import { verifyAuditLog } from '../modules/audit/verify.js'
import { DIRECT, clientFrom, print, withCallerOptions, withDatabase, type CallerOptions } from './common.js'

/** Public keys from a file or a URL (the service's /.well-known/jwks.json). */
async function readJwks(source: string): Promise<JSONWebKeySet> {
  if (/^https?:\/\//.test(source)) {
    const response = await request(source, { headersTimeout: 10_000, bodyTimeout: 10_000 })
    if (response.statusCode !== 200) throw new Error(`${source} answered ${response.statusCode}`)
    return await response.body.json() as JSONWebKeySet
  }
  return JSON.parse(await readFile(source, 'utf8')) as JSONWebKeySet
}

const readState = async (file: string): Promise<WitnessState | undefined> => {
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined
    throw error
  })
  return text === undefined ? undefined : JSON.parse(text) as WitnessState
}

const collect = (value: string, previous: string[]) => [...previous, value]

export function auditCommand(): Command {
  const audit = new Command('audit').description('The audit log, a transparency log: verify it, or watch it as a witness.')

  audit.command('verify')
    .description('Check the audit log in the database with public material only: every entry against its leaf, the tree against every checkpoint, ' +
      `every checkpoint and cosignature against its signer, and the log against what witnesses saw. Names everything found wrong. ${DIRECT}`)
    .requiredOption('--jwks <file-or-url>', 'the service\'s public keys: a file, or the service\'s /.well-known/jwks.json URL')
    .option('--witness <state-file>', 'a state file kept by `ttn audit witness` (repeatable): catches a history rewritten and re-sealed', collect, [])
    .action(async (options: { jwks: string, witness: string[] }) => {
      const jwks = await readJwks(options.jwks)
      const states = await Promise.all(options.witness.map(async (file) => {
        const state = await readState(file)
        if (!state) throw new Error(`${file} does not exist`)
        return state
      }))
      const result = await withDatabase((database) => verifyAuditLog(database.db, jwks, states))
      if (!result.ok) {
        throw new Error(`audit log verification failed (${result.problems.length} problems):\n  ${result.problems.join('\n  ')}`)
      }
      print(`audit log verified: ${result.entries} entries in ${result.checkpoints} checkpoints, ${result.cosignatures} cosignatures, ` +
        `${result.witnessStates} witness states; ${result.unsealedEntries} entries not yet in a checkpoint`)
    })

  withCallerOptions(audit.command('witness'))
    .description('Act as a witness of the service\'s log: check the latest checkpoint against the one kept in --state, cosign it, send the cosignature, keep it. ' +
      'Run it on a schedule; a fork exits 1 and keeps the offending checkpoint as evidence in <state>.fork.')
    .requiredOption('--state <file>', 'where the last checkpoint seen is kept between runs')
    .option('--jwks <file-or-url>', 'the service keys to trust (default: the service\'s own /.well-known/jwks.json)')
    .action(async (options: CallerOptions & { state: string, jwks?: string }) => {
      const client = await clientFrom(options)
      const previous = await readState(options.state)
      try {
        const run = await witnessLog(client, { systemId: options.systemId, key: await readSigningKey(options.key) }, previous,
          options.jwks ? await readJwks(options.jwks) : undefined)
        const temporary = `${options.state}.${process.pid}.tmp`
        await writeFile(temporary, JSON.stringify(run.state, null, 2) + '\n')
        await rename(temporary, options.state)
        print(`checkpoint of ${run.checkpoint.treeSize} entries (root ${run.checkpoint.rootHash}) ` +
          `${previous ? `extends the one seen before by ${run.grewBy}` : 'seen for the first time'}; cosigned`)
      } catch (error) {
        if (error instanceof LogForkError) {
          await writeFile(`${options.state}.fork`, JSON.stringify({ seen: previous, offered: error.offered, reason: error.message }, null, 2) + '\n')
          throw new Error(`the log forked: ${error.message}; evidence kept in ${options.state}.fork`)
        }
        throw error
      }
    })

  return audit
}
