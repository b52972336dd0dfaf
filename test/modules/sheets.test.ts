import { parse } from 'csv-parse/sync'
import ExcelJS from 'exceljs'
import t, { type Test } from 'tap'
import { XLSX_MEDIA_TYPE } from '../../schemas/sheets.js'
import { summaryColumns } from '../../src/modules/summaries/sheets.js'
import { dayDate, vietnamDay, vietnamDayStart } from '../../src/modules/status/periods.js'
import { buildTestApp } from '../helpers/app.js'
import { registerSystem, signedInject, type TestSystem } from '../helpers/systems.js'
import { smallProvinceIndicators as indicators } from '../helpers/reports.js'


async function setup(t: Test) {
  const built = await buildTestApp(t, { env: { SUMMARY_CACHE_SECONDS: '0' } })
  const hcm = await registerSystem(built.database, 'province-79')
  const hanoi = await registerSystem(built.database, 'province-01')
  const central = await registerSystem(built.database, 'central-portal')
  const call = async (system: TestSystem, method: 'GET' | 'PUT' | 'POST', url: string, body?: unknown, headers: Record<string, string> = {}) =>
    signedInject(built.app, system, { method, url, headers, ...(body === undefined ? {} : { body }) })
  const put = async (system: TestSystem, url: string, body: unknown) => {
    const response = await call(system, 'PUT', url, body)
    if (response.statusCode >= 300) throw new Error(`${url}: ${response.body}`)
  }
  await put(hcm, '/v2/provinces/79/stations', { items: [
    { id: 'ip-1', communeCode: '26740', name: 'Đài phường Sài Gòn', kind: 'ip', status: 'operating' },
    { id: 'wired-1', communeCode: '26740', name: 'Đài phường Sài Gòn 2', kind: 'wired', status: 'degraded' },
  ] })
  await put(hanoi, '/v2/provinces/01/stations', { items: [{ id: 'h-1', communeCode: '00004', name: 'Đài phường Ba Đình', kind: 'wired_fm', status: 'operating' }] })
  await put(hcm, '/v2/provinces/79/reports/2030-Y/indicators', indicators)
  const get = (system: TestSystem, url: string, headers: Record<string, string> = {}) => call(system, 'GET', url, undefined, headers)
  return { ...built, hcm, hanoi, central, call, get }
}

const workbookOf = async (t: Test, body: Buffer) => {
  const workbook = new ExcelJS.Workbook()
  await workbook.xlsx.load(body as unknown as ExcelJS.Buffer)
  t.equal(workbook.worksheets.length, 1, 'one worksheet')
  return workbook.worksheets[0]!
}

/** The rows of a worksheet as arrays of cells, column A first. */
const rowsOf = (sheet: ExcelJS.Worksheet) => {
  const rows: ExcelJS.Row[] = []
  sheet.eachRow({ includeEmpty: true }, (row) => { rows.push(row) })
  return rows
}
const valuesOf = (row: ExcelJS.Row) => (row.values as ExcelJS.CellValue[]).slice(1)

/** The metadata block: its English key (column C) to its label and value. */
const metadataOf = (rows: ExcelJS.Row[]) => Object.fromEntries(rows.filter((row) => row.getCell(3).value).map((row) => [row.getCell(3).value, [row.getCell(1).value, row.getCell(2).value]]))

/** An instant in Vietnam time, with its offset, within the test's run. */
const madeDuring = (t: Test, value: unknown, since: number) => {
  t.match(value, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+07:00$/, 'the generation time is in Vietnam time')
  const at = Date.parse(String(value))
  t.ok(at >= Math.floor(since / 1000) * 1000 - 1000 && at <= Date.now(), 'the generation time is when the sheet was made')
}

t.test('the national summary as xlsx: Vietnamese labels over English keys, codes as text, figures as numbers equal to the JSON, the nation\'s report counts', async (t) => {
  const { get, central } = await setup(t)
  const since = Date.now()
  const json = (await get(central, '/v2/summaries/national?periodId=2030-Y')).json()

  for (const [how, response] of [
    ['format=xlsx', await get(central, '/v2/summaries/national?periodId=2030-Y&format=xlsx')],
    ['Accept', await get(central, '/v2/summaries/national?periodId=2030-Y', { accept: XLSX_MEDIA_TYPE })],
  ] as const) {
    t.equal(response.statusCode, 200, how)
    t.equal(response.headers['content-type'], XLSX_MEDIA_TYPE)
    t.match(response.headers['content-disposition'], /^attachment; filename="national-summary-2030-Y-\d{4}-\d{2}-\d{2}\.xlsx"$/, 'the file name says what and which period')
    const sheet = await workbookOf(t, response.rawPayload)
    t.equal(sheet.name, 'Tổng hợp toàn quốc')
    const rows = rowsOf(sheet)
    t.match(rows[0]!.getCell(1).value, /^Tổng hợp toàn quốc – /, 'a title above the table, with the period\'s')
    const metadata = metadataOf(rows.slice(1, 3))
    t.same(metadata.period, ['Kỳ báo cáo', '2030-Y'])
    t.equal(metadata.generatedAt[0], 'Thời điểm lập')
    madeDuring(t, metadata.generatedAt[1], since)

    const labelsAt = rows.findIndex((row) => row.getCell(1).value === 'Mã tỉnh')
    const labels = valuesOf(rows[labelsAt]!)
    const keys = valuesOf(rows[labelsAt + 1]!)
    t.same(keys.slice(0, 5), ['province', 'name', 'stations.total', 'stations.wired', 'stations.fm'], 'the English keys under the labels')
    t.same(keys, summaryColumns.map(({ key }) => key), 'a column per figure of the schema')
    t.same(labels.slice(0, 3), ['Mã tỉnh', 'Tên tỉnh, thành phố', 'Đài truyền thanh cấp xã: Tổng số'])
    t.equal(labels[keys.indexOf('reports.indicators')], 'Tình trạng báo cáo: Báo cáo chỉ tiêu')
    t.equal(new Set(labels).size, labels.length, 'no two columns share a label')
    t.equal(sheet.views[0]?.state, 'frozen', 'the headings stay in view')

    const table = rows.slice(labelsAt + 2)
    t.equal(table.length, 35, 'one row per province and one for the whole country')
    const column = (key: string) => keys.indexOf(key) + 1
    const hanoi = table.find((row) => row.getCell(column('province')).value === '01')
    t.ok(hanoi, 'the code 01 is kept as text')
    t.equal(hanoi!.getCell(column('province')).type, ExcelJS.ValueType.String)
    t.equal(hanoi!.getCell(column('province')).numFmt, '@', 'and formatted as text, so an edit keeps it')
    t.equal(hanoi!.getCell(column('name')).value, 'Hà Nội')
    t.equal(hanoi!.getCell(column('stations.total')).type, ExcelJS.ValueType.Number)
    t.equal(hanoi!.getCell(column('stations.ipShare')).numFmt, '0.0%', 'a share is a number shown as a percentage')

    const expected = [...json.provinces, { province: '', name: 'Toàn quốc', ...json.total }]
    table.forEach((row, i) => {
      const want = expected[i]
      t.equal(row.getCell(column('province')).value ?? '', want.province)
      for (const { key } of summaryColumns.filter(({ key }) => key.includes('.') && !key.startsWith('reports.'))) {
        const [section, field] = key.split('.') as [string, string]
        if (row.getCell(column(key)).value !== want[section][field]) t.fail(`${want.province || 'total'} ${key}: ${row.getCell(column(key)).value} in xlsx, ${want[section][field]} in JSON`)
      }
    })
    const hcm = table.find((row) => row.getCell(column('province')).value === '79')!
    t.equal(hcm.getCell(column('stations.ipShare')).value, 0.5)
    t.equal(hcm.getCell(column('reports.indicators')).value, 'submitted')
    const nation = table.at(-1)!
    t.equal(nation.getCell(column('name')).value, 'Toàn quốc')
    t.equal(nation.getCell(column('reports.indicators')).value, '1/34', 'the nation: provinces that sent the form, of those asked')
    t.equal(nation.getCell(column('reports.feedback')).value, '0/34')
  }
})

t.test('the CSV in Vietnamese with semicolons: metadata lines, a blank line, labels; decimals with a comma', async (t) => {
  const { get, hcm } = await setup(t)
  const since = Date.now()
  const response = await get(hcm, '/v2/summaries/provinces/79?periodId=2030-Y&format=csv&delimiter=semicolon&lang=vi')
  t.equal(response.statusCode, 200, response.statusCode === 200 ? 'answered' : response.body)
  t.match(response.headers['content-disposition'], /^attachment; filename="summary-79-2030-Y-\d{4}-\d{2}-\d{2}\.csv"$/)
  t.ok(response.body.startsWith('\uFEFF"Kỳ báo cáo";"2030-Y"\r\n"Thời điểm lập";"'), 'the period first, as a label and a value')
  const lines = response.body.split('\r\n')
  madeDuring(t, lines[1]!.split(';')[1]!.replaceAll('"', ''), since)
  t.equal(lines[2], '', 'a blank line before the table')
  t.ok(lines[3]!.startsWith('"Mã tỉnh";"Tên tỉnh, thành phố";"Đài truyền thanh cấp xã: Tổng số";"Đài truyền thanh cấp xã: Đài có dây";'))
  const [row] = parse(response.body, { bom: true, delimiter: ';', from_line: 4, columns: true }) as Record<string, string>[]
  t.equal(row!['Mã tỉnh'], '79')
  t.equal(row!['Đài truyền thanh cấp xã: Tổng số'], '2')
  t.equal(row!['Đài truyền thanh cấp xã: Tỷ lệ đài CNTT-VT'], '0,5', 'a decimal comma beside a semicolon separator')
  t.equal(row!['Tình trạng báo cáo: Báo cáo chỉ tiêu'], 'submitted')
  t.match(lines[4], /^"79";"Hồ Chí Minh";2;/, 'codes quoted, counts bare')

  const english = await get(hcm, '/v2/summaries/provinces/79?periodId=2030-Y&format=csv&delimiter=semicolon')
  t.ok(english.body.startsWith('\uFEFF"period";"generatedAt";"province";"name";"stations.total";'), 'English keys by default, the metadata as leading columns')
})

t.test('a bad format, delimiter or language is a 400 problem naming the allowed values', async (t) => {
  const { get, central } = await setup(t)
  for (const [query, allowed] of [['format=pdf', 'json, csv, xlsx'], ['delimiter=tab', 'comma, semicolon'], ['lang=fr', 'en, vi']] as const) {
    for (const path of ['/v2/summaries/national', '/v2/availability']) {
      const response = await get(central, `${path}?${query}`)
      t.equal(response.statusCode, 400, `${path}?${query}`)
      t.match(response.headers['content-type'], /^application\/problem\+json/)
      t.match(response.body, allowed, `${path}?${query}: the problem lists ${allowed}`)
    }
  }
})

t.test('availability as xlsx and CSV: every device, codes as text, the window and generation time, figures equal to the JSON', async (t) => {
  const { call, get, hcm, central } = await setup(t)
  const today = vietnamDay(Date.now())
  const yesterday = dayDate(today - 1)
  const noon = vietnamDayStart(today - 1) + 12 * 3_600_000
  const sent = await call(hcm, 'POST', '/v2/provinces/79/status-events', { events: [
    { deviceType: 'station', deviceId: 'ip-1', state: 'online', observedAt: new Date(noon).toISOString() },
    { deviceType: 'station', deviceId: 'ip-1', state: 'fault', observedAt: new Date(noon + 60_000).toISOString(), faultCode: 'AMP-01' },
    { deviceType: 'station', deviceId: 'wired-1', state: 'online', observedAt: new Date(noon).toISOString() },
  ] })
  t.match(sent.json(), { accepted: 3 })
  const since = Date.now()
  const window = `from=${yesterday}&to=${yesterday}`
  const json = (await get(hcm, `/v2/provinces/79/availability?${window}&by=device`)).json()
  t.equal(json.items.length, 2)

  const response = await get(hcm, `/v2/provinces/79/availability?${window}&by=device&format=xlsx&limit=1`)
  t.equal(response.statusCode, 200, response.statusCode === 200 ? 'answered' : response.body)
  t.equal(response.headers['content-disposition'], `attachment; filename="availability-79-${yesterday}-${yesterday}.xlsx"`)
  const sheet = await workbookOf(t, response.rawPayload)
  t.equal(sheet.name, 'Hoạt động thiết bị 79')
  const rows = rowsOf(sheet)
  const metadata = metadataOf(rows.slice(1, 4))
  t.same(metadata.from, ['Từ ngày', yesterday])
  t.same(metadata.to, ['Đến ngày', yesterday])
  madeDuring(t, metadata.generatedAt[1], since)
  const labelsAt = rows.findIndex((row) => row.getCell(1).value === 'Mã tỉnh')
  const keys = valuesOf(rows[labelsAt + 1]!)
  t.same(keys, ['province', 'communeCode', 'deviceType', 'deviceId', 'onlineMs', 'playingMs', 'idleMs', 'offlineMs', 'faultMs', 'silentMs', 'accountedMs', 'upShare', 'faults', 'lastSeenAt'])
  t.same(valuesOf(rows[labelsAt]!).slice(0, 5), ['Mã tỉnh', 'Mã xã', 'Loại thiết bị', 'Mã thiết bị', 'Thời gian trực tuyến (ms)'])
  const table = rows.slice(labelsAt + 2)
  t.equal(table.length, 3, 'every device, not a page of them, and the total')
  const column = (key: string) => keys.indexOf(key) + 1
  table.slice(0, 2).forEach((row, i) => {
    const item = json.items[i]
    t.equal(row.getCell(column('communeCode')).value, '26740')
    t.equal(row.getCell(column('communeCode')).type, ExcelJS.ValueType.String)
    t.equal(row.getCell(column('deviceId')).value, item.deviceId)
    for (const key of ['onlineMs', 'faultMs', 'silentMs', 'accountedMs', 'upShare', 'faults'] as const) t.equal(row.getCell(column(key)).value, item.figures[key], `${item.deviceId} ${key}`)
    t.equal(row.getCell(column('upShare')).numFmt, '0.0%')
    t.equal(row.getCell(column('lastSeenAt')).value, item.figures.lastSeenAt)
  })
  const total = table[2]!
  t.equal(total.getCell(column('province')).value, '79')
  t.notOk(total.getCell(column('deviceId')).value, 'the total has no device')
  t.equal(total.getCell(column('accountedMs')).value, json.total.accountedMs)

  const national = await get(central, `/v2/availability?${window}&format=csv&lang=vi`)
  t.equal(national.statusCode, 200, national.statusCode === 200 ? 'answered' : national.body)
  const lines = national.body.replace(/^\uFEFF/, '').split('\r\n')
  t.same(lines.slice(0, 2), [`"Từ ngày","${yesterday}"`, `"Đến ngày","${yesterday}"`])
  t.match(lines[2], /^"Thời điểm lập","[^"]+\+07:00"$/)
  t.equal(lines[3], '')
  t.ok(lines[4]!.startsWith('"Mã tỉnh","Thời gian trực tuyến (ms)",'))
  t.match(lines[5], new RegExp(`^"79",${json.total.onlineMs},`))
  t.match(lines[6], new RegExp(`^"",${json.total.onlineMs},`), 'the nation\'s row, its province code empty')
})
