import { randomUUID } from 'node:crypto'
import { constants, createReadStream } from 'node:fs'
import { copyFile, link, mkdir, open, rename, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { Readable } from 'node:stream'

/**
 * Where checked media files live, named by their SHA-256. A deployment that keeps files in an
 * S3-compatible object store implements this beside FileMediaStorage; nothing else names a path.
 */
export interface MediaStorage {
  /** Copies a checked file into the store under its hash, leaving the original where it is. */
  keep(sha256: string, checkedFile: string): Promise<void>
  /** Bytes `start` to `end` (both included) of a stored file, or all of it. */
  read(sha256: string, range?: { start: number, end: number }): Readable
  /** Whether the store holds the file. */
  holds(sha256: string): Promise<boolean>
  /** Removes a stored file; nothing when it is absent. */
  remove(sha256: string): Promise<void>
}

/** Files on a local (or shared) disk: `objects/ab/cd/<sha256>`. */
export class FileMediaStorage implements MediaStorage {
  constructor(private readonly root: string) {}

  private path(sha256: string): string {
    return join(this.root, 'objects', sha256.slice(0, 2), sha256.slice(2, 4), sha256)
  }

  async keep(sha256: string, checkedFile: string): Promise<void> {
    const target = this.path(sha256)
    await mkdir(join(target, '..'), { recursive: true })
    // Linked (copied across disks) beside the target, then renamed: a reader sees no file or the whole of it.
    const partial = `${target}.${randomUUID()}.partial`
    await link(checkedFile, partial).catch(() => copyFile(checkedFile, partial))
    try {
      await rename(partial, target)
    } finally {
      await rm(partial, { force: true })
    }
  }

  read(sha256: string, range?: { start: number, end: number }): Readable {
    return createReadStream(this.path(sha256), range ?? {})
  }

  async holds(sha256: string): Promise<boolean> {
    return stat(this.path(sha256)).then(() => true, () => false)
  }

  async remove(sha256: string): Promise<void> {
    await rm(this.path(sha256), { force: true })
  }
}

/**
 * The bytes of uploads in progress, one file each. Each chunk is written at its offset and flushed to disk before the
 * offset is committed, so a chunk sent again after a crash overwrites what an unfinished one left.
 */
export class UploadArea {
  readonly folder: string

  constructor(root: string) {
    this.folder = join(root, 'uploads')
  }

  path(id: string): string {
    return join(this.folder, id)
  }

  async write(id: string, offset: number, bytes: Buffer): Promise<void> {
    await mkdir(this.folder, { recursive: true })
    const file = await open(this.path(id), constants.O_RDWR | constants.O_CREAT)
    try {
      await file.write(bytes, 0, bytes.length, offset)
      await file.sync()
    } finally {
      await file.close()
    }
  }

  async remove(id: string): Promise<void> {
    await rm(this.path(id), { force: true })
  }
}

/** The folder of the media store: MEDIA_DIR, or `media` in DATA_DIR. */
export const mediaRoot = (config: { MEDIA_DIR?: string | undefined, DATA_DIR: string }) => config.MEDIA_DIR ?? join(config.DATA_DIR, 'media')
