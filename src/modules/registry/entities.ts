import { createHash } from 'node:crypto'
import type { Selectable } from 'kysely'
import type { Static } from 'typebox'
import type { Board, BoardInput, Cluster, ClusterInput, Station, StationInput } from '../../../schemas/registry.js'
import type { BoardsTable, ClustersTable, StationsTable } from '../../db/tables.js'

export type EntityName = 'station' | 'cluster' | 'board'
export type TableName = 'stations' | 'clusters' | 'boards'

type Location = { latitude: number, longitude: number } | undefined
const locationOf = (row: { latitude: number | null, longitude: number | null }) =>
  row.latitude === null || row.longitude === null ? {} : { location: { latitude: row.latitude, longitude: row.longitude } }
const coordinates = (location: Location) => ({ latitude: location?.latitude ?? null, longitude: location?.longitude ?? null })
const withoutNulls = <T extends Record<string, unknown>>(value: T) =>
  Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null)) as { [K in keyof T]: Exclude<T[K], null> }
const optional = <K extends string, V>(key: K, value: V | null) => (value === null ? {} : { [key]: value } as Record<K, V>)

const stored = (row: { province_code: string, version: number, created_at: Date, updated_at: Date, deleted_at: Date | null }) => ({
  province: row.province_code,
  version: row.version,
  createdAt: row.created_at.toISOString(),
  updatedAt: row.updated_at.toISOString(),
  deletedAt: row.deleted_at?.toISOString() ?? null,
})

/**
 * A hash of a record's columns (as JSON text), to see a record sent again unchanged.
 * `toColumns` builds every object with its keys in one fixed order, so the text is canonical.
 */
export const contentHash = (columnsJson: string) => createHash('sha256').update(columnsJson).digest('base64url')

/** How each registry entity maps between the contract and its table. */
export const stations = {
  name: 'station' as const,
  table: 'stations' as const,
  toColumns: (input: StationInput, communeVerified: boolean) => ({
    id: input.id,
    commune_code: input.communeCode,
    commune_verified: communeVerified,
    name: input.name,
    kind: input.kind,
    status: input.status,
    established_on: input.establishedOn ?? null,
    has_integration_device: input.hasIntegrationDevice ?? false,
    address: input.address ?? null,
    ...coordinates(input.location),
    programme: input.programme ?? null,
    funding_source: input.fundingSource ?? null,
    operator: input.operator ? { name: input.operator.name ?? null, phone: input.operator.phone ?? null, email: input.operator.email ?? null } : null,
  }),
  toRecord: (row: Selectable<StationsTable>): Static<typeof Station.Record> => ({
    id: row.id,
    communeCode: row.commune_code,
    name: row.name,
    kind: row.kind as StationInput['kind'],
    status: row.status as StationInput['status'],
    ...optional('establishedOn', row.established_on),
    hasIntegrationDevice: row.has_integration_device,
    ...optional('address', row.address),
    ...locationOf(row),
    ...optional('programme', row.programme as StationInput['programme'] | null),
    ...optional('fundingSource', row.funding_source as StationInput['fundingSource'] | null),
    ...optional('operator', row.operator === null ? null : withoutNulls(row.operator as Record<string, string | null>)),
    communeVerified: row.commune_verified,
    ...stored(row),
  }),
}

export const clusters = {
  name: 'cluster' as const,
  table: 'clusters' as const,
  toColumns: (input: ClusterInput) => ({
    id: input.id,
    station_id: input.stationId,
    village: input.village ?? null,
    kind: input.kind,
    installed_on: input.installedOn ?? null,
    status: input.status,
    ...coordinates(input.location),
    vendor: input.vendor ?? null,
    model: input.model ?? null,
    programme: input.programme ?? null,
    funding_source: input.fundingSource ?? null,
    replaces: input.replaces ?? [],
    villages_covered: input.villagesCovered ?? [],
  }),
  toRecord: (row: Selectable<ClustersTable>): Static<typeof Cluster.Record> => ({
    id: row.id,
    stationId: row.station_id,
    ...optional('village', row.village),
    kind: row.kind as ClusterInput['kind'],
    ...optional('installedOn', row.installed_on),
    status: row.status as ClusterInput['status'],
    ...locationOf(row),
    ...optional('vendor', row.vendor),
    ...optional('model', row.model),
    ...optional('programme', row.programme as ClusterInput['programme'] | null),
    ...optional('fundingSource', row.funding_source as ClusterInput['fundingSource'] | null),
    ...(row.replaces?.length ? { replaces: row.replaces } : {}),
    ...(row.villages_covered?.length ? { villagesCovered: row.villages_covered } : {}),
    ...stored(row),
  }),
}

export const boards = {
  name: 'board' as const,
  table: 'boards' as const,
  toColumns: (input: BoardInput, communeVerified: boolean) => ({
    id: input.id,
    commune_code: input.communeCode,
    commune_verified: communeVerified,
    placement: input.placement,
    screen_size_inches: input.screenSizeInches ?? null,
    status: input.status,
    address: input.address ?? null,
    ...coordinates(input.location),
  }),
  toRecord: (row: Selectable<BoardsTable>): Static<typeof Board.Record> => ({
    id: row.id,
    communeCode: row.commune_code,
    placement: row.placement as BoardInput['placement'],
    ...optional('screenSizeInches', row.screen_size_inches),
    status: row.status as BoardInput['status'],
    ...optional('address', row.address),
    ...locationOf(row),
    communeVerified: row.commune_verified,
    ...stored(row),
  }),
}
