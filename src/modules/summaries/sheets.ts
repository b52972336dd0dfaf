import type { Static, TObject } from 'typebox'
import type { ReportStatus } from '../../../schemas/reports.js'
import { Figures, NationalSummary, ProvinceFigures, ProvinceReportStates, ProvinceSummary } from '../../../schemas/summaries.js'
import { cellsOf, column, columnsOf, labelOf, vietnamTime, type Sheet } from '../../http/sheets.js'

const provinceFields = (ProvinceFigures as TObject).properties
const headerFields = (NationalSummary as TObject).properties

/** Province, name, every figure by `section.field` in the order of the schema, then the report states: the columns follow the contract. */
export const summaryColumns = [
  column('province', provinceFields.province),
  column('name', provinceFields.name),
  ...Object.entries((Figures as TObject).properties).flatMap(([section, schema]) => columnsOf(schema, section)),
  ...columnsOf(ProvinceReportStates, 'reports'),
]

/** A form counts as sent once it is in, on time or late, and stays so once accepted; a returned form is to be sent again. */
const SENT: ReadonlySet<string> = new Set<Static<typeof ReportStatus>>(['submitted', 'late', 'accepted'])

/**
 * The nation's report cells: for each form, the provinces that sent it out of those the period
 * asks it of, as `sent/asked`.
 */
export function nationalReportStates(provinces: Pick<ProvinceFigures, 'reports'>[]): Record<string, string> {
  const forms = Object.keys((ProvinceReportStates as TObject).properties)
  const cells = forms.map((form) => {
    const states = provinces.map(({ reports }) => (reports as Record<string, string | undefined>)[form]).filter((state) => state !== undefined)
    return [form, `${states.filter((state) => SENT.has(state)).length}/${states.length}`] as const
  })
  return Object.fromEntries(cells.filter(([, cell]) => !cell.endsWith('/0')))
}

type Header = Pick<Static<typeof NationalSummary>, 'generatedAt' | 'period'>

const metadataOf = ({ generatedAt, period }: Header) => [
  { key: 'period', label: labelOf('period', headerFields.period), value: period?.id ?? '' },
  { key: 'generatedAt', label: labelOf('generatedAt', headerFields.generatedAt), value: vietnamTime(generatedAt) },
]

/** The date the figures were computed, in Vietnam, and the period: what a file name says. */
const fileNameOf = (what: string, { generatedAt, period }: Header) => [what, period?.id, vietnamTime(generatedAt).slice(0, 10)].filter(Boolean).join('-')
const titleOf = (what: string, { period }: Header) => (period ? `${what} – ${period.title}` : what)

export const NATIONAL_ROW_NAME = 'Toàn quốc'

/** Every province, then the nation: its province code empty, its report cells the counts of provinces that sent each form. */
export function nationalSummarySheet(summary: Static<typeof NationalSummary>): Sheet {
  const nation = { province: '', name: NATIONAL_ROW_NAME, ...summary.total, reports: nationalReportStates(summary.provinces) }
  return {
    fileName: fileNameOf('national-summary', summary),
    title: titleOf('Tổng hợp toàn quốc', summary),
    sheetName: 'Tổng hợp toàn quốc',
    metadata: metadataOf(summary),
    columns: summaryColumns,
    rows: [...summary.provinces, nation].map((row) => cellsOf(summaryColumns, row)),
  }
}

export function provinceSummarySheet(summary: Static<typeof ProvinceSummary>): Sheet {
  const { province } = summary
  return {
    fileName: fileNameOf(`summary-${province.province}`, summary),
    title: titleOf(`Tổng hợp ${province.name} (${province.province})`, summary),
    sheetName: `Tổng hợp tỉnh ${province.province}`,
    metadata: metadataOf(summary),
    columns: summaryColumns,
    rows: [cellsOf(summaryColumns, province)],
  }
}
