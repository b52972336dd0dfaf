import { Type, type Static } from 'typebox'
import { CommuneCode, FeedCursor, Instant, Nullable, Page, PageQuery, ProvinceCode, ref, Strict, StringEnum } from './common.js'
import { RecordId } from './registry.js'
import { Person } from './reports.js'
import { MediaReference, MediaRequest } from './media.js'
import { Receipt } from './trust.js'

export const MAX_BROADCAST_LOG_BATCH = 5000
/** The commune-level units in force since 1 July 2025: a list of communes names each at most once. */
export const COMMUNES_NATIONWIDE = 3321

const text = (maxLength: number, description: string) => Type.String({ minLength: 1, maxLength, description })

export const TopicId = Type.String({ minLength: 2, maxLength: 64, pattern: '^[a-z0-9][a-z0-9-]*[a-z0-9]$', description: 'Topic id (mã chủ đề): lower-case letters, digits and dashes.', examples: ['disasters-fire-epidemics'] })

export const TopicKind = StringEnum(['essential_category', 'propaganda_task', 'custom'], {
  description: '`essential_category` (a category of essential information, Nghị định 49/2024 Điều 6), `propaganda_task` (a propaganda task of the year, nhiệm vụ thông tin tuyên truyền), `custom` (added by central).',
})

export const Topic = Strict({
  id: TopicId,
  title: Type.String({ maxLength: 300, description: 'Title in Vietnamese (tên chủ đề).' }),
  kind: TopicKind,
  basis: Nullable(Type.String({ maxLength: 500 }), { description: 'The text the topic comes from (căn cứ), when there is one.' }),
  createdAt: Instant(),
}, { $id: 'Topic', description: 'A topic (chủ đề) content items are filed under.' })

export const TopicList = Strict({ items: Type.Array(ref(Topic)) }, { $id: 'TopicList', description: 'Every topic, essential categories first.' })

export const TopicWriteResult = Strict({ topic: ref(Topic), receipt: ref(Receipt) }, { $id: 'TopicWriteResult', description: 'The topic as stored, and the receipt of its creation.' })

export const TopicRequest = Strict({
  id: TopicId,
  title: text(300, 'Title in Vietnamese (tên chủ đề).'),
  basis: Type.Optional(text(500, 'The text the topic comes from (căn cứ).')),
}, { $id: 'TopicRequest', description: 'A topic central adds to the catalogue.' })

export const ContentPriority = StringEnum(['normal', 'priority', 'emergency'], {
  description: 'The bulletin levels of Thông tư 39/2020: `normal` (thông thường, the commune picks a slot), `priority` (ưu tiên, played first), `emergency` (khẩn cấp, played at once). Emergencies are delivered before anything else queued.',
})

export const ContentTargets = Type.Union([
  Type.Literal('all'),
  Type.Array(ProvinceCode(), { maxItems: 34, uniqueItems: true }),
], { description: '`all` (every province), or the list of target provinces (tỉnh nhận); empty when the item targets communes only.' })

export const TargetCommunes = Type.Array(CommuneCode(), {
  maxItems: COMMUNES_NATIONWIDE, uniqueItems: true,
  description: `Target communes (xã nhận), at most ${COMMUNES_NATIONWIDE.toLocaleString('en')}: active commune-level units of provinces not in \`targets\`, ` +
    'each reached through its province. Not with `targets: all`. An item targets at least one province or commune.',
})

export const LanguageTag = (description: string) => Type.String({
  maxLength: 64,
  pattern: '^([A-Za-z]{2,3}|[A-Za-z]{5,8})(-[A-Za-z]{4})?(-([A-Za-z]{2}|[0-9]{3}))?(-([A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*(-[0-9A-WYZa-wyz](-[A-Za-z0-9]{2,8})+)*(-[Xx](-[A-Za-z0-9]{1,8})+)?$',
  description, examples: ['vi', 'km', 'hnj', 'tyz'],
})

const contentFields = {
  title: text(300, 'Title (tiêu đề).'),
  summary: Type.Optional(Type.String({ maxLength: 2000, description: 'Summary (tóm tắt).' })),
  body: Type.Optional(Type.String({ maxLength: 100_000, description: 'Body text (nội dung), for reading aloud or for bulletin boards.' })),
  media: Type.Optional(Type.Array(ref(MediaRequest), { maxItems: 20, description: 'Media files, at most 20 and each once, each stored or verified by the service beforehand (`POST /v2/media/uploads`, `POST /v2/media/external`).' })),
  topic: TopicId,
  validFrom: Type.Optional(Instant('From when it may be broadcast (hiệu lực từ); now when omitted.')),
  validUntil: Type.Optional(Instant('Until when it may be broadcast (hiệu lực đến); without end when omitted.')),
  language: Type.Optional(LanguageTag('Language of the content (ngôn ngữ), a BCP 47 tag: `vi` (Vietnamese) or a minority language commune stations broadcast in, ' +
    'e.g. `km` (Khmer), `hnj` (Hmong Njua), `tyz` (Tày). Stored in canonical form (`KM` as `km`, `vi-vn` as `vi-VN`); `vi` when omitted.')),
}

export const ContentRequest = Strict({
  ...contentFields,
  priority: ContentPriority,
  targets: ContentTargets,
  communes: Type.Optional(TargetCommunes),
  test: Type.Optional(Type.Boolean({
    description: 'An exercise or test (diễn tập, thử nghiệm): delivered like any item, but provinces must not broadcast it on air, and summaries count it and its plays apart. ' +
      'False when omitted; a new version keeps what the first one was.',
  })),
}, {
  $id: 'ContentRequest',
  description: 'Essential information (thông tin thiết yếu) central publishes, or a new version of it.',
  examples: [
    { title: 'Cảnh báo bão số 3', summary: 'Bão số 3 đổ bộ đêm nay', body: 'Đề nghị nhân dân…', topic: 'disasters-fire-epidemics', priority: 'emergency', targets: ['22', '31'] },
    { title: 'Thông báo lịch tiêm chủng', topic: 'disasters-fire-epidemics', priority: 'normal', targets: [], communes: ['31507', '31783'], language: 'km' },
  ],
})

export const SharedContentRequest = Strict(contentFields, {
  $id: 'SharedContentRequest',
  description: 'Content a province produced and shares with central\'s library (chia sẻ nội dung).',
})

export const ContentStatus = StringEnum(['active', 'withdrawn'], { description: '`active`, or `withdrawn` (đã thu hồi): not to be broadcast any more.' })

export const ContentItem = Strict({
  id: Type.String({ format: 'uuid', description: 'Content id; the same for every version.' }),
  version: Type.Integer({ format: 'int64', minimum: 1, description: 'Each update is a new version; a withdrawal too.' }),
  status: ContentStatus,
  origin: StringEnum(['central', 'province'], { description: '`central` (published by central), `province` (shared by a province).' }),
  province: Nullable(ProvinceCode(), { description: 'For shared content, the province that shared it.' }),
  title: Type.String({ maxLength: 300 }),
  summary: Nullable(Type.String({ maxLength: 2000 })),
  body: Nullable(Type.String({ maxLength: 100_000 })),
  media: Type.Array(ref(MediaReference)),
  topic: TopicId,
  priority: ContentPriority,
  test: Type.Boolean({ description: 'An exercise or test (diễn tập, thử nghiệm), not to be broadcast on air; its plays are counted apart.' }),
  language: LanguageTag('Language of the content, a BCP 47 tag in canonical form (`vi`, `km`, `hnj`, …).'),
  validFrom: Instant(),
  validUntil: Nullable(Instant()),
  targets: Type.Union([Type.Literal('all'), Type.Array(ProvinceCode(), { maxItems: 34 })], {
    description: '`all`, or the target provinces; empty for content a province shared, which goes to central\'s library only, and for an item that targets communes only.',
  }),
  communes: Type.Array(Strict({ code: CommuneCode(), province: ProvinceCode('The province of the commune, which the item reaches it through.') }), {
    maxItems: COMMUNES_NATIONWIDE, description: 'The target communes, in code order; empty when the item targets whole provinces only.',
  }),
  publishedBy: Type.String({ maxLength: 64, description: 'The system that published or shared it.' }),
  draftedBy: Type.Optional(Nullable(ref(Person), { description: 'The official who drafted this version (the nested `act` of the call that made it).' })),
  approvedBy: Type.Optional(Nullable(ref(Person), { description: 'The official who approved and sent this version (the `act` of the call that made it).' })),
  publishedAt: Instant('When the first version was published.'),
  updatedAt: Instant('When this version was made.'),
  withdrawnAt: Nullable(Instant()),
  withdrawalReason: Nullable(Type.String({ maxLength: 2000 })),
}, { $id: 'ContentItem', description: 'One version of a content item (tin, bài) as provinces receive it.' })

export const ContentEventType = StringEnum(['content.published', 'content.updated', 'content.withdrawn'], {
  description: '`content.published` (first version), `content.updated` (a new version), `content.withdrawn` (thu hồi: stop broadcasting it).',
})

export const ContentNotification = Strict({
  id: Type.String({ format: 'uuid', description: 'Notification id: the same in every retry and in the feed, so a receiver discards what it already has.' }),
  type: ContentEventType,
  occurredAt: Instant('When central published, updated or withdrew the item.'),
  content: ref(ContentItem),
}, {
  $id: 'ContentNotification',
  description: 'A publication, new version or withdrawal of a content item. The feed serves these, and the service POSTs each one to the webhook of every target province.',
})
export type ContentNotification = Static<typeof ContentNotification>

export const ContentFeedPage = Strict({
  items: Type.Array(ref(ContentNotification), { description: 'In feed order.' }),
  nextCursor: FeedCursor('Where to continue: pass it as `after` next time, also when this page was empty.'),
}, { $id: 'ContentFeedPage', description: 'A page of the content feed. A reader that always continues from `nextCursor` sees every notification meant for it exactly once, in an order consistent with commits.' })

export const ContentFeedQuery = Strict({
  after: Type.Optional(FeedCursor('The `nextCursor` of the previous page; omitted to start from the beginning.')),
  limit: PageQuery.limit,
})

export const ContentWriteResult = Strict({
  content: ref(ContentItem),
  receipt: ref(Receipt),
}, { $id: 'ContentWriteResult', description: 'The version stored, and the receipt.' })

export const WithdrawalRequest = Strict({
  reason: text(2000, 'Why it is withdrawn (lý do thu hồi); provinces receive it.'),
}, { $id: 'WithdrawalRequest', description: 'Withdraws a content item: provinces are told to stop broadcasting it.' })

export const ContentListQuery = Strict({
  origin: Type.Optional(StringEnum(['central', 'province'])),
  province: Type.Optional(ProvinceCode('Only content shared by this province.')),
  topic: Type.Optional(TopicId),
  status: Type.Optional(ContentStatus),
  language: Type.Optional(LanguageTag('Only content in this language, compared in canonical form (`KM` finds `km`).')),
  ...PageQuery,
})

export const ContentPage = Page('ContentPage', ref(ContentItem), 'Content items, newest first.')

export const AckRequest = Strict({
  receivedAt: Instant('When the provincial system received the item (thời điểm nhận).'),
  scheduledAt: Type.Optional(Instant('When it is scheduled to be broadcast (lịch phát).')),
  stations: Type.Optional(Type.Integer({ format: 'int32', minimum: 0, maximum: 100_000, description: 'On how many stations it is scheduled.' })),
  communes: Type.Optional(Type.Array(CommuneCode(), {
    minItems: 1, maxItems: COMMUNES_NATIONWIDE, uniqueItems: true,
    description: 'The item\'s target communes in the caller\'s province that the acknowledgement covers; omitted, it covers all the item targets there.',
  })),
}, { $id: 'AckRequest', description: 'A province acknowledges a content item (xác nhận đã nhận).' })

export const Ack = Strict({
  contentId: Type.String({ format: 'uuid' }),
  province: ProvinceCode(),
  version: Type.Integer({ format: 'int64', description: 'The version current when the acknowledgement was first made.' }),
  receivedAt: Instant(),
  scheduledAt: Nullable(Instant()),
  stations: Nullable(Type.Integer({ format: 'int64' })),
  communes: Nullable(Type.Array(CommuneCode()), { description: 'The target communes it covers, in code order; null when it covers all the item targets in the province.' }),
  acknowledgedAt: Instant('When the service first stored it.'),
}, { $id: 'Ack', description: 'A province\'s acknowledgement of a content item.' })

export const AckResult = Strict({
  ack: ref(Ack),
  result: StringEnum(['created', 'updated', 'unchanged'], { description: 'Sending the same acknowledgement again changes nothing.' }),
  receipt: ref(Receipt),
}, { $id: 'AckResult', description: 'The acknowledgement as stored.' })

export const DeliveryState = StringEnum(['pending', 'delivered'], {
  description: '`pending` (not yet answered with 2xx; retried with backoff), `delivered` (the receiver answered 2xx).',
})

export const Delivery = Strict({
  notificationId: Type.String({ format: 'uuid' }),
  type: ContentEventType,
  version: Type.Integer({ format: 'int64' }),
  state: DeliveryState,
  attempts: Type.Integer({ format: 'int64', minimum: 0 }),
  lastAttemptAt: Nullable(Instant()),
  lastStatus: Nullable(Type.Integer({ format: 'int64' }), { description: 'HTTP status of the last attempt; null when it got no answer.' }),
  lastError: Nullable(Type.String(), { description: 'Why the last attempt failed.' }),
  nextAttemptAt: Nullable(Instant(), { description: 'When the next attempt is due, while pending.' }),
  deliveredAt: Nullable(Instant()),
}, { $id: 'Delivery', description: 'The webhook delivery of one notification to one province.' })

export const ProvinceDeliveries = Strict({
  province: ProvinceCode(),
  systemId: Nullable(Type.String({ maxLength: 64 }), { description: 'The provincial system notified; null when the province has no webhook.' }),
  webhook: StringEnum(['none', 'pending', 'delivered'], { description: '`none` (no webhook URL: the province pulls the feed), `pending` (a notification still awaits delivery), `delivered` (every notification delivered).' }),
  communes: Type.Array(CommuneCode(), { description: 'The current version\'s target communes in the province, in code order; empty when it targets the whole province, or no longer targets it.' }),
  notifications: Type.Array(ref(Delivery)),
  acknowledgedAt: Nullable(Instant()),
}, { $id: 'ProvinceDeliveries', description: 'Delivery and acknowledgement of a content item in one province.' })

export const DeliveryReport = Strict({
  contentId: Type.String({ format: 'uuid' }),
  provinces: Type.Array(ref(ProvinceDeliveries)),
}, { $id: 'DeliveryReport', description: 'Where each target province stands with a content item.' })

export const BroadcastSource = StringEnum(['central', 'province', 'commune', 'relay'], {
  description: 'Where the programme came from (nguồn): `central` (trung ương), `province` (tỉnh), `commune` (xã), `relay` (tiếp sóng).',
})

const broadcastLogFields = {
  stationId: RecordId('The station (đài) that played it, as registered by the province.'),
  contentId: Type.Optional(Type.String({ format: 'uuid', description: 'The central content item played.' })),
  localRef: Type.Optional(text(200, 'The province\'s own reference of what was played, for local content.')),
  startedAt: Instant('Start of play (bắt đầu).'),
  endedAt: Instant('End of play (kết thúc); after the start.'),
  clustersReached: Type.Optional(Type.Integer({ format: 'int32', minimum: 0, maximum: 100_000, description: 'Loudspeaker clusters that played it (số cụm loa).' })),
  source: BroadcastSource,
}

export const BroadcastLogEntry = Strict(broadcastLogFields, {
  $id: 'BroadcastLogEntry', description: 'One play on one station (một lượt phát). Name the content by `contentId`, `localRef`, or both.',
})

export const BroadcastLogBatch = Strict({
  entries: Type.Array(ref(BroadcastLogEntry), { minItems: 1, maxItems: MAX_BROADCAST_LOG_BATCH, description: `1 to ${MAX_BROADCAST_LOG_BATCH} entries.` }),
}, { $id: 'BroadcastLogBatch', description: 'A batch of broadcast log entries (nhật ký phát thanh).' })

export const BroadcastLogRejection = Strict({
  index: Type.Integer({ format: 'int64', minimum: 0 }),
  pointer: Type.String({ description: 'JSON pointer to the entry, e.g. `/entries/3`.' }),
  reason: StringEnum(['unknown-station', 'end-before-start', 'overlapping-entry', 'unknown-content', 'content-not-sent', 'no-content-reference'], { description: '`unknown-station` (no such station of the province), `end-before-start` (the end is not after the start), `overlapping-entry` (another entry of the same station covers part of that time), `unknown-content` (no content item with that id), `content-not-sent` (an item central did not send to this province, nor one it shared itself), `no-content-reference` (neither contentId nor localRef).' }),
  message: Type.String(),
}, { $id: 'BroadcastLogRejection', description: 'An entry not stored, and why.' })

export const BroadcastLogResult = Strict({
  accepted: Type.Integer({ format: 'int64', description: 'Entries stored now.' }),
  duplicate: Type.Integer({ format: 'int64', description: 'Entries already stored by an earlier send, or repeated in the batch: stored once.' }),
  rejected: Type.Integer({ format: 'int64', description: 'Entries refused; each is listed in `rejections`.' }),
  rejections: Type.Array(ref(BroadcastLogRejection), { description: 'Every refused entry, in the order sent.' }),
  receipt: ref(Receipt),
}, { $id: 'BroadcastLogResult', description: 'Valid entries are stored and each rejected one is named; one bad entry never drops the others. `accepted + duplicate + rejected` is the number of entries sent.' })

export const BroadcastLog = Strict({
  ...broadcastLogFields,
  receivedAt: Instant('When the service stored the entry.'),
}, { $id: 'BroadcastLog', description: 'One stored play of a station (một lượt phát đã ghi nhận).' })

export const BroadcastLogPage = Page('BroadcastLogPage', ref(BroadcastLog), 'A page of a province\'s broadcast logs, latest start first.')

export const BroadcastLogQuery = Strict({
  station: Type.Optional(RecordId('Only plays of this station.')),
  contentId: Type.Optional(Type.String({ format: 'uuid', description: 'Only plays of this central content item.' })),
  source: Type.Optional(BroadcastSource),
  from: Type.Optional(Instant('Only plays that started at or after this instant.')),
  to: Type.Optional(Instant('Only plays that started before this instant.')),
  ...PageQuery,
})

export const SecondsOrNull = (description?: string) => Nullable(Type.Number({ minimum: 0 }), description ? { description } : {})

const Stage = (what: string) => Strict({
  provinces: Type.Integer({ format: 'int64', minimum: 0, description: `Target provinces ${what}.` }),
  p50Seconds: SecondsOrNull('Median time from the first publication, over those provinces; null when none.'),
  p95Seconds: SecondsOrNull('95th percentile (nearest rank) of the same; null when none.'),
})

export const DeliveryLatency = Strict({
  delivered: Stage('whose webhook received a notification of the item'),
  acknowledged: Stage('that acknowledged the item'),
  firstPlayed: Stage('with a broadcast log of the item (a station clock ahead of the service counts as 0)'),
  byProvince: Type.Array(Strict({
    province: ProvinceCode(),
    deliveredSeconds: SecondsOrNull(),
    acknowledgedSeconds: SecondsOrNull(),
    firstPlayedSeconds: SecondsOrNull(),
  }), { description: 'Each target province, in code order; null for a stage it has not reached.' }),
}, { $id: 'DeliveryLatency', description: 'How fast the item reached its targets (độ trễ truyền tải): seconds from its first publication to the first webhook delivery, the acknowledgement and the first play, per province.' })

export const Reach = Strict({
  contentId: Type.String({ format: 'uuid' }),
  test: Type.Boolean({ description: 'The item is an exercise or test: its plays here are exercises\', counted apart from real ones in the summaries.' }),
  provincesTargeted: Type.Integer({ format: 'int64' }),
  provincesDelivered: Type.Integer({ format: 'int64', description: 'Target provinces whose webhook received a notification of the item.' }),
  provincesAcknowledged: Type.Integer({ format: 'int64' }),
  stationsPlayed: Type.Integer({ format: 'int64', description: 'Distinct stations with a broadcast log of the item.' }),
  plays: Type.Integer({ format: 'int64' }),
  airtimeSeconds: Type.Number({ description: 'Total playing time over every station.' }),
  firstPlayedAt: Nullable(Instant()),
  lastPlayedAt: Nullable(Instant(), { description: 'Start of the latest play.' }),
  byProvince: Type.Array(Strict({
    province: ProvinceCode(),
    stationsPlayed: Type.Integer({ format: 'int64' }),
    plays: Type.Integer({ format: 'int64' }),
    airtimeSeconds: Type.Number(),
  }), { description: 'Plays per province, for provinces with any.' }),
  byCommune: Type.Array(Strict({
    code: CommuneCode(),
    province: ProvinceCode(),
    stationsPlayed: Type.Integer({ format: 'int64', description: 'Distinct stations registered in the commune with a broadcast log of the item.' }),
    plays: Type.Integer({ format: 'int64', description: 'Broadcast logs of the item on those stations.' }),
    acknowledged: Type.Boolean({ description: 'The province acknowledged the item for this commune: its acknowledgement lists it, or lists no communes.' }),
  }), { description: 'Each target commune of the current version, in code order.' }),
  latency: ref(DeliveryLatency),
}, { $id: 'Reach', description: 'How far a content item went (mức độ tiếp cận): delivered, acknowledged, played.' })

export const contentComponents = [
  Topic, TopicList, TopicRequest, TopicWriteResult, ContentRequest, SharedContentRequest, ContentItem, ContentNotification, ContentFeedPage,
  ContentWriteResult, WithdrawalRequest, ContentPage, AckRequest, Ack, AckResult, Delivery, ProvinceDeliveries, DeliveryReport,
  BroadcastLogEntry, BroadcastLogBatch, BroadcastLogRejection, BroadcastLogResult, BroadcastLog, BroadcastLogPage, DeliveryLatency, Reach,
]
