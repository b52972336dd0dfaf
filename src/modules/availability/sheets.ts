import type { Static, TObject } from 'typebox'
import { AvailabilityFigures, AvailabilityItem, NationalAvailability, ProvinceAvailability } from '../../../schemas/availability.js'
import { cellsOf, column, columnsOf, labelOf, vietnamTime, type Column, type Sheet } from '../../http/sheets.js'

const itemFields = (AvailabilityItem as TObject).properties
const answerFields = (ProvinceAvailability as TObject).properties
const figureColumns = columnsOf(AvailabilityFigures)
const provinceColumn = column('province', answerFields.province)
const keyColumns = {
  province: [provinceColumn],
  commune: [provinceColumn, column('communeCode', itemFields.communeCode)],
  device: [provinceColumn, column('communeCode', itemFields.communeCode), column('deviceType', itemFields.deviceType), column('deviceId', itemFields.deviceId)],
}

type Window = Pick<Static<typeof ProvinceAvailability>, 'from' | 'to' | 'generatedAt'>

const metadataOf = ({ from, to, generatedAt }: Window) => [
  { key: 'from', label: labelOf('from', answerFields.from), value: from },
  { key: 'to', label: labelOf('to', answerFields.to), value: to },
  { key: 'generatedAt', label: labelOf('generatedAt', answerFields.generatedAt), value: vietnamTime(generatedAt) },
]

const rowsOf = (keys: Column[], items: object[]) => {
  const columns = [...keys, ...figureColumns]
  return { columns, rows: items.map((item) => cellsOf(columns, item)) }
}

/** One row per item (none for `by=province`), then the province's total with the item's codes empty. */
export function provinceAvailabilitySheet(answer: Static<typeof ProvinceAvailability>): Sheet {
  const { province, from, to } = answer
  const items = answer.items.map(({ figures, ...key }) => ({ province, ...key, ...figures }))
  return {
    fileName: `availability-${province}-${from}-${to}`,
    title: `Hiệu quả hoạt động thiết bị tỉnh ${province}, từ ${from} đến ${to}`,
    sheetName: `Hoạt động thiết bị ${province}`,
    metadata: metadataOf(answer),
    ...rowsOf(keyColumns[answer.by], [...items, { province, ...answer.total }]),
  }
}

/** One row per province, then the nation's total with an empty province code. */
export function nationalAvailabilitySheet(answer: Static<typeof NationalAvailability>): Sheet {
  const { from, to } = answer
  const provinces = answer.provinces.map(({ province, figures }) => ({ province, ...figures }))
  return {
    fileName: `availability-national-${from}-${to}`,
    title: `Hiệu quả hoạt động thiết bị toàn quốc, từ ${from} đến ${to}`,
    sheetName: 'Hoạt động thiết bị toàn quốc',
    metadata: metadataOf(answer),
    ...rowsOf(keyColumns.province, [...provinces, { province: '', ...answer.total }]),
  }
}
