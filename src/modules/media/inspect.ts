import { createHash } from 'node:crypto'
import { open } from 'node:fs/promises'
import { fileTypeFromBuffer, fileTypeFromFile } from 'file-type'
import { parseFile } from 'music-metadata'
import type { Static } from 'typebox'
import type { MediaKind as MediaKindSchema } from '../../../schemas/media.js'

type MediaKind = Static<typeof MediaKindSchema>

/** The types central may send to commune stations and boards, as read from the bytes, by kind. */
const ACCEPTED: Record<string, MediaKind> = {
  'audio/mpeg': 'audio', 'audio/aac': 'audio', 'audio/mp4': 'audio', 'audio/x-m4a': 'audio', 'audio/ogg': 'audio', 'audio/ogg; codecs=opus': 'audio',
  'audio/wav': 'audio', 'audio/flac': 'audio',
  'video/mp4': 'video', 'video/webm': 'video',
  'image/jpeg': 'image', 'image/png': 'image', 'image/webp': 'image',
}

export const ACCEPTED_TYPES = Object.keys(ACCEPTED)

export interface Inspection {
  kind: MediaKind
  mimeType: string
  codec: string | null
  container: string | null
  durationSeconds: number | null
}

/** Why bytes of this type are not accepted, or nothing when they are. */
export function refusedType(detected: string | undefined): string | undefined {
  if (detected && ACCEPTED[detected]) return undefined
  return `the file's bytes are ${detected ? `of type ${detected}` : 'of no type the service recognises'}; accepted: ${ACCEPTED_TYPES.join(', ')}`
}

/** The type of the first bytes of a file, to refuse a wrong one before the rest is sent. */
export async function typeOfStart(bytes: Buffer): Promise<string | undefined> {
  return (await fileTypeFromBuffer(bytes))?.mime
}

/** Reads a whole file: its real type from its bytes, then codec, container and playing time with a parser for the format. */
export async function inspectFile(path: string): Promise<Inspection | { refused: string }> {
  const detected = (await fileTypeFromFile(path))?.mime
  const refused = refusedType(detected)
  if (refused) return { refused }
  const mimeType = detected!
  const kind = ACCEPTED[mimeType]!
  if (kind === 'image') return { kind, mimeType, codec: null, container: null, durationSeconds: null }
  try {
    const { format } = await parseFile(path, { duration: true, skipCovers: true })
    const duration = format.duration !== undefined && Number.isFinite(format.duration) ? Math.round(format.duration * 1000) / 1000 : null
    return { kind, mimeType, codec: format.codec ?? null, container: format.container ?? null, durationSeconds: duration }
  } catch (error) {
    return { refused: `the file looks like ${mimeType} but cannot be read as one: ${(error as Error).message}` }
  }
}

const DIGEST_BUFFER_BYTES = 1024 * 1024

/**
 * SHA-256 of a whole file, and the SHA-1 CAP 1.2 names resources by, hex, in one read. One buffer
 * is read into again and again: a stream's fresh chunk per read made a gigabyte's hash spend
 * more time collecting garbage than hashing.
 */
export async function fileDigests(path: string): Promise<{ sha256: string, sha1: string }> {
  const sha256 = createHash('sha256')
  const sha1 = createHash('sha1')
  const buffer = Buffer.allocUnsafe(DIGEST_BUFFER_BYTES)
  const file = await open(path, 'r')
  try {
    for (;;) {
      const { bytesRead } = await file.read(buffer, 0, buffer.length, null)
      if (bytesRead === 0) break
      const read = buffer.subarray(0, bytesRead)
      sha256.update(read)
      sha1.update(read)
    }
  } finally {
    await file.close()
  }
  return { sha256: sha256.digest('hex'), sha1: sha1.digest('hex') }
}
