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

export interface AdminUnitPredecessorsTable {
  unit_code: string
  predecessor_code: string
  predecessor_name: string | null
  effective_on: string
}

export interface Tables {
  admin_units: AdminUnitsTable
  admin_unit_predecessors: AdminUnitPredecessorsTable
}
