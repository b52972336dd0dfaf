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
  /** On each succession from a former code to this unit: which part of the former unit went where, for instance. */
  successionNote: string | null
}

export interface ImportReport {
  rows: number
  added: string[]
  updated: string[]
  unchanged: number
  retired: string[]
  predecessorsAdded: number
  /** Former codes now succeeded by more than one unit. */
  split: string[]
  /** The catalogue version this import made; null when it changed nothing (or was a dry run). */
  version: number | null
}

export interface ImportSource { name: string, sha256: string }

class DryRun extends Error {
  constructor(readonly report: ImportReport) {
    super('dry run')
  }
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
   * Follows each code through its successions to every unit that exists today: a former unit
   * split between several new ones resolves to each of them, with the note of each succession.
   * Chains are short (a commune merged once, its province once): the walk is bounded at 8 steps.
   */
  async resolve(codes: string[]): Promise<Map<string, { unit: AdminUnit, note: string | null }[]>> {
    const { rows } = await sql<UnitRow & { start: string, note: string | null }>`
      with recursive edges(from_code, to_code, note) as (
        select predecessor_code, unit_code, note from admin_unit_predecessors where predecessor_code <> unit_code
        union
        select code, successor_code, null from admin_units where successor_code is not null
      ), walk(start, code, note, depth) as (
        select c, c, null::text, 0 from unnest(${codes}::text[]) as c
        union all
        select w.start, e.to_code, coalesce(e.note, w.note), w.depth + 1
        from walk w
        join admin_units u on u.code = w.code and u.status = 'retired'
        join edges e on e.from_code = w.code
        where w.depth < 8
      )
      select distinct on (w.start, u.code) w.start, w.note, ${sql.join(unitColumns.map((c) => sql.ref(`u.${c}`)))}
      from walk w join admin_units u on u.code = w.code and u.status = 'active'
      order by w.start, u.code, w.note nulls last`.execute(this.db)
    const resolved = new Map<string, { unit: AdminUnit, note: string | null }[]>()
    for (const row of rows) resolved.set(row.start, [...(resolved.get(row.start) ?? []), { unit: toUnit(row), note: row.note }])
    return resolved
  }

  async versions(): Promise<{ version: number, source: string, sha256: string, units: number, added: number, updated: number, retired: number, successions: number, importedAt: string }[]> {
    const rows = await this.db.selectFrom('catalogue_versions').selectAll().orderBy('version').execute()
    return rows.map((r) => ({ version: r.version, source: r.source, sha256: r.sha256, units: r.units, added: r.added, updated: r.updated, retired: r.retired, successions: r.successions, importedAt: r.imported_at.toISOString() }))
  }

  async changes(version: number, afterCode: string | undefined, limit: number) {
    let query = this.db.selectFrom('catalogue_changes').selectAll().where('version', '=', version).orderBy('code').orderBy('change').limit(limit + 1)
    if (afterCode !== undefined) query = query.where('code', '>', afterCode)
    return (await query.execute()).map((r) => ({ code: r.code, change: r.change, before: r.before as Record<string, unknown> | null, after: r.after as Record<string, unknown> | null }))
  }

  /** Codes of the active communes of a province among `codes`, to check references to them. */
  async activeCommunes(codes: string[]): Promise<Map<string, string>> {
    if (codes.length === 0) return new Map()
    const rows = await this.db.selectFrom('admin_units').select(['code', 'province_code'])
      .where('level', '=', 'commune').where('status', '=', 'active').where('code', 'in', codes).execute()
    return new Map(rows.map((r) => [r.code, r.province_code ?? '']))
  }

  /**
   * Imports the official list as a new version of the catalogue, in one transaction: every
   * unit added or changed, every former code retired, every succession recorded, each kept as a
   * change of the version with what it was before; nothing is overwritten without a trace. A
   * list equal to what is stored makes no version. A former code named by several units (a unit
   * split between them) is succeeded by each, with its note; `successorCode` is kept only when
   * there is exactly one. `dryRun` reports the same and writes nothing.
   */
  async importCommunes(rows: CommuneRow[], source: ImportSource, options: { dryRun?: boolean } = {}): Promise<ImportReport> {
    try {
      return await this.db.transaction().execute(async (trx) => {
        const report = await this.applyImport(trx, rows, source)
        if (options.dryRun) throw new DryRun({ ...report, version: null })
        return report
      })
    } catch (error) {
      if (error instanceof DryRun) return error.report
      throw error
    }
  }

  private async applyImport(trx: Db, rows: CommuneRow[], source: ImportSource): Promise<ImportReport> {
    const provinces = new Set((await trx.selectFrom('admin_units').select('code')
      .where('level', '=', 'province').where('status', '=', 'active').execute()).map((r) => r.code))
    const unknown = [...new Set(rows.map((r) => r.provinceCode).filter((p) => !provinces.has(p)))]
    if (unknown.length > 0) throw new UnknownProvinceError(`unknown or retired province codes: ${unknown.join(', ')}`)

    const report: ImportReport = { rows: rows.length, added: [], updated: [], unchanged: 0, retired: [], predecessorsAdded: 0, split: [], version: null }
    const changes: { code: string, change: 'added' | 'updated' | 'retired' | 'succession', before: unknown, after: unknown }[] = []
    const snapshot = (u: { name: string | null, kind: string | null, province_code: string | null, status: string, successor_code?: string | null }) =>
      ({ name: u.name, kind: u.kind, provinceCode: u.province_code, status: u.status, ...(u.successor_code !== undefined ? { successorCode: u.successor_code } : {}) })
    const currentCodes = new Set(rows.map((r) => r.code))
    for (let start = 0; start < rows.length; start += 1000) {
      const batch = rows.slice(start, start + 1000)
      const before = new Map((await trx.selectFrom('admin_units').select(['code', 'name', 'kind', 'province_code', 'status', 'successor_code'])
        .where('code', 'in', batch.map((r) => r.code)).execute()).map((u) => [u.code, u]))
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
        .returning(['code', 'name', 'kind', 'province_code', sql<boolean>`xmax = 0`.as('inserted')])
        .execute()
      for (const row of changed) {
        ;(row.inserted ? report.added : report.updated).push(row.code)
        const previous = before.get(row.code)
        changes.push({ code: row.code, change: row.inserted ? 'added' : 'updated', before: previous ? snapshot(previous) : null, after: snapshot({ ...row, status: 'active' }) })
      }
    }
    report.unchanged = rows.length - report.added.length - report.updated.length

    const successors = new Map<string, CommuneRow[]>()
    for (const row of rows) {
      for (const former of row.formerCodes) if (former !== row.code && !currentCodes.has(former)) successors.set(former, [...(successors.get(former) ?? []), row])
    }
    for (const [former, into] of successors) {
      if (into.length > 1) report.split.push(former)
      const only = into.length === 1 ? into[0]!.code : null
      const previous = await trx.selectFrom('admin_units').select(['name', 'kind', 'province_code', 'status', 'successor_code']).where('code', '=', former).executeTakeFirst()
      const retired = await trx.insertInto('admin_units')
        .values({ code: former, name: null, level: 'commune', kind: null, province_code: into[0]!.provinceCode, status: 'retired', successor_code: only, retired_on: into[0]!.effectiveOn })
        .onConflict((oc) => oc.column('code').doUpdateSet({
          status: 'retired', successor_code: only, retired_on: into[0]!.effectiveOn, updated_at: sql`now()`,
        }).where(sql<boolean>`(admin_units.status, admin_units.successor_code, admin_units.retired_on)
                   is distinct from ('retired', ${only}::text, ${into[0]!.effectiveOn}::date)`))
        .returning(['name', 'kind', 'province_code'])
        .executeTakeFirst()
      if (retired) {
        report.retired.push(former)
        changes.push({ code: former, change: 'retired', before: previous ? snapshot(previous) : null, after: { ...snapshot({ ...retired, status: 'retired' }), successorCode: only } })
      }
      for (const unit of into) {
        const added = await trx.insertInto('admin_unit_predecessors')
          .columns(['unit_code', 'predecessor_code', 'predecessor_name', 'effective_on', 'note'])
          .expression((eb) => eb.selectFrom('admin_units')
            .select([eb.val(unit.code).as('unit_code'), 'code', 'name', sql<string>`${unit.effectiveOn}::date`.as('effective_on'), sql<string | null>`${unit.successionNote}::text`.as('note')])
            .where('code', '=', former))
          .onConflict((oc) => oc.columns(['unit_code', 'predecessor_code']).doUpdateSet({ note: (eb) => eb.ref('excluded.note') })
            .where(sql<boolean>`admin_unit_predecessors.note is distinct from excluded.note`))
          .returning('unit_code')
          .executeTakeFirst()
        if (added) {
          report.predecessorsAdded++
          changes.push({ code: `${former}>${unit.code}`, change: 'succession', before: null, after: { from: former, to: unit.code, effectiveOn: unit.effectiveOn, note: unit.successionNote } })
        }
      }
    }
    if (changes.length === 0) return report

    const { rows: [last] } = await sql<{ version: number | null }>`select max(version) as version from catalogue_versions`.execute(trx)
    const version = (last?.version ?? 0) + 1
    const units = await trx.selectFrom('admin_units').select((eb) => eb.fn.countAll<number>().as('n')).where('level', '=', 'commune').where('status', '=', 'active').executeTakeFirstOrThrow()
    await trx.insertInto('catalogue_versions').values({
      version, source: source.name, sha256: source.sha256, units: Number(units.n), added: report.added.length, updated: report.updated.length,
      retired: report.retired.length, successions: report.predecessorsAdded,
    }).execute()
    for (let i = 0; i < changes.length; i += 1000) {
      await trx.insertInto('catalogue_changes').values(changes.slice(i, i + 1000).map((c) => ({
        version, code: c.code, change: c.change, before: c.before === null ? null : JSON.stringify(c.before), after: JSON.stringify(c.after),
      }))).execute()
    }
    return { ...report, version }
  }
}
