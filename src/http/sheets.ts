import { stringify } from 'csv-stringify/sync'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Static, TObject, TSchema } from 'typebox'
import { componentExamples } from '../../schemas/examples.js'
import { CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE } from '../../schemas/sheets.js'

export type AnswerFormat = 'json' | 'csv' | 'xlsx'
export interface CsvOptions { delimiter?: 'comma' | 'semicolon' | undefined, lang?: 'en' | 'vi' | undefined }

/** `format` decides when given; otherwise a caller that accepts a workbook or CSV gets it; JSON by default. */
export function answerFormat(request: FastifyRequest, format: AnswerFormat | undefined): AnswerFormat {
  if (format) return format
  const accept = request.headers.accept ?? ''
  if (accept.includes(XLSX_MEDIA_TYPE)) return 'xlsx'
  return /\btext\/csv\b/.test(accept) ? 'csv' : 'json'
}

/** Excel reads a CSV as UTF-8 only when it starts with a byte-order mark. */
export const CSV_BOM = '\uFEFF'

type Kind = 'text' | 'integer' | 'decimal' | 'share'
export interface Column { key: string, label: string, kind: Kind }
export type Cell = string | number | null | undefined

/** How a field is written in a workbook, read from its schema: codes and instants as text, shares as percentages. */
function kindOf(schema: { type?: unknown, maximum?: unknown }): Kind {
  const type = [schema.type].flat().find((name) => name !== 'null')
  if (type === 'integer') return 'integer'
  if (type === 'number') return schema.maximum === 1 ? 'share' : 'decimal'
  return 'text'
}

/** A field's Vietnamese label: its schema's `title`, which every field shown in a sheet must have. */
export function labelOf(key: string, schema: TSchema | undefined): string {
  const { title } = (schema ?? {}) as { title?: string }
  if (!title) throw new Error(`${key} has no title to label it in a sheet`)
  return title
}

/** The column of one field, labelled after its section when it has one. */
export function column(key: string, schema: TSchema | undefined, section?: string): Column {
  const label = labelOf(key, schema)
  return { key, label: section ? `${section}: ${label}` : label, kind: kindOf(schema as object) }
}

/** The example the contract gives for a component, from which a sheet's example is made. */
export const componentExample = <T extends TSchema>(schema: T) => componentExamples.get((schema as { $id?: string }).$id ?? '') as Static<T>

/** A column per property of an object schema, keyed `prefix.field` under a prefix. */
export function columnsOf(schema: TSchema, prefix?: string): Column[] {
  const { properties, title } = schema as TObject & { title?: string }
  return Object.entries(properties).map(([field, property]) => column(prefix ? `${prefix}.${field}` : field, property, prefix ? title : undefined))
}

/** The cells of a record for some columns, each found by its key's path (`stations.total`). */
export const cellsOf = (columns: Column[], record: object): Cell[] =>
  columns.map(({ key }) => key.split('.').reduce<unknown>((value, field) => (value as Record<string, unknown> | undefined)?.[field], record) as Cell)

const VIETNAM_OFFSET_MS = 7 * 3_600_000

/** An instant in Vietnam time (UTC+7), to the second, with its offset. */
export const vietnamTime = (instant: string) => `${new Date(Date.parse(instant) + VIETNAM_OFFSET_MS).toISOString().slice(0, 19)}+07:00`

/** A table of figures with what it is about, in the form every non-JSON answer is made from. */
export interface Sheet {
  /** What and which period, for the file name; without extension. */
  fileName: string
  /** Written above the table in a workbook. */
  title: string
  /** At most 31 characters, as Excel allows. */
  sheetName: string
  /** The period and the generation time, at least. */
  metadata: { key: string, label: string, value: string }[]
  columns: Column[]
  rows: Cell[][]
}

/**
 * English keys (the default) give one header row, the metadata as leading columns, for programs.
 * Vietnamese gives the metadata as label–value lines, a blank line, then the labelled table: Excel
 * and LibreOffice open that as it reads. A semicolon separator writes decimals with a comma, as
 * spreadsheets set to Vietnamese expect.
 */
export function sheetCsv(sheet: Sheet, { delimiter = 'comma', lang = 'en' }: CsvOptions = {}): string {
  const records = lang === 'vi'
    ? [...sheet.metadata.map(({ label, value }) => [label, value]), [], sheet.columns.map(({ label }) => label), ...sheet.rows]
    : [[...sheet.metadata.map(({ key }) => key), ...sheet.columns.map(({ key }) => key)], ...sheet.rows.map((row) => [...sheet.metadata.map(({ value }) => value), ...row])]
  const semicolon = delimiter === 'semicolon'
  return CSV_BOM + stringify(records, {
    delimiter: semicolon ? ';' : ',',
    record_delimiter: 'windows',
    // Quoted, so that LibreOffice (with its default "quoted field as text") keeps codes such as `01` as text.
    quoted_string: true,
    ...(semicolon ? { cast: { number: (value: number) => String(value).replace('.', ',') } } : {}),
  })
}

const NUMBER_FORMATS: Record<Kind, string> = { text: '@', integer: '#,##0', decimal: '#,##0.00', share: '0.0%' }
const MAX_COLUMN_WIDTH = 40

/**
 * One worksheet: the title, the metadata (label, value, English key), a blank row, the
 * Vietnamese labels, the English keys, then the rows; codes are text cells, figures numbers.
 */
export async function sheetXlsx(sheet: Sheet): Promise<Buffer> {
  // Loaded on the first spreadsheet asked for, not at every start and every `ttn` command.
  const { default: ExcelJS } = await import('exceljs')
  const workbook = new ExcelJS.Workbook()
  const headerRows = 1 + sheet.metadata.length + 1 + 2
  const worksheet = workbook.addWorksheet(sheet.sheetName, { views: [{ state: 'frozen', ySplit: headerRows }] })
  worksheet.addRow([sheet.title]).font = { bold: true, size: 14 }
  for (const { key, label, value } of sheet.metadata) {
    const row = worksheet.addRow([label, value, key])
    row.getCell(1).font = { bold: true }
    row.getCell(2).numFmt = '@'
    row.getCell(3).font = { italic: true, color: { argb: 'FF808080' } }
  }
  worksheet.addRow([])
  worksheet.addRow(sheet.columns.map(({ label }) => label)).font = { bold: true }
  worksheet.addRow(sheet.columns.map(({ key }) => key)).font = { italic: true, color: { argb: 'FF808080' } }
  // A format per column, not per cell: one style for the workbook to hold instead of one per cell.
  sheet.columns.forEach(({ label, key, kind }, index) => {
    const column = worksheet.getColumn(index + 1)
    column.width = Math.min(MAX_COLUMN_WIDTH, Math.max(12, label.length, key.length) + 2)
    column.numFmt = NUMBER_FORMATS[kind]
  })
  worksheet.addRows(sheet.rows.map((cells) => cells.map((cell) => cell ?? null)))
  return Buffer.from(await workbook.xlsx.writeBuffer())
}

const attachment = (sheet: Sheet, extension: string) => `attachment; filename="${sheet.fileName}.${extension}"`

/** Answers a sheet as a workbook or as CSV. */
export async function sendSheet(reply: FastifyReply, format: 'csv' | 'xlsx', sheet: Sheet, options: CsvOptions) {
  if (format === 'xlsx') return reply.type(XLSX_MEDIA_TYPE).header('content-disposition', attachment(sheet, 'xlsx')).send(await sheetXlsx(sheet))
  return reply.type(`${CSV_MEDIA_TYPE}; charset=utf-8`).header('content-disposition', attachment(sheet, 'csv')).send(sheetCsv(sheet, options))
}

const CSV_FORM = 'UTF-8 with a byte-order mark. With `lang=en` (the default) one header row of English keys, the period and generation time (Vietnam time) as leading columns; ' +
  'with `lang=vi` label–value lines of metadata, a blank line, then a header row of Vietnamese labels. `delimiter=semicolon` separates with `;` and writes decimals with a comma.'
const XLSX_FORM = 'One worksheet: a title, the metadata (period, generation time in Vietnam time), the Vietnamese labels and under them the English keys, then the rows; ' +
  'codes are text cells, figures numbers, shares numbers shown as percentages.'

/** A 200 answered as JSON, CSV or a workbook, for an operation's responses; the CSV example is made from the JSON one. */
export const sheetAnswer = (schema: object, what: string, csvDescription: string, csvExample: string) => ({
  description: `${what}, as JSON, as CSV or as an xlsx workbook.`,
  headers: {
    'Content-Disposition': {
      type: 'string', maxLength: 200,
      description: 'With CSV and xlsx: `attachment; filename="…"`, a name that says what and which period or window, e.g. `national-summary-2026-H1-2026-03-14.xlsx`.',
    },
  },
  content: {
    'application/json': { schema },
    [CSV_MEDIA_TYPE]: { schema: { type: 'string', description: `${csvDescription} ${CSV_FORM}` }, example: csvExample },
    [XLSX_MEDIA_TYPE]: { schema: { type: 'string', format: 'binary', description: `The same table as an Excel workbook. ${XLSX_FORM}` } },
  },
})
