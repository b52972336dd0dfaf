import type { FastifyBaseLogger } from 'fastify'
import type { Config } from '../../config.js'
import type { Db } from '../../db/database.js'
import type { MediaStorage, UploadArea } from './storage.js'
import type { MediaStore } from './store.js'

/** Files removed in one transaction, so one run holds few locks however much is due. */
const BATCH = 500

export interface RetentionReport {
  uploadsExpired: string[]
  removed: { sha256: string, bytes: number }[]
}

/**
 * Media stays while an item in force uses it: the job drops uploads past their time and removes
 * stored files that no active, unexpired item uses once MEDIA_UNUSED_HOURS have passed since their
 * upload. The rows say when each file went; the file goes after its row commits, so a failed run
 * leaves a file without a use, never a use without its file.
 */
export class MediaRetention {
  constructor(private readonly db: Db, private readonly store: MediaStore, private readonly storage: MediaStorage, private readonly area: UploadArea,
    private readonly config: Pick<Config, 'MEDIA_UNUSED_HOURS'>, private readonly log: FastifyBaseLogger) {}

  async run(): Promise<RetentionReport> {
    const uploadsExpired = await this.db.transaction().execute((trx) => this.store.expireUploads(trx))
    for (const id of uploadsExpired) await this.area.remove(id)
    const removed: RetentionReport['removed'] = []
    for (;;) {
      const batch = await this.db.transaction().execute((trx) => this.store.removeUnused(trx, this.config.MEDIA_UNUSED_HOURS, BATCH))
      for (const row of batch) {
        await this.storage.remove(row.sha256)
        removed.push({ sha256: row.sha256, bytes: row.bytes })
      }
      if (batch.length < BATCH) break
    }
    if (uploadsExpired.length > 0 || removed.length > 0) {
      this.log.info({ job: 'media-retention', uploadsExpired, removed, bytesFreed: removed.reduce((sum, r) => sum + r.bytes, 0) },
        `media retention removed ${removed.length} files no item in force uses and ${uploadsExpired.length} expired uploads`)
    }
    return { uploadsExpired, removed }
  }
}
