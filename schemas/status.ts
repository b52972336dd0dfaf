import { Type, type Static } from 'typebox'
import { CommuneCode, Instant, Nullable, Page, PageQuery, ProvinceCode, ref, Strict, StringEnum } from './common.js'
import { RecordId } from './registry.js'
import { Receipt } from './trust.js'

export const MAX_STATUS_BATCH = 5000

export const DeviceType = StringEnum(['station', 'cluster', 'board'], {
  description: 'Kind of device: `station` (đài truyền thanh cấp xã), `cluster` (cụm loa), `board` (bảng tin điện tử công cộng).',
})
export type DeviceType = Static<typeof DeviceType>

export const DeviceState = StringEnum(['online', 'offline', 'playing', 'idle', 'fault'], { description: 'Operating state (trạng thái hoạt động): `online` (trực tuyến), `offline` (mất kết nối), `playing` (đang phát), `idle` (chờ), `fault` (sự cố).' })
export type DeviceState = Static<typeof DeviceState>

/** What an event may tell besides the state; stored and served back as sent. */
const eventDetails = {
  faultCode: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._:-]+$', description: 'Fault code of the vendor (mã lỗi), mostly with `fault`.' })),
  faultMessage: Type.Optional(Type.String({ minLength: 1, maxLength: 500, description: 'Fault description (mô tả sự cố).' })),
  volumePercent: Type.Optional(Type.Integer({ format: 'int32', minimum: 0, maximum: 100, description: 'Output volume (âm lượng), 0 to 100 %.' })),
  signalDbm: Type.Optional(Type.Number({ minimum: -150, maximum: 0, description: 'Received signal strength (cường độ tín hiệu), dBm.' })),
  supplyVoltage: Type.Optional(Type.Number({ minimum: 0, maximum: 500, description: 'Supply voltage (điện áp nguồn), volts.' })),
  temperatureC: Type.Optional(Type.Number({ minimum: -50, maximum: 150, description: 'Device temperature (nhiệt độ thiết bị), °C.' })),
}

const statusFields = {
  deviceType: DeviceType,
  deviceId: RecordId('The province\'s own id of the station, cluster or board, as pushed to the registry.'),
  state: DeviceState,
  observedAt: Instant('When the device was in this state (thời điểm ghi nhận), by the device\'s or the province\'s clock.'),
  ...eventDetails,
}

export const StatusEvent = Strict(statusFields, {
  $id: 'StatusEvent',
  description: 'One status report of one device (bản tin trạng thái thiết bị).',
  examples: [{ deviceType: 'cluster', deviceId: 'loa-26740-01', state: 'playing', observedAt: '2026-11-30T08:00:00+07:00', volumePercent: 80, signalDbm: -71 }],
})
export type StatusEvent = Static<typeof StatusEvent>

export const StatusEventBatch = Strict({
  events: Type.Array(ref(StatusEvent), {
    minItems: 1, maxItems: MAX_STATUS_BATCH,
    description: `1 to ${MAX_STATUS_BATCH} events. An event that is not a valid StatusEvent is rejected alone (\`bad-value\`), never the batch.`,
  }),
}, { $id: 'StatusEventBatch', description: 'A batch of device status events, in any order.' })

export const RejectionReason = StringEnum(['unknown-device', 'future-timestamp', 'too-old', 'bad-value'], {
  description: '`unknown-device`: no such station, cluster or board of this province in the registry (or it was deleted); ' +
    '`future-timestamp`: `observedAt` later than the time received plus the allowed clock skew; ' +
    '`too-old`: `observedAt` older than the history retention; `bad-value`: the event does not match StatusEvent.',
})

export const StatusRejection = Strict({
  index: Type.Integer({ format: 'int64', minimum: 0, description: 'Position of the event in `events`, from 0.' }),
  reason: RejectionReason,
  pointer: Type.Optional(Type.String({ description: 'For `bad-value`: JSON pointer of the first failing field, e.g. `/events/7/volumePercent`.' })),
  message: Type.String({ description: 'What is wrong with the event.' }),
}, { $id: 'StatusRejection', description: 'One event that was not stored, and why.' })

export const StatusIngestResult = Strict({
  accepted: Type.Integer({ format: 'int64', minimum: 0, description: 'Events that added to what is stored: a new period, a later last report, or a late report kept.' }),
  duplicate: Type.Integer({ format: 'int64', minimum: 0, description: 'Events that add nothing to what is stored: the same device, `observedAt` and state again (in this batch or an earlier one), or a late report within a period already known in its state.' }),
  rejected: Type.Integer({ format: 'int64', minimum: 0, description: 'Events refused; each is listed in `rejections`.' }),
  rejections: Type.Array(ref(StatusRejection), { description: 'Every refused event, in the order sent.' }),
  receipt: ref(Receipt),
}, { $id: 'StatusIngestResult', description: 'What became of a batch: `accepted + duplicate + rejected` is the number of events sent.' })

export const DeviceCurrentState = Strict({
  deviceType: DeviceType,
  deviceId: RecordId(),
  state: DeviceState,
  observedAt: Instant('When the device was last seen, from its newest event.'),
  receivedAt: Instant('When the service received that event.'),
  stale: Type.Boolean({ description: 'Whether the newest event is older than `STALE_AFTER_SECONDS` at the time of reading: the device is presumed offline (mất liên lạc).' }),
  ...eventDetails,
}, { $id: 'DeviceCurrentState', description: 'The current state of one device: its newest event, whatever order events arrived in.' })

export const DeviceStatusPage = Page('DeviceStatusPage', ref(DeviceCurrentState), 'A page of current device states, ordered by device type and id.')

export const StatusListQuery = Strict({
  state: Type.Optional(DeviceState),
  type: Type.Optional(DeviceType),
  commune: Type.Optional(CommuneCode('Only devices in this commune (a cluster is in its station\'s commune).')),
  stale: Type.Optional(Type.Boolean({ description: 'true: only devices whose newest event is older than `STALE_AFTER_SECONDS`; false: only the others.' })),
  ...PageQuery,
})

export const StatusHistoryEntry = Strict({
  state: DeviceState,
  observedAt: Instant('The first report of the period; the details are that report\'s.'),
  lastSeenAt: Instant('The last report of the period: the same as `observedAt` for a period of one report.'),
  receivedAt: Instant('When the service received the first report.'),
  ...eventDetails,
}, {
  $id: 'StatusHistoryEntry',
  description: 'One period of a device\'s status history (giai đoạn trạng thái): the device kept reporting `state` from `observedAt` to `lastSeenAt`. ' +
    'A report continues a period when it has the same state, falls on the same day (Vietnam time) and comes within `STALE_AFTER_SECONDS` of the ' +
    'one before; it then moves only `lastSeenAt`. Any other report, in `observedAt` order, begins a new period. A report older than the device\'s ' +
    'newest is kept as a period of one report, unless the period covering its instant already has its state.',
})

export const StatusHistoryPage = Page('StatusHistoryPage', ref(StatusHistoryEntry), 'A page of a device\'s status periods, newest first.')

export const StatusHistoryQuery = Strict({
  from: Type.Optional(Instant('Only periods that began at or after this instant.')),
  to: Type.Optional(Instant('Only periods that began before this instant.')),
  ...PageQuery,
})

const tally = (description: string) => Type.Integer({ format: 'int64', minimum: 0, description })

export const ProvinceStatusSummary = Strict({
  province: ProvinceCode(),
  devices: tally('Devices with a current state.'),
  byState: Strict({
    online: tally('Last reported `online`.'),
    offline: tally('Last reported `offline`.'),
    playing: tally('Last reported `playing`.'),
    idle: tally('Last reported `idle`.'),
    fault: tally('Last reported `fault`.'),
  }, { description: 'Devices by their last reported state, stale ones included.' }),
  stale: tally('Devices whose newest event is older than `STALE_AFTER_SECONDS`: presumed offline.'),
  lastReportAt: Nullable(Instant(), { description: 'The newest `observedAt` of the province\'s devices.' }),
}, { $id: 'ProvinceStatusSummary', description: 'Device status of one province, computed when read.' })

export const StatusOverview = Strict({
  generatedAt: Instant('When the figures were computed; staleness is measured from this instant.'),
  staleAfterSeconds: Type.Integer({ format: 'int64', description: 'The `STALE_AFTER_SECONDS` the figures use.' }),
  provinces: Type.Array(ref(ProvinceStatusSummary), { description: 'Every province with at least one device state, by code.' }),
}, { $id: 'StatusOverview', description: 'Device status across the country (tổng hợp trạng thái thiết bị toàn quốc).' })

export const statusComponents = [
  StatusEvent, StatusEventBatch, StatusRejection, StatusIngestResult, DeviceCurrentState, DeviceStatusPage, StatusHistoryEntry,
  StatusHistoryPage, ProvinceStatusSummary, StatusOverview,
]
