import { readFile } from 'node:fs/promises'
import { SystemsFile, type SystemRegistration } from '../../../schemas/systems.js'
import type { Db } from '../../db/database.js'
import { fieldErrors } from '../../http/errors.js'
import { compileValidator } from '../../http/validation.js'
import { registrationProblem, SystemsStore } from './store.js'

const isSystemsFile = compileValidator(SystemsFile)

/** Registers or updates the systems a SYSTEMS_FILE lists; any bad entry stops the start with its position named. */
export async function applySystemsFile(file: string, db: Db): Promise<Record<'registered' | 'updated' | 'unchanged', string[]>> {
  const entries: unknown = JSON.parse(await readFile(file, 'utf8'))
  if (!isSystemsFile(entries)) {
    const [first] = fieldErrors('body', (isSystemsFile.errors ?? []) as never)
    throw new Error(`${file}${first?.pointer ?? ''}: ${first?.message ?? 'is not a list of system registrations'}`)
  }
  const registrations = entries as SystemRegistration[]
  registrations.forEach((registration, i) => {
    const problem = registrationProblem(registration)
    if (problem) throw new Error(`${file}/${i} (${registration.id}): ${problem}`)
  })
  const store = new SystemsStore(db)
  const outcome = { registered: [] as string[], updated: [] as string[], unchanged: [] as string[] }
  for (const registration of registrations) outcome[await store.upsert(registration)].push(registration.id)
  return outcome
}
