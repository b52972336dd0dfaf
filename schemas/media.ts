import { Type } from 'typebox'
import { Instant, Nullable, ref, Strict, StringEnum } from './common.js'
import { Receipt } from './trust.js'

/** The largest file the contract can describe; the operator's MEDIA_MAX_BYTES is at most this. */
export const MAX_MEDIA_BYTES = 10_000_000_000
/** The media type of an upload chunk, as in the tus protocol. */
export const CHUNK_CONTENT_TYPE = 'application/offset+octet-stream'

export const Sha256Hex = (description = 'SHA-256 of the file, lower-case hex (mã băm SHA-256).') =>
  Type.String({ minLength: 64, maxLength: 64, pattern: '^[0-9a-f]{64}$', description, examples: ['9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'] })

const ByteCount = (description: string) => Type.Integer({ minimum: 0, maximum: MAX_MEDIA_BYTES, format: 'int64', description })

export const MediaKind = StringEnum(['audio', 'video', 'image'], {
  description: '`audio` (âm thanh: MP3, AAC/M4A, Ogg Vorbis/Opus, WAV, FLAC), `video` (MP4, WebM), `image` (hình ảnh: JPEG, PNG, WebP).',
})

export const MediaSource = StringEnum(['stored', 'external'], {
  description: '`stored` (the service holds the file; download it with `GET /v2/media/{sha256}`), `external` (a file at an https URL elsewhere, whose hash the service checked by fetching it).',
})

const mediaFileFields = {
  sha256: Sha256Hex(),
  source: MediaSource,
  url: Type.String({ maxLength: 2000, description: 'Where to get the file: `/v2/media/{sha256}` on this service (a signed call) for stored media, the https URL for external media.' }),
  kind: MediaKind,
  mimeType: Type.String({ maxLength: 100, description: 'The type read from the file\'s bytes (not the one declared by the uploader), e.g. `audio/mpeg`.', examples: ['audio/mpeg'] }),
  bytes: ByteCount('Size in bytes.'),
  durationSeconds: Nullable(Type.Number({ minimum: 0 }), { description: 'Playing time in seconds (thời lượng), read from the file; null for images or when the file does not say.' }),
  codec: Nullable(Type.String({ maxLength: 100 }), { description: 'Codec read from the file, e.g. `MPEG 1 Layer 3`, `Opus`, `PCM`; null for images.' }),
}

export const MediaReference = Strict(mediaFileFields, {
  $id: 'MediaReference',
  description: 'A media file of a content item (tệp âm thanh, video, hình ảnh): stored by the service, or external with a verified hash. A receiver checks the SHA-256 after download.',
})

export const Media = Strict({
  ...mediaFileFields,
  container: Nullable(Type.String({ maxLength: 100 }), { description: 'Container format read from the file, e.g. `MPEG`, `Ogg`, `WAVE`.' }),
  createdBy: Type.String({ maxLength: 64, description: 'The system that uploaded or registered it.' }),
  createdAt: Instant(),
  removedAt: Nullable(Instant(), { description: 'When the retention job removed the file; null while it is held.' }),
}, { $id: 'Media', description: 'A media file the service holds or has verified.' })

export const MediaRequest = Strict({
  sha256: Sha256Hex('SHA-256 of a file uploaded with `POST /v2/media/uploads` or registered with `POST /v2/media/external`.'),
}, { $id: 'MediaRequest', description: 'A media file of the item, named by its hash; the service fills in the rest from what it verified.' })

export const UploadRequest = Strict({
  bytes: Type.Integer({ minimum: 1, maximum: MAX_MEDIA_BYTES, format: 'int64', description: 'Size of the whole file in bytes; at most the deployment\'s MEDIA_MAX_BYTES (413 beyond it).' }),
  sha256: Sha256Hex('SHA-256 of the whole file: checked once the last byte is in.'),
  fileName: Type.Optional(Type.String({ minLength: 1, maxLength: 255, pattern: '^[^/\\\\\\u0000-\\u001f]+$', description: 'The file\'s name, for people; no slashes or control characters.' })),
  mimeType: Type.Optional(Type.String({ maxLength: 100, pattern: '^[a-z]+/[A-Za-z0-9.+-]+$', description: 'The type the uploader believes it is; the service goes by the bytes, and says so when they differ.' })),
}, {
  $id: 'UploadRequest',
  description: 'Starts a resumable upload (tải lên) of one media file.',
  examples: [{ bytes: 4_812_345, sha256: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08', fileName: 'ban-tin-bao-so-3.mp3', mimeType: 'audio/mpeg' }],
})

export const UploadState = StringEnum(['open', 'complete', 'rejected', 'cancelled', 'expired'], { description: '`open` (send the bytes from `offset`), `complete` (stored and verified: see `media`), `rejected` (the whole file failed a check: see `failure`), `cancelled` (by its uploader), `expired` (not finished by `expiresAt`).' })

export const Upload = Strict({
  id: Type.String({ format: 'uuid' }),
  state: UploadState,
  bytes: ByteCount('Size of the whole file.'),
  offset: ByteCount('Bytes received so far: the next chunk starts here.'),
  sha256: Sha256Hex('The hash the file must have.'),
  fileName: Nullable(Type.String({ maxLength: 255 })),
  declaredType: Nullable(Type.String({ maxLength: 100 }), { description: 'The type the uploader declared.' }),
  chunkMaxBytes: Type.Integer({ format: 'int64', minimum: 1, description: 'Largest chunk one PATCH may carry on this deployment (MEDIA_CHUNK_BYTES).' }),
  createdAt: Instant(),
  expiresAt: Instant('An upload not complete by then is dropped, with its bytes.'),
  failure: Nullable(Type.String(), { description: 'Why the file was rejected.' }),
  media: Nullable(ref(Media), { description: 'The stored file, once complete.' }),
}, { $id: 'Upload', description: 'A resumable upload. After a cut connection, read it to learn `offset` and send the rest from there.' })

export const UploadWriteResult = Strict({ upload: ref(Upload), receipt: ref(Receipt) }, { $id: 'UploadWriteResult', description: 'The upload as it stands after the call, and the receipt.' })

export const ExternalMediaRequest = Strict({
  url: Type.String({ maxLength: 2000, pattern: '^https?://[^\\s]+$', description: 'An https URL of the file at a public address (plain http only to the operator\'s test hosts, OUTBOUND_ALLOWED_HOSTS); the service fetches it once, without following redirects.' }),
  sha256: Sha256Hex('SHA-256 the fetched file must have.'),
}, {
  $id: 'ExternalMediaRequest',
  description: 'Registers a media file hosted elsewhere: the service fetches it, checks its hash, type and size, and reads its playing time; it keeps the reference, not the file.',
  examples: [{ url: 'https://media.vov.vn/ban-tin/2026-12-02.mp3', sha256: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08' }],
})

export const MediaWriteResult = Strict({ media: ref(Media), receipt: ref(Receipt) }, { $id: 'MediaWriteResult', description: 'The media as verified, and the receipt.' })

export const mediaComponents = [MediaReference, Media, MediaRequest, UploadRequest, Upload, UploadWriteResult, ExternalMediaRequest, MediaWriteResult]
