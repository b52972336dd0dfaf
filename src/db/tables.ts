import type { ColumnType } from 'kysely'

/** Timestamps are read as Date and may be written as Date or ISO text. */
export type Timestamp = ColumnType<Date, Date | string, Date | string>
/** A timestamp the database fills in when the row is written without it. */
export type DefaultedTimestamp = ColumnType<Date, Date | string | undefined, Date | string>

export interface AdminUnitsTable {
  code: string
  name: string | null
  level: 'province' | 'commune'
  kind: string | null
  province_code: string | null
  status: 'active' | 'retired'
  successor_code: string | null
  retired_on: string | null
  updated_at: DefaultedTimestamp
}

export interface CatalogueVersionsTable {
  version: number
  source: string
  sha256: string
  units: number
  added: number
  updated: number
  retired: number
  successions: number
  imported_at: DefaultedTimestamp
}

export interface CatalogueChangesTable {
  version: number
  code: string
  change: 'added' | 'updated' | 'retired' | 'succession'
  before: Json | null
  after: Json | null
}

export interface AdminUnitPredecessorsTable {
  unit_code: string
  predecessor_code: string
  predecessor_name: string | null
  effective_on: string
  note: ColumnType<string | null, string | null | undefined, string | null>
}

export interface SystemsTable {
  id: string
  role: 'province' | 'central'
  province_code: string | null
  name: string
  jwks_uri: string | null
  webhook_url: string | null
  status: ColumnType<'active' | 'suspended', 'active' | 'suspended' | undefined, 'active' | 'suspended'>
  key_recovery: ColumnType<boolean, boolean | undefined, boolean>
  version: ColumnType<number, number | undefined, number>
  created_at: DefaultedTimestamp
  updated_at: DefaultedTimestamp
}

export interface SystemEventsTable {
  id: string
  type: 'system.keys-recovered'
  system_id: string
  payload: Json
  occurred_at: DefaultedTimestamp
}

export interface SystemKeysTable {
  system_id: string
  kid: string
  alg: 'ES256' | 'EdDSA'
  jwk: ColumnType<Record<string, unknown>, string, string>
  status: ColumnType<'active' | 'retired', 'active' | 'retired' | undefined, 'active' | 'retired'>
  added_at: DefaultedTimestamp
  retired_at: Timestamp | null
}

export interface CallTokensSeenTable {
  issuer: string
  jti: string
  expires_at: Timestamp
}

export interface ReceiptsTable {
  id: string
  issued_at: Timestamp
  caller: string
  province_code: string | null
  jws: string
}

export interface AuditLogTable {
  id: ColumnType<number, number | undefined, never>
  kind: ColumnType<'call' | 'refusals' | 'void', 'call' | 'refusals' | 'void' | undefined, never>
  at: Timestamp | null
  caller: string | null
  verified: boolean | null
  kid: string | null
  jti: string | null
  method: string | null
  path: string | null
  operation: string | null
  body_sha256: string | null
  status: number | null
  problem_code: string | null
  receipt_id: string | null
  request_id: string | null
  call_token: string | null
  refusals: number | null
  until: Timestamp | null
  leaf_hash: Buffer | null
  actor: ColumnType<unknown, string | null | undefined, never>
}

export interface AuditTreeNodesTable {
  level: number
  index: number
  hash: Buffer
}

export interface AuditCheckpointsTable {
  tree_size: number
  root_hash: Buffer
  signed_at: Timestamp
  kid: string
  jws: string
}

export interface AuditCosignaturesTable {
  tree_size: number
  witness: string
  kid: string
  cosigned_at: Timestamp
  jws: string
  received_at: DefaultedTimestamp
}

export interface AuditTreeStateTable {
  singleton: ColumnType<boolean, never, never>
  tree_size: number
  pending_upto: number | null
  pending_xmax: string | null
}

export interface ServiceKeysTable {
  kid: string
  alg: 'ES256' | 'EdDSA'
  jwk: Json
  first_used_at: DefaultedTimestamp
}

interface RegistryColumns {
  province_code: string
  id: string
  content_hash: string
  version: ColumnType<number, number | undefined, number>
  created_at: DefaultedTimestamp
  updated_at: DefaultedTimestamp
  deleted_at: Timestamp | null
}

type Json = ColumnType<unknown, string | null, string | null>
type JsonObject = ColumnType<unknown, object | null, object | null>

export interface StationsTable extends RegistryColumns {
  commune_code: string
  commune_verified: boolean
  name: string
  kind: string
  status: string
  established_on: string | null
  has_integration_device: boolean
  address: string | null
  latitude: number | null
  longitude: number | null
  programme: string | null
  funding_source: string | null
  operator: JsonObject
}

export interface ClustersTable extends RegistryColumns {
  station_id: string
  village: string | null
  kind: string
  installed_on: string | null
  status: string
  latitude: number | null
  longitude: number | null
  vendor: string | null
  model: string | null
  programme: string | null
  funding_source: string | null
  replaces: string[]
  villages_covered: string[]
}

export interface BoardsTable extends RegistryColumns {
  commune_code: string
  commune_verified: boolean
  placement: string
  screen_size_inches: number | null
  status: string
  address: string | null
  latitude: number | null
  longitude: number | null
}

export interface RegistryChangesTable {
  seq: ColumnType<number, never, never>
  xid: ColumnType<string, never, never>
  province_code: string
  entity: 'station' | 'cluster' | 'board'
  record_id: string
  operation: 'upsert' | 'delete'
  version: number
  record: Json
  changed_at: DefaultedTimestamp
}

export interface IdempotencyKeysTable {
  caller: string
  key: string
  request_hash: string
  receipt_id: string
  response_status: number | null
  response_type: string | null
  response_body: string | null
  created_at: DefaultedTimestamp
  expires_at: Timestamp
}

export interface ReportPeriodsTable {
  id: string
  kind: 'six_month' | 'annual' | 'radio_appendices' | 'extra'
  year: number
  title: string
  as_of: string | null
  due_on: string
  forms: string[]
  custom_forms: ColumnType<unknown, string | undefined, string>
  corrected_at: Timestamp | null
  correction_reason: string | null
  created_at: DefaultedTimestamp
}

export interface ReportDeadlineExtensionsTable {
  period_id: string
  province_code: string
  due_on: string
  reason: string
  granted_by: string
  granted_at: DefaultedTimestamp
}

export interface ReportSubmissionsTable {
  province_code: string
  period_id: string
  form: string
  version: number
  data: ColumnType<unknown, string, string>
  submitted_at: Timestamp
  on_time: boolean
  state: ColumnType<'submitted' | 'accepted' | 'returned', 'submitted' | 'accepted' | 'returned' | undefined, 'submitted' | 'accepted' | 'returned'>
  review_comment: string | null
  reviewed_at: Timestamp | null
  reviewed_by: string | null
  receipt_id: string
  warnings: ColumnType<unknown, string, string>
  derived: ColumnType<unknown, string | null | undefined, string | null>
  drafted_by: ColumnType<unknown, string | null | undefined, string | null>
  approved_by: ColumnType<unknown, string | null | undefined, string | null>
  reviewed_by_person: ColumnType<unknown, string | null | undefined, string | null>
}

interface StatusEventColumns {
  province_code: string
  device_type: 'station' | 'cluster' | 'board'
  device_id: string
  state: 'online' | 'offline' | 'playing' | 'idle' | 'fault'
  observed_at: Timestamp
  fault_code: string | null
  fault_message: string | null
  volume_percent: number | null
  signal_dbm: number | null
  supply_voltage: number | null
  temperature_c: number | null
  received_at: Timestamp
}

/** The newest report of a device, and since when it has been in that state (its open period). */
export type DeviceStatusTable = StatusEventColumns & { run_started_at: Timestamp }
/** A period of one state: `observed_at` its first report, with that report's details; `last_seen_at` its last. */
export type DeviceStatusHistoryTable = StatusEventColumns & { last_seen_at: Timestamp, late: ColumnType<boolean, boolean | undefined, boolean> }

interface StateDurations {
  online_ms: ColumnType<string, number | undefined, number>
  offline_ms: ColumnType<string, number | undefined, number>
  playing_ms: ColumnType<string, number | undefined, number>
  idle_ms: ColumnType<string, number | undefined, number>
  fault_ms: ColumnType<string, number | undefined, number>
  silent_ms: ColumnType<string, number | undefined, number>
  faults: ColumnType<number, number | undefined, number>
}

export interface DeviceStatusDaysTable extends StateDurations {
  province_code: string
  device_type: 'station' | 'cluster' | 'board'
  device_id: string
  day: ColumnType<Date, string, string>
  last_seen_at: Timestamp | null
}

export interface ProvinceStatusDaysTable extends StateDurations {
  province_code: string
  day: ColumnType<Date, string, string>
  last_seen_at: Timestamp | null
}

export interface Tables extends ContentTables, ScheduleTables {
  admin_units: AdminUnitsTable
  admin_unit_predecessors: AdminUnitPredecessorsTable
  catalogue_versions: CatalogueVersionsTable
  catalogue_changes: CatalogueChangesTable
  systems: SystemsTable
  system_events: SystemEventsTable
  system_keys: SystemKeysTable
  call_tokens_seen: CallTokensSeenTable
  receipts: ReceiptsTable
  audit_log: AuditLogTable
  audit_tree_nodes: AuditTreeNodesTable
  audit_checkpoints: AuditCheckpointsTable
  audit_cosignatures: AuditCosignaturesTable
  audit_tree_state: AuditTreeStateTable
  service_keys: ServiceKeysTable
  stations: StationsTable
  clusters: ClustersTable
  boards: BoardsTable
  registry_changes: RegistryChangesTable
  idempotency_keys: IdempotencyKeysTable
  report_periods: ReportPeriodsTable
  report_submissions: ReportSubmissionsTable
  report_deadline_extensions: ReportDeadlineExtensionsTable
  device_status: DeviceStatusTable
  device_status_history: DeviceStatusHistoryTable
  device_status_days: DeviceStatusDaysTable
  province_status_days: ProvinceStatusDaysTable
}

export interface ContentTopicsTable {
  id: string
  kind: 'essential_category' | 'propaganda_task' | 'custom'
  title: string
  basis: string | null
  position: ColumnType<number, never, never>
  created_at: DefaultedTimestamp
}

export interface ContentsTable {
  id: string
  origin: 'central' | 'province'
  province_code: string | null
  version: number
  status: 'active' | 'withdrawn'
  topic_id: string
  priority: 'normal' | 'priority' | 'emergency'
  targets: string[] | null
  /** The provinces the current version is for: its target provinces and those of its target communes; null for every province (migration 0025). */
  audience: string[] | null
  language: string
  test: boolean
  item: ColumnType<unknown, string, string>
  published_by: string
  published_at: Timestamp
  updated_at: Timestamp
  valid_until: Timestamp | null
}

export interface ContentEventsTable {
  seq: ColumnType<number, never, never>
  xid: ColumnType<string, never, never>
  id: string
  content_id: string
  version: number
  type: 'content.published' | 'content.updated' | 'content.withdrawn'
  audience: string[] | null
  item: ColumnType<unknown, string, string>
  occurred_at: Timestamp
}

export interface WebhookOutboxTable {
  notification_id: string
  province_code: string
  system_id: string
  content_id: string | null
  rank: number
  state: ColumnType<'pending' | 'delivered', 'pending' | 'delivered' | undefined, 'pending' | 'delivered'>
  attempts: ColumnType<number, number | undefined, number>
  last_attempt_at: Timestamp | null
  last_status: number | null
  last_error: string | null
  delivered_at: Timestamp | null
  created_at: DefaultedTimestamp
}

export interface WebhookLanesTable {
  province_code: string
  failures: ColumnType<number, number | undefined, number>
  next_attempt_at: DefaultedTimestamp
  lease_owner: string | null
  lease_expires_at: Timestamp | null
}

/** The instances sending the outbox and when each was last heard from (migration 0024). */
export interface WebhookSendersTable {
  owner: string
  heard_at: Timestamp
}

export interface ContentAcksTable {
  content_id: string
  province_code: string
  version: number
  received_at: Timestamp
  scheduled_at: Timestamp | null
  stations: number | null
  /** The target communes the acknowledgement covers; null for all the item targets in the province. */
  communes: string[] | null
  acknowledged_at: DefaultedTimestamp
}

export interface BroadcastLogsTable {
  province_code: string
  station_id: string
  started_at: Timestamp
  ended_at: Timestamp
  content_id: string | null
  local_ref: string | null
  clusters_reached: number | null
  source: 'central' | 'province' | 'commune' | 'relay'
  received_at: DefaultedTimestamp
}

export interface ContentTables {
  content_topics: ContentTopicsTable
  contents: ContentsTable
  content_events: ContentEventsTable
  webhook_outbox: WebhookOutboxTable
  webhook_lanes: WebhookLanesTable
  webhook_senders: WebhookSendersTable
  content_acks: ContentAcksTable
  broadcast_logs: BroadcastLogsTable
  broadcast_airtime_daily: BroadcastAirtimeDailyTable
  media: MediaTable
  media_uploads: MediaUploadsTable
  content_media: ContentMediaTable
  content_latency: ContentLatencyTable
}

/** Kept by a trigger on broadcast_logs (migrations 0011, 0021 and 0025): exercises' plays apart from the others. */
export interface BroadcastAirtimeDailyTable {
  province_code: string
  day: string
  /** Airtime of every play but those of exercises. */
  seconds: number
  /** Plays of central or shared content items, not exercises. */
  content_plays: ColumnType<number, number | undefined, number>
  exercise_seconds: ColumnType<number, number | undefined, number>
  exercise_plays: ColumnType<number, number | undefined, number>
}

export interface MediaTable {
  sha256: string
  sha1: string
  source: 'stored' | 'external'
  url: string | null
  kind: 'audio' | 'video' | 'image'
  mime_type: string
  bytes: number
  duration_seconds: number | null
  codec: string | null
  container: string | null
  created_by: string
  created_at: DefaultedTimestamp
  removed_at: Timestamp | null
  removal_reason: string | null
}

export interface MediaUploadsTable {
  id: string
  created_by: string
  bytes: number
  sha256: string
  file_name: string | null
  declared_type: string | null
  received: ColumnType<number, number | undefined, number>
  state: ColumnType<'open' | 'complete' | 'rejected' | 'cancelled' | 'expired', 'open' | undefined, 'open' | 'complete' | 'rejected' | 'cancelled' | 'expired'>
  failure: string | null
  created_at: DefaultedTimestamp
  expires_at: Timestamp
  ended_at: Timestamp | null
}

export interface ContentMediaTable {
  content_id: string
  sha256: string
}

/** Written by the webhook sender and the acknowledgement (migration 0029). */
export interface ContentLatencyTable {
  content_id: string
  province_code: string
  priority: 'normal' | 'priority' | 'emergency'
  test: boolean
  published_at: Timestamp
  delivered_seconds: number | null
  acknowledged_seconds: number | null
}

/** A station-day's schedule, with its cross-check figures kept by the database (migration 0027). */
export interface BroadcastSchedulesTable {
  province_code: string
  station_id: string
  day: string
  version: number
  slots_hash: string
  updated_at: DefaultedTimestamp
  slots: number
  aired: ColumnType<number, number | undefined, number>
  logs: ColumnType<number, number | undefined, number>
  matched_logs: ColumnType<number, number | undefined, number>
}

export interface BroadcastScheduleSlotsTable {
  province_code: string
  station_id: string
  day: string
  starts_at: Timestamp
  ends_at: Timestamp
  content_id: string | null
  local_programme: string | null
  source: 'local' | 'relay-national' | 'relay-provincial'
  /** Kept by the database: whether a broadcast log airs the slot. */
  aired: ColumnType<boolean, boolean | undefined, boolean>
}

/** Plays of scheduled station-days that air no slot, kept by the database. */
export interface BroadcastScheduleUnplannedTable {
  province_code: string
  station_id: string
  started_at: Timestamp
}

/** Sums of the schedules' figures per province and Vietnam day, kept by a trigger. */
export interface BroadcastScheduleDailyTable {
  province_code: string
  day: string
  slots: number
  aired: number
  logs: number
  matched_logs: number
}

export interface ScheduleTables {
  broadcast_schedules: BroadcastSchedulesTable
  broadcast_schedule_slots: BroadcastScheduleSlotsTable
  broadcast_schedule_unplanned: BroadcastScheduleUnplannedTable
  broadcast_schedule_daily: BroadcastScheduleDailyTable
}
