import { createServer } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import { readdir } from 'node:fs/promises'
import fc from 'fast-check'
import t, { type Test } from 'tap'
import { verifyReceipt } from '../../src/client/verify.js'
import { signCall } from '../../src/client/sign.js'
import { MediaRetention } from '../../src/modules/media/retention.js'
import { FileMediaStorage, UploadArea, mediaRoot } from '../../src/modules/media/storage.js'
import { MediaStore } from '../../src/modules/media/store.js'
import type { App } from '../../src/app-type.js'
import { buildTestApp } from '../helpers/app.js'
import { bulletin } from '../helpers/content.js'
import { feedsSettled } from '../helpers/database.js'
import { CHUNK, begin, chunk, elf, mp3, mp3Seconds, sha256Hex, upload, wav } from '../helpers/media.js'
import { registerSystem, signedInject, type TestSystem } from '../helpers/systems.js'

async function setup(t: Test, env: Record<string, string> = {}) {
  const built = await buildTestApp(t, { env: { MEDIA_CHUNK_BYTES: String(64 * 1024), ...env } })
  const central = await registerSystem(built.database, 'central-portal')
  const hcm = await registerSystem(built.database, 'province-79')
  const hanoi = await registerSystem(built.database, 'province-01')
  const root = mediaRoot(built.config)
  return { ...built, central, hcm, hanoi, storage: new FileMediaStorage(root), area: new UploadArea(root) }
}

const download = (app: App, system: TestSystem, sha256: string, headers: Record<string, string> = {}) =>
  signedInject(app, system, { method: 'GET', url: `/v2/media/${sha256}`, headers })

t.test('a file uploaded whole is checked, stored under its hash, and described from its own bytes', async (t) => {
  const { app, central, storage } = await setup(t)
  const file = wav(3)
  const created = await begin(app, central, file, { fileName: 'ban-tin.wav', mimeType: 'audio/wav' })
  t.equal(created.statusCode, 201)
  const { upload: opened, receipt: openReceipt } = created.json()
  t.equal(created.headers.location, `/v2/media/uploads/${opened.id}`)
  t.equal(created.headers['upload-offset'], '0')
  t.match(opened, { state: 'open', bytes: file.length, offset: 0, sha256: sha256Hex(file), fileName: 'ban-tin.wav', declaredType: 'audio/wav', chunkMaxBytes: 64 * 1024, media: null })
  t.match(await verifyReceipt(openReceipt.jws, app.deps.serviceKeys.jwks, 'ttn-central'), { res: { status: 201, records: [{ entity: 'media-upload', id: opened.id, state: 'open', offset: 0 }] } })

  const done = await chunk(app, central, opened.id, 0, file)
  t.equal(done.statusCode, 200, done.body)
  t.equal(done.headers['upload-offset'], String(file.length))
  const { upload: complete, receipt } = done.json()
  t.match(complete, {
    state: 'complete', offset: file.length,
    media: { sha256: sha256Hex(file), source: 'stored', url: `/v2/media/${sha256Hex(file)}`, kind: 'audio', mimeType: 'audio/wav', bytes: file.length, durationSeconds: 3, codec: 'PCM', container: 'WAVE', createdBy: 'central-portal', removedAt: null },
  })
  t.match(await verifyReceipt(receipt.jws, app.deps.serviceKeys.jwks, 'ttn-central'), { req: { htm: 'PATCH' }, res: { records: [{ entity: 'media-upload', state: 'complete', media: sha256Hex(file) }] } })
  t.ok(await storage.holds(sha256Hex(file)), 'the store holds the file under its hash')
  t.same(await readdir(new UploadArea(mediaRoot(app.deps.config)).folder), [], 'and the upload area keeps nothing')

  const again = await chunk(app, central, opened.id, file.length, Buffer.alloc(0))
  t.equal(again.statusCode, 409)
  t.equal(again.json().code, 'upload-not-open', 'a complete upload takes no more bytes')
})

t.test('an upload resumes after a cut connection: the cut chunk leaves nothing, the offset says where to go on', async (t) => {
  const { app, central } = await setup(t)
  const frames = 600
  const file = mp3(frames)
  const { upload: opened } = (await begin(app, central, file)).json()
  t.equal((await chunk(app, central, opened.id, 0, file.subarray(0, 65_536))).statusCode, 200)

  // The next chunk's connection is cut after half its bytes.
  const base = await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = new URL(base)
  const next = file.subarray(65_536, 131_072)
  const url = `/v2/media/uploads/${opened.id}`
  const token = await signCall({ issuer: central.id, audience: 'ttn-central', key: central.key, method: 'PATCH', pathAndQuery: url, body: next })
  await new Promise<void>((resolve) => {
    const socket = connect(Number(port), '127.0.0.1', () => {
      socket.write(`PATCH ${url} HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${token}\r\ncontent-type: ${CHUNK}\r\nupload-offset: 65536\r\ncontent-length: ${next.length}\r\n\r\n`)
      socket.write(next.subarray(0, next.length / 2), () => setTimeout(() => { socket.destroy(); resolve() }, 50))
    })
  })
  const status = await signedInject(app, central, { method: 'GET', url })
  t.equal(status.statusCode, 200)
  t.equal(status.json().offset, 65_536, 'the cut chunk is not counted')
  t.equal(status.headers['upload-offset'], '65536')

  const wrong = await chunk(app, central, opened.id, 0, file.subarray(0, 10))
  t.equal(wrong.statusCode, 409)
  t.equal(wrong.json().code, 'upload-offset-mismatch')
  t.equal(wrong.headers['upload-offset'], '65536', 'a chunk from the wrong offset is told the right one')

  let last = status
  for (let offset = 65_536; offset < file.length; offset += 65_536) last = await chunk(app, central, opened.id, offset, file.subarray(offset, offset + 65_536))
  t.equal(last.statusCode, 200, last.body)
  t.match(last.json().upload.media, { sha256: sha256Hex(file), mimeType: 'audio/mpeg', codec: 'MPEG 1 Layer 3', bytes: file.length })
  t.ok(Math.abs(last.json().upload.media.durationSeconds - mp3Seconds(frames)) < 0.001, 'the playing time is read from the frames')
  const bytes = await download(app, central, sha256Hex(file))
  t.equal(sha256Hex(bytes.rawPayload), sha256Hex(file), 'the stored file is the one sent, byte for byte')
})

t.test('a file whose bytes are not the declared hash is rejected whole, and nothing of it is kept', async (t) => {
  const { app, central, storage, database } = await setup(t)
  const file = wav(1)
  const created = await signedInject(app, central, { method: 'POST', url: '/v2/media/uploads', body: { bytes: file.length, sha256: 'f'.repeat(64) } })
  const { id } = created.json().upload
  const answer = await chunk(app, central, id, 0, file)
  t.equal(answer.statusCode, 422)
  t.equal(answer.json().code, 'media-hash-mismatch')
  t.match(answer.json().detail, sha256Hex(file), 'the detail names the hash the bytes have')
  const after = (await signedInject(app, central, { method: 'GET', url: `/v2/media/uploads/${id}` })).json()
  t.match(after, { state: 'rejected', failure: /SHA-256/, media: null })
  t.notOk(await storage.holds(sha256Hex(file)))
  t.notOk(await storage.holds('f'.repeat(64)))
  t.equal((await database.db.selectFrom('media').selectAll().execute()).length, 0, 'no media row')
  t.equal((await download(app, central, 'f'.repeat(64))).statusCode, 404)
})

t.test('an executable renamed .mp3 is refused at its first chunk, whatever type it declares', async (t) => {
  const { app, central } = await setup(t)
  const program = Buffer.concat([elf(8192), Buffer.alloc(100_000)])
  const { upload: opened } = (await begin(app, central, program, { fileName: 'ban-tin.mp3', mimeType: 'audio/mpeg' })).json()
  const answer = await chunk(app, central, opened.id, 0, program.subarray(0, 65_536))
  t.equal(answer.statusCode, 422)
  t.equal(answer.json().code, 'media-type-refused')
  t.match(answer.json().detail, 'application/x-elf')
  t.match((await signedInject(app, central, { method: 'GET', url: `/v2/media/uploads/${opened.id}` })).json(), { state: 'rejected', offset: 0 })
  t.equal((await chunk(app, central, opened.id, 0, program.subarray(0, 65_536))).json().code, 'upload-not-open')

  // Bytes of no known type at all, sent in one small chunk, are refused when the file is complete.
  const noise = Buffer.alloc(3000, 7)
  const { upload: small } = (await begin(app, central, noise)).json()
  const refused = await chunk(app, central, small.id, 0, noise)
  t.equal(refused.statusCode, 422)
  t.match(refused.json(), { code: 'media-type-refused', detail: /no type the service recognises/ })
})

t.test('size limits: the file, the chunk and the declared length', async (t) => {
  const { app, central } = await setup(t, { MEDIA_MAX_BYTES: '200000' })
  const big = await signedInject(app, central, { method: 'POST', url: '/v2/media/uploads', body: { bytes: 200_001, sha256: 'a'.repeat(64) } })
  t.equal(big.statusCode, 413)
  t.equal(big.json().code, 'media-too-large')
  t.equal((await signedInject(app, central, { method: 'POST', url: '/v2/media/uploads', body: { bytes: 0, sha256: 'a'.repeat(64) } })).statusCode, 400, 'an empty file is no media')
  t.equal((await signedInject(app, central, { method: 'POST', url: '/v2/media/uploads', body: { bytes: 10, sha256: 'a'.repeat(64), colour: 'red' } })).statusCode, 400, 'unknown fields are refused')

  const file = wav(5)
  const { upload: opened } = (await begin(app, central, file)).json()
  const tooBig = await chunk(app, central, opened.id, 0, file.subarray(0, 64 * 1024 + 1))
  t.equal(tooBig.statusCode, 413, 'a chunk over MEDIA_CHUNK_BYTES')
  t.equal(tooBig.json().code, 'body-too-large')

  const small = wav(1)
  const { upload: short } = (await signedInject(app, central, { method: 'POST', url: '/v2/media/uploads', body: { bytes: small.length - 10, sha256: sha256Hex(small) } })).json()
  const past = await chunk(app, central, short.id, 0, small)
  t.equal(past.statusCode, 413, 'a chunk past the declared length')
  t.match(past.json().detail, /past the/)
  t.equal((await signedInject(app, central, { method: 'GET', url: `/v2/media/uploads/${short.id}` })).json().offset, 0)

  const json = await signedInject(app, central, { method: 'PATCH', url: `/v2/media/uploads/${opened.id}`, body: { bytes: 'x' }, headers: { 'upload-offset': '0' } })
  t.equal(json.statusCode, 415, 'a chunk sent as JSON is refused')
  t.equal((await signedInject(app, central, { method: 'GET', url: `/v2/media/uploads/${opened.id}` })).json().offset, 0, 'and changes nothing')
  const noOffset = await signedInject(app, central, { method: 'PATCH', url: `/v2/media/uploads/${opened.id}`, body: file.subarray(0, 10), headers: { 'content-type': CHUNK } })
  t.equal(noOffset.statusCode, 400, 'a chunk without Upload-Offset is refused')
})

t.test('downloads resume with Range, revalidate with the hash as ETag, and say 416 past the end', async (t) => {
  const { app, central } = await setup(t)
  const file = mp3(300)
  const sha = sha256Hex(file)
  t.equal((await upload(app, central, file)).statusCode, 200)
  const whole = await download(app, central, sha)
  t.equal(whole.statusCode, 200)
  t.equal(whole.headers['content-type'], 'audio/mpeg')
  t.equal(whole.headers.etag, `"${sha}"`)
  t.equal(whole.headers['accept-ranges'], 'bytes')
  t.equal(Number(whole.headers['content-length']), file.length)

  const first = await download(app, central, sha, { range: 'bytes=0-9999' })
  t.equal(first.statusCode, 206)
  t.equal(first.headers['content-range'], `bytes 0-9999/${file.length}`)
  t.equal(first.rawPayload.length, 10_000)
  const rest = await download(app, central, sha, { range: 'bytes=10000-', 'if-range': `"${sha}"` })
  t.equal(rest.statusCode, 206)
  t.equal(rest.headers['content-range'], `bytes 10000-${file.length - 1}/${file.length}`)
  t.same(Buffer.concat([first.rawPayload, rest.rawPayload]), file, 'the two parts are the file')

  const tail = await download(app, central, sha, { range: 'bytes=-100' })
  t.same(tail.rawPayload, file.subarray(file.length - 100), 'a suffix range is the last bytes')
  t.equal((await download(app, central, sha, { range: `bytes=${file.length - 1}-${file.length + 500}` })).rawPayload.length, 1, 'a range past the end is cut to the file')
  const beyond = await download(app, central, sha, { range: `bytes=${file.length}-` })
  t.equal(beyond.statusCode, 416)
  t.equal(beyond.headers['content-range'], `bytes */${file.length}`)
  t.equal(beyond.json().code, 'range-not-satisfiable')
  t.equal((await download(app, central, sha, { range: 'bytes=0-1,5-6' })).statusCode, 200, 'several ranges: the whole file')
  t.equal((await download(app, central, sha, { range: 'bytes=0-9', 'if-range': '"old"' })).statusCode, 200, 'a stale If-Range gets the whole file')
  const cached = await download(app, central, sha, { 'if-none-match': `W/"x", "${sha}"` })
  t.equal(cached.statusCode, 304)
  t.equal(cached.headers['content-type'], undefined)
  t.equal(cached.rawPayload.length, 0)
  const head = await signedInject(app, central, { method: 'HEAD', url: `/v2/media/${sha}` })
  t.equal(head.statusCode, 200)
  t.equal(Number(head.headers['content-length']), file.length, 'HEAD tells the size')
  t.equal(head.rawPayload.length, 0)
  t.equal((await download(app, central, 'e'.repeat(64))).statusCode, 404)
  t.equal((await download(app, central, 'NOTHEX')).statusCode, 400)
})

t.test('an item is published only with media the service holds; provinces download only what was sent to them', async (t) => {
  const { app, central, hcm, hanoi, database } = await setup(t)
  const file = wav(2)
  const sha = sha256Hex(file)
  const missing = await signedInject(app, central, { method: 'POST', url: '/v2/contents', body: bulletin({ media: [{ sha256: sha }] }) })
  t.equal(missing.statusCode, 422)
  t.equal(missing.json().code, 'media-not-stored')
  t.match(missing.json().detail, sha)
  t.equal((await database.db.selectFrom('contents').selectAll().execute()).length, 0, 'nothing is written')
  t.equal((await database.db.selectFrom('content_events').selectAll().execute()).length, 0)

  t.equal((await upload(app, central, file)).statusCode, 200)
  t.equal((await download(app, hcm, sha)).statusCode, 404, 'before an item uses it, a province cannot see the file')
  const published = await signedInject(app, central, { method: 'POST', url: '/v2/contents', body: bulletin({ media: [{ sha256: sha }], targets: ['79'] }) })
  t.equal(published.statusCode, 201, published.body)
  t.match(published.json().content.media, [{ sha256: sha, source: 'stored', url: `/v2/media/${sha}`, kind: 'audio', mimeType: 'audio/wav', bytes: file.length, durationSeconds: 2, codec: 'PCM' }])
  await feedsSettled(app.deps.database.db)
  const feed = (await signedInject(app, hcm, { method: 'GET', url: '/v2/contents/feed' })).json()
  t.match(feed.items[0].content.media, [{ sha256: sha, durationSeconds: 2 }], 'the feed carries what the service read from the file')
  t.same((await download(app, hcm, sha)).rawPayload, file, 'the target province downloads it')
  t.equal((await download(app, hanoi, sha)).statusCode, 404, 'another province does not')

  const duplicate = await signedInject(app, central, { method: 'POST', url: '/v2/contents', body: bulletin({ media: [{ sha256: sha }, { sha256: sha }] }) })
  t.equal(duplicate.statusCode, 422, 'the same file twice')
  t.equal(duplicate.json().code, 'rule-violated')

  // A province uploads for its own shared content, and only it and central see the file.
  const own = mp3(50)
  t.equal((await upload(app, hanoi, own)).statusCode, 200)
  t.equal((await download(app, hanoi, sha256Hex(own))).statusCode, 200)
  t.equal((await download(app, hcm, sha256Hex(own))).statusCode, 404)
  t.equal((await download(app, central, sha256Hex(own))).statusCode, 200)
  const shared = await signedInject(app, hanoi, { method: 'POST', url: '/v2/provinces/01/contents', body: { title: 'Tin Hà Nội', topic: 'disasters-fire-epidemics', media: [{ sha256: sha256Hex(own) }] } })
  t.equal(shared.statusCode, 201, shared.body)
  const { upload: theirs } = (await begin(app, hanoi, own)).json()
  t.equal((await signedInject(app, hcm, { method: 'GET', url: `/v2/media/uploads/${theirs.id}` })).statusCode, 404, 'an upload is its uploader\'s')
})

t.test('retention removes files no item in force uses, says what it removed, and drops expired uploads', async (t) => {
  const { app, central, hcm, database, storage, area } = await setup(t, { MEDIA_UNUSED_HOURS: '0' })
  const files = { kept: wav(1), unused: wav(1.5), withdrawn: wav(2), expired: wav(2.5) }
  for (const file of Object.values(files)) t.equal((await upload(app, central, file)).statusCode, 200)
  const sha = Object.fromEntries(Object.entries(files).map(([name, file]) => [name, sha256Hex(file)])) as Record<keyof typeof files, string>
  const publish = (media: string, extra: Record<string, unknown> = {}) =>
    signedInject(app, central, { method: 'POST', url: '/v2/contents', body: bulletin({ media: [{ sha256: media }], ...extra }) })
  t.equal((await publish(sha.kept)).statusCode, 201)
  const withdrawn = (await publish(sha.withdrawn)).json().content
  t.equal((await signedInject(app, central, { method: 'POST', url: `/v2/contents/${withdrawn.id}/withdrawal`, body: { reason: 'Sai thông tin' } })).statusCode, 200)
  const past = (await publish(sha.expired)).json().content
  await database.db.updateTable('contents').set({ valid_until: new Date(Date.now() - 1000) }).where('id', '=', past.id).execute()

  const opened = (await begin(app, central, wav(4))).json().upload
  t.equal((await chunk(app, central, opened.id, 0, wav(4).subarray(0, 1000))).statusCode, 200)
  await database.db.updateTable('media_uploads').set({ expires_at: new Date(Date.now() - 1000) }).where('id', '=', opened.id).execute()

  const logged: unknown[] = []
  const log = { ...app.log, info: (entry: unknown) => { logged.push(entry) } } as unknown as App['log']
  const retention = new MediaRetention(database.db, new MediaStore(database.db), storage, area, { MEDIA_UNUSED_HOURS: 0 }, log)
  const report = await retention.run()
  t.same(report.removed.map((r) => r.sha256).sort(), [sha.unused, sha.withdrawn, sha.expired].sort(), 'unused, withdrawn and expired items\' files go')
  t.same(report.uploadsExpired, [opened.id])
  t.match(logged, [{ job: 'media-retention', uploadsExpired: [opened.id], bytesFreed: files.unused.length + files.withdrawn.length + files.expired.length }], 'the job says what it removed')
  t.ok(await storage.holds(sha.kept), 'the file of an item in force stays')
  for (const name of ['unused', 'withdrawn', 'expired'] as const) t.notOk(await storage.holds(sha[name]), `${name} is gone from the store`)
  t.same(await readdir(area.folder), [], 'the expired upload\'s bytes are gone')
  const gone = await download(app, central, sha.unused)
  t.equal(gone.statusCode, 410)
  t.equal(gone.json().code, 'media-removed')
  t.match((await download(app, hcm, sha.kept)).statusCode, 200)
  t.equal((await publish(sha.unused)).json().code, 'media-not-stored', 'a removed file cannot be published again')
  t.same(await retention.run(), { uploadsExpired: [], removed: [] }, 'a second run finds nothing')

  t.equal((await upload(app, central, files.unused)).statusCode, 200, 'the same bytes uploaded again')
  t.equal((await download(app, central, sha.unused)).statusCode, 200, 'are held again')
})

t.test('external media: fetched once, hash and type checked, then publishable by hash', async (t) => {
  const { app, central } = await setup(t)
  const file = mp3(100)
  const server = createServer((request, response) => {
    if (request.url === '/a.mp3') response.writeHead(200, { 'content-type': 'audio/mpeg' }).end(file)
    else if (request.url === '/moved') response.writeHead(302, { location: '/a.mp3' }).end()
    else response.writeHead(404).end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => server.close())
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const register = (url: string, sha256: string) => signedInject(app, central, { method: 'POST', url: '/v2/media/external', body: { url, sha256 } })

  const ok = await register(`${base}/a.mp3`, sha256Hex(file))
  t.equal(ok.statusCode, 201, ok.body)
  t.match(ok.json().media, { sha256: sha256Hex(file), source: 'external', url: `${base}/a.mp3`, mimeType: 'audio/mpeg', bytes: file.length })
  t.match(await verifyReceipt(ok.json().receipt.jws, app.deps.serviceKeys.jwks, 'ttn-central'), { res: { records: [{ entity: 'media', id: sha256Hex(file), source: 'external' }] } })
  t.equal((await register(`${base}/a.mp3`, 'b'.repeat(64))).json().code, 'media-hash-mismatch')
  t.equal((await register(`${base}/none.mp3`, 'b'.repeat(64))).json().code, 'media-fetch-failed')
  t.equal((await register(`${base}/moved`, sha256Hex(file))).json().code, 'media-fetch-failed', 'redirects are not followed')
  t.equal((await register('http://media.example.vn/a.mp3', sha256Hex(file))).json().code, 'outbound-url-insecure', 'plain http only to the operator\'s test hosts')
  t.equal((await register('https://10.0.0.8/a.mp3', sha256Hex(file))).json().code, 'outbound-address-forbidden')
  t.equal((await download(app, central, sha256Hex(file))).statusCode, 404, 'the service does not serve what it does not hold')

  const published = await signedInject(app, central, { method: 'POST', url: '/v2/contents', body: bulletin({ media: [{ sha256: sha256Hex(file) }] }) })
  t.equal(published.statusCode, 201)
  t.match(published.json().content.media, [{ source: 'external', url: `${base}/a.mp3` }])
})

t.test('any order of chunk sends, stale ones included, ends in the file itself when the uploader follows the offset', async (t) => {
  const { app, central } = await setup(t, { RATE_LIMIT_PER_MINUTE: '100000' })
  const file = wav(0.5)
  await fc.assert(fc.asyncProperty(
    fc.array(fc.integer({ min: 1, max: 4000 }), { minLength: 1, maxLength: 12 }).filter((sizes) => sizes.reduce((a, b) => a + b, 0) >= 400),
    fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }),
    async (sizes, resends) => {
      const { upload: opened } = (await begin(app, central, file)).json()
      let offset = 0
      let step = 0
      let answer
      while (offset < file.length) {
        const size = sizes[step % sizes.length]!
        if (resends[step % resends.length] && offset > 0) {
          const stale = await chunk(app, central, opened.id, Math.max(0, offset - size), file.subarray(Math.max(0, offset - size), offset))
          if (stale.statusCode !== 409 || Number(stale.headers['upload-offset']) !== offset) return false
        }
        answer = await chunk(app, central, opened.id, offset, file.subarray(offset, offset + size))
        if (answer.statusCode !== 200) return false
        offset = answer.json().upload.offset
        step++
      }
      return answer!.json().upload.state === 'complete' && answer!.json().upload.media.sha256 === sha256Hex(file)
    },
  ), { numRuns: 15 })
})

t.test('upload chunks spend a byte budget of their own, not that of other bodies', async (t) => {
  const file = wav(10)
  const slowMedia = await setup(t, { MEDIA_UPLOAD_BYTES_PER_SECOND: '1024', CALLER_REFUSAL_DELAY_MS: '0' })
  const { upload: opened } = (await begin(slowMedia.app, slowMedia.central, file)).json()
  t.equal((await chunk(slowMedia.app, slowMedia.central, opened.id, 0, file.subarray(0, 65_536))).statusCode, 200, 'a full budget takes a chunk')
  const refused = await chunk(slowMedia.app, slowMedia.central, opened.id, 65_536, file.subarray(65_536, 131_072))
  t.equal(refused.statusCode, 429)
  t.equal(refused.json().code, 'body-rate-exceeded')
  t.ok(Number(refused.headers['retry-after']) >= 60, 'and says when the next fits')
  t.equal((await signedInject(slowMedia.app, slowMedia.central, { method: 'POST', url: '/v2/contents', body: bulletin() })).statusCode, 201, 'other bodies are not held back')

  const slowBodies = await setup(t, { CALLER_BODY_BYTES_PER_SECOND: '1024', CALLER_BODY_BURST_BYTES: '1024', CALLER_REFUSAL_DELAY_MS: '0' })
  const { upload: other } = (await begin(slowBodies.app, slowBodies.central, file)).json()
  for (let offset = 0; offset < 196_608; offset += 65_536) {
    t.equal((await chunk(slowBodies.app, slowBodies.central, other.id, offset, file.subarray(offset, offset + 65_536))).statusCode, 200, `chunk at ${offset} passes a spent body budget`)
  }
})

t.test('an empty chunk at the end completes an upload whose completing answer was lost', async (t) => {
  const { app, central, database, area, storage } = await setup(t)
  const file = mp3(400)
  const { upload: opened } = (await begin(app, central, file)).json()
  t.equal((await chunk(app, central, opened.id, 0, file.subarray(0, 65_536))).statusCode, 200)
  // The instance wrote the rest and committed its offset, then died before checking the file.
  await area.write(opened.id, 65_536, file.subarray(65_536))
  await database.db.updateTable('media_uploads').set({ received: file.length }).where('id', '=', opened.id).execute()
  t.match((await signedInject(app, central, { method: 'GET', url: `/v2/media/uploads/${opened.id}` })).json(), { state: 'open', offset: file.length })
  const resumed = await chunk(app, central, opened.id, file.length, Buffer.alloc(0))
  t.equal(resumed.statusCode, 200)
  t.match(resumed.json().upload, { state: 'complete', media: { sha256: sha256Hex(file) } })
  t.ok(await storage.holds(sha256Hex(file)))
})

t.test('the same chunk sent five times at once advances the upload once', async (t) => {
  // Chunks of a sixteenth of MEDIA_CHUNK_BYTES, so that the byte budget (bursts of one full chunk) lets all five in.
  const { app, central } = await setup(t, { CALLER_CONCURRENCY: '8', MEDIA_CHUNK_BYTES: String(1024 * 1024) })
  const file = mp3(400)
  const { upload: opened } = (await begin(app, central, file)).json()
  const answers = await Promise.all(Array.from({ length: 5 }, () => chunk(app, central, opened.id, 0, file.subarray(0, 65_536))))
  t.same(answers.map((a) => a.statusCode).sort(), [200, 409, 409, 409, 409])
  t.ok(answers.filter((a) => a.statusCode === 409).every((a) => a.json().code === 'upload-offset-mismatch' && a.headers['upload-offset'] === '65536'))
  t.equal((await signedInject(app, central, { method: 'GET', url: `/v2/media/uploads/${opened.id}` })).json().offset, 65_536)
})
