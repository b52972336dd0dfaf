import { Type, type Static, type TSchema } from 'typebox'
import { StringEnum } from './common.js'

/** The media types an answer with a table of figures is given in, besides JSON. */
export const CSV_MEDIA_TYPE = 'text/csv'
export const XLSX_MEDIA_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'

/** Query parameters of every operation that also answers as a spreadsheet. */
export const sheetQuery = {
  format: Type.Optional(StringEnum(['json', 'csv', 'xlsx'], {
    description: '`csv` answers `text/csv` (UTF-8 with a byte-order mark), `xlsx` an Excel workbook; without it `Accept` decides, and JSON is the default.',
  })),
  delimiter: Type.Optional(StringEnum(['comma', 'semicolon'], {
    description: 'The CSV separator: `comma` (the default) or `semicolon`, which Excel expects where the decimal mark is a comma, as in Vietnamese settings.',
  })),
  lang: Type.Optional(StringEnum(['en', 'vi'], {
    description: 'The CSV header: `en` (the default) has one row of English keys with the period and generation time as leading columns, for programs; ' +
      '`vi` has lines of metadata (Kỳ báo cáo, Thời điểm lập…), a blank line, then one row of Vietnamese labels, for people. The xlsx always has both.',
  })),
}

/** A schema with its Vietnamese label as `title`: the heading a spreadsheet shows for the field. */
export const titled = <T extends TSchema>(title: string, schema: T) => Type.Unsafe<Static<T>>({ ...schema, title })
