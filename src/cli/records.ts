import { readFile } from 'node:fs/promises'
import { extname } from 'node:path'
import { parse } from 'csv-parse/sync'
import type { TSchema } from 'typebox'
import { Board, Cluster, Station } from '../../schemas/registry.js'
import { fieldErrors } from '../http/errors.js'
import { compileValidator } from '../http/validation.js'

export type Entity = 'stations' | 'clusters' | 'boards'
const inputs: Record<Entity, TSchema> = { stations: Station.Input, clusters: Cluster.Input, boards: Board.Input }

const BOOLEAN = /^(true|false)$/i
const NUMBER = /^-?\d+(\.\d+)?$/
const NUMERIC_FIELDS = new Set(['screenSizeInches'])

/**
 * A CSV line to a record: columns named like the fields of the contract, with `latitude` and
 * `longitude` for the location and `operatorName`, `operatorPhone`, `operatorEmail` for the
 * operator; empty cells are left out.
 */
function fromCsvRow(row: Record<string, string>): Record<string, unknown> {
  const record: Record<string, unknown> = {}
  const operator: Record<string, string> = {}
  for (const [column, raw] of Object.entries(row)) {
    const value = raw.trim()
    if (value === '') continue
    if (column === 'latitude' || column === 'longitude') {
      record.location = { ...(record.location as object), [column]: Number(value) }
    } else if (column.startsWith('operator')) {
      operator[column.slice('operator'.length).toLowerCase()] = value
    } else if (BOOLEAN.test(value) && column.startsWith('has')) {
      record[column] = value.toLowerCase() === 'true'
    } else if (NUMERIC_FIELDS.has(column) && NUMBER.test(value)) {
      record[column] = Number(value)
    } else {
      record[column] = value
    }
  }
  if (Object.keys(operator).length > 0) record.operator = operator
  return record
}

/** Reads records from a JSON file (an array, or `{ "items": [...] }`) or a CSV file; every bad record is named. */
export async function readRecords(entity: Entity, file: string): Promise<unknown[]> {
  const text = await readFile(file, 'utf8')
  const csv = extname(file).toLowerCase() === '.csv'
  let records: unknown[]
  if (csv) {
    records = (parse(text, { columns: true, skip_empty_lines: true, bom: true }) as Record<string, string>[]).map(fromCsvRow)
  } else {
    const parsed: unknown = JSON.parse(text)
    records = Array.isArray(parsed) ? parsed : (parsed as { items?: unknown[] }).items ?? []
  }
  const validate = compileValidator(inputs[entity])
  const problems: string[] = []
  records.forEach((record, i) => {
    if (validate(record)) return
    const where = csv ? `line ${i + 2}` : `record ${i}`
    for (const error of fieldErrors('body', (validate.errors ?? []) as never).slice(0, 3)) problems.push(`${where}: ${error.pointer} ${error.message}`)
  })
  if (problems.length > 0) throw new Error(`${file} has bad records:\n${problems.slice(0, 30).join('\n')}${problems.length > 30 ? `\n... and ${problems.length - 30} more` : ''}`)
  return records
}
