import { Type, type Static } from 'typebox'
import { Instant, Nullable, ProvinceCode, ref, Strict } from './common.js'
import { ContentPriority, SecondsOrNull } from './content.js'
import { ReportPeriod, ReportPeriodId, ReportStatus } from './reports.js'
import { sheetQuery, titled } from './sheets.js'

// Each figure's `title` is its Vietnamese label: the column heading of the CSV and xlsx forms.
const count = (title: string, description: string) => Type.Integer({ format: 'int64', minimum: 0, title, description })
const hours = (title: string, description: string) => Type.Number({ minimum: 0, title, description })
const share = (title: string, description: string) => Type.Number({ minimum: 0, maximum: 1, title, description })

/** The figures of one province, or of the nation when summed; every leaf is a number so the CSV form is one column each. */
const figureSections = {
  stations: Strict({
    total: count('Tổng số', 'Commune radio stations in place (đài truyền thanh cấp xã), not decommissioned.'),
    wired: count('Đài có dây', 'Wired stations (đài có dây).'),
    fm: count('Đài không dây FM', 'FM wireless stations (đài không dây FM).'),
    wiredFm: count('Đài có dây và không dây FM', 'Stations with both wired and FM clusters (đài có dây và không dây FM).'),
    ip: count('Đài ứng dụng CNTT-VT', 'IT–telecom stations (đài ứng dụng CNTT-VT).'),
    operating: count('Đang hoạt động', 'Stations operating (đang hoạt động).'),
    degraded: count('Hoạt động kém', 'Stations operating poorly (hoạt động kém).'),
    outOfService: count('Hỏng, ngừng hoạt động', 'Stations out of service (hỏng, ngừng hoạt động).'),
    decommissioned: count('Đã thanh lý', 'Stations decommissioned (đã thanh lý); not in `total`.'),
    ipShare: share('Tỷ lệ đài CNTT-VT', 'Share of stations in place that are IT–telecom (tỷ lệ đài CNTT-VT), 0 to 1.'),
  }, { title: 'Đài truyền thanh cấp xã', description: 'Commune radio stations by kind and condition.' }),
  clusters: Strict({
    total: count('Tổng số', 'Loudspeaker clusters in place (cụm loa), not decommissioned.'),
    ip: count('Cụm loa CNTT-VT', 'IT–telecom clusters (cụm loa CNTT-VT).'),
    fm: count('Cụm loa không dây FM', 'FM wireless clusters (cụm loa không dây FM).'),
    wired: count('Cụm loa có dây', 'Wired clusters (cụm loa có dây).'),
  }, { title: 'Cụm loa', description: 'Loudspeaker clusters by kind.' }),
  boards: Strict({
    total: count('Tổng số', 'Public electronic bulletin boards in place (bảng tin điện tử công cộng).'),
  }, { title: 'Bảng tin điện tử công cộng', description: 'Public electronic bulletin boards.' }),
  devices: Strict({
    registered: count('Thiết bị báo cáo trạng thái', 'Stations, clusters and boards in place that can report status.'),
    online: count('Trực tuyến', 'Devices whose last report is fresh and says online, playing or idle (trực tuyến).'),
    offline: count('Mất kết nối, lỗi', 'Devices whose last report is fresh and says offline or fault (mất kết nối, lỗi).'),
    stale: count('Quá hạn báo cáo', 'Devices whose last report is older than the staleness limit (quá hạn báo cáo).'),
    neverReported: count('Chưa từng báo cáo', 'Devices in place that never reported their status.'),
  }, { title: 'Trạng thái thiết bị', description: 'Device status now (trạng thái thiết bị), with staleness computed at the time of the summary.' }),
  availability: Strict({
    upHoursLast7Days: hours('Số giờ hoạt động 7 ngày', 'Hours the devices were online, playing or idle in the last 7 days (Vietnam time, today included).'),
    accountedHoursLast7Days: hours('Số giờ được tính 7 ngày', 'Hours accounted in the last 7 days: every state and the silences, from each device\'s first report.'),
    upShareLast7Days: share('Tỷ lệ thời gian hoạt động 7 ngày', 'Up share of the last 7 days (tỷ lệ thời gian hoạt động), 0 to 1; 0 when nothing is accounted.'),
    upHoursLast30Days: hours('Số giờ hoạt động 30 ngày', 'Hours up in the last 30 days.'),
    accountedHoursLast30Days: hours('Số giờ được tính 30 ngày', 'Hours accounted in the last 30 days.'),
    upShareLast30Days: share('Tỷ lệ thời gian hoạt động 30 ngày', 'Up share of the last 30 days, 0 to 1.'),
    faultsLast30Days: count('Số lần sự cố 30 ngày', 'Times a device entered `fault` in the last 30 days (số lần sự cố).'),
  }, { title: 'Hiệu quả hoạt động', description: 'Availability of the devices (đánh giá hiệu quả hoạt động), as `getProvinceAvailability` computes it.' }),
  broadcast: Strict({
    hoursLast7Days: hours('Số giờ phát sóng 7 ngày', 'Airtime in the last 7 days (số giờ phát sóng), from broadcast logs (nhật ký phát thanh); plays of exercises are in `exercises`.'),
    hoursLast30Days: hours('Số giờ phát sóng 30 ngày', 'Airtime in the last 30 days, from broadcast logs; plays of exercises are in `exercises`.'),
  }, { title: 'Phát sóng', description: 'Airtime from broadcast logs, exercises apart.' }),
  schedules: Strict({
    slots: count('Số khung giờ theo lịch', 'Slots of the broadcast schedules (lịch phát sóng) of the 7 Vietnam days before today.'),
    aired: count('Đã phát theo lịch', 'Of them, slots a broadcast log airs (đã phát theo lịch), by the rule of `crossCheckBroadcastSchedules`.'),
    plannedNotAired: count('Có lịch nhưng không phát', 'Slots no broadcast log airs (có lịch nhưng không phát).'),
    airedNotPlanned: count('Phát ngoài lịch', 'Plays of those days, on a station with a schedule for the day, that air no slot (phát ngoài lịch).'),
  }, { title: 'Lịch phát sóng 7 ngày trước', description: 'Schedules against broadcast logs over the 7 Vietnam days before today (today\'s slots are still airing), as the cross-check counts them; stations without a schedule for a day are not compared that day.' }),
  programmes: Strict({
    newStations: count('Đài thiết lập mới', 'Stations in place set up under the programme of new stations (thiết lập mới đài).'),
    replacementClusters: count('Cụm loa thay thế', 'IT–telecom clusters in place that replaced broken wired or FM ones (cụm loa thay thế).'),
    clustersReplaced: count('Cụm loa hỏng được thay thế', 'Broken clusters those replacements took over from (cụm loa hỏng được thay thế).'),
    extensionClusters: count('Cụm loa mở rộng', 'Clusters in place that extended radio to villages without it (cụm loa mở rộng).'),
    villagesNewlyCovered: count('Thôn, bản được mở rộng', 'Villages those extensions cover (thôn, bản được mở rộng).'),
  }, { title: 'Chương trình đầu tư', description: 'The commune-radio programmes of the guidance, from the registry (chương trình đầu tư).' }),
  feedback: Strict({
    received: count('Tiếp nhận', 'Citizen feedback received in the period, as the province\'s latest feedback report says (phản ánh, kiến nghị tiếp nhận).'),
    answered: count('Đã trả lời', 'Of it, answered (đã trả lời).'),
    answeredShare: share('Tỷ lệ trả lời', 'Share answered, 0 to 1 (tỷ lệ trả lời); QĐ 135 sets the target of all (1). 0 when nothing was received.'),
  }, { title: 'Phản ánh, kiến nghị', description: 'Citizen feedback of the summary\'s report period (Nghị định 49/2024).' }),
  content: Strict({
    items: count('Số tin', 'Essential content items (thông tin thiết yếu) published in the last 30 days and targeted here (the province or its communes), in their latest version; exercises are in `exercises`.'),
    delivered: count('Đã chuyển đến tỉnh', 'Of those, item-province pairs delivered to the province (by webhook or read from its feed).'),
    acknowledged: count('Tỉnh đã xác nhận', 'Of those, item-province pairs the province acknowledged receiving.'),
    played: count('Đã phát', 'Of those, item-province pairs played on at least one station according to broadcast logs.'),
  }, { title: 'Thông tin thiết yếu 30 ngày', description: 'Reach of essential content published in the last 30 days, exercises apart.' }),
  exercises: Strict({
    items: count('Số tin', 'Exercises and tests (diễn tập, thử nghiệm) published in the last 30 days and targeted here, in their latest version.'),
    delivered: count('Đã chuyển đến tỉnh', 'Of those, item-province pairs delivered to the province.'),
    acknowledged: count('Tỉnh đã xác nhận', 'Of those, item-province pairs the province acknowledged receiving.'),
    played: count('Đã phát', 'Of those, item-province pairs played on at least one station: on air, which an exercise is not meant to be.'),
    playsLast30Days: count('Số lần phát 30 ngày', 'Broadcast logs of exercises started in the last 30 days.'),
    hoursLast7Days: hours('Số giờ phát 7 ngày', 'Airtime of exercises in the last 7 days.'),
    hoursLast30Days: hours('Số giờ phát 30 ngày', 'Airtime of exercises in the last 30 days.'),
  }, { title: 'Diễn tập, thử nghiệm 30 ngày', description: 'Exercises and tests of the content chain, counted apart: none of their items, plays or airtime is in `content` or `broadcast`.' }),
}

export const Figures = Strict(figureSections, { $id: 'SummaryFigures', description: 'The figures of a summary.' })
export type Figures = Static<typeof Figures>

export const ProvinceReportStates = Strict({
  indicators: Type.Optional(titled('Báo cáo chỉ tiêu', ReportStatus)),
  feedback: Type.Optional(titled('Báo cáo phản ánh, kiến nghị', ReportStatus)),
  'appendix-02': Type.Optional(titled('Phụ lục 02', ReportStatus)),
  'appendix-03': Type.Optional(titled('Phụ lục 03', ReportStatus)),
}, { $id: 'ProvinceReportStates', title: 'Tình trạng báo cáo', description: 'The province\'s state for each form of the period (tình trạng báo cáo); a form the period does not take is absent.' })

const LatencyStage = (what: string) => Strict({
  pairs: count('Số cặp tin–tỉnh', `Of those pairs, ${what}.`),
  p50Seconds: SecondsOrNull('Median seconds from the item\'s first publication; null when no pair got there.'),
  p95Seconds: SecondsOrNull('95th percentile (nearest rank) of the same.'),
})

export const PriorityLatency = Strict({
  priority: ContentPriority,
  pairs: count('Số cặp tin–tỉnh', 'Item-province pairs of central\'s items of this priority published in the last 30 days (exercises apart) that reached a stage.'),
  delivered: LatencyStage('those delivered by webhook'),
  acknowledged: LatencyStage('those the province acknowledged'),
}, { $id: 'PriorityLatency', description: 'How fast items of one priority reached their provinces (độ trễ truyền tải): percentiles over item-province pairs.' })

const deliveryLatency = Type.Array(ref(PriorityLatency), { maxItems: 3, description: 'Per priority with any pair, emergencies first; percentiles do not add up, so the nation\'s are computed over every pair, not from the provinces\'.' })

export const ProvinceFigures = Strict({
  province: titled('Mã tỉnh', ProvinceCode()),
  name: Type.String({ title: 'Tên tỉnh, thành phố', description: 'Name of the province (tên tỉnh, thành phố).' }),
  ...figureSections,
  deliveryLatency,
  reports: ref(ProvinceReportStates),
}, { $id: 'ProvinceFigures', description: 'The figures of one province and its report state for the period.' })
export type ProvinceFigures = Static<typeof ProvinceFigures>

const summaryHeader = {
  generatedAt: titled('Thời điểm lập', Instant('When the figures were computed; they may be up to `SUMMARY_CACHE_SECONDS` old.')),
  staleAfterSeconds: Type.Integer({ format: 'int64', minimum: 1, description: 'A device whose last report is older than this counts as stale.' }),
  period: Nullable(ref(ReportPeriod), { title: 'Kỳ báo cáo', description: 'The report period the report states are for.' }),
}

export const NationalSummary = Strict({
  ...summaryHeader,
  total: ref(Figures),
  deliveryLatency,
  provinces: Type.Array(ref(ProvinceFigures), { description: 'Every active province, by code.' }),
}, { $id: 'NationalSummary', description: 'The national summary (tổng hợp toàn quốc): national totals and every province\'s figures.' })

export const ProvinceSummary = Strict({
  ...summaryHeader,
  province: ref(ProvinceFigures),
}, { $id: 'ProvinceSummary', description: 'One province\'s summary (tổng hợp cấp tỉnh).' })

export const SummaryQuery = Strict({
  periodId: Type.Optional(ReportPeriodId),
  ...sheetQuery,
})

export const summariesComponents = [Figures, ProvinceReportStates, PriorityLatency, ProvinceFigures, NationalSummary, ProvinceSummary]
