import { parse } from 'csv-parse/sync'
import { Value } from 'typebox/value'
import { CommuneCsvRow } from '../../../schemas/catalogue.js'
import type { CommuneRow } from './store.js'

const KINDS: Record<string, CommuneRow['kind']> = {
  xa: 'xa', 'xã': 'xa', phuong: 'phuong', 'phường': 'phuong', dac_khu: 'dac_khu', 'đặc khu': 'dac_khu',
}
export const REORGANISATION_DATE = '2025-07-01'

export class CsvError extends Error {}

/** Reads the commune list; every bad line is named with its line number before anything is imported. */
export function parseCommuneCsv(text: string | Buffer): CommuneRow[] {
  let records: Record<string, string>[]
  try {
    records = parse(text, { columns: true, skip_empty_lines: true, trim: true, bom: true })
  } catch (error) {
    throw new CsvError(`not a readable CSV file: ${(error as Error).message}`)
  }
  const problems: string[] = []
  const rows: CommuneRow[] = []
  const seen = new Set<string>()
  records.forEach((record, i) => {
    const line = i + 2
    const cleaned = Object.fromEntries(Object.entries(record).filter(([, v]) => v !== ''))
    const error = Value.Errors(CommuneCsvRow, cleaned)[0]
    const kind = KINDS[String(record.kind ?? '').toLowerCase().normalize('NFC')]
    if (error) problems.push(`line ${line}: ${error.instancePath.slice(1) || 'row'} ${error.message}`)
    else if (!kind) problems.push(`line ${line}: kind must be xa, phuong or dac_khu (got ${JSON.stringify(record.kind)})`)
    else if (seen.has(record.code!)) problems.push(`line ${line}: code ${record.code} appears twice`)
    else {
      const row = cleaned as CommuneCsvRow
      seen.add(row.code)
      rows.push({
        code: row.code,
        name: row.name,
        kind,
        provinceCode: row.province_code,
        formerCodes: (row.former_codes ?? '').split(/[; ]+/).filter(Boolean),
        effectiveOn: row.effective_on ?? REORGANISATION_DATE,
        successionNote: row.succession_note ?? null,
      })
    }
  })
  if (problems.length > 0) throw new CsvError(problems.slice(0, 20).join('\n') + (problems.length > 20 ? `\n... and ${problems.length - 20} more` : ''))
  return rows
}
