import { stringify } from 'csv-stringify/sync'
import { CSV_BOM } from '../../http/csv.js'
import type { TObject } from 'typebox'
import { Figures, ProvinceReportStates, type ProvinceFigures } from '../../../schemas/summaries.js'


/** `section.field` for every figure, in the order of the schema, so the columns follow the contract. */
const figureColumns = Object.entries((Figures as TObject).properties)
  .flatMap(([section, schema]) => Object.keys((schema as TObject).properties).map((field) => [section as keyof Figures, field] as const))
const reportForms = Object.keys((ProvinceReportStates as TObject).properties)

export const summaryCsvColumns = ['province', 'name', ...figureColumns.map(([s, f]) => `${s}.${f}`), ...reportForms.map((form) => `reports.${form}`)]

type Row = Pick<ProvinceFigures, 'province' | 'name'> & Figures & { reports?: Record<string, string | undefined> }

/** One row per province, then the national total when given (its province code empty). */
export function summaryCsv(rows: Row[]): string {
  const records = rows.map((row) => [
    row.province,
    row.name,
    ...figureColumns.map(([section, field]) => (row[section] as Record<string, number>)[field]),
    ...reportForms.map((form) => row.reports?.[form] ?? ''),
  ])
  return CSV_BOM + stringify([summaryCsvColumns, ...records], { record_delimiter: 'windows' })
}
