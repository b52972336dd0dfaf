import { Type, type Static, type TSchema } from 'typebox'
import { CalendarDate, CommuneCode, Instant, Nullable, ProvinceCode, ref, Strict, StringEnum } from './common.js'
import { DeviceStatus, FundingSource, Programme, RecordId, StationKind } from './registry.js'
import { Receipt, ReceiptId } from './trust.js'

const count = (description: string) => Type.Integer({ format: 'int32', minimum: 0, maximum: 100_000_000, description })
const amount = (description: string) => Type.Number({ minimum: 0, maximum: 1e12, description })

export const ReportPeriodId = Type.String({ minLength: 3, maxLength: 40, pattern: '^[A-Za-z0-9-]+$', description: 'Period id, e.g. `2026-H1` (six months), `2026-Y` (year), `2026-RADIO` (commune-radio appendices).', examples: ['2026-H1'] })

export const ReportFormName = StringEnum(['indicators', 'feedback', 'appendix-02', 'appendix-03'], {
  description: '`indicators` (số liệu thông tin cơ sở), `feedback` (phản ánh, kiến nghị của người dân, Nghị định 49/2024), `appendix-02` (Phụ lục 02: kết quả thiết lập, thay thế, mở rộng truyền thanh CNTT-VT), `appendix-03` (Phụ lục 03: the same by funding programme).',
})
export type ReportFormName = Static<typeof ReportFormName>

/** A form of a period: a built-in one, or one central defined for an extra period. */
export const FormId = Type.String({ minLength: 1, maxLength: 40, pattern: '^[a-z0-9][a-z0-9-]{0,39}$', description: 'A form: `indicators`, `appendix-02`, `appendix-03`, or one central defined for an extra period.', examples: ['indicators'] })

/** An official (cán bộ) named by the `act` claim of a call token: an opaque staff id and a display name, never a credential. */
export const Person = Strict({
  id: Type.String({ minLength: 1, maxLength: 64, description: 'Opaque staff id, as the calling system knows the official.' }),
  name: Nullable(Type.String({ maxLength: 200 }), { description: 'Display name.' }),
}, { $id: 'Person', description: 'An official who acted for a system (người thực hiện).' })

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

export const FeedbackChannel = StringEnum(['hotline', 'in_person', 'letter', 'portal', 'social_media', 'meeting', 'radio', 'other'], { description: 'How the feedback came (kênh tiếp nhận): `hotline` (đường dây nóng), `in_person` (trực tiếp), `letter` (thư, đơn), `portal` (cổng thông tin điện tử), `social_media` (mạng xã hội), `meeting` (hội nghị, tiếp xúc cử tri), `radio` (qua đài truyền thanh), `other` (khác).' })

const feedbackCounts = {
  received: count('Pieces of feedback received in the period (số phản ánh, kiến nghị tiếp nhận).'),
  answered: count('Of those, answered (số đã trả lời, xử lý); at most `received`.'),
}

/** Phản ánh, kiến nghị của người dân: the feedback each commune received and answered (Nghị định 49/2024). */
export const FeedbackForm = Strict({
  communes: Type.Array(Strict({
    communeCode: CommuneCode('The commune that received it.'),
    byChannel: Type.Array(Strict({ channel: FeedbackChannel, ...feedbackCounts }), { minItems: 1, maxItems: 8, description: 'Counts by channel, each channel at most once.' }),
    byTopic: Type.Array(Strict({
      topic: Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z0-9][a-z0-9-]*$', description: 'A topic id, e.g. a content topic (`disasters-fire-epidemics`) or `land`, `environment`, `social-policy`.' }),
      ...feedbackCounts,
    }), { maxItems: 50, description: 'The same feedback counted by topic.' }),
    averageHoursToAnswer: Nullable(Type.Number({ minimum: 0, maximum: 100_000 }), { description: 'Average time from receipt to answer, in hours (thời gian trả lời trung bình); null when nothing was answered.' }),
  }), { minItems: 1, maxItems: 500, description: 'One line per commune that received feedback; a commune at most once.' }),
  notes: Type.Optional(Type.String({ maxLength: 4000 })),
}, {
  $id: 'FeedbackForm',
  description: 'Citizen feedback (phản ánh, kiến nghị của người dân) received and answered per commune, by channel and topic. QĐ 135 sets the target that all of it is answered.',
  examples: [{ communes: [{ communeCode: '26740', byChannel: [{ channel: 'hotline', received: 12, answered: 11 }, { channel: 'portal', received: 5, answered: 5 }], byTopic: [{ topic: 'environment', received: 9, answered: 8 }, { topic: 'land', received: 8, answered: 8 }], averageHoursToAnswer: 30.5 }] }],
})
export type FeedbackForm = Static<typeof FeedbackForm>

const clusterCounts = (description: string) => Strict({
  ip: count('IT–telecom clusters (cụm loa CNTT-VT).'),
  fm: count('FM clusters (cụm loa không dây FM).'),
  wired: count('Wired clusters (cụm loa có dây).'),
}, { description })

/** One station of Phụ lục 02, as the ministry reads it. */
export const Appendix02Line = Strict({
  communeCode: CommuneCode('The commune the station serves.'),
  stationId: Nullable(RecordId('The station in the province\'s registry.'), { description: 'The station in the registry; null for a commune that has none.' }),
  stationKind: Nullable(StationKind, { description: 'Kind of station; null without one.' }),
  programme: Nullable(Programme, { description: 'The programme the station was set up under, if any.' }),
  fundingSource: Nullable(FundingSource),
  clusters: clusterCounts('Clusters of the station in place, by kind.'),
  clustersReplaced: count('Broken wired or FM clusters replaced by IT–telecom ones (số cụm loa thay thế).'),
  villagesCovered: count('Villages newly covered by extension clusters (số thôn, bản được mở rộng).'),
  status: Nullable(DeviceStatus, { description: 'Condition of the station (tình trạng).' }),
}, { $id: 'Appendix02Line', description: 'One line of Phụ lục 02: a commune and its station.' })

/** Phụ lục 02: results of setting up, replacing and extending IT–telecom commune radio, a line per commune and station. */
export const Appendix02Form = Strict({
  lines: Type.Array(ref(Appendix02Line), { minItems: 1, maxItems: 5000, description: 'One line per station (or commune without one); the province totals are derived from them, never typed twice.' }),
  notes: Type.Optional(Type.String({ maxLength: 4000 })),
}, { $id: 'Appendix02Form', description: 'Phụ lục 02: the commune radio of the province, a line per commune and station. `GET .../appendix-02/draft` builds one from the registry.' })

/** One line of Phụ lục 03: what one funding source paid for in one commune. */
export const Appendix03Line = Strict({
  communeCode: CommuneCode(),
  fundingSource: FundingSource,
  newStations: count('Stations newly set up.'),
  clustersReplaced: count('Clusters replaced.'),
  clustersAdded: count('Clusters added to villages.'),
  amountMillionVnd: amount('Money spent, million VND (kinh phí, triệu đồng).'),
}, { $id: 'Appendix03Line', description: 'One line of Phụ lục 03: a commune and a funding source.' })

/** Phụ lục 03: the same by funding programme, a line per commune and source. */
export const Appendix03Form = Strict({
  lines: Type.Array(ref(Appendix03Line), { minItems: 1, maxItems: 5000, description: 'One line per commune and funding source; totals by source are derived.' }),
  notes: Type.Optional(Type.String({ maxLength: 4000 })),
}, { $id: 'Appendix03Form', description: 'Phụ lục 03: the commune-radio programmes by funding source, a line per commune and source.' })

/** A draft of an appendix: the form as the registry fills it, with the province totals its lines give. */
const draftOf = (name: string, Line: TSchema, title: string) => Strict({
  form: Strict({
    lines: Type.Array(ref(Line), { maxItems: 5000, description: 'The lines the registry gives; none when it holds nothing this form counts (a submission needs at least one).' }),
  }, { description: 'The form as the registry fills it: correct it, then submit it.' }),
  derived: Type.Record(Type.String(), Type.Unknown(), { description: 'The province totals those lines give.' }),
}, { $id: `${name}Draft`, description: `A draft of ${title} built from the province's registry (bản nháp từ cơ sở dữ liệu đài, cụm loa).` })

export const Appendix02Draft = draftOf('Appendix02', Appendix02Line, 'Phụ lục 02')
export const Appendix03Draft = draftOf('Appendix03', Appendix03Line, 'Phụ lục 03')

export const ReportPeriod = Strict({
  id: ReportPeriodId,
  kind: StringEnum(['six_month', 'annual', 'radio_appendices', 'extra'], {
    description: '`six_month` (6 tháng), `annual` (cả năm), `radio_appendices` (Phụ lục 02 và 03), `extra` (opened by central).',
  }),
  year: Type.Integer({ format: 'int64' }),
  title: Type.String({ maxLength: 300 }),
  asOf: Nullable(CalendarDate('The date the figures are as of (số liệu tính đến ngày).')),
  dueOn: CalendarDate('Last day to submit on time (hạn gửi), Vietnam time (UTC+7).'),
  deadline: Instant('The first instant that counts as late: the end of dueOn in Vietnam time.'),
  forms: Type.Array(FormId, { maxItems: 20 }),
  customForms: Type.Array(Strict({
    name: FormId,
    title: Type.String({ maxLength: 300 }),
    schema: Type.Record(Type.String(), Type.Unknown(), { description: 'The JSON Schema (draft 2020-12 subset) a submission must satisfy.' }),
  }), { maxItems: 10, description: 'Forms central defined for this period, with their schemas.' }),
  extensions: Type.Array(Strict({
    province: ProvinceCode(),
    dueOn: CalendarDate('The extended last day, Vietnam time.'),
    deadline: Instant(),
    reason: Type.String({ maxLength: 1000 }),
    grantedBy: Type.String({ maxLength: 64 }),
    grantedAt: Instant(),
  }), { maxItems: 34, description: 'Deadlines central extended for one province (gia hạn), each with its reason.' }),
  correctedAt: Nullable(Instant(), { description: 'When central last corrected the period.' }),
  correctionReason: Nullable(Type.String({ maxLength: 1000 })),
}, { $id: 'ReportPeriod', description: 'A reporting period (kỳ báo cáo).' })

export const ReportPeriodList = Strict({ items: Type.Array(ref(ReportPeriod)) }, { $id: 'ReportPeriodList', description: 'Report periods of a year, by due date.' })

export const CustomForm = Strict({
  name: FormId,
  title: Type.String({ minLength: 1, maxLength: 300, description: 'What the form asks.' }),
  schema: Type.Record(Type.String(), Type.Unknown(), {
    description: 'The JSON Schema a submission must satisfy: an object schema, at most 64 KiB, no remote references. Unknown fields are refused unless the schema allows them.',
    'x-ttn-checked-against': 'JSON Schema draft 2020-12 (the service compiles it before opening the period)',
  }),
}, { $id: 'CustomForm', description: 'A form central defines for an extra period (biểu mẫu bổ sung).' })

export const ReportPeriodRequest = Strict({
  id: ReportPeriodId,
  title: Type.String({ minLength: 1, maxLength: 300 }),
  asOf: Type.Optional(CalendarDate()),
  dueOn: CalendarDate(),
  forms: Type.Array(FormId, { minItems: 1, maxItems: 20, uniqueItems: true, description: 'Built-in forms and the names of `customForms`.' }),
  customForms: Type.Optional(Type.Array(ref(CustomForm), { maxItems: 10 })),
}, {
  $id: 'ReportPeriodRequest', description: 'An extra period opened by central.',
  examples: [{
    id: '2026-STORM', title: 'Báo cáo nhanh công tác thông tin sau bão số 5', dueOn: '2026-12-20', forms: ['storm-damage'],
    customForms: [{ name: 'storm-damage', title: 'Thiệt hại hệ thống truyền thanh do bão', schema: { type: 'object', additionalProperties: false, required: ['clustersDamaged'], properties: { clustersDamaged: { type: 'integer', minimum: 0 }, notes: { type: 'string', maxLength: 2000 } } } }],
  }],
})

export const ReportPeriodCorrection = Strict({
  title: Type.Optional(Type.String({ minLength: 1, maxLength: 300 })),
  asOf: Type.Optional(Nullable(CalendarDate())),
  dueOn: Type.Optional(CalendarDate('A corrected due date; submissions already made are judged against it again.')),
  reason: Type.String({ minLength: 10, maxLength: 1000, description: 'Why the period is corrected: recorded and shown.' }),
}, { $id: 'ReportPeriodCorrection', description: 'A correction of a period by central (đính chính kỳ báo cáo).', minProperties: 2 })

export const DeadlineExtensionRequest = Strict({
  province: ProvinceCode(),
  dueOn: CalendarDate('The new last day for this province, Vietnam time; later than the period\'s.'),
  reason: Type.String({ minLength: 10, maxLength: 1000, description: 'Why the province is given more time.' }),
}, { $id: 'DeadlineExtensionRequest', description: 'More time for one province (gia hạn nộp báo cáo).' })

export const ReportPeriodWriteResult = Strict({ period: ref(ReportPeriod), receipt: ref(Receipt) }, { $id: 'ReportPeriodWriteResult', description: 'The period as it now stands, and the receipt of the change.' })

export const CrossCheckWarning = Strict({
  pointer: Type.String({ description: 'JSON pointer to the reported figure.' }),
  reported: Type.Number(),
  observed: Type.Number({ description: 'What the service\'s own records say.' }),
  message: Type.String(),
}, { $id: 'CrossCheckWarning', description: 'A reported figure that differs from the registry, status or broadcast logs: a warning, not an error.' })

export const ReviewState = StringEnum(['submitted', 'accepted', 'returned'], {
  description: '`submitted` (awaiting central), `accepted` (đã tiếp nhận), `returned` (trả lại, with a comment).',
})

/** One version of a form as stored, with `data` typed by the form's own schema. */
const submissionOf = <D extends TSchema>(name: string, data: D) => Strict({
  province: ProvinceCode(),
  periodId: ReportPeriodId,
  form: FormId,
  version: Type.Integer({ format: 'int64', minimum: 1, description: 'Each submission is a new version; the latest counts.' }),
  submittedAt: Instant('When the service received it; this is what the deadline is measured against.'),
  onTime: Type.Boolean(),
  state: ReviewState,
  reviewComment: Nullable(Type.String({ maxLength: 4000 })),
  reviewedAt: Nullable(Instant()),
  receiptId: ReceiptId,
  warnings: Type.Array(ref(CrossCheckWarning)),
  derived: Nullable(Type.Record(Type.String(), Type.Unknown()), { description: 'What the service derives from the form: the province totals of an appendix; null for other forms.' }),
  draftedBy: Nullable(ref(Person), { description: 'The official who drafted it (the nested `act` of the call token).' }),
  approvedBy: Nullable(ref(Person), { description: 'The official who approved and sent it (the `act` of the call token).' }),
  reviewedBy: Nullable(ref(Person), { description: 'The official of central who decided on it.' }),
  data,
}, { $id: `${name}Submission`, description: 'One version of a province\'s report form for a period.' })

/** What the operations of one form answer: a version, a submission's result, a review's result, the history. */
function submissionSchemas<D extends TSchema>(name: string, data: D) {
  const Submission = submissionOf(name, data)
  return {
    Submission,
    SubmitResult: Strict({ submission: ref(Submission), receipt: ref(Receipt) }, {
      $id: `${name}SubmitResult`, description: 'The stored version with its cross-check warnings, and the receipt: its time received is what counts for the deadline.',
    }),
    ReviewResult: Strict({ submission: ref(Submission), receipt: ref(Receipt) }, {
      $id: `${name}ReviewResult`, description: 'The version with central\'s decision on it, and the receipt of the decision.',
    }),
    History: Strict({
      latest: Nullable(ref(Submission)),
      versions: Type.Array(ref(Submission), { description: 'Every version, newest first.' }),
    }, { $id: `${name}History`, description: 'The versions of one form of one province for one period.' }),
  }
}

/** The submission schemas of each built-in form and of the forms central defines for a period. */
export const FormSubmissions = {
  indicators: submissionSchemas('Indicators', ref(IndicatorsForm)),
  feedback: submissionSchemas('Feedback', ref(FeedbackForm)),
  'appendix-02': submissionSchemas('Appendix02', ref(Appendix02Form)),
  'appendix-03': submissionSchemas('Appendix03', ref(Appendix03Form)),
  custom: submissionSchemas('CustomForm', Type.Record(Type.String(), Type.Unknown(), { description: 'The form as submitted, as its schema in the period\'s `customForms` describes it.' })),
}

/** A version of any form, as the store keeps it. */
export const ReportSubmission = FormSubmissions.custom.Submission

export const ReviewRequest = Strict({
  decision: StringEnum(['accept', 'return']),
  comment: Type.Optional(Type.String({ minLength: 1, maxLength: 4000, description: 'Why it is returned (required to return).' })),
}, { $id: 'ReviewRequest', description: 'Central\'s decision on a submitted version.' })

export const ReportStatus = StringEnum(['missing', 'submitted', 'late', 'accepted', 'returned'], {
  description: 'Where a province stands for a form: `missing` (chưa gửi), `submitted` (đã gửi đúng hạn), `late` (gửi muộn), `accepted` (đã tiếp nhận), `returned` (bị trả lại).',
})

export const PeriodStatus = Strict({
  period: ref(ReportPeriod),
  provinces: Type.Array(Strict({
    province: ProvinceCode(),
    forms: Type.Array(Strict({ form: FormId, status: ReportStatus, version: Nullable(Type.Integer({ format: 'int64' })), submittedAt: Nullable(Instant()) })),
  })),
}, { $id: 'PeriodStatus', description: 'Each province\'s report state for a period.' })

export const reportsComponents = [IndicatorsForm, FeedbackForm, Appendix02Line, Appendix02Form, Appendix03Line, Appendix03Form, Appendix02Draft, Appendix03Draft, Person, ReportPeriod, ReportPeriodList, CustomForm, ReportPeriodRequest, ReportPeriodCorrection, DeadlineExtensionRequest, ReportPeriodWriteResult, CrossCheckWarning, ...Object.values(FormSubmissions).flatMap((form) => Object.values(form)), ReviewRequest, PeriodStatus]
