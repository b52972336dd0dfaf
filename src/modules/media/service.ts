import { mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { Static } from 'typebox'
import type { MediaReference } from '../../../schemas/media.js'
import type { Config } from '../../config.js'
import type { Db } from '../../db/database.js'
import { HttpProblem } from '../../http/problem.js'
import { fileDigests, inspectFile, refusedType, typeOfStart } from './inspect.js'
import type { MediaStorage, UploadArea } from './storage.js'
import { MediaStore, toReference, type MediaRow, type UploadRow } from './store.js'

/** Bytes file-type needs to tell every accepted type apart. */
const SNIFF_BYTES = 4100

/**
 * What a chunk did: the upload as it now stands, the refusal to answer with once it is recorded,
 * and whether its bytes in the upload area go once the transaction commits (not before: a
 * rolled-back transaction leaves the upload as it was, bytes included).
 */
export interface ChunkOutcome { upload: UploadRow, media?: MediaRow, refusal?: HttpProblem, dropBytes?: boolean }

/**
 * The rules of a resumable upload: chunks in order from the recorded offset, never past the
 * declared size, the type refused as soon as the first bytes show it, and the whole file
 * checked (hash, type, readable) before it enters the store.
 */
export class MediaUploads {
  constructor(private readonly store: MediaStore, private readonly storage: MediaStorage, private readonly area: UploadArea,
    private readonly config: Pick<Config, 'MEDIA_MAX_BYTES' | 'MEDIA_UPLOAD_HOURS'>) {}

  checkSize(bytes: number): void {
    if (bytes > this.config.MEDIA_MAX_BYTES) {
      throw new HttpProblem('media-too-large', `the file is ${bytes} bytes; this service accepts media of at most ${this.config.MEDIA_MAX_BYTES} bytes (MEDIA_MAX_BYTES)`)
    }
  }

  expiry(now: Date): Date {
    return new Date(now.getTime() + this.config.MEDIA_UPLOAD_HOURS * 3_600_000)
  }

  /** The upload, refused when it takes no more bytes; one past its time is marked expired on the way. */
  private async open(trx: Db, upload: UploadRow, now: Date): Promise<ChunkOutcome | undefined> {
    if (upload.state === 'open' && upload.expires_at <= now) {
      return { upload: await this.store.endUpload(trx, upload.id, 'expired'), dropBytes: true, refusal: new HttpProblem('upload-not-open', `upload ${upload.id} expired at ${upload.expires_at.toISOString()}; start a new one`) }
    }
    if (upload.state !== 'open') {
      throw new HttpProblem('upload-not-open', `upload ${upload.id} is ${upload.state}${upload.failure ? ` (${upload.failure})` : ''}; it takes no more bytes`)
    }
    return undefined
  }

  /** Appends a chunk at `offset`; the last one completes the upload, or rejects it. */
  async append(trx: Db, upload: UploadRow, offset: number, chunk: Buffer, now: Date): Promise<ChunkOutcome> {
    const closed = await this.open(trx, upload, now)
    if (closed) return closed
    if (offset !== upload.received) {
      throw new HttpProblem('upload-offset-mismatch', `upload ${upload.id} has ${upload.received} bytes; send the chunk from Upload-Offset ${upload.received}, not ${offset}`,
        { headers: { 'upload-offset': String(upload.received) } })
    }
    if (offset + chunk.length > upload.bytes) {
      throw new HttpProblem('body-too-large', `the chunk ends at byte ${offset + chunk.length}, past the ${upload.bytes} bytes declared for upload ${upload.id}`)
    }
    // An executable renamed .mp3 is refused at its first chunk, not after gigabytes.
    if (offset === 0 && chunk.length >= Math.min(SNIFF_BYTES, upload.bytes)) {
      const refused = refusedType(await typeOfStart(chunk))
      if (refused) return this.reject(trx, upload, 'media-type-refused', refused)
    }
    if (chunk.length > 0) await this.area.write(upload.id, offset, chunk)
    const advanced = chunk.length > 0 ? await this.store.received(trx, upload.id, offset + chunk.length) : upload
    return advanced.received === upload.bytes ? this.complete(trx, advanced) : { upload: advanced }
  }

  /** Checks the whole file and moves it into the store; a bad file is rejected with its bytes dropped. */
  private async complete(trx: Db, upload: UploadRow): Promise<ChunkOutcome> {
    const path = this.area.path(upload.id)
    const { sha256, sha1 } = await fileDigests(path)
    if (sha256 !== upload.sha256) {
      return this.reject(trx, upload, 'media-hash-mismatch', `the ${upload.bytes} bytes received have SHA-256 ${sha256}, not the ${upload.sha256} declared; start a new upload`)
    }
    const inspection = await inspectFile(path)
    if ('refused' in inspection) return this.reject(trx, upload, 'media-type-refused', inspection.refused)
    const media = await this.store.addMedia(trx, { sha256, sha1, bytes: upload.bytes, createdBy: upload.created_by, url: null, ...inspection })
    if (!await this.storage.holds(sha256)) await this.storage.keep(sha256, path)
    return { upload: await this.store.endUpload(trx, upload.id, 'complete'), media, dropBytes: true }
  }

  private async reject(trx: Db, upload: UploadRow, code: 'media-type-refused' | 'media-hash-mismatch', why: string): Promise<ChunkOutcome> {
    return { upload: await this.store.endUpload(trx, upload.id, 'rejected', why), refusal: new HttpProblem(code, why), dropBytes: true }
  }

  async cancel(trx: Db, upload: UploadRow): Promise<ChunkOutcome> {
    if (upload.state !== 'open') throw new HttpProblem('upload-not-open', `upload ${upload.id} is ${upload.state}; only an open upload can be cancelled`)
    return { upload: await this.store.endUpload(trx, upload.id, 'cancelled'), dropBytes: true }
  }

  /** Once the outcome is committed: drops the bytes it no longer needs. */
  async settle(outcome: ChunkOutcome): Promise<void> {
    if (outcome.dropBytes) await this.area.remove(outcome.upload.id)
  }
}

/**
 * The media of a content version as provinces receive them, in the order named: each must be
 * held by the service or verified by it, and stays held until the version is stored.
 */
export async function mediaForItem(store: MediaStore, trx: Db, requested: { sha256: string }[] = []): Promise<Static<typeof MediaReference>[]> {
  const named = requested.map((m) => m.sha256)
  const twice = named.filter((sha, i) => named.indexOf(sha) !== i)
  if (twice.length > 0) throw new HttpProblem('rule-violated', `media ${[...new Set(twice)].join(', ')} named more than once`)
  const { held, missing } = await store.holdForUse(trx, named)
  if (missing.length > 0) {
    throw new HttpProblem('media-not-stored', `no stored or verified media file with SHA-256 ${missing.join(', ')}: upload it with POST /v2/media/uploads, ` +
      'or register an https copy with POST /v2/media/external, before publishing')
  }
  return requested.map((m) => toReference(held.get(m.sha256)!))
}

/** A scratch file for checking fetched bytes, removed whatever happens. */
export async function withScratchFile<T>(folder: string, name: string, use: (path: string) => Promise<T>): Promise<T> {
  await mkdir(folder, { recursive: true })
  const path = join(folder, name)
  try {
    return await use(path)
  } finally {
    await rm(path, { force: true })
  }
}

