import { sql, type Selectable } from 'kysely'
import type { Static } from 'typebox'
import type { Media, MediaReference, Upload } from '../../../schemas/media.js'
import type { Db } from '../../db/database.js'
import type { MediaTable, MediaUploadsTable } from '../../db/tables.js'
import type { Inspection } from './inspect.js'

export type MediaRow = Selectable<MediaTable>
export type UploadRow = Selectable<MediaUploadsTable>

const downloadPath = (sha256: string) => `/v2/media/${sha256}`

export const toReference = (row: MediaRow): Static<typeof MediaReference> => ({
  sha256: row.sha256, source: row.source, url: row.url ?? downloadPath(row.sha256), kind: row.kind, mimeType: row.mime_type, bytes: row.bytes,
  durationSeconds: row.duration_seconds, codec: row.codec,
})

export const toMedia = (row: MediaRow): Static<typeof Media> => ({
  ...toReference(row), container: row.container, createdBy: row.created_by, createdAt: row.created_at.toISOString(), removedAt: row.removed_at?.toISOString() ?? null,
})

export const toUpload = (row: UploadRow, chunkMaxBytes: number, media: MediaRow | undefined): Static<typeof Upload> => ({
  id: row.id, state: row.state, bytes: row.bytes, offset: row.received, sha256: row.sha256, fileName: row.file_name, declaredType: row.declared_type, chunkMaxBytes,
  createdAt: row.created_at.toISOString(), expiresAt: row.expires_at.toISOString(), failure: row.failure, media: media ? toMedia(media) : null,
})

/** A content item still in force uses the file: the retention job keeps it. */
const inUse = sql<boolean>`exists (
  select 1 from content_media cm join contents c on c.id = cm.content_id
  where cm.sha256 = media.sha256 and c.status = 'active' and (c.valid_until is null or c.valid_until > now()))`

export class MediaStore {
  constructor(private readonly db: Db) {}

  async createUpload(trx: Db, upload: { id: string, createdBy: string, bytes: number, sha256: string, fileName: string | null, declaredType: string | null, expiresAt: Date }): Promise<UploadRow> {
    return trx.insertInto('media_uploads').values({
      id: upload.id, created_by: upload.createdBy, bytes: upload.bytes, sha256: upload.sha256, file_name: upload.fileName, declared_type: upload.declaredType, expires_at: upload.expiresAt,
    }).returningAll().executeTakeFirstOrThrow()
  }

  /** An upload, locked against concurrent chunks when `lock`. */
  async upload(id: string, db: Db = this.db, lock = false): Promise<UploadRow | undefined> {
    let query = db.selectFrom('media_uploads').selectAll().where('id', '=', id)
    if (lock) query = query.forUpdate()
    return query.executeTakeFirst()
  }

  async received(trx: Db, id: string, received: number): Promise<UploadRow> {
    return trx.updateTable('media_uploads').set({ received }).where('id', '=', id).returningAll().executeTakeFirstOrThrow()
  }

  async endUpload(trx: Db, id: string, state: 'complete' | 'rejected' | 'cancelled' | 'expired', failure: string | null = null): Promise<UploadRow> {
    return trx.updateTable('media_uploads').set({ state, failure, ended_at: sql`now()` }).where('id', '=', id).returningAll().executeTakeFirstOrThrow()
  }

  async media(sha256: string, db: Db = this.db): Promise<MediaRow | undefined> {
    return db.selectFrom('media').selectAll().where('sha256', '=', sha256).executeTakeFirst()
  }

  /**
   * Records a checked file. The same bytes again revive a removed row, and a stored copy
   * replaces an external reference; an external reference never replaces a stored copy.
   */
  async addMedia(trx: Db, file: { sha256: string, sha1: string, bytes: number, createdBy: string, url: string | null } & Inspection): Promise<MediaRow> {
    const row = {
      sha256: file.sha256, sha1: file.sha1, source: file.url ? 'external' as const : 'stored' as const, url: file.url, kind: file.kind, mime_type: file.mimeType, bytes: file.bytes,
      duration_seconds: file.durationSeconds, codec: file.codec, container: file.container, created_by: file.createdBy,
    }
    const { sha256: _key, ...update } = row
    await trx.insertInto('media').values(row)
      .onConflict((oc) => oc.column('sha256').doUpdateSet({ ...update, created_at: sql`now()`, removed_at: null, removal_reason: null })
        .where(sql<boolean>`media.removed_at is not null or (media.source = 'external' and excluded.source = 'stored')`))
      .execute()
    return (await this.media(file.sha256, trx))!
  }

  /**
   * The files a content version names, held against the retention job until the transaction
   * ends; those not held (unknown or removed) are missing.
   */
  async holdForUse(trx: Db, sha256s: string[]): Promise<{ held: Map<string, MediaRow>, missing: string[] }> {
    const rows = sha256s.length === 0 ? [] : await trx.selectFrom('media').selectAll().where('sha256', 'in', sha256s).where('removed_at', 'is', null).forShare().execute()
    const held = new Map(rows.map((row) => [row.sha256, row]))
    return { held, missing: sha256s.filter((sha) => !held.has(sha)) }
  }

  /** Whether a system of the province uploaded or registered the file. */
  async fromProvince(sha256: string, province: string): Promise<boolean> {
    const row = await this.db.selectFrom('media as m').innerJoin('systems as s', 's.id', 'm.created_by').select('m.sha256')
      .where('m.sha256', '=', sha256).where('s.province_code', '=', province).executeTakeFirst()
    return row !== undefined
  }

  /** The items whose current version uses the file. */
  async usedBy(sha256: string): Promise<string[]> {
    const rows = await this.db.selectFrom('content_media').select('content_id').where('sha256', '=', sha256).execute()
    return rows.map((row) => row.content_id)
  }

  /** Marks open uploads past their time as expired; their ids, for their bytes to be deleted. */
  async expireUploads(trx: Db): Promise<string[]> {
    const rows = await trx.updateTable('media_uploads').set({ state: 'expired', ended_at: sql`now()` })
      .where('state', '=', 'open').where('expires_at', '<=', sql<Date>`now()`).returning('id').execute()
    return rows.map((row) => row.id)
  }

  /**
   * Marks as removed the stored files no item in force uses, uploaded more than `unusedHours`
   * ago. Candidates are locked first and checked again by a later statement, which sees every
   * use committed before the lock was taken, so a publication that held a file keeps it.
   */
  async removeUnused(trx: Db, unusedHours: number, limit: number): Promise<MediaRow[]> {
    const candidates = await trx.selectFrom('media').select('sha256')
      .where('removed_at', 'is', null).where('source', '=', 'stored')
      .where('created_at', '<', sql<Date>`now() - make_interval(hours => ${unusedHours})`)
      .where(sql<boolean>`not ${inUse}`)
      .orderBy('created_at').limit(limit).forUpdate().skipLocked().execute()
    if (candidates.length === 0) return []
    return trx.updateTable('media').set({ removed_at: sql`now()`, removal_reason: 'no content item in force uses it' })
      .where('sha256', 'in', candidates.map((c) => c.sha256)).where(sql<boolean>`not ${inUse}`)
      .returningAll().execute()
  }
}
