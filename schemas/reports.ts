import { Type, type Static } from 'typebox'
import { CalendarDate, Instant, ProvinceCode, Strict, ref } from './common.js'
import { FundingSource } from './registry.js'
import { Receipt } from './trust.js'

const count = (description: string) => Type.Integer({ minimum: 0, maximum: 100_000_000, description })
const amount = (description: string) => Type.Number({ minimum: 0, maximum: 1e12, description })

export const ReportPeriodId = Type.String({ minLength: 3, maxLength: 40, pattern: '^[A-Za-z0-9-]+$', description: 'Period id, e.g. `2026-H1` (six months), `2026-Y` (year), `2026-RADIO` (commune-radio appendices).', examples: ['2026-H1'] })

export const ReportFormName = Type.Union([Type.Literal('indicators'), Type.Literal('appendix-02'), Type.Literal('appendix-03')], {
  description: '`indicators` (số liệu thông tin cơ sở), `appendix-02` (Phụ lục 02: kết quả thiết lập, thay thế, mở rộng truyền thanh CNTT-VT), `appendix-03` (Phụ lục 03: the same by funding programme).',
})
export type ReportFormName = Static<typeof ReportFormName>

/** Số liệu lĩnh vực thông tin cơ sở: the indicators of the six-month and annual reports. */
export const IndicatorsForm = Strict({
  stations: Strict({
    wired: count('Wired stations (đài có dây).'),
    fm: count('FM wireless stations (đài không dây FM).'),
    wiredFm: count('Stations with wired and FM clusters (đài có dây và không dây FM).'),
    ip: count('IT–telecom stations (đài ứng dụng CNTT-VT).'),
  }, { description: 'Commune radio stations by kind (số đài truyền thanh cấp xã theo loại).' }),
  clusters: Strict({
    ip: count('IT–telecom clusters (cụm loa ứng dụng CNTT-VT).'),
    fm: count('FM clusters (cụm loa không dây FM).'),
    wired: count('Wired clusters (cụm loa có dây).'),
  }, { description: 'Loudspeaker clusters by kind (số cụm loa theo loại).' }),
  investment: Strict({
    newStations: count('Stations newly set up in communes without one (thiết lập mới đài).'),
    clustersReplaced: count('Broken wired/FM clusters replaced with IT–telecom ones (thay thế cụm loa).'),
    clustersAddedToVillages: count('IT–telecom clusters added to villages without one (mở rộng cụm loa đến thôn, bản chưa có).'),
  }, { description: 'Investment in the period (kết quả đầu tư trong kỳ).' }),
  bulletinBoards: count('Public electronic bulletin boards (bảng tin điện tử công cộng).'),
  informationWorkers: Strict({
    total: count('Grassroots information workers (tuyên truyền viên cơ sở).'),
    trained: count('Of whom trained in the period (được bồi dưỡng, tập huấn).'),
  }, { description: 'Grassroots information workers.' }),
  bulletins: Strict({
    produced: count('Bulletins produced (số bản tin sản xuất).'),
    aired: count('Bulletins aired (số bản tin phát sóng).'),
    airtimeHours: amount('Airtime in hours (thời lượng phát sóng, giờ).'),
  }, { description: 'Radio bulletins (bản tin truyền thanh).' }),
  fundingMillionVnd: Strict({
    newRuralDevelopment: amount('From the new rural development programme (Chương trình MTQG xây dựng nông thôn mới).'),
    sustainablePovertyReduction: amount('From the sustainable poverty reduction programme (Chương trình MTQG giảm nghèo bền vững).'),
    localBudget: amount('From the local budget (ngân sách địa phương).'),
    other: amount('From other sources (nguồn khác).'),
  }, { description: 'Funding in million VND by source (kinh phí, triệu đồng).' }),
  notes: Type.Optional(Type.String({ maxLength: 4000, description: 'Remarks (ghi chú).' })),
}, { $id: 'IndicatorsForm', description: 'Grassroots-information indicators (số liệu lĩnh vực thông tin cơ sở) as of the period\'s date.' })
export type IndicatorsForm = Static<typeof IndicatorsForm>

const programmeResult = {
  communes: count('Communes concerned (số xã).'),
  stations: count('Stations concerned (số đài).'),
  clusters: count('Loudspeaker clusters concerned (số cụm loa).'),
}

/** Phụ lục 02: results of setting up and extending IT–telecom commune radio. */
export const Appendix02Form = Strict({
  newStations: Strict(programmeResult, { description: 'New stations in communes without one (thiết lập mới đài).' }),
  replacement: Strict(programmeResult, { description: 'Broken wired/FM clusters replaced with IT–telecom ones (thay thế).' }),
  extension: Strict({ ...programmeResult, villages: count('Villages newly covered (số thôn, bản được mở rộng).') }, { description: 'IT–telecom clusters extended to villages without one (mở rộng).' }),
  notes: Type.Optional(Type.String({ maxLength: 4000 })),
}, { $id: 'Appendix02Form', description: 'Phụ lục 02: results of setting up, replacing and extending IT–telecom commune radio.' })

/** Phụ lục 03: the same by funding programme. */
export const Appendix03Form = Strict({
  bySource: Type.Array(Strict({
    source: FundingSource,
    newStations: count('Stations newly set up.'),
    clustersReplaced: count('Clusters replaced.'),
    clustersAdded: count('Clusters added to villages.'),
    amountMillionVnd: amount('Money spent, million VND (kinh phí, triệu đồng).'),
  }), { maxItems: 4, description: 'One line per funding source (nguồn kinh phí), each source at most once.' }),
  notes: Type.Optional(Type.String({ maxLength: 4000 })),
}, { $id: 'Appendix03Form', description: 'Phụ lục 03: results of the commune-radio programmes by funding source.' })

export const ReportPeriod = Strict({
  id: ReportPeriodId,
  kind: Type.Union([Type.Literal('six_month'), Type.Literal('annual'), Type.Literal('radio_appendices'), Type.Literal('extra')], {
    description: '`six_month` (6 tháng), `annual` (cả năm), `radio_appendices` (Phụ lục 02 và 03), `extra` (opened by central).',
  }),
  year: Type.Integer(),
  title: Type.String(),
  asOf: Type.Union([CalendarDate('The date the figures are as of (số liệu tính đến ngày).'), Type.Null()]),
  dueOn: CalendarDate('Last day to submit on time (hạn gửi), Vietnam time (UTC+7).'),
  deadline: Instant('The first instant that counts as late: the end of dueOn in Vietnam time.'),
  forms: Type.Array(ReportFormName),
}, { $id: 'ReportPeriod', description: 'A reporting period (kỳ báo cáo).' })

export const ReportPeriodList = Strict({ items: Type.Array(ref(ReportPeriod)) }, { $id: 'ReportPeriodList', description: 'Report periods of a year, by due date.' })

export const ReportPeriodRequest = Strict({
  id: ReportPeriodId,
  title: Type.String({ minLength: 1, maxLength: 300 }),
  asOf: Type.Optional(CalendarDate()),
  dueOn: CalendarDate(),
  forms: Type.Array(ReportFormName, { minItems: 1, maxItems: 3, uniqueItems: true }),
}, { $id: 'ReportPeriodRequest', description: 'An extra period opened by central.' })

export const CrossCheckWarning = Strict({
  pointer: Type.String({ description: 'JSON pointer to the reported figure.' }),
  reported: Type.Number(),
  observed: Type.Number({ description: 'What the service\'s own records say.' }),
  message: Type.String(),
}, { $id: 'CrossCheckWarning', description: 'A reported figure that differs from the registry, status or broadcast logs: a warning, not an error.' })

export const ReviewState = Type.Union([Type.Literal('submitted'), Type.Literal('accepted'), Type.Literal('returned')], {
  description: '`submitted` (awaiting central), `accepted` (đã tiếp nhận), `returned` (trả lại, with a comment).',
})

export const ReportSubmission = Strict({
  province: ProvinceCode(),
  periodId: ReportPeriodId,
  form: ReportFormName,
  version: Type.Integer({ minimum: 1, description: 'Each submission is a new version; the latest counts.' }),
  submittedAt: Instant('When the service received it; this is what the deadline is measured against.'),
  onTime: Type.Boolean(),
  state: ReviewState,
  reviewComment: Type.Union([Type.String(), Type.Null()]),
  reviewedAt: Type.Union([Instant(), Type.Null()]),
  receiptId: Type.String(),
  warnings: Type.Array(ref(CrossCheckWarning)),
  data: Type.Object({}, { additionalProperties: true, description: 'The form as submitted.' }),
}, { $id: 'ReportSubmission', description: 'One version of a province\'s report form for a period.' })

export const ReportSubmitResult = Strict({
  submission: ref(ReportSubmission),
  receipt: ref(Receipt),
}, { $id: 'ReportSubmitResult', description: 'The stored version with its cross-check warnings, and the receipt: its time received is what counts for the deadline.' })

export const ReportHistory = Strict({
  latest: Type.Union([ref(ReportSubmission), Type.Null()]),
  versions: Type.Array(ref(ReportSubmission), { description: 'Every version, newest first.' }),
}, { $id: 'ReportHistory', description: 'The versions of one form of one province for one period.' })

export const ReviewRequest = Strict({
  decision: Type.Union([Type.Literal('accept'), Type.Literal('return')]),
  comment: Type.Optional(Type.String({ minLength: 1, maxLength: 4000, description: 'Why it is returned (required to return).' })),
}, { $id: 'ReviewRequest', description: 'Central\'s decision on a submitted version.' })

export const ReportStatus = Type.Union([Type.Literal('missing'), Type.Literal('submitted'), Type.Literal('late'), Type.Literal('accepted'), Type.Literal('returned')], {
  description: 'Where a province stands for a form: `missing` (chưa gửi), `submitted` (đã gửi đúng hạn), `late` (gửi muộn), `accepted` (đã tiếp nhận), `returned` (bị trả lại).',
})

export const PeriodStatus = Strict({
  period: ref(ReportPeriod),
  provinces: Type.Array(Strict({
    province: ProvinceCode(),
    forms: Type.Array(Strict({ form: ReportFormName, status: ReportStatus, version: Type.Union([Type.Integer(), Type.Null()]), submittedAt: Type.Union([Instant(), Type.Null()]) })),
  })),
}, { $id: 'PeriodStatus', description: 'Each province\'s report state for a period.' })

export const reportsComponents = [IndicatorsForm, Appendix02Form, Appendix03Form, ReportPeriod, ReportPeriodList, ReportPeriodRequest, CrossCheckWarning, ReportSubmission, ReportSubmitResult, ReportHistory, ReviewRequest, PeriodStatus]
