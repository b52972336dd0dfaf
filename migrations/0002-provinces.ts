import { readFileSync } from 'node:fs'
import { parse } from 'csv-parse/sync'
import { sql, type Kysely } from 'kysely'
import { projectPath } from '../src/paths.js'

/** The provinces of QĐ 19/2025, in force from 1 July 2025, and the 63 they were formed from. */
const MERGER_DATE = '2025-07-01'

interface Province2025 { code: string, name: string, kind: string, predecessor_codes: string }
interface Province2004 { code: string, name: string, successor_code: string }

const readCsv = <T>(file: string): T[] =>
  parse(readFileSync(projectPath('reference', file)), { columns: true, skip_empty_lines: true, trim: true }) as T[]

export async function up(db: Kysely<unknown>): Promise<void> {
  const current = readCsv<Province2025>('provinces-2025.csv')
  const former = readCsv<Province2004>('provinces-2004.csv')
  const currentCodes = new Set(current.map((p) => p.code))
  const formerName = new Map(former.map((p) => [p.code, p.name]))

  for (const p of current) {
    await sql`insert into admin_units (code, name, level, kind, status)
              values (${p.code}, ${p.name}, 'province', ${p.kind}, 'active')`.execute(db)
  }
  for (const p of former.filter((f) => !currentCodes.has(f.code))) {
    await sql`insert into admin_units (code, name, level, status, successor_code, retired_on)
              values (${p.code}, ${p.name}, 'province', 'retired', ${p.successor_code}, ${MERGER_DATE})`.execute(db)
  }
  for (const p of current) {
    for (const predecessor of p.predecessor_codes.split(';')) {
      await sql`insert into admin_unit_predecessors (unit_code, predecessor_code, predecessor_name, effective_on)
                values (${p.code}, ${predecessor}, ${formerName.get(predecessor) ?? null}, ${MERGER_DATE})`.execute(db)
    }
  }
}
