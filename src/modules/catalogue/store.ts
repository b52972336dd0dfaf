import { sql, type Selectable } from 'kysely'
import type { Db } from '../../db/database.js'
import type { AdminUnitsTable } from '../../db/tables.js'
import type { AdminUnit, AdminUnitDetail } from '../../../schemas/catalogue.js'

export interface ListUnitsFilter {
  level?: 'province' | 'commune' | undefined
  province?: string | undefined
  includeRetired: boolean
  afterCode?: string | undefined
  limit: number
}

export interface CommuneRow {
  code: string
  name: string
  kind: 'xa' | 'phuong' | 'dac_khu'
  provinceCode: string
  formerCodes: string[]
  effectiveOn: string
}

export interface ImportReport {
  rows: number
  added: string[]
  updated: string[]
  unchanged: number
  retired: string[]
  predecessorsAdded: number
}

export class UnknownProvinceError extends Error {}

const unitColumns = ['code', 'name', 'level', 'kind', 'province_code', 'status', 'successor_code', 'retired_on', 'updated_at'] as const

type UnitRow = Selectable<AdminUnitsTable>

const toUnit = (row: UnitRow): AdminUnit => ({
  code: row.code,
  name: row.name,
  level: row.level,
  kind: row.kind as AdminUnit['kind'],
  provinceCode: row.province_code,
  status: row.status,
  successorCode: row.successor_code,
  retiredOn: row.retired_on,
  updatedAt: row.updated_at.toISOString(),
})

export class CatalogueStore {
  constructor(private readonly db: Db) {}

  /** Rows ordered by code, `limit + 1` of them so the caller knows whether another page follows. */
  async list(filter: ListUnitsFilter): Promise<AdminUnit[]> {
    let query = this.db.selectFrom('admin_units').select(unitColumns).orderBy('code').limit(filter.limit + 1)
    if (filter.level) query = query.where('level', '=', filter.level)
    if (filter.province) {
      const province = filter.province
      query = query.where((eb) => eb.or([eb('code', '=', province), eb('province_code', '=', province)]))
    }
    if (!filter.includeRetired) query = query.where('status', '=', 'active')
    if (filter.afterCode !== undefined) query = query.where('code', '>', filter.afterCode)
    return (await query.execute()).map(toUnit)
  }

  async get(code: string): Promise<AdminUnitDetail | undefined> {
    const row = await this.db.selectFrom('admin_units').select(unitColumns).where('code', '=', code).executeTakeFirst()
    if (!row) return undefined
    const [predecessors, successor] = await Promise.all([
      this.db.selectFrom('admin_unit_predecessors')
        .select(['predecessor_code as code', 'predecessor_name as name', 'effective_on as effectiveOn'])
        .where('unit_code', '=', code).orderBy('predecessor_code').execute(),
      row.successor_code
        ? this.db.selectFrom('admin_units').select(['code', 'name']).where('code', '=', row.successor_code).executeTakeFirst()
        : undefined,
    ])
    return { ...toUnit(row), predecessors, successor: successor ?? null }
  }

  /**
   * Follows each code through its successors to the unit that exists today. Merger chains
   * are short (a commune merged once, its province once), so the walk is bounded at 8 steps.
   */
  async resolve(codes: string[]): Promise<Map<string, AdminUnit>> {
    const rows = await this.db
      .withRecursive('chain(start, code, successor_code, status, depth)', (db) => db
        .selectFrom('admin_units')
        .select(['code as start', 'code', 'successor_code', 'status', sql<number>`0`.as('depth')])
        .where('code', 'in', codes)
        .unionAll((eb) => eb.selectFrom('chain')
          .innerJoin('admin_units as u', 'u.code', 'chain.successor_code')
          .select(['chain.start', 'u.code', 'u.successor_code', 'u.status', sql<number>`chain.depth + 1`.as('depth')])
          .where('chain.status', '=', 'retired')
          .where('chain.depth', '<', 8)))
      .selectFrom('chain')
      .innerJoin('admin_units', 'admin_units.code', 'chain.code')
      .select(['chain.start', ...unitColumns.map((c) => `admin_units.${c}` as const)])
      .where('admin_units.status', '=', 'active')
      .execute()
    return new Map(rows.map((row) => [row.start, toUnit(row)]))
  }

  /** Codes of the active communes of a province among `codes`, to check references to them. */
  async activeCommunes(codes: string[]): Promise<Map<string, string>> {
    if (codes.length === 0) return new Map()
    const rows = await this.db.selectFrom('admin_units').select(['code', 'province_code'])
      .where('level', '=', 'commune').where('status', '=', 'active').where('code', 'in', codes).execute()
    return new Map(rows.map((r) => [r.code, r.province_code ?? '']))
  }

  /**
   * Upserts commune-level units from the official list in one transaction. A row equal to
   * what is stored changes nothing, so importing the same file twice reports no change.
   * A former code the list names is retired into its successor and kept, never deleted.
   */
  async importCommunes(rows: CommuneRow[]): Promise<ImportReport> {
    return this.db.transaction().execute(async (trx) => {
      const provinces = new Set((await trx.selectFrom('admin_units').select('code')
        .where('level', '=', 'province').where('status', '=', 'active').execute()).map((r) => r.code))
      const unknown = [...new Set(rows.map((r) => r.provinceCode).filter((p) => !provinces.has(p)))]
      if (unknown.length > 0) throw new UnknownProvinceError(`unknown or retired province codes: ${unknown.join(', ')}`)

      const report: ImportReport = { rows: rows.length, added: [], updated: [], unchanged: 0, retired: [], predecessorsAdded: 0 }
      const currentCodes = new Set(rows.map((r) => r.code))
      for (let start = 0; start < rows.length; start += 1000) {
        const batch = rows.slice(start, start + 1000)
        const changed = await trx.insertInto('admin_units')
          .values(batch.map((r) => ({ code: r.code, name: r.name, level: 'commune' as const, kind: r.kind, province_code: r.provinceCode, status: 'active' as const })))
          .onConflict((oc) => oc.column('code').doUpdateSet({
            name: (eb) => eb.ref('excluded.name'),
            kind: (eb) => eb.ref('excluded.kind'),
            province_code: (eb) => eb.ref('excluded.province_code'),
            status: 'active',
            successor_code: null,
            retired_on: null,
            updated_at: sql`now()`,
          }).where(sql<boolean>`(admin_units.name, admin_units.kind, admin_units.province_code, admin_units.status)
                     is distinct from (excluded.name, excluded.kind, excluded.province_code, 'active')`))
          .returning(['code', sql<boolean>`xmax = 0`.as('inserted')])
          .execute()
        for (const row of changed) (row.inserted ? report.added : report.updated).push(row.code)
      }
      report.unchanged = rows.length - report.added.length - report.updated.length

      const successions = rows.flatMap((r) => r.formerCodes.filter((f) => f !== r.code && !currentCodes.has(f))
        .map((former) => ({ former, successor: r.code, provinceCode: r.provinceCode, effectiveOn: r.effectiveOn })))
      for (const s of successions) {
        const retired = await trx.insertInto('admin_units')
          .values({ code: s.former, name: null, level: 'commune', kind: null, province_code: s.provinceCode, status: 'retired', successor_code: s.successor, retired_on: s.effectiveOn })
          .onConflict((oc) => oc.column('code').doUpdateSet({
            status: 'retired', successor_code: s.successor, retired_on: s.effectiveOn, updated_at: sql`now()`,
          }).where(sql<boolean>`(admin_units.status, admin_units.successor_code, admin_units.retired_on)
                     is distinct from ('retired', ${s.successor}, ${s.effectiveOn}::date)`))
          .returning('code')
          .executeTakeFirst()
        if (retired) report.retired.push(s.former)
        const added = await trx.insertInto('admin_unit_predecessors')
          .columns(['unit_code', 'predecessor_code', 'predecessor_name', 'effective_on'])
          .expression((eb) => eb.selectFrom('admin_units')
            .select([eb.val(s.successor).as('unit_code'), 'code', 'name', sql<string>`${s.effectiveOn}::date`.as('effective_on')])
            .where('code', '=', s.former))
          .onConflict((oc) => oc.doNothing())
          .executeTakeFirst()
        report.predecessorsAdded += Number(added.numInsertedOrUpdatedRows ?? 0)
      }
      return report
    })
  }
}
