import { Type, type Static } from 'typebox'
import { CalendarDate, CommuneCode, Instant, Nullable, PageCursor, PageQuery, ProvinceCode, ref, Strict, StringEnum } from './common.js'
import { RecordId } from './registry.js'
import { ReportPeriodId } from './reports.js'
import { sheetQuery, titled } from './sheets.js'
import { DeviceType } from './status.js'

/** A year of milliseconds is about 3.2e10: beyond 32 bits, within JavaScript's safe integers. */
const duration = (title: string, description: string) => Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, format: 'int64', title, description })

export const AvailabilityFigures = Strict({
  onlineMs: duration('Thời gian trực tuyến (ms)', 'Time reported `online` (trực tuyến), in milliseconds.'),
  playingMs: duration('Thời gian đang phát (ms)', 'Time reported `playing` (đang phát).'),
  idleMs: duration('Thời gian chờ (ms)', 'Time reported `idle` (chờ).'),
  offlineMs: duration('Thời gian mất kết nối (ms)', 'Time reported `offline` (mất kết nối).'),
  faultMs: duration('Thời gian sự cố (ms)', 'Time reported `fault` (sự cố).'),
  silentMs: duration('Thời gian mất liên lạc (ms)', 'Time with no report: from `STALE_AFTER_SECONDS` after a report until the next (mất liên lạc), counted as down.'),
  accountedMs: duration('Tổng thời gian được tính (ms)', 'All of the above: the time the figures cover, from each device\'s first report, within the window and up to now.'),
  upShare: Nullable(Type.Number({ minimum: 0, maximum: 1 }), {
    title: 'Tỷ lệ thời gian hoạt động',
    description: 'Share of `accountedMs` online, playing or idle (tỷ lệ thời gian hoạt động), 0 to 1; null when nothing is accounted.',
  }),
  faults: Type.Integer({ format: 'int32', minimum: 0, maximum: 2_147_483_647, title: 'Số lần sự cố', description: 'Times a device entered `fault` (số lần sự cố).' }),
  lastSeenAt: Nullable(Instant(), { title: 'Báo cáo gần nhất', description: 'The newest report within the window.' }),
}, { $id: 'AvailabilityFigures', description: 'Time in each state and faults over a window (đánh giá hiệu quả hoạt động).' })
export type AvailabilityFigures = Static<typeof AvailabilityFigures>

export const AvailabilityBy = StringEnum(['province', 'commune', 'device'], {
  description: '`province`: the province\'s total only; `commune`: one item per commune (a cluster counts in its station\'s commune); `device`: one item per device, paged.',
})

export const MAX_WINDOW_DAYS = 400

/** The window is given one way: `from` and `to`, a `month`, or a report period; by default the current month. */
const windowQuery = {
  from: Type.Optional(CalendarDate('First day of the window (Vietnam time), with `to`.')),
  to: Type.Optional(CalendarDate(`Last day of the window, included; at most ${MAX_WINDOW_DAYS} days in all.`)),
  month: Type.Optional(Type.String({ pattern: '^20[2-9]\\d-(0[1-9]|1[0-2])$', maxLength: 7, description: 'A calendar month, YYYY-MM: the window is its days. Instead of `from` and `to`.' })),
  periodId: Type.Optional({ ...ReportPeriodId, description: 'A report period (kỳ báo cáo): the window is its year from 1 January to the period\'s `asOf` (or 31 December).' }),
  ...sheetQuery,
}

export const NationalAvailabilityQuery = Strict(windowQuery)
export const AvailabilityQuery = Strict({ ...windowQuery, by: Type.Optional(AvailabilityBy), ...PageQuery })

const windowFields = {
  from: titled('Từ ngày', CalendarDate('First day of the window (Vietnam time).')),
  to: titled('Đến ngày', CalendarDate('Last day of the window, included.')),
  generatedAt: titled('Thời điểm lập', Instant('When the figures were computed: the window ends here when it reaches today.')),
  staleAfterSeconds: Type.Integer({ format: 'int64', description: 'The `STALE_AFTER_SECONDS` after which silence counts as `silentMs`.' }),
}

export const AvailabilityItem = Strict({
  communeCode: Type.Optional(titled('Mã xã', CommuneCode('The commune, for `by=commune` and `by=device`.'))),
  deviceType: Type.Optional(titled('Loại thiết bị', DeviceType)),
  deviceId: Type.Optional(titled('Mã thiết bị', RecordId())),
  figures: ref(AvailabilityFigures),
}, { $id: 'AvailabilityItem', description: 'The figures of one commune or one device.' })

export const ProvinceAvailability = Strict({
  province: titled('Mã tỉnh', ProvinceCode()),
  ...windowFields,
  by: AvailabilityBy,
  total: ref(AvailabilityFigures),
  items: Type.Array(ref(AvailabilityItem), { maxItems: 1000, description: 'Per commune or per device, by code; empty for `by=province`.' }),
  nextCursor: Nullable(PageCursor('For `by=device`: the cursor of the next page; null on the last.')),
}, { $id: 'ProvinceAvailability', description: 'Availability of one province\'s devices over a window.' })

export const NationalAvailability = Strict({
  ...windowFields,
  total: ref(AvailabilityFigures),
  provinces: Type.Array(Strict({ province: titled('Mã tỉnh', ProvinceCode()), figures: ref(AvailabilityFigures) }), { maxItems: 100, description: 'Every province with devices accounted in the window, by code.' }),
}, { $id: 'NationalAvailability', description: 'Availability of every province\'s devices over a window, and of the nation.' })

export const availabilityComponents = [AvailabilityFigures, AvailabilityItem, ProvinceAvailability, NationalAvailability]
