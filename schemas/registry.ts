import { Type, type Static, type TProperties, type TSchema } from 'typebox'
import { CalendarDate, CommuneCode, FeedCursor, Instant, Nullable, Page, PageQuery, ProvinceCode, ref, Strict, StringEnum } from './common.js'
import { Receipt } from './trust.js'

export const MAX_REGISTRY_BATCH = 1000

export const RecordId = (description = 'The province\'s own identifier of the record (mã do tỉnh cấp): letters, digits and . _ : -') =>
  Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._:-]+$', description, examples: ['dai-26740'] })

const text = (maxLength: number, description: string) => Type.String({ minLength: 1, maxLength, description })

export const Location = Strict({
  latitude: Type.Number({ minimum: 7.5, maximum: 23.5, description: 'Latitude (vĩ độ), WGS 84, within Vietnam.' }),
  longitude: Type.Number({ minimum: 102, maximum: 117.5, description: 'Longitude (kinh độ), WGS 84, within Vietnam.' }),
}, { $id: 'Location', description: 'Where the device stands (vị trí), within Vietnam\'s bounds including its islands.' })

export const DeviceStatus = StringEnum(['operating', 'degraded', 'out_of_service', 'decommissioned'], { description: 'Condition (tình trạng): `operating` (hoạt động), `degraded` (hoạt động kém), `out_of_service` (hỏng, ngừng hoạt động), `decommissioned` (đã thanh lý).' })

export const StationKind = StringEnum(['wired', 'fm', 'wired_fm', 'ip'], {
  description: 'Kind of commune radio station (loại đài): `wired` (có dây), `fm` (không dây FM), `wired_fm` (có dây và không dây FM), `ip` (ứng dụng CNTT-VT).',
})

export const ClusterKind = StringEnum(['ip', 'fm', 'wired'], {
  description: 'Kind of loudspeaker cluster (loại cụm loa): `ip` (CNTT-VT, IP/4G), `fm` (không dây FM), `wired` (có dây).',
})

export const Programme = StringEnum(['new_station', 'replacement', 'extension'], {
  description: 'What the investment was (nội dung đầu tư): `new_station` (thiết lập mới đài), `replacement` (thay thế cụm loa hỏng), `extension` (mở rộng đến thôn, bản chưa có).',
})

export const FundingSource = StringEnum(['new_rural_development', 'sustainable_poverty_reduction', 'local_budget', 'other'], { description: 'Funding source (nguồn kinh phí): `new_rural_development` (Chương trình MTQG xây dựng nông thôn mới), `sustainable_poverty_reduction` (Chương trình MTQG giảm nghèo bền vững), `local_budget` (ngân sách địa phương), `other` (nguồn khác).' })

export const OperatorContact = Strict({
  name: Type.Optional(text(200, 'Name of the person in charge (người phụ trách).')),
  phone: Type.Optional(Type.String({ minLength: 3, maxLength: 32, pattern: '^[0-9+() .-]+$', description: 'Phone number.' })),
  email: Type.Optional(Type.String({ format: 'email', maxLength: 254, description: 'Email address.' })),
}, { $id: 'OperatorContact', description: 'Who operates the station (người phụ trách đài).' })

const stationFields = {
  communeCode: CommuneCode('The commune-level unit the station serves (xã, phường, đặc khu).'),
  name: text(200, 'Name of the station (tên đài).'),
  kind: StationKind,
  status: DeviceStatus,
  establishedOn: Type.Optional(CalendarDate('Date the station was set up (ngày thiết lập).')),
  hasIntegrationDevice: Type.Optional(Type.Boolean({ description: 'Whether an integration device (thiết bị tích hợp) links old wired or FM clusters to the IT–telecom equipment, as after the 2025 commune mergers; absent means false.' })),
  address: Type.Optional(text(500, 'Address (địa chỉ).')),
  location: Type.Optional(ref(Location)),
  programme: Type.Optional(Programme),
  fundingSource: Type.Optional(FundingSource),
  operator: Type.Optional(ref(OperatorContact)),
}

const clusterFields = {
  stationId: RecordId('The station (đài) the cluster belongs to, in the same province.'),
  village: Type.Optional(text(200, 'The village it serves (thôn, bản, tổ dân phố).')),
  kind: ClusterKind,
  installedOn: Type.Optional(CalendarDate('Date it was installed (ngày lắp đặt).')),
  status: DeviceStatus,
  location: Type.Optional(ref(Location)),
  vendor: Type.Optional(text(200, 'Manufacturer or supplier (nhà cung cấp).')),
  model: Type.Optional(text(200, 'Model (chủng loại).')),
  programme: Type.Optional(Programme),
  fundingSource: Type.Optional(FundingSource),
  replaces: Type.Optional(Type.Array(RecordId('A cluster of the same province this one replaced.'), {
    maxItems: 20, uniqueItems: true, description: 'For a replacement (`programme` `replacement`): the broken wired or FM cluster(s) it replaced (thay thế cụm loa).',
  })),
  villagesCovered: Type.Optional(Type.Array(text(200, 'A village (thôn, bản, tổ dân phố).'), {
    maxItems: 50, uniqueItems: true, description: 'The villages the cluster covers (các thôn, bản được phủ sóng); for an extension, those newly covered.',
  })),
}

const boardFields = {
  communeCode: CommuneCode('The commune-level unit the board is in.'),
  placement: StringEnum(['indoor', 'outdoor'], { description: 'Where it is set up: `indoor` (trong nhà) or `outdoor` (ngoài trời).' }),
  screenSizeInches: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1000, description: 'Screen diagonal in inches (kích thước màn hình).' })),
  status: DeviceStatus,
  address: Type.Optional(text(500, 'Address (địa chỉ).')),
  location: Type.Optional(ref(Location)),
}

const storedFields = {
  province: ProvinceCode('The province whose record it is.'),
  version: Type.Integer({ format: 'int64', minimum: 1, description: 'Incremented by every change; the ETag of the record.' }),
  createdAt: Instant(),
  updatedAt: Instant(),
  deletedAt: Nullable(Instant(), { description: 'When the province deleted it; null while it exists.' }),
}

const communeVerified = {
  communeVerified: Type.Boolean({ description: 'Whether the commune code was checked against the catalogue; false while the catalogue holds no communes for the province.' }),
}

/** The three schemas of one registry entity: a stored record, a record to upsert (with id), a record to replace (id in the path). */
function entitySchemas<F extends TProperties, S extends TProperties>(name: string, title: string, fields: F, stored: S, example: Record<string, unknown>) {
  const Input = Strict({ id: RecordId(), ...fields }, { $id: `${name}Input`, description: `${title}, as a province sends it.`, examples: [example] })
  const Replacement = Strict(fields, { $id: `${name}Replacement`, description: `${title}, replacing the stored one (the id is in the path).` })
  const Record = Strict({ id: RecordId(), ...fields, ...stored, ...storedFields }, { $id: name, description: `${title}, as stored.` })
  return { Input, Replacement, Record }
}

export const Station = entitySchemas('Station', 'A commune radio station (đài truyền thanh cấp xã)', stationFields, communeVerified, {
  id: 'dai-26740', communeCode: '26740', name: 'Đài truyền thanh phường Sài Gòn', kind: 'ip', status: 'operating',
  establishedOn: '2024-09-01', hasIntegrationDevice: true, location: { latitude: 10.776, longitude: 106.701 },
  programme: 'new_station', fundingSource: 'local_budget', operator: { name: 'Nguyễn Văn A', phone: '0283 822 0000' },
})
export const Cluster = entitySchemas('Cluster', 'A loudspeaker cluster (cụm loa)', clusterFields, {}, {
  id: 'loa-26740-01', stationId: 'dai-26740', village: 'Khu phố 1', kind: 'ip', installedOn: '2024-09-15', status: 'operating',
  location: { latitude: 10.777, longitude: 106.702 }, vendor: 'Công ty ABC', model: 'IP-4G-30W',
  programme: 'replacement', fundingSource: 'new_rural_development', replaces: ['loa-26740-fm-03'], villagesCovered: ['Khu phố 1', 'Khu phố 2'],
})
export const Board = entitySchemas('Board', 'A public electronic bulletin board (bảng tin điện tử công cộng)', boardFields, communeVerified, {
  id: 'bang-26740-01', communeCode: '26740', placement: 'outdoor', screenSizeInches: 65, status: 'operating',
})

export type StationInput = Static<typeof Station.Input>
export type ClusterInput = Static<typeof Cluster.Input>
export type BoardInput = Static<typeof Board.Input>

export const RegistryEntityName = StringEnum(['station', 'cluster', 'board'], {
  description: 'Kind of registry record: `station` (đài), `cluster` (cụm loa), `board` (bảng tin).',
})

const batchOf = <T extends TSchema>(name: string, input: T, title: string) => Strict({
  items: Type.Array(ref(input), {
    minItems: 1, maxItems: MAX_REGISTRY_BATCH,
    description: `Records to create or update, 1 to ${MAX_REGISTRY_BATCH}; all are applied or none.`,
  }),
}, { $id: `${name}Batch`, description: `A batch of ${title} to upsert by id.` })

export const StationBatch = batchOf('Station', Station.Input, 'stations')
export const ClusterBatch = batchOf('Cluster', Cluster.Input, 'loudspeaker clusters')
export const BoardBatch = batchOf('Board', Board.Input, 'bulletin boards')

export const RegistryBatch = Strict({
  stations: Type.Optional(Type.Array(ref(Station.Input), { maxItems: MAX_REGISTRY_BATCH, description: 'Stations (đài) to upsert.' })),
  clusters: Type.Optional(Type.Array(ref(Cluster.Input), { maxItems: MAX_REGISTRY_BATCH, description: 'Loudspeaker clusters (cụm loa) to upsert; their station may be in `stations`.' })),
  boards: Type.Optional(Type.Array(ref(Board.Input), { maxItems: MAX_REGISTRY_BATCH, description: 'Bulletin boards (bảng tin) to upsert.' })),
}, {
  $id: 'RegistryBatch',
  description: `Records of several kinds to upsert in one atomic batch: 1 to ${MAX_REGISTRY_BATCH} in all.`,
  // At least one list holds a record; the total over the lists is checked by the service.
  anyOf: ['stations', 'clusters', 'boards'].map((list) => ({ required: [list], properties: { [list]: { type: 'array', minItems: 1 } } })),
})

export const UpsertOutcome = Strict({
  id: RecordId(),
  version: Type.Integer({ format: 'int64', description: 'The version stored now.' }),
  result: StringEnum(['created', 'updated', 'unchanged'], {
    description: '`unchanged` when the record sent equals the stored one: its version stays and no change is emitted.',
  }),
}, { $id: 'UpsertOutcome', description: 'What happened to one record of a batch.' })

export const BatchResult = Strict({
  created: Type.Integer({ format: 'int64' }),
  updated: Type.Integer({ format: 'int64' }),
  unchanged: Type.Integer({ format: 'int64' }),
  items: Type.Array(ref(UpsertOutcome), { description: 'One outcome per record, in the order sent.' }),
  unverifiedCommunes: Type.Array(CommuneCode(), { description: 'Commune codes accepted without a check because the catalogue holds no communes for the province yet.' }),
  receipt: ref(Receipt),
}, { $id: 'BatchResult', description: 'The outcome of an atomic batch upsert, with its receipt.' })

const Tally = Strict({
  created: Type.Integer({ format: 'int64' }),
  updated: Type.Integer({ format: 'int64' }),
  unchanged: Type.Integer({ format: 'int64' }),
  items: Type.Array(ref(UpsertOutcome)),
}, { $id: 'UpsertTally', description: 'Outcomes of one kind of record in a batch.' })

export const RegistryBatchResult = Strict({
  stations: ref(Tally),
  clusters: ref(Tally),
  boards: ref(Tally),
  unverifiedCommunes: Type.Array(CommuneCode(), { description: 'Commune codes accepted without a check because the catalogue holds no communes for the province yet.' }),
  receipt: ref(Receipt),
}, { $id: 'RegistryBatchResult', description: 'The outcome of an atomic mixed batch, with its receipt.' })

export const RecordWriteResult = <T extends TSchema>(entity: T) => Strict({
  record: ref(entity),
  result: StringEnum(['updated', 'unchanged', 'deleted']),
  receipt: ref(Receipt),
}, { $id: `${(entity as { $id?: string }).$id}WriteResult`, description: 'The record as stored after the write, and the receipt.' })

export const StationWriteResult = RecordWriteResult(Station.Record)
export const ClusterWriteResult = RecordWriteResult(Cluster.Record)
export const BoardWriteResult = RecordWriteResult(Board.Record)

export const StationPage = Page('StationPage', ref(Station.Record), 'A page of stations, ordered by province and id.')
export const ClusterPage = Page('ClusterPage', ref(Cluster.Record), 'A page of loudspeaker clusters, ordered by province and id.')
export const BoardPage = Page('BoardPage', ref(Board.Record), 'A page of bulletin boards, ordered by province and id.')

const listFilters = {
  commune: Type.Optional(CommuneCode('Only records in this commune (for clusters: of stations in it).')),
  status: Type.Optional(DeviceStatus),
  updatedSince: Type.Optional(Instant('Only records changed at or after this instant.')),
  includeDeleted: Type.Optional(Type.Boolean({ default: false, description: 'Also list deleted records.' })),
  ...PageQuery,
}

export const StationListQuery = Strict({ kind: Type.Optional(StationKind), ...listFilters })
export const ClusterListQuery = Strict({ kind: Type.Optional(ClusterKind), station: Type.Optional(RecordId('Only clusters of this station.')), ...listFilters })
export const BoardListQuery = Strict({ placement: Type.Optional(StringEnum(['indoor', 'outdoor'])), ...listFilters })

const central = { province: Type.Optional(ProvinceCode('Only this province.')) }
export const StationNationalQuery = Strict({ ...central, kind: Type.Optional(StationKind), ...listFilters })
export const ClusterNationalQuery = Strict({ ...central, kind: Type.Optional(ClusterKind), station: Type.Optional(RecordId()), ...listFilters })
export const BoardNationalQuery = Strict({ ...central, placement: Type.Optional(StringEnum(['indoor', 'outdoor'])), ...listFilters })

/** One change of one kind of record; the feed's items are one of these, told apart by `entity`. */
const changeOf = <E extends 'station' | 'cluster' | 'board', R extends TSchema>(entity: E, Record: R, title: string) => Strict({
  seq: Type.Integer({ minimum: 1, format: 'int64', description: 'Global sequence number of the change.' }),
  entity: Type.Literal(entity),
  province: ProvinceCode(),
  id: RecordId(),
  operation: StringEnum(['upsert', 'delete']),
  version: Type.Integer({ format: 'int64', minimum: 1, description: 'Version of the record after the change.' }),
  changedAt: Instant(),
  record: Type.Unsafe<Static<R>>({ ...ref(Record), description: `The ${title}'s new state; for a delete, its last state with \`deletedAt\` set.` }),
}, { $id: `${entity[0]!.toUpperCase()}${entity.slice(1)}Change`, description: `One change of one ${title} (bản ghi thay đổi).` })

export const StationChange = changeOf('station', Station.Record, 'station')
export const ClusterChange = changeOf('cluster', Cluster.Record, 'cluster')
export const BoardChange = changeOf('board', Board.Record, 'board')

export const Change = Type.Union([ref(StationChange), ref(ClusterChange), ref(BoardChange)], {
  $id: 'Change',
  description: 'One change of one registry record (bản ghi thay đổi): a station, a cluster or a board, as `entity` says.',
  discriminator: { propertyName: 'entity', mapping: { station: '#/components/schemas/StationChange', cluster: '#/components/schemas/ClusterChange', board: '#/components/schemas/BoardChange' } },
})

export const ChangePage = Strict({
  items: Type.Array(ref(Change), { description: 'Changes in feed order.' }),
  nextCursor: FeedCursor('Where to continue: pass it as `after` next time, also when this page was empty.'),
}, { $id: 'ChangePage', description: 'A page of the changes feed. A consumer that always continues from `nextCursor` sees every change exactly once, in an order consistent with commits.' })

export const ChangesQuery = Strict({
  after: Type.Optional(FeedCursor('The `nextCursor` of the previous page; omitted to start from the beginning.')),
  entity: Type.Optional(RegistryEntityName),
  province: Type.Optional(ProvinceCode('Only this province; a provincial system may name only its own.')),
  limit: PageQuery.limit,
})

export const registryComponents = [
  Location, OperatorContact,
  Station.Input, Station.Replacement, Station.Record, Cluster.Input, Cluster.Replacement, Cluster.Record, Board.Input, Board.Replacement, Board.Record,
  StationBatch, ClusterBatch, BoardBatch, RegistryBatch, UpsertOutcome, BatchResult, Tally, RegistryBatchResult,
  StationWriteResult, ClusterWriteResult, BoardWriteResult, StationPage, ClusterPage, BoardPage, StationChange, ClusterChange, BoardChange, Change, ChangePage,
]
