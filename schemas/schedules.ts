import { Type, type Static } from 'typebox'
import { Instant, Nullable, Page, PageCursor, PageQuery, ProvinceCode, ref, Strict, StringEnum } from './common.js'
import { BroadcastLog } from './content.js'
import { RecordId } from './registry.js'
import { Receipt } from './trust.js'

export const MAX_SCHEDULE_BATCH = 500
export const MAX_SLOTS_PER_DAY = 200
export const MAX_SCHEDULE_PAGE = 100
export const DEFAULT_SCHEDULE_PAGE = 20
export const MAX_CROSS_CHECK_DAYS = 31
/** How far back and ahead of today (Vietnam time) a day's schedule may be pushed. */
export const SCHEDULE_DAYS_BACK = 7
export const SCHEDULE_DAYS_AHEAD = 31
/** How far a play's start may be from a slot's and still count as on time (migration 0027 holds the same). */
export const START_TOLERANCE_SECONDS = 300
/** Most problems named when a batch is refused; `detail` gives the number in all. */
export const MAX_SCHEDULE_ERRORS = 1000

export const MATCHING_RULE =
  'A play (a broadcast log entry, nhật ký phát thanh) **airs** a slot when it is of the same station, plays the slot\'s `contentId` when the slot names one, ' +
  'and covers at least half of the slot\'s duration. A play that starts within ' +
  `${START_TOLERANCE_SECONDS / 60} minutes (${START_TOLERANCE_SECONDS} s) of the slot's start, earlier or later, covers as much of the slot as it lasts, up to the slot's duration; ` +
  'any other play covers the time it shares with the slot. A slot is **aired** when at least one play airs it, and one play may air several slots ' +
  '(a relay over consecutive slots). A slot no play airs is **planned-not-aired** once it has ended, and **upcoming** until then. ' +
  'A play is compared when its station has a schedule for the Vietnam day the play starts on (an empty one counts): it is **matched** when it airs ' +
  'at least one slot of its station, of any day, and **aired-not-planned** otherwise. Plays on a day without a schedule are **unscheduled**: not compared.'

/** A Vietnam calendar day of this century: years beyond it are refused before any arithmetic on them. */
const ScheduleDate = (description: string) =>
  Type.String({ format: 'date', pattern: '^20[0-9]{2}-[0-9]{2}-[0-9]{2}$', maxLength: 10, description, examples: ['2026-05-01'] })

export const SlotSource = StringEnum(['local', 'relay-national', 'relay-provincial'], {
  description: 'What the station airs in the slot (nguồn): `local` (a programme of its own or from the source systems, played by the station), ' +
    '`relay-national` (tiếp sóng kênh quốc gia, e.g. VOV), `relay-provincial` (tiếp sóng đài Phát thanh – Truyền hình tỉnh).',
})

const slotFields = {
  startsAt: Instant('When the slot starts (giờ bắt đầu); within the schedule\'s Vietnam day.'),
  durationSeconds: Type.Integer({ format: 'int32', minimum: 1, maximum: 86_400, description: 'How long it lasts (thời lượng), in seconds; the slot ends by the end of its day.' }),
  contentId: Type.Optional(Type.String({ format: 'uuid', description: 'The content item to play: one central sent to the province, or one the province shared.' })),
  localProgramme: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Title of the programme (tên chương trình), for what is not a content item of the service, or to label the programme an item is played in.' })),
  source: SlotSource,
}

export const ScheduleSlot = Strict(slotFields, {
  $id: 'ScheduleSlot',
  description: 'One planned slot of a station (khung giờ phát). Name what is played by `contentId`, `localProgramme`, or both. ' +
    'A slot lies within its day: a programme across midnight is two slots, one in each day\'s schedule.',
})

export const StationDaySchedule = Strict({
  stationId: RecordId('The station (đài) as registered by the province.'),
  date: ScheduleDate(`The Vietnam calendar day (UTC+07:00) planned: from ${SCHEDULE_DAYS_BACK} days before today to ${SCHEDULE_DAYS_AHEAD} days after it.`),
  slots: Type.Array(ref(ScheduleSlot), {
    maxItems: MAX_SLOTS_PER_DAY,
    description: `0 to ${MAX_SLOTS_PER_DAY} slots in any order, none overlapping another; none says nothing is planned that day.`,
  }),
}, { $id: 'StationDaySchedule', description: 'The whole plan of one station for one day (lịch phát sóng trong ngày): it replaces the one stored.' })

export const BroadcastScheduleBatch = Strict({
  schedules: Type.Array(ref(StationDaySchedule), {
    minItems: 1, maxItems: MAX_SCHEDULE_BATCH, description: `1 to ${MAX_SCHEDULE_BATCH} station-days, each at most once.`,
  }),
}, { $id: 'BroadcastScheduleBatch', description: 'Schedules of several station-days, applied together or not at all.' })

export const ScheduleResult = StringEnum(['created', 'updated', 'unchanged'], {
  description: '`created` (the first schedule of the station-day), `updated` (slots differ from the stored ones: a new version), `unchanged` (the same slots: nothing written).',
})

export const ScheduleOutcome = Strict({
  stationId: RecordId(),
  date: ScheduleDate('The day.'),
  version: Type.Integer({ format: 'int64', minimum: 1, description: 'The version now stored: 1 for the first, one more for each push that changed the slots.' }),
  slots: Type.Integer({ format: 'int64', minimum: 0 }),
  result: ScheduleResult,
}, { $id: 'ScheduleOutcome', description: 'What a push did to one station-day.' })

export const BroadcastScheduleBatchResult = Strict({
  created: Type.Integer({ format: 'int64', minimum: 0 }),
  updated: Type.Integer({ format: 'int64', minimum: 0 }),
  unchanged: Type.Integer({ format: 'int64', minimum: 0 }),
  items: Type.Array(ref(ScheduleOutcome), { description: 'Every station-day, in the order sent.' }),
  receipt: ref(Receipt),
}, { $id: 'BroadcastScheduleBatchResult', description: 'The version of every station-day of the batch.' })

export const StoredSlot = Strict({
  ...slotFields,
  endsAt: Instant('When the slot ends: its start and duration.'),
}, { $id: 'StoredSlot', description: 'A slot as stored (khung giờ phát).' })

export const BroadcastSchedule = Strict({
  stationId: RecordId(),
  date: ScheduleDate('The Vietnam day planned.'),
  version: Type.Integer({ format: 'int64', minimum: 1 }),
  updatedAt: Instant('When this version was stored: a plan stored after its slots began was not made in advance.'),
  slots: Type.Array(ref(StoredSlot), { description: 'In order of start.' }),
}, { $id: 'BroadcastSchedule', description: 'A station\'s schedule for one day (lịch phát sóng), at its latest version.' })

export const BroadcastSchedulePage = Page('BroadcastSchedulePage', ref(BroadcastSchedule), 'A page of a province\'s schedules, latest day first, then by station.')

export const BroadcastScheduleQuery = Strict({
  date: Type.Optional(ScheduleDate('Only this day\'s schedules.')),
  station: Type.Optional(RecordId('Only this station\'s schedules.')),
  limit: Type.Optional(Type.Integer({ format: 'int32',
    minimum: 1, maximum: MAX_SCHEDULE_PAGE, default: DEFAULT_SCHEDULE_PAGE,
    description: `Most station-days in one page (1 to ${MAX_SCHEDULE_PAGE}): each holds up to ${MAX_SLOTS_PER_DAY} slots.`,
  })),
  cursor: PageQuery.cursor,
})

const count = (description: string) => Type.Integer({ format: 'int64', minimum: 0, description })

export const CrossCheckCounts = Strict({
  slots: count('Slots of the days\' schedules (khung giờ theo lịch): `aired + plannedNotAired + upcoming`.'),
  aired: count('Slots a play airs (đã phát theo lịch).'),
  plannedNotAired: count('Slots over by the time of the check that no play airs (có lịch nhưng không phát).'),
  upcoming: count('Slots no play airs yet that end after the time of the check.'),
  logs: count('Plays that start within the days: `matchedLogs + airedNotPlanned + unscheduled`.'),
  matchedLogs: count('Compared plays that air a slot.'),
  airedNotPlanned: count('Compared plays that air no slot (phát ngoài lịch).'),
  unscheduled: count('Plays on a day their station has no schedule for: not compared.'),
}, { $id: 'CrossCheckCounts', description: 'How the schedules and the broadcast logs of the days compare.' })

export const StationCrossCheck = Strict({
  stationId: RecordId(),
  counts: ref(CrossCheckCounts),
}, { $id: 'StationCrossCheck', description: 'The cross-check of one station.' })

export const ScheduleMismatch = Strict({
  kind: StringEnum(['planned-not-aired', 'aired-not-planned']),
  stationId: RecordId(),
  date: ScheduleDate('The day of the slot\'s schedule, or the day the play starts.'),
  slot: Type.Optional(ref(StoredSlot)),
  play: Type.Optional(ref(BroadcastLog)),
}, { $id: 'ScheduleMismatch', description: 'A slot no play airs (`planned-not-aired`, with `slot`) or a compared play that airs no slot (`aired-not-planned`, with `play`).' })

export const BroadcastScheduleCrossCheck = Strict({
  province: ProvinceCode(),
  from: ScheduleDate('First day compared.'),
  to: ScheduleDate('Last day compared.'),
  checkedAt: Instant('The time of the check: slots ending after it are upcoming. Every page of one cross-check has the same.'),
  counts: ref(CrossCheckCounts),
  stations: Type.Array(ref(StationCrossCheck), { description: 'Each station with a slot or a play in the days, by id.' }),
  mismatches: Type.Array(ref(ScheduleMismatch), { description: 'A page of the mismatches, by start, then station; planned-not-aired before aired-not-planned at the same start.' }),
  nextCursor: Nullable(PageCursor('Cursor of the next page of mismatches, or null when this page is the last.')),
}, { $id: 'BroadcastScheduleCrossCheck', description: `The cross-check of schedules with broadcast logs (đối soát lịch phát với nhật ký phát thanh). ${MATCHING_RULE}` })

export const CrossCheckQuery = Strict({
  from: ScheduleDate('First Vietnam day to compare.'),
  to: ScheduleDate(`Last Vietnam day to compare, included; at most ${MAX_CROSS_CHECK_DAYS} days in all.`),
  ...PageQuery,
})

export type ScheduleSlot = Static<typeof ScheduleSlot>
export type StationDaySchedule = Static<typeof StationDaySchedule>

export const schedulesComponents = [
  ScheduleSlot, StationDaySchedule, BroadcastScheduleBatch, ScheduleOutcome, BroadcastScheduleBatchResult, StoredSlot, BroadcastSchedule,
  BroadcastSchedulePage, CrossCheckCounts, StationCrossCheck, ScheduleMismatch, BroadcastScheduleCrossCheck,
]
