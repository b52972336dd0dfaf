import { sql, type Kysely } from 'kysely'
import type { BoardInput, ClusterInput, StationInput } from '../../../schemas/registry.js'
import type { Problem } from '../../../schemas/common.js'
import type { Db } from '../../db/database.js'
import { HttpProblem } from '../../http/problem.js'
import { boards, clusters, contentHash, stations, type EntityName, type TableName } from './entities.js'

type FieldErrors = NonNullable<Problem['errors']>

export interface RegistryBatch {
  stations?: StationInput[]
  clusters?: ClusterInput[]
  boards?: BoardInput[]
}

/** Where each entity's records sit in the request body, to name a bad one by JSON pointer. */
export type PointerBases = Partial<Record<EntityName, string>>

export interface Outcome {
  id: string
  version: number
  result: 'created' | 'updated' | 'unchanged'
  /** The row as stored, for a write of one record that changed it (its answer shows the record). */
  row?: Record<string, unknown>
}

export interface BatchOutcome {
  outcomes: Record<EntityName, Outcome[]>
  unverifiedCommunes: string[]
}

export interface ListFilter {
  province?: string | undefined
  commune?: string | undefined
  kind?: string | undefined
  status?: string | undefined
  station?: string | undefined
  placement?: string | undefined
  updatedSince?: string | undefined
  includeDeleted: boolean
  after?: readonly [string, string] | undefined
  limit: number
}

const definitions = { station: stations, cluster: clusters, board: boards }

/** A stored row in the contract's shape: from a query, or from the row snapshot a feed entry holds as JSON. */
export function recordOf(entity: EntityName, row: Record<string, unknown>): Record<string, unknown> {
  const asDate = (value: unknown) => (typeof value === 'string' ? new Date(value) : value)
  const normalised = { ...row, created_at: asDate(row.created_at), updated_at: asDate(row.updated_at), deleted_at: asDate(row.deleted_at) }
  return (definitions[entity].toRecord as (row: never) => Record<string, unknown>)(normalised as never)
}
const tableOf: Record<EntityName, TableName> = { station: 'stations', cluster: 'clusters', board: 'boards' }

/**
 * The three registry tables share one shape (province, id, content hash, version, timestamps);
 * the generic statements below are written once against it, which Kysely's per-table types
 * cannot express, hence this one untyped view of the database.
 */
const untyped = (db: Db) => db as unknown as Kysely<Record<TableName, Record<string, unknown>>>

const duplicates = (ids: string[]) => {
  const seen = new Set<string>()
  return ids.map((id) => (seen.has(id) ? true : (seen.add(id), false)))
}

export class RegistryStore {
  constructor(private readonly db: Db) {}

  /**
   * Applies a batch atomically: every record is checked first and a bad one fails the whole
   * batch with every problem named; then each table gets one upsert. A record equal to the
   * stored one keeps its version and emits no change.
   */
  async applyBatch(trx: Db, province: string, batch: RegistryBatch, pointers: PointerBases): Promise<BatchOutcome> {
    const errors: FieldErrors = []
    const fail = (entity: EntityName, index: number, field: string, message: string) =>
      errors.push({ in: 'body', pointer: `${pointers[entity] ?? `/${tableOf[entity]}`}/${index}/${field}`, message })

    for (const entity of ['station', 'cluster', 'board'] as const) {
      const items = batch[tableOf[entity]] ?? []
      duplicates(items.map((i) => i.id)).forEach((dup, i) => { if (dup) fail(entity, i, 'id', `id ${items[i]!.id} appears more than once in the batch`) })
    }
    const verified = await this.checkCommunes(trx, province, batch, fail)
    await this.checkClusterStations(trx, province, batch, fail)
    if (errors.length > 0) {
      const summary = errors.slice(0, 3).map((e) => `${e.pointer}: ${e.message}`).join('; ')
      throw new HttpProblem('rule-violated', `nothing was written: ${summary}${errors.length > 3 ? `; and ${errors.length - 3} more` : ''}`, { errors })
    }

    const outcomes: Record<EntityName, Outcome[]> = { station: [], cluster: [], board: [] }
    if (batch.stations?.length) {
      outcomes.station = await this.upsert(trx, province, 'station', batch.stations.map((s) => stations.toColumns(s, verified.has(s.communeCode))))
    }
    if (batch.clusters?.length) {
      outcomes.cluster = await this.upsert(trx, province, 'cluster', batch.clusters.map((c) => clusters.toColumns(c)))
    }
    if (batch.boards?.length) {
      outcomes.board = await this.upsert(trx, province, 'board', batch.boards.map((b) => boards.toColumns(b, verified.has(b.communeCode))))
    }
    const communes = [...(batch.stations ?? []), ...(batch.boards ?? [])].map((r) => r.communeCode)
    return { outcomes, unverifiedCommunes: [...new Set(communes.filter((c) => !verified.has(c)))].sort() }
  }

  /**
   * A commune code must be an active commune of this province once the catalogue holds the
   * province's communes; until then codes are accepted unverified, unless the catalogue
   * places the code in another province. Returns the codes verified.
   */
  private async checkCommunes(trx: Db, province: string, batch: RegistryBatch, fail: (e: EntityName, i: number, f: string, m: string) => void): Promise<Set<string>> {
    const references = [
      ...(batch.stations ?? []).map((s, i) => ({ entity: 'station' as const, i, code: s.communeCode })),
      ...(batch.boards ?? []).map((b, i) => ({ entity: 'board' as const, i, code: b.communeCode })),
    ]
    if (references.length === 0) return new Set()
    const codes = [...new Set(references.map((r) => r.code))]
    // One round trip: the codes named, and whether the catalogue holds this province's communes yet.
    const { rows } = await sql<{ code: string | null, province_code: string | null, status: string | null, successor_code: string | null, catalogued: boolean }>`
      select u.code, u.province_code, u.status, u.successor_code, c.catalogued
      from (select exists (select 1 from admin_units where level = 'commune' and province_code = ${province} and status = 'active') as catalogued) c
      left join admin_units u on u.level = 'commune' and u.code in (${sql.join(codes)})`.execute(trx)
    const catalogued = rows[0]!.catalogued
    const known = rows.filter((row) => row.code !== null)
    const byCode = new Map(known.map((k) => [k.code, k]))
    const verified = new Set<string>()
    for (const { entity, i, code } of references) {
      const unit = byCode.get(code)
      if (unit && unit.province_code !== province) fail(entity, i, 'communeCode', `commune ${code} belongs to province ${unit.province_code}, not ${province}`)
      else if (unit?.status === 'retired') fail(entity, i, 'communeCode', `commune ${code} no longer exists${unit.successor_code ? `; it became part of ${unit.successor_code}` : ''}`)
      else if (unit) verified.add(code)
      else if (catalogued) fail(entity, i, 'communeCode', `commune ${code} is not in the catalogue of province ${province}`)
    }
    return verified
  }

  /** A cluster's station exists in this province (stored or in the same batch); a decommissioned station takes no new clusters. */
  private async checkClusterStations(trx: Db, province: string, batch: RegistryBatch, fail: (e: EntityName, i: number, f: string, m: string) => void): Promise<void> {
    const items = batch.clusters ?? []
    if (items.length === 0) return
    const inBatch = new Map((batch.stations ?? []).map((s) => [s.id, s.status]))
    const stationIds = [...new Set(items.map((c) => c.stationId).filter((id) => !inBatch.has(id)))]
    const storedStations = stationIds.length === 0 ? [] : await trx.selectFrom('stations').select(['id', 'status'])
      .where('province_code', '=', province).where('id', 'in', stationIds).where('deleted_at', 'is', null).execute()
    const statusOf = new Map([...storedStations.map((s) => [s.id, s.status] as const), ...inBatch])
    // Whether a cluster joins its station anew matters only for decommissioned stations.
    const toDecommissioned = items.filter((c) => statusOf.get(c.stationId) === 'decommissioned').map((c) => c.id)
    const current = new Map(toDecommissioned.length === 0 ? [] : (await trx.selectFrom('clusters').select(['id', 'station_id', 'deleted_at'])
      .where('province_code', '=', province).where('id', 'in', toDecommissioned).execute()).map((c) => [c.id, c]))
    // A replacement names the clusters it took over from: clusters of this province, stored or in the batch.
    const batchIds = new Set(items.map((c) => c.id))
    const replacedIds = [...new Set(items.flatMap((c) => c.replaces ?? []).filter((id) => !batchIds.has(id)))]
    const storedReplaced = new Set(replacedIds.length === 0 ? [] : (await trx.selectFrom('clusters').select('id')
      .where('province_code', '=', province).where('id', 'in', replacedIds).execute()).map((c) => c.id))
    items.forEach((cluster, i) => {
      if (cluster.replaces?.length && cluster.programme !== 'replacement') fail('cluster', i, 'replaces', 'only a replacement (programme replacement) names the clusters it replaced')
      for (const replaced of cluster.replaces ?? []) {
        if (replaced === cluster.id) fail('cluster', i, 'replaces', 'a cluster does not replace itself')
        else if (!batchIds.has(replaced) && !storedReplaced.has(replaced)) fail('cluster', i, 'replaces', `cluster ${replaced} does not exist in province ${province}`)
      }
      const status = statusOf.get(cluster.stationId)
      if (status === undefined) {
        fail('cluster', i, 'stationId', `station ${cluster.stationId} does not exist in province ${province}`)
        return
      }
      const existing = current.get(cluster.id)
      const joins = !existing || existing.deleted_at !== null || existing.station_id !== cluster.stationId
      if (status === 'decommissioned' && joins) {
        fail('cluster', i, 'stationId', `station ${cluster.stationId} is decommissioned and takes no new clusters`)
      }
    })
  }

  /**
   * One statement per table: the upsert, and in the same statement the feed rows of the
   * records it changed (the row as stored, turned into the contract's shape when read).
   */
  private async upsert(trx: Db, province: string, entity: EntityName, rows: Record<string, unknown>[]): Promise<Outcome[]> {
    const table = tableOf[entity]
    const columns = Object.keys(rows[0]!).filter((c) => c !== 'id')
    const inserted = ['id', ...columns, 'province_code', 'content_hash']
    // The whole batch travels as one JSON parameter that PostgreSQL unpacks into rows of the
    // table's type: one parameter instead of thousands, and no per-value work on either side.
    const batch = `[${rows.map((row) => {
      const json = JSON.stringify(row)
      return `${json.slice(0, -1)},"province_code":${JSON.stringify(province)},"content_hash":"${contentHash(json)}"}`
    }).join(',')}]`
    const changed = await untyped(trx)
      .with('upserted', (db) => db.insertInto(table).columns(inserted)
        .expression(sql`select ${sql.join(inserted.map((c) => sql.ref(c)))} from json_populate_recordset(null::${sql.table(table)}, ${batch}::json)`)
        .onConflict((oc) => oc.columns(['province_code', 'id']).doUpdateSet((eb) => ({
          ...Object.fromEntries([...columns, 'content_hash'].map((c) => [c, eb.ref(`excluded.${c}`)])),
          version: sql`${sql.table(table)}.version + 1`,
          updated_at: sql`now()`,
          deleted_at: null,
        })).where(sql<boolean>`${sql.table(table)}.content_hash is distinct from excluded.content_hash or ${sql.table(table)}.deleted_at is not null`))
        .returningAll()
        .returning(sql<boolean>`xmax = 0`.as('inserted')))
      .with('feed', (db) => db.insertInto('registry_changes' as TableName)
        .columns(['province_code', 'entity', 'record_id', 'operation', 'version', 'record'])
        .expression((eb) => eb.selectFrom('upserted' as TableName)
          .select(['province_code', sql.lit(entity).as('entity'), 'id', sql.lit('upsert').as('operation'), 'version', sql`to_jsonb(upserted) - 'inserted'`.as('record')])))
      .selectFrom('upserted' as TableName)
      .$call((query) => rows.length === 1 ? query.selectAll() : query.select(['id', 'version', 'inserted']))
      .execute()

    const result = new Map<string, Omit<Outcome, 'id'>>(changed.map((row) => [row.id as string, {
      version: row.version as number, result: row.inserted ? 'created' : 'updated', ...(rows.length === 1 ? { row } : {}),
    }]))
    const unchanged = rows.map((r) => r.id as string).filter((id) => !result.has(id))
    if (unchanged.length > 0) {
      const versions = await untyped(trx).selectFrom(table).select(['id', 'version'])
        .where('province_code', '=', province).where('id', 'in', unchanged).execute()
      for (const v of versions) result.set(v.id as string, { version: v.version as number, result: 'unchanged' })
    }
    return rows.map((r) => ({ id: r.id as string, ...result.get(r.id as string)! }))
  }

  /** The stored row, locked for the rest of the transaction when `forUpdate`. */
  async getRow(db: Db, entity: EntityName, province: string, id: string, forUpdate = false) {
    let query = untyped(db).selectFrom(tableOf[entity]).selectAll().where('province_code', '=', province).where('id', '=', id)
    if (forUpdate) query = query.forUpdate()
    return query.executeTakeFirst()
  }

  async get(entity: EntityName, province: string, id: string): Promise<Record<string, unknown> | undefined> {
    const row = await this.getRow(this.db, entity, province, id)
    return row && this.toRecord(entity, row)
  }

  toRecord(entity: EntityName, row: Record<string, unknown>): Record<string, unknown> {
    return recordOf(entity, row)
  }

  /** Soft-deletes a record; a station keeps its clusters, so it must lose them first. */
  async delete(trx: Db, entity: EntityName, province: string, id: string): Promise<Record<string, unknown>> {
    if (entity === 'station') {
      const live = await trx.selectFrom('clusters').select('id').where('province_code', '=', province)
        .where('station_id', '=', id).where('deleted_at', 'is', null).limit(1).executeTakeFirst()
      if (live) throw new HttpProblem('rule-violated', `station ${id} still has clusters (${live.id}); delete or move them first`)
    }
    const [row] = await untyped(trx)
      .with('deleted', (db) => db.updateTable(tableOf[entity])
        .set({ deleted_at: sql`now()`, version: sql`version + 1`, updated_at: sql`now()` })
        .where('province_code', '=', province).where('id', '=', id).where('deleted_at', 'is', null)
        .returningAll())
      .with('feed', (db) => db.insertInto('registry_changes' as TableName)
        .columns(['province_code', 'entity', 'record_id', 'operation', 'version', 'record'])
        .expression((eb) => eb.selectFrom('deleted' as TableName)
          .select(['province_code', sql.lit(entity).as('entity'), 'id', sql.lit('delete').as('operation'), 'version', sql`to_jsonb(deleted)`.as('record')])))
      .selectFrom('deleted' as TableName).selectAll().execute()
    return this.toRecord(entity, row!)
  }

  /** Records ordered by (province, id); `limit + 1` rows so the caller knows whether more follow. */
  async list(entity: EntityName, filter: ListFilter): Promise<Record<string, unknown>[]> {
    const table = tableOf[entity]
    let query = untyped(this.db).selectFrom(table).selectAll().orderBy('province_code').orderBy('id').limit(filter.limit + 1)
    if (filter.province) query = query.where('province_code', '=', filter.province)
    if (!filter.includeDeleted) query = query.where('deleted_at', 'is', null)
    if (filter.kind) query = query.where('kind', '=', filter.kind)
    if (filter.status) query = query.where('status', '=', filter.status)
    if (filter.placement) query = query.where('placement', '=', filter.placement)
    if (filter.station) query = query.where('station_id', '=', filter.station)
    if (filter.updatedSince) query = query.where('updated_at', '>=', new Date(filter.updatedSince))
    if (filter.commune) {
      const commune = filter.commune
      query = entity === 'cluster'
        ? query.where(sql<boolean>`exists (select 1 from stations s where s.province_code = clusters.province_code and s.id = clusters.station_id and s.commune_code = ${commune})`)
        : query.where('commune_code', '=', commune)
    }
    if (filter.after) query = query.where(sql<boolean>`(province_code, id) > (${filter.after[0]}, ${filter.after[1]})`)
    const rows = await query.execute()
    return rows.map((row) => this.toRecord(entity, row))
  }
}
