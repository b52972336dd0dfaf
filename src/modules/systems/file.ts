import { readFile } from 'node:fs/promises'
import { SystemsFileEntry, type SystemsFileEntry as Entry } from '../../../schemas/systems.js'
import type { Db } from '../../db/database.js'
import { fieldErrors } from '../../http/errors.js'
import { outboundPolicy, outboundProblem, type OutboundPolicy } from '../../http/outbound.js'
import { compileValidator } from '../../http/validation.js'
import { OutboxStore } from '../content/outbox.js'
import { registrationProblem, SystemsStore } from './store.js'

const isEntry = compileValidator(SystemsFileEntry)

export interface SystemsFileOutcome {
  registered: string[]
  /** Registered already; the operator's grant of key recovery was brought in line with the file. */
  updated: string[]
  unchanged: string[]
  /** Registered already and different in the file: kept as registered, since the system and central change it through the API. */
  kept: { id: string, fields: string[] }[]
  /** What could not be applied, each with why; the rest still was. */
  refused: { entry: string, reason: string }[]
}

/**
 * Registers the systems a SYSTEMS_FILE lists that are not registered yet: the bootstrap of a
 * deployment. A system already registered is never changed by the file, or a restart would undo
 * what was done through the API since (a key rotation, a suspension); only the operator's grant
 * of `keyRecovery` follows the file. A bad file or entry is reported, never fatal.
 */
export async function applySystemsFile(file: string, db: Db, policy: OutboundPolicy = outboundPolicy(undefined)): Promise<SystemsFileOutcome> {
  const outcome: SystemsFileOutcome = { registered: [], updated: [], unchanged: [], kept: [], refused: [] }
  let entries: unknown
  try {
    entries = JSON.parse(await readFile(file, 'utf8'))
  } catch (error) {
    outcome.refused.push({ entry: file, reason: `cannot be read as JSON: ${(error as Error).message}` })
    return outcome
  }
  if (!Array.isArray(entries)) {
    outcome.refused.push({ entry: file, reason: 'is not a JSON list of system registrations' })
    return outcome
  }
  const store = new SystemsStore(db)
  for (const [i, candidate] of (entries as unknown[]).entries()) {
    const id = (candidate as { id?: unknown } | null)?.id
    const name = `${file}/${i}${typeof id === 'string' ? ` (${id})` : ''}`
    if (!isEntry(candidate)) {
      const [first] = fieldErrors('body', (isEntry.errors ?? []) as never)
      outcome.refused.push({ entry: name, reason: `${first?.pointer ?? ''}: ${first?.message ?? 'is not a system registration'}` })
      continue
    }
    const entry = candidate as Entry
    const problem = registrationProblem(entry) ?? (entry.keyRecovery && entry.role !== 'central' ? 'only a central system may recover keys' : undefined) ??
      [entry.jwksUri, entry.webhookUrl].map((url) => url && outboundProblem(url, policy)?.detail).find(Boolean)
    if (problem) {
      outcome.refused.push({ entry: name, reason: problem })
      continue
    }
    try {
      const existing = await store.get(entry.id)
      if (!existing) {
        await db.transaction().execute(async (trx) => {
          await store.register(entry, trx)
          await OutboxStore.queueMissed(trx, entry.id)
        })
        outcome.registered.push(entry.id)
        continue
      }
      const differs = [
        existing.role !== entry.role && 'role', existing.provinceCode !== (entry.provinceCode ?? null) && 'provinceCode',
        existing.name !== entry.name && 'name', existing.jwksUri !== (entry.jwksUri ?? null) && 'jwksUri',
        existing.webhookUrl !== (entry.webhookUrl ?? null) && 'webhookUrl', entry.status !== undefined && existing.status !== entry.status && 'status',
        (entry.jwks?.keys ?? []).some((k) => !existing.keys.some((e) => e.kid === k.kid)) && 'keys',
      ].filter((field): field is string => typeof field === 'string')
      if (differs.length > 0) outcome.kept.push({ id: entry.id, fields: differs })
      const grant = entry.keyRecovery ?? false
      if (existing.keyRecovery !== grant && existing.role === 'central') {
        await store.setKeyRecovery(entry.id, grant)
        outcome.updated.push(entry.id)
      } else if (differs.length === 0) {
        outcome.unchanged.push(entry.id)
      }
    } catch (error) {
      outcome.refused.push({ entry: name, reason: (error as Error).message })
    }
  }
  return outcome
}

/** One line per thing a start could not apply from the file, for the log. */
export function systemsFileWarnings(outcome: SystemsFileOutcome): string[] {
  return [
    ...outcome.kept.map(({ id, fields }) => `SYSTEMS_FILE: ${id} is registered with another ${fields.join(', ')}; the registry is kept (change it through the API)`),
    ...outcome.refused.map(({ entry, reason }) => `SYSTEMS_FILE: ${entry} not applied: ${reason}`),
  ]
}
