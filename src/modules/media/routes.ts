import { randomUUID } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { once } from 'node:events'
import type { FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { publicPath } from '../../config.js'
import { Strict, ref } from '../../../schemas/common.js'
import { CHUNK_CONTENT_TYPE, ExternalMediaRequest, MediaWriteResult, Sha256Hex, UploadRequest, Upload, UploadWriteResult } from '../../../schemas/media.js'
import type { App } from '../../app-type.js'
import type { Db } from '../../db/database.js'
import { every } from '../../jobs.js'
import { OutboundClient, OutboundRefused, outboundPolicy } from '../../http/outbound.js'
import { HttpProblem, notFound } from '../../http/problem.js'
import { byteRange, noneMatch, rangeStillValid } from '../../http/range.js'
import { ETAG_HEADER, problemResponses } from '../../http/responses.js'
import { ContentStore } from '../content/store.js'
import { ACCEPTED_TYPES, fileDigests, inspectFile } from './inspect.js'
import { MediaRetention } from './retention.js'
import { MediaUploads, withScratchFile, type ChunkOutcome } from './service.js'
import { FileMediaStorage, UploadArea, mediaRoot } from './storage.js'
import { MediaStore, toMedia, toUpload, type UploadRow } from './store.js'
import { notFoundExample, outboundUrlProblems, routeProblems, type RouteProblems } from '../../http/problem-examples.js'

const UploadParams = Strict({ id: Type.String({ format: 'uuid', description: 'Upload id.' }) })
const MediaParams = Strict({ sha256: Sha256Hex() })
const uploadHeaders = {
  'Upload-Offset': { type: 'integer', format: 'int64', minimum: 0, description: 'Bytes received so far (tus `Upload-Offset`).' },
  'Upload-Length': { type: 'integer', format: 'int64', minimum: 1, description: 'Size of the whole file (tus `Upload-Length`).' },
}
const binary = (description: string) => ({ type: 'string', format: 'binary', description })
/** A download answers in the file's own type, read from its bytes when it was stored. */
const fileContent = (description: string) => Object.fromEntries(['audio/*', 'video/*', 'image/*'].map((range) => [range, { schema: binary(description) }]))
const downloadHeaders = {
  ETag: { ...ETAG_HEADER, description: 'The SHA-256 of the file, quoted: it never changes, so a cached copy stays valid.' },
  'Accept-Ranges': { type: 'string', enum: ['bytes'] },
  'Content-Length': { type: 'integer', format: 'int64' },
}


const UPLOAD_ID = '5e0a7c3f-9b2d-4f18-a6e4-1c8d3b9f2a71'
const SHA256 = '2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae'
const tooLarge: RouteProblems = { 413: [{ code: 'media-too-large', detail: 'the file is 21474836480 bytes; this service accepts media of at most 10737418240 bytes (MEDIA_MAX_BYTES)' }] }
/** What the service finds when it reads a whole file (or the start of one). */
const refusedFile: RouteProblems = {
  422: [
    { code: 'media-type-refused', detail: `the file's bytes are of type application/x-elf; accepted: ${ACCEPTED_TYPES.join(', ')}` },
    { code: 'media-hash-mismatch', detail: `the 1843200 bytes received have SHA-256 ${SHA256}, not the 9f2b6c1d4e8a7f3b0c5d2e9a6b1f4c8d7e3a0b5c2d9f6e1a4b7c0d3e8f5a2b6c declared; start a new upload` },
  ],
}
const notOpen: RouteProblems = { 409: [{ code: 'upload-not-open', detail: `upload ${UPLOAD_ID} is complete; it takes no more bytes` }] }

export async function mediaRoutes(app: App) {
  const { config, database } = app.deps
  const { db } = database
  const root = mediaRoot(config)
  const store = new MediaStore(db)
  const contents = new ContentStore(db)
  const storage = app.deps.mediaStorage ?? new FileMediaStorage(root)
  const area = new UploadArea(root)
  const uploads = new MediaUploads(store, storage, area, config)
  const retention = new MediaRetention(db, store, storage, area, config, app.log)
  const fetcher = new OutboundClient(outboundPolicy(config.OUTBOUND_ALLOWED_HOSTS),
    // One byte more than a file may have, so that a larger one is refused here as too large.
    { connectMs: 10_000, headersMs: 30_000, totalMs: config.MEDIA_FETCH_TIMEOUT_MS, maxBytes: config.MEDIA_MAX_BYTES + 1 })
  const job = every(config.MEDIA_RETENTION_INTERVAL_MS, 'media-retention', app.log, () => retention.run())
  app.addHook('onClose', async () => { await job.stop(); await fetcher.close() })

  /** A province downloads its own uploads and the files of items it may read (sent to it, or shared by it). */
  const mayDownload = async (sha256: string, province: string) =>
    await store.fromProvince(sha256, province) || (await contents.visibility(await store.usedBy(sha256), province)).visible.size > 0

  /** An upload the caller may see: its own, or any for central. */
  const uploadOrFail = async (request: FastifyRequest, db: Db, lock = false): Promise<UploadRow> => {
    const { id } = request.params as { id: string }
    const upload = await store.upload(id, db, lock)
    const caller = request.caller!
    if (!upload || (caller.role !== 'central' && upload.created_by !== caller.systemId)) throw notFound(`upload ${id}`)
    return upload
  }
  const uploadAnswer = async (row: UploadRow, db: Db) => toUpload(row, config.MEDIA_CHUNK_BYTES, row.state === 'complete' ? await store.media(row.sha256, db) : undefined)

  /** Commits an upload's change with its receipt, then drops the bytes it no longer needs; a refusal is answered once recorded. */
  const recordUpload = async (request: FastifyRequest, status: 200 | 201, change: (trx: Db) => Promise<ChunkOutcome>) => {
    const { outcome, answer } = await db.transaction().execute(async (trx) => {
      const outcome = await change(trx)
      const upload = await uploadAnswer(outcome.upload, trx)
      if (outcome.refusal) return { outcome, answer: undefined }
      const receipt = await app.receipts.issue(request, {
        status, records: [{ entity: 'media-upload', id: upload.id, state: upload.state, offset: upload.offset, ...(upload.media ? { media: upload.media.sha256 } : {}) }],
      }, trx)
      return { outcome, answer: { upload, receipt } }
    })
    await uploads.settle(outcome)
    if (outcome.refusal) throw outcome.refusal
    return answer!
  }

  app.post('/v2/media/uploads', {
    config: { problems: tooLarge, policy: 'system' },
    schema: {
      tags: ['media'],
      operationId: 'createMediaUpload',
      summary: 'Start a resumable media upload',
      description: 'Declares a file (size and SHA-256) to upload in chunks with `PATCH /v2/media/uploads/{id}`, as in the tus protocol. ' +
        `The size is checked at once against MEDIA_MAX_BYTES (413). An upload not complete within MEDIA_UPLOAD_HOURS is dropped.`,
      body: ref(UploadRequest),
      response: { 201: { ...ref(UploadWriteResult), headers: { Location: { type: 'string', description: 'The upload, `/v2/media/uploads/{id}` under the server URL (with a gateway\'s PUBLIC_BASE_PATH).' }, ...uploadHeaders } } },
    },
  }, async (request, reply) => {
    const { bytes, sha256, fileName, mimeType } = request.body
    uploads.checkSize(bytes)
    const result = await recordUpload(request, 201, async (trx) => ({
      upload: await store.createUpload(trx, {
        id: randomUUID(), createdBy: request.caller!.systemId, bytes, sha256, fileName: fileName ?? null, declaredType: mimeType ?? null, expiresAt: uploads.expiry(request.receivedAt),
      }),
    }))
    return reply.code(201).header('location', publicPath(app.deps.config, `/v2/media/uploads/${result.upload.id}`)).header('upload-offset', '0').header('upload-length', String(bytes)).send(result)
  })

  app.get('/v2/media/uploads/:id', {
    config: { problems: notFoundExample(`upload ${UPLOAD_ID}`), policy: 'system' },
    schema: {
      tags: ['media'],
      operationId: 'getMediaUpload',
      summary: 'Where an upload stands',
      description: 'After a cut connection, read `offset` (also in `Upload-Offset`) and send the rest of the file from there. The uploader reads its own uploads; central reads any.',
      params: UploadParams,
      response: { 200: { ...ref(Upload), headers: uploadHeaders }, ...problemResponses([404]) },
    },
  }, async (request, reply) => {
    const upload = await uploadAnswer(await uploadOrFail(request, db), db)
    return reply.header('upload-offset', String(upload.offset)).header('upload-length', String(upload.bytes)).header('cache-control', 'no-store').send(upload)
  })

  app.patch('/v2/media/uploads/:id', {
    config: {
      problems: routeProblems(notFoundExample(`upload ${UPLOAD_ID}`), {
        409: [{ code: 'upload-offset-mismatch', detail: `upload ${UPLOAD_ID} has 1048576 bytes; send the chunk from Upload-Offset 1048576, not 0` }],
        413: [{ code: 'body-too-large', detail: `the chunk ends at byte 1900000, past the 1843200 bytes declared for upload ${UPLOAD_ID}` }],
      }, notOpen, refusedFile),
      policy: 'system',
      mediaChunks: true,
    },
    bodyLimit: config.MEDIA_CHUNK_BYTES,
    schema: {
      tags: ['media'],
      operationId: 'sendMediaChunk',
      summary: 'Send a chunk of an upload',
      description: `The bytes from \`Upload-Offset\` on, as \`${CHUNK_CONTENT_TYPE}\`, at most MEDIA_CHUNK_BYTES (\`chunkMaxBytes\` of the upload). ` +
        'The call token signs the chunk like any body. A chunk that does not start at the upload\'s offset is refused with 409 `upload-offset-mismatch` ' +
        'and the right `Upload-Offset`. The first chunk is refused with 422 `media-type-refused` when its bytes are not audio, video or an image, whatever the declared type. ' +
        'The chunk that completes the file has the whole file checked: its SHA-256 (422 `media-hash-mismatch`), its type and that it can be read; then it is stored under its hash and ' +
        'the answer carries `media`, with the playing time and codec read from the file. A rejected upload keeps no bytes. ' +
        'An empty chunk at the end completes an upload whose last answer was lost. Upload bytes count against MEDIA_UPLOAD_BYTES_PER_SECOND, not the budget of other bodies.',
      params: UploadParams,
      headers: Type.Object({
        'upload-offset': Type.Integer({ format: 'int64', minimum: 0, maximum: 10_000_000_000, description: 'Where this chunk starts in the file: the upload\'s current `offset`.' }),
      }),
      body: { content: { [CHUNK_CONTENT_TYPE]: { schema: binary('The bytes of the chunk.') } } },
      response: { 200: { ...ref(UploadWriteResult), headers: uploadHeaders }, ...problemResponses([404, 409, 413, 422]) },
    },
  }, async (request, reply) => {
    const chunk = request.body
    if (!Buffer.isBuffer(chunk)) throw new HttpProblem('unsupported-media-type', `send the chunk as ${CHUNK_CONTENT_TYPE}`)
    const offset = request.headers['upload-offset'] as unknown as number
    const result = await recordUpload(request, 200, async (trx) => uploads.append(trx, await uploadOrFail(request, trx, true), offset, chunk, request.receivedAt))
    return reply.header('upload-offset', String(result.upload.offset)).header('upload-length', String(result.upload.bytes)).send(result)
  })

  app.delete('/v2/media/uploads/:id', {
    config: { problems: routeProblems(notFoundExample(`upload ${UPLOAD_ID}`), notOpen), policy: 'system' },
    schema: {
      tags: ['media'],
      operationId: 'cancelMediaUpload',
      summary: 'Cancel an upload',
      description: 'Drops an open upload and the bytes received (tus termination). A complete upload\'s file stays: it is the retention job that removes files.',
      params: UploadParams,
      response: { 200: ref(UploadWriteResult), ...problemResponses([404, 409]) },
    },
  }, async (request) => recordUpload(request, 200, async (trx) => uploads.cancel(trx, await uploadOrFail(request, trx, true))))

  app.post('/v2/media/external', {
    config: {
      problems: routeProblems(tooLarge, refusedFile, {
        422: [{ code: 'media-fetch-failed', detail: 'https://media.example.vn/ban-tin-sang.mp3 answered 404, not 200 (redirects are not followed)' }],
      }, outboundUrlProblems),
      policy: 'system',
    },
    schema: {
      tags: ['media'],
      operationId: 'registerExternalMedia',
      summary: 'Register a media file hosted elsewhere',
      description: 'The service fetches the https URL once (public addresses only, no redirects, at most MEDIA_MAX_BYTES within MEDIA_FETCH_TIMEOUT_MS), ' +
        'checks the SHA-256, reads the type from the bytes and the playing time from the file, and keeps the reference; the file itself is not kept. ' +
        'Items may then name it by hash; provinces fetch it from the URL and check the hash.',
      body: ref(ExternalMediaRequest),
      response: { 201: ref(MediaWriteResult), ...problemResponses([413]) },
    },
  }, async (request, reply) => {
    const { url, sha256 } = request.body
    const checked = await withScratchFile(area.folder, `fetch-${randomUUID()}`, async (path) => {
      const bytes = await fetchTo(fetcher, url, path, config.MEDIA_MAX_BYTES)
      const digests = await fileDigests(path)
      if (digests.sha256 !== sha256) throw new HttpProblem('media-hash-mismatch', `${url} answered ${bytes} bytes with SHA-256 ${digests.sha256}, not the ${sha256} declared`)
      const inspection = await inspectFile(path)
      if ('refused' in inspection) throw new HttpProblem('media-type-refused', inspection.refused)
      return { bytes, sha1: digests.sha1, inspection }
    })
    const result = await db.transaction().execute(async (trx) => {
      const row = await store.addMedia(trx, { sha256, sha1: checked.sha1, bytes: checked.bytes, createdBy: request.caller!.systemId, url, ...checked.inspection })
      const receipt = await app.receipts.issue(request, { status: 201, records: [{ entity: 'media', id: sha256, source: row.source }] }, trx)
      return { media: toMedia(row), receipt }
    })
    return reply.code(201).send(result)
  })

  app.get('/v2/media/:sha256', {
    config: { problems: notFoundExample('stored media 2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae'), policy: 'system' },
    schema: {
      tags: ['media'],
      operationId: 'downloadMedia',
      summary: 'Download a stored media file',
      description: 'The file\'s bytes, with its type, `ETag` (the SHA-256) and `Accept-Ranges: bytes`. A `Range` of one byte range answers 206 with that part, so a weak link ' +
        'resumes where it stopped; `If-Range` with the ETag keeps the range, `If-None-Match` answers 304. A provincial system downloads the files of items sent to it, ' +
        'of items it shared and those it uploaded; central downloads any. A file the retention job removed answers 410.',
      params: MediaParams,
      headers: Type.Object({
        range: Type.Optional(Type.String({ maxLength: 200, description: 'One byte range: `bytes=first-last`, `bytes=first-` or `bytes=-suffix`; anything else is ignored and the whole file sent.' })),
        'if-range': Type.Optional(Type.String({ maxLength: 200, description: 'The ETag the client holds part of: the range is honoured only while it is current.' })),
        'if-none-match': Type.Optional(Type.String({ maxLength: 2000, description: 'ETags the client holds; 304 when one is this file\'s.' })),
      }),
      response: {
        200: { description: 'The whole file, in its own type (e.g. `audio/mpeg`).', headers: downloadHeaders, content: fileContent('The file.') },
        206: {
          description: 'The requested part of the file.',
          headers: { ...downloadHeaders, 'Content-Range': { type: 'string', description: '`bytes first-last/size`.' } },
          content: fileContent('The part.'),
        },
        304: { description: 'The client\'s copy (`If-None-Match`) is this file.', headers: { ETag: downloadHeaders.ETag } },
        ...problemResponses([404, 410, 416]),
      },
    },
  }, async (request, reply) => {
    const { sha256 } = request.params
    const caller = request.caller!
    const media = await store.media(sha256)
    if (!media || media.source !== 'stored' || (caller.role === 'province' && !await mayDownload(sha256, caller.provinceCode!))) throw notFound(`stored media ${sha256}`)
    if (media.removed_at) throw new HttpProblem('media-removed', `media ${sha256} was removed at ${media.removed_at.toISOString()}: ${media.removal_reason ?? 'retention'}`)
    const etag = `"${sha256}"`
    reply.header('etag', etag).header('accept-ranges', 'bytes').header('cache-control', 'private, max-age=31536000, immutable')
    if (noneMatch(request.headers['if-none-match'], etag)) return reply.code(304).send()
    const range = rangeStillValid(request.headers['if-range'], etag) ? byteRange(request.headers.range, media.bytes) : { kind: 'whole' as const }
    if (range.kind === 'unsatisfiable') {
      throw new HttpProblem('range-not-satisfiable', `the file has ${media.bytes} bytes; ${request.headers.range ?? ''} starts beyond them`, { headers: { 'content-range': `bytes */${media.bytes}` } })
    }
    reply.type(media.mime_type)
    if (range.kind === 'whole') return reply.header('content-length', String(media.bytes)).send(storage.read(sha256))
    return reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${media.bytes}`).header('content-length', String(range.end - range.start + 1))
      .send(storage.read(sha256, range))
  })
}

/** Fetches a URL into a file; the bytes written. */
async function fetchTo(fetcher: OutboundClient, url: string, path: string, maxBytes: number): Promise<number> {
  const file = createWriteStream(path)
  let bytes = 0
  try {
    const answer = await fetcher.stream(url, { method: 'GET' }, async (chunk) => {
      bytes += chunk.length
      if (bytes > maxBytes) throw new HttpProblem('media-too-large', `${url} answered more than ${maxBytes} bytes, the most this service accepts (MEDIA_MAX_BYTES)`)
      if (!file.write(chunk)) await once(file, 'drain')
    })
    if (answer.status !== 200) throw new HttpProblem('media-fetch-failed', `${url} answered ${answer.status}, not 200 (redirects are not followed)`)
    return bytes
  } catch (error) {
    if (error instanceof HttpProblem) throw error
    if (error instanceof OutboundRefused) throw new HttpProblem(error.code, error.message)
    throw new HttpProblem('media-fetch-failed', `${url} could not be fetched: ${(error as Error).message}`)
  } finally {
    file.end()
    await once(file, 'close')
  }
}
