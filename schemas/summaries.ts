import { Type, type Static } from 'typebox'
import { Instant, Nullable, ProvinceCode, ref, Strict, StringEnum } from './common.js'
import { ContentPriority, SecondsOrNull } from './content.js'
import { ReportPeriod, ReportPeriodId, ReportStatus } from './reports.js'

const count = (description: string) => Type.Integer({ format: 'int64', minimum: 0, description })
const hours = (description: string) => Type.Number({ minimum: 0, description })

/** The figures of one province, or of the nation when summed; every leaf is a number so the CSV form is one column each. */
const figureSections = {
  stations: Strict({
    total: count('Commune radio stations in place (đài truyền thanh cấp xã), not decommissioned.'),
    wired: count('Wired stations (đài có dây).'),
    fm: count('FM wireless stations (đài không dây FM).'),
    wiredFm: count('Stations with both wired and FM clusters (đài có dây và không dây FM).'),
    ip: count('IT–telecom stations (đài ứng dụng CNTT-VT).'),
    operating: count('Stations operating (đang hoạt động).'),
    degraded: count('Stations operating poorly (hoạt động kém).'),
    outOfService: count('Stations out of service (hỏng, ngừng hoạt động).'),
    decommissioned: count('Stations decommissioned (đã thanh lý); not in `total`.'),
    ipShare: Type.Number({ minimum: 0, maximum: 1, description: 'Share of stations in place that are IT–telecom (tỷ lệ đài CNTT-VT), 0 to 1.' }),
  }, { description: 'Commune radio stations by kind and condition.' }),
  clusters: Strict({
    total: count('Loudspeaker clusters in place (cụm loa), not decommissioned.'),
    ip: count('IT–telecom clusters (cụm loa CNTT-VT).'),
    fm: count('FM wireless clusters (cụm loa không dây FM).'),
    wired: count('Wired clusters (cụm loa có dây).'),
  }, { description: 'Loudspeaker clusters by kind.' }),
  boards: Strict({
    total: count('Public electronic bulletin boards in place (bảng tin điện tử công cộng).'),
  }, { description: 'Public electronic bulletin boards.' }),
  devices: Strict({
    registered: count('Stations, clusters and boards in place that can report status.'),
    online: count('Devices whose last report is fresh and says online, playing or idle (trực tuyến).'),
    offline: count('Devices whose last report is fresh and says offline or fault (mất kết nối, lỗi).'),
    stale: count('Devices whose last report is older than the staleness limit (quá hạn báo cáo).'),
    neverReported: count('Devices in place that never reported their status.'),
  }, { description: 'Device status now (trạng thái thiết bị), with staleness computed at the time of the summary.' }),
  availability: Strict({
    upHoursLast7Days: hours('Hours the devices were online, playing or idle in the last 7 days (Vietnam time, today included).'),
    accountedHoursLast7Days: hours('Hours accounted in the last 7 days: every state and the silences, from each device\'s first report.'),
    upShareLast7Days: Type.Number({ minimum: 0, maximum: 1, description: 'Up share of the last 7 days (tỷ lệ thời gian hoạt động), 0 to 1; 0 when nothing is accounted.' }),
    upHoursLast30Days: hours('Hours up in the last 30 days.'),
    accountedHoursLast30Days: hours('Hours accounted in the last 30 days.'),
    upShareLast30Days: Type.Number({ minimum: 0, maximum: 1, description: 'Up share of the last 30 days, 0 to 1.' }),
    faultsLast30Days: count('Times a device entered `fault` in the last 30 days (số lần sự cố).'),
  }, { description: 'Availability of the devices (đánh giá hiệu quả hoạt động), as `getProvinceAvailability` computes it.' }),
  broadcast: Strict({
    hoursLast7Days: hours('Airtime in the last 7 days (số giờ phát sóng), from broadcast logs (nhật ký phát thanh); plays of exercises are in `exercises`.'),
    hoursLast30Days: hours('Airtime in the last 30 days, from broadcast logs; plays of exercises are in `exercises`.'),
  }, { description: 'Airtime from broadcast logs, exercises apart.' }),
  schedules: Strict({
    slots: count('Slots of the broadcast schedules (lịch phát sóng) of the 7 Vietnam days before today.'),
    aired: count('Of them, slots a broadcast log airs (đã phát theo lịch), by the rule of `crossCheckBroadcastSchedules`.'),
    plannedNotAired: count('Slots no broadcast log airs (có lịch nhưng không phát).'),
    airedNotPlanned: count('Plays of those days, on a station with a schedule for the day, that air no slot (phát ngoài lịch).'),
  }, { description: 'Schedules against broadcast logs over the 7 Vietnam days before today (today\'s slots are still airing), as the cross-check counts them; stations without a schedule for a day are not compared that day.' }),
  programmes: Strict({
    newStations: count('Stations in place set up under the programme of new stations (thiết lập mới đài).'),
    replacementClusters: count('IT–telecom clusters in place that replaced broken wired or FM ones (cụm loa thay thế).'),
    clustersReplaced: count('Broken clusters those replacements took over from (cụm loa hỏng được thay thế).'),
    extensionClusters: count('Clusters in place that extended radio to villages without it (cụm loa mở rộng).'),
    villagesNewlyCovered: count('Villages those extensions cover (thôn, bản được mở rộng).'),
  }, { description: 'The commune-radio programmes of the guidance, from the registry (chương trình đầu tư).' }),
  feedback: Strict({
    received: count('Citizen feedback received in the period, as the province\'s latest feedback report says (phản ánh, kiến nghị tiếp nhận).'),
    answered: count('Of it, answered (đã trả lời).'),
    answeredShare: Type.Number({ minimum: 0, maximum: 1, description: 'Share answered, 0 to 1 (tỷ lệ trả lời); QĐ 135 sets the target of all (1). 0 when nothing was received.' }),
  }, { description: 'Citizen feedback of the summary\'s report period (Nghị định 49/2024).' }),
  content: Strict({
    items: count('Essential content items (thông tin thiết yếu) published in the last 30 days and targeted here (the province or its communes), in their latest version; exercises are in `exercises`.'),
    delivered: count('Of those, item-province pairs delivered to the province (by webhook or read from its feed).'),
    acknowledged: count('Of those, item-province pairs the province acknowledged receiving.'),
    played: count('Of those, item-province pairs played on at least one station according to broadcast logs.'),
  }, { description: 'Reach of essential content published in the last 30 days, exercises apart.' }),
  exercises: Strict({
    items: count('Exercises and tests (diễn tập, thử nghiệm) published in the last 30 days and targeted here, in their latest version.'),
    delivered: count('Of those, item-province pairs delivered to the province.'),
    acknowledged: count('Of those, item-province pairs the province acknowledged receiving.'),
    played: count('Of those, item-province pairs played on at least one station: on air, which an exercise is not meant to be.'),
    playsLast30Days: count('Broadcast logs of exercises started in the last 30 days.'),
    hoursLast7Days: hours('Airtime of exercises in the last 7 days.'),
    hoursLast30Days: hours('Airtime of exercises in the last 30 days.'),
  }, { description: 'Exercises and tests of the content chain, counted apart: none of their items, plays or airtime is in `content` or `broadcast`.' }),
}

export const Figures = Strict(figureSections, { $id: 'SummaryFigures', description: 'The figures of a summary.' })
export type Figures = Static<typeof Figures>

export const ProvinceReportStates = Strict({
  indicators: Type.Optional(ReportStatus),
  feedback: Type.Optional(ReportStatus),
  'appendix-02': Type.Optional(ReportStatus),
  'appendix-03': Type.Optional(ReportStatus),
}, { $id: 'ProvinceReportStates', description: 'The province\'s state for each form of the period (tình trạng báo cáo); a form the period does not take is absent.' })

const LatencyStage = (what: string) => Strict({
  pairs: count(`Of those pairs, ${what}.`),
  p50Seconds: SecondsOrNull('Median seconds from the item\'s first publication; null when no pair got there.'),
  p95Seconds: SecondsOrNull('95th percentile (nearest rank) of the same.'),
})

export const PriorityLatency = Strict({
  priority: ContentPriority,
  pairs: count('Item-province pairs of central\'s items of this priority published in the last 30 days (exercises apart) that reached a stage.'),
  delivered: LatencyStage('those delivered by webhook'),
  acknowledged: LatencyStage('those the province acknowledged'),
}, { $id: 'PriorityLatency', description: 'How fast items of one priority reached their provinces (độ trễ truyền tải): percentiles over item-province pairs.' })

const deliveryLatency = Type.Array(ref(PriorityLatency), { maxItems: 3, description: 'Per priority with any pair, emergencies first; percentiles do not add up, so the nation\'s are computed over every pair, not from the provinces\'.' })

export const ProvinceFigures = Strict({
  province: ProvinceCode(),
  name: Type.String({ description: 'Name of the province (tên tỉnh, thành phố).' }),
  ...figureSections,
  deliveryLatency,
  reports: ref(ProvinceReportStates),
}, { $id: 'ProvinceFigures', description: 'The figures of one province and its report state for the period.' })
export type ProvinceFigures = Static<typeof ProvinceFigures>

const summaryHeader = {
  generatedAt: Instant('When the figures were computed; they may be up to `SUMMARY_CACHE_SECONDS` old.'),
  staleAfterSeconds: Type.Integer({ format: 'int64', minimum: 1, description: 'A device whose last report is older than this counts as stale.' }),
  period: Nullable(ref(ReportPeriod), { description: 'The report period the report states are for.' }),
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
  format: Type.Optional(StringEnum(['json', 'csv'], {
    description: '`csv` answers `text/csv` (UTF-8 with a byte-order mark, so spreadsheets show Vietnamese text), as `Accept: text/csv` does.',
  })),
})

export const summariesComponents = [Figures, ProvinceReportStates, PriorityLatency, ProvinceFigures, NationalSummary, ProvinceSummary]
