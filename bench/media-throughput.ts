/**
 * Media files through the API beside the disk they land on. Central uploads a WAVE file (256 MiB
 * by default) in MEDIA_CHUNK_BYTES chunks, one after another, each PATCH signed over its bytes,
 * through a loopback socket to the service process on PostgreSQL, from the create call to the
 * answer of the completing chunk (which has the service hash and inspect the whole file). Beside
 * it, in the same run: the same bytes written straight to a file on the same disk in the same
 * chunks, an fsync after each, then read back once and hashed with SHA-256, the least the service
 * must do. Downloads: the whole file with GET /v2/media/{sha256} and a resumed download from the
 * middle (Range), both hashed and checked, beside reading the stored file with fs.createReadStream.
 *
 * Rounds alternate the API and the direct path, each round starting with the other one. Each
 * round's file differs in its first frame, so every upload stores a file the service does not hold
 * yet. The service's peak RSS over an upload is the kernel's high-water mark, restarted before it.
 * The upload budget (MEDIA_UPLOAD_BYTES_PER_SECOND) is set to its highest, so it is not measured.
 *
 *   npm run bench:media [-- --size-mib 256 --chunk-mib 8 --rounds 5]
 *                                 (or BENCH_MEDIA_MIB, BENCH_MEDIA_CHUNK_MIB, BENCH_ROUNDS; BENCH_DATABASE_URL)
 *
 * MB/s are 10^6 bytes a second. The PostgreSQL CPU figure is the whole server's (support.ts
 * postgresCpuSeconds): on a shared machine it counts other databases' work too.
 */
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { request } from 'undici'
import { CHUNK_CONTENT_TYPE } from '../schemas/media.js'
import { generateKey, importSigningKey } from '../src/client/keys.js'
import { signCall } from '../src/client/sign.js'
import { FileMediaStorage } from '../src/modules/media/storage.js'
import {
  cpuSeconds, createBenchDatabase, peakRssSinceReset, postgresCpuSeconds, provincialSystems, recordResult, resetPeakRss, startService,
} from './support.js'

const MiB = 1024 * 1024
const { values: options } = parseArgs({
  options: {
    'size-mib': { type: 'string', default: process.env.BENCH_MEDIA_MIB ?? '256' },
    'chunk-mib': { type: 'string', default: process.env.BENCH_MEDIA_CHUNK_MIB ?? '8' },
    rounds: { type: 'string', default: process.env.BENCH_ROUNDS ?? '5' },
  },
})
const sizeMiB = Number(options['size-mib'])
const chunkBytes = Math.round(Number(options['chunk-mib']) * MiB)
const rounds = Number(options.rounds)
if (!(sizeMiB >= 1 && sizeMiB < 4096) || !(chunkBytes >= 64 * 1024 && chunkBytes <= 64 * MiB) || !(Number.isInteger(rounds) && rounds >= 1)) {
  throw new Error('--size-mib must be from 1 to 4095 (a WAVE file), --chunk-mib from 0.0625 to 64 (MEDIA_CHUNK_BYTES), --rounds at least 1')
}
const WARMUP_MIB = Math.min(32, sizeMiB)
const CENTRAL = 'central-portal'
const AUDIENCE = 'ttn-central'
const mb = (bytes: number, seconds: number) => bytes / 1e6 / seconds
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

/** 16-bit stereo PCM at 44.1 kHz: 4 bytes a frame, 176,400 bytes a second of playing time. */
const RATE = 44_100
const FRAME_BYTES = 4

/**
 * Writes a WAVE file of `bytes` (its PCM data rounded down to whole frames) in 1 MiB writes, so
 * that memory stays small whatever the size: the 44-byte RIFF header of test/helpers/media.ts
 * `wav()`, for two channels, then a 440 Hz tone. Answers the file's size.
 */
async function writeWav(path: string, bytes: number): Promise<number> {
  const dataBytes = Math.floor((bytes - 44) / FRAME_BYTES) * FRAME_BYTES
  const header = Buffer.alloc(44)
  header.write('RIFF', 0)
  header.writeUInt32LE(36 + dataBytes, 4)
  header.write('WAVEfmt ', 8)
  header.writeUInt32LE(16, 16)
  header.writeUInt16LE(1, 20) // PCM
  header.writeUInt16LE(2, 22) // stereo
  header.writeUInt32LE(RATE, 24)
  header.writeUInt32LE(RATE * FRAME_BYTES, 28)
  header.writeUInt16LE(FRAME_BYTES, 32)
  header.writeUInt16LE(16, 34)
  header.write('data', 36)
  header.writeUInt32LE(dataBytes, 40)
  const block = Buffer.alloc(MiB)
  for (let frame = 0; frame < block.length / FRAME_BYTES; frame++) {
    const sample = Math.round(3000 * Math.sin((2 * Math.PI * 440 * frame) / RATE))
    block.writeInt16LE(sample, frame * FRAME_BYTES)
    block.writeInt16LE(sample, frame * FRAME_BYTES + 2)
  }
  const file = await open(path, 'w')
  try {
    await file.write(header, 0, header.length, 0)
    for (let at = 0; at < dataBytes; at += block.length) await file.write(block, 0, Math.min(block.length, dataBytes - at), 44 + at)
  } finally {
    await file.close()
  }
  return 44 + dataBytes
}

/** Makes the file of a round: its first frame holds the round's number. */
async function markRound(path: string, round: number): Promise<void> {
  const file = await open(path, 'r+')
  try {
    const frame = Buffer.alloc(FRAME_BYTES)
    frame.writeUInt32LE(round)
    await file.write(frame, 0, frame.length, 44)
  } finally {
    await file.close()
  }
}

/** SHA-256 (hex) of a stream's bytes, and their number. */
async function sha256Of(stream: AsyncIterable<Uint8Array>): Promise<{ sha256: string, bytes: number }> {
  const hash = createHash('sha256')
  let bytes = 0
  for await (const chunk of stream) {
    hash.update(chunk)
    bytes += chunk.length
  }
  return { sha256: hash.digest('hex'), bytes }
}

const work = await mkdtemp(join(tmpdir(), 'ttn-bench-media-'))
const mediaDir = join(work, 'media')
const directDir = join(work, 'direct')
const database = await createBenchDatabase('ttn_bench_media')

interface UploadFigures {
  seconds: number, mbPerSecond: number, createMs: number, chunks: number
  /** The chunk whose answer carries the stored file: it has the service hash and inspect the whole file. */
  completingChunkMs: number
  otherChunksMedianMs: number, otherChunksMaxMs: number
  /** Reading each chunk from the source file, hashing it for the token's bsh and signing, on the client. */
  clientPrepSeconds: number
  serviceCpuSeconds: number, postgresCpuSeconds: number
  serviceRssBeforeMiB: number, servicePeakRssMiB: number
  durationSeconds: number | null
}
interface DirectWriteFigures {
  seconds: number, mbPerSecond: number, writeFsyncSeconds: number, chunkWriteFsyncMedianMs: number, readHashSeconds: number
}
interface DownloadFigures { wholeSeconds: number, wholeMbPerSecond: number, rangeBytes: number, rangeSeconds: number, rangeMbPerSecond: number }
interface DirectReadFigures { readHashSeconds: number, readHashMbPerSecond: number, readSeconds: number, readMbPerSecond: number }

try {
  const { systemsFile } = await provincialSystems(work)
  const { privateJwk, publicJwk } = await generateKey('ES256')
  const centralKey = await importSigningKey(privateJwk)
  const systems = JSON.parse(await readFile(systemsFile, 'utf8')) as object[]
  await writeFile(systemsFile, JSON.stringify([...systems, { id: CENTRAL, role: 'central', name: 'Central', jwks: { keys: [publicJwk] } }]))
  await mkdir(directDir)

  const source = join(work, 'source.wav')
  const size = await writeWav(source, sizeMiB * MiB)
  const warmup = join(work, 'warmup.wav')
  const warmupSize = await writeWav(warmup, WARMUP_MIB * MiB)

  const service = await startService('src/server.ts', {
    DATABASE_URL: database.url, DATA_DIR: work, MEDIA_DIR: mediaDir, SYSTEMS_FILE: systemsFile, METRICS_PORT: '0', DATABASE_POOL_MAX: '20',
    MEDIA_CHUNK_BYTES: String(chunkBytes), MEDIA_MAX_BYTES: String(Math.max(2 * 1024 * MiB, size)),
    // The highest budget the service takes (1 GiB/s): the work is measured, not the upload's share of the instance.
    MEDIA_UPLOAD_BYTES_PER_SECOND: String(1024 * MiB), RATE_LIMIT_PER_MINUTE: '1000000',
    // The client, the service and PostgreSQL share two cores: event-loop delay would measure the machine.
    OVERLOAD_EVENT_LOOP_DELAY_MS: '0',
  })
  const pid = service.child.pid!
  const storage = new FileMediaStorage(mediaDir)

  const sign = (method: string, path: string, body?: Buffer | string) =>
    signCall({ issuer: CENTRAL, audience: AUDIENCE, key: centralKey, method, pathAndQuery: path, body }).then((token) => `Bearer ${token}`)
  const send = (method: 'GET' | 'POST' | 'PATCH', path: string, authorization: string, body?: Buffer | string, headers: Record<string, string> = {}) =>
    request(service.url + path, { method, body, headers: { authorization, ...headers } })
  const expect = async (answer: Awaited<ReturnType<typeof send>>, status: number, what: string) => {
    if (answer.statusCode !== status) throw new Error(`${what}: ${answer.statusCode}, not ${status}: ${(await answer.body.text()).slice(0, 1000)}`)
  }

  interface UploadAnswer { upload: { id: string, state: string, offset: number, media: { sha256: string, bytes: number, durationSeconds: number | null } | null } }

  const uploadThroughApi = async (file: string, bytes: number, sha256: string): Promise<UploadFigures> => {
    await resetPeakRss(pid)
    const rssBefore = await peakRssSinceReset(pid)
    const cpuBefore = [await cpuSeconds([pid]), await postgresCpuSeconds()]
    const input = await open(file, 'r')
    const buffer = Buffer.allocUnsafe(chunkBytes)
    const latencies: number[] = []
    let prep = 0
    let createMs: number
    let last: UploadAnswer
    const started = performance.now()
    try {
      const body = JSON.stringify({ bytes, sha256, fileName: 'ban-tin.wav', mimeType: 'audio/wav' })
      const created = await send('POST', '/v2/media/uploads', await sign('POST', '/v2/media/uploads', body), body, { 'content-type': 'application/json' })
      await expect(created, 201, 'create')
      last = await created.body.json() as UploadAnswer
      createMs = performance.now() - started
      const path = `/v2/media/uploads/${last.upload.id}`
      for (let offset = 0; offset < bytes; offset += chunkBytes) {
        const before = performance.now()
        const { bytesRead } = await input.read(buffer, 0, Math.min(chunkBytes, bytes - offset), offset)
        const chunk = buffer.subarray(0, bytesRead)
        const authorization = await sign('PATCH', path, chunk)
        const sent = performance.now()
        prep += sent - before
        const answer = await send('PATCH', path, authorization, chunk, { 'content-type': CHUNK_CONTENT_TYPE, 'upload-offset': String(offset) })
        await expect(answer, 200, `chunk at ${offset}`)
        last = await answer.body.json() as UploadAnswer
        latencies.push(performance.now() - sent)
      }
    } finally {
      await input.close()
    }
    const seconds = (performance.now() - started) / 1000
    const peak = await peakRssSinceReset(pid)
    const cpuAfter = [await cpuSeconds([pid]), await postgresCpuSeconds()]
    const media = last.upload.media
    if (last.upload.state !== 'complete' || media?.sha256 !== sha256 || media.bytes !== bytes) throw new Error(`the upload did not complete as sent: ${JSON.stringify(last.upload)}`)
    const others = latencies.slice(0, -1)
    return {
      seconds, mbPerSecond: mb(bytes, seconds), createMs, chunks: latencies.length, completingChunkMs: latencies.at(-1)!,
      otherChunksMedianMs: others.length ? median(others) : 0, otherChunksMaxMs: others.length ? Math.max(...others) : 0,
      clientPrepSeconds: prep / 1000, serviceCpuSeconds: cpuAfter[0]! - cpuBefore[0]!, postgresCpuSeconds: cpuAfter[1]! - cpuBefore[1]!,
      serviceRssBeforeMiB: rssBefore / MiB, servicePeakRssMiB: peak / MiB, durationSeconds: media.durationSeconds,
    }
  }

  /** The same bytes in the same chunks to a file beside the media store, an fsync after each; then read back and hashed. */
  const writeDirect = async (file: string, bytes: number, sha256: string): Promise<DirectWriteFigures> => {
    const target = join(directDir, 'copy')
    const input = await open(file, 'r')
    const output = await open(target, 'w')
    const buffer = Buffer.allocUnsafe(chunkBytes)
    const chunkTimes: number[] = []
    const started = performance.now()
    try {
      for (let offset = 0; offset < bytes; offset += chunkBytes) {
        const { bytesRead } = await input.read(buffer, 0, Math.min(chunkBytes, bytes - offset), offset)
        const before = performance.now()
        await output.write(buffer, 0, bytesRead, offset)
        await output.sync()
        chunkTimes.push(performance.now() - before)
      }
    } finally {
      await input.close()
      await output.close()
    }
    const written = performance.now()
    const check = await sha256Of(createReadStream(target))
    const done = performance.now()
    if (check.sha256 !== sha256 || check.bytes !== bytes) throw new Error('the direct copy is not the file')
    await rm(target)
    const seconds = (done - started) / 1000
    return {
      seconds, mbPerSecond: mb(bytes, seconds), writeFsyncSeconds: (written - started) / 1000,
      chunkWriteFsyncMedianMs: median(chunkTimes), readHashSeconds: (done - written) / 1000,
    }
  }

  const downloadThroughApi = async (sha256: string, bytes: number, tail: { from: number, sha256: string }): Promise<DownloadFigures> => {
    const path = `/v2/media/${sha256}`
    const started = performance.now()
    const whole = await send('GET', path, await sign('GET', path))
    await expect(whole, 200, 'download')
    const got = await sha256Of(whole.body)
    const wholeDone = performance.now()
    if (got.sha256 !== sha256 || got.bytes !== bytes) throw new Error(`the download is not the file: ${got.bytes} bytes, SHA-256 ${got.sha256}`)
    const rangeStarted = performance.now()
    const part = await send('GET', path, await sign('GET', path), undefined, { range: `bytes=${tail.from}-` })
    await expect(part, 206, 'resumed download')
    if (part.headers['content-range'] !== `bytes ${tail.from}-${bytes - 1}/${bytes}`) throw new Error(`resumed download: Content-Range ${String(part.headers['content-range'])}`)
    const rest = await sha256Of(part.body)
    const rangeDone = performance.now()
    if (rest.sha256 !== tail.sha256 || rest.bytes !== bytes - tail.from) throw new Error('the resumed download is not the tail of the file')
    const wholeSeconds = (wholeDone - started) / 1000
    const rangeSeconds = (rangeDone - rangeStarted) / 1000
    return { wholeSeconds, wholeMbPerSecond: mb(bytes, wholeSeconds), rangeBytes: rest.bytes, rangeSeconds, rangeMbPerSecond: mb(rest.bytes, rangeSeconds) }
  }

  /** The stored file read with fs.createReadStream (what the service's download streams), hashed as the API client hashes it, and then not. */
  const readDirect = async (sha256: string, bytes: number): Promise<DirectReadFigures> => {
    const started = performance.now()
    const got = await sha256Of(storage.read(sha256))
    const hashed = performance.now()
    if (got.sha256 !== sha256) throw new Error('the stored file is not the file')
    let read = 0
    for await (const chunk of storage.read(sha256)) read += (chunk as Buffer).length
    const done = performance.now()
    if (read !== bytes) throw new Error(`read ${read} bytes of the stored file, not ${bytes}`)
    const readHashSeconds = (hashed - started) / 1000
    const readSeconds = (done - hashed) / 1000
    return { readHashSeconds, readHashMbPerSecond: mb(bytes, readHashSeconds), readSeconds, readMbPerSecond: mb(bytes, readSeconds) }
  }

  /** A round's file, its hash, and the hash of its second half, for the resumed download. */
  const prepare = async (file: string, bytes: number, round: number) => {
    await markRound(file, round)
    const { sha256 } = await sha256Of(createReadStream(file))
    const from = Math.floor(bytes / 2) + 1
    return { sha256, tail: { from, sha256: (await sha256Of(createReadStream(file, { start: from }))).sha256 } }
  }

  const results: { round: number, apiFirst: boolean, upload: UploadFigures, directWrite: DirectWriteFigures, download: DownloadFigures, directRead: DirectReadFigures }[] = []
  try {
    process.stdout.write(`file ${size} bytes (${sizeMiB} MiB WAVE, ${(size / (RATE * FRAME_BYTES)).toFixed(1)} s of 16-bit stereo 44.1 kHz), chunks of ${chunkBytes / MiB} MiB, ${rounds} rounds\n`)
    const warm = await prepare(warmup, warmupSize, 0)
    await uploadThroughApi(warmup, warmupSize, warm.sha256)
    await writeDirect(warmup, warmupSize, warm.sha256)
    await downloadThroughApi(warm.sha256, warmupSize, warm.tail)
    await readDirect(warm.sha256, warmupSize)
    process.stdout.write(`warm-up done (${WARMUP_MIB} MiB through each path)\n`)

    for (let round = 1; round <= rounds; round++) {
      const { sha256, tail } = await prepare(source, size, round)
      const apiFirst = round % 2 === 1
      let upload: UploadFigures
      let directWrite: DirectWriteFigures
      if (apiFirst) {
        upload = await uploadThroughApi(source, size, sha256)
        directWrite = await writeDirect(source, size, sha256)
      } else {
        directWrite = await writeDirect(source, size, sha256)
        upload = await uploadThroughApi(source, size, sha256)
      }
      let download: DownloadFigures
      let directRead: DirectReadFigures
      if (apiFirst) {
        download = await downloadThroughApi(sha256, size, tail)
        directRead = await readDirect(sha256, size)
      } else {
        directRead = await readDirect(sha256, size)
        download = await downloadThroughApi(sha256, size, tail)
      }
      if (upload.durationSeconds === null || Math.abs(upload.durationSeconds - (size - 44) / (RATE * FRAME_BYTES)) > 0.01) {
        throw new Error(`the service read a playing time of ${upload.durationSeconds} s`)
      }
      results.push({ round, apiFirst, upload, directWrite, download, directRead })
      process.stdout.write(`round ${round} (${apiFirst ? 'API' : 'direct'} first): upload ${upload.mbPerSecond.toFixed(0)} MB/s (direct ${directWrite.mbPerSecond.toFixed(0)}), ` +
        `completing chunk ${upload.completingChunkMs.toFixed(0)} ms, download ${download.wholeMbPerSecond.toFixed(0)} MB/s (direct ${directRead.readHashMbPerSecond.toFixed(0)}), ` +
        `service peak RSS ${upload.servicePeakRssMiB.toFixed(0)} MiB\n`)
    }
  } finally {
    await service.stop()
  }

  const f = (value: number, digits = 0) => value.toFixed(digits)
  const table = (head: string[], rows: string[][]) => {
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
    const line = (cells: string[]) => '| ' + cells.map((c, i) => c.padStart(widths[i]!)).join(' | ') + ' |'
    return [line(head), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...rows.map(line)].join('\n') + '\n'
  }
  const med = (pick: (r: (typeof results)[number]) => number) => median(results.map(pick))
  const uploadRows = results.map((r) => [String(r.round), f(r.upload.mbPerSecond), f(r.directWrite.mbPerSecond), f(r.upload.mbPerSecond / r.directWrite.mbPerSecond, 2),
    f(r.upload.completingChunkMs), f(r.upload.otherChunksMedianMs), f(r.upload.otherChunksMaxMs), f(r.upload.clientPrepSeconds, 2),
    f(r.directWrite.chunkWriteFsyncMedianMs), f(r.directWrite.writeFsyncSeconds, 2), f(r.directWrite.readHashSeconds, 2),
    f(r.upload.serviceCpuSeconds, 2), f(r.upload.postgresCpuSeconds, 2), f(r.upload.serviceRssBeforeMiB), f(r.upload.servicePeakRssMiB)])
  uploadRows.push(['median', f(med((r) => r.upload.mbPerSecond)), f(med((r) => r.directWrite.mbPerSecond)), f(med((r) => r.upload.mbPerSecond / r.directWrite.mbPerSecond), 2),
    f(med((r) => r.upload.completingChunkMs)), f(med((r) => r.upload.otherChunksMedianMs)), f(med((r) => r.upload.otherChunksMaxMs)), f(med((r) => r.upload.clientPrepSeconds), 2),
    f(med((r) => r.directWrite.chunkWriteFsyncMedianMs)), f(med((r) => r.directWrite.writeFsyncSeconds), 2), f(med((r) => r.directWrite.readHashSeconds), 2),
    f(med((r) => r.upload.serviceCpuSeconds), 2), f(med((r) => r.upload.postgresCpuSeconds), 2), f(med((r) => r.upload.serviceRssBeforeMiB)), f(Math.max(...results.map((r) => r.upload.servicePeakRssMiB)))])
  process.stdout.write(`\nUpload of ${sizeMiB} MiB in ${Math.ceil(size / chunkBytes)} chunks (MB/s = 10^6 B/s; PostgreSQL CPU is the whole server's, ` +
    'other databases included; the median row\'s peak RSS is the highest)\n')
  process.stdout.write(table(['round', 'API MB/s', 'direct MB/s', 'API/direct', 'completing chunk ms', 'other chunks p50 ms', 'max ms', 'client prep s',
    'direct write+fsync p50 ms', 'direct write s', 'direct read+hash s', 'service CPU s', 'PostgreSQL CPU s', 'service RSS before MiB', 'service peak RSS MiB'], uploadRows))

  const downloadRows = results.map((r) => [String(r.round), f(r.download.wholeMbPerSecond), f(r.download.rangeMbPerSecond), f(r.directRead.readHashMbPerSecond),
    f(r.download.wholeMbPerSecond / r.directRead.readHashMbPerSecond, 2), f(r.directRead.readMbPerSecond)])
  downloadRows.push(['median', f(med((r) => r.download.wholeMbPerSecond)), f(med((r) => r.download.rangeMbPerSecond)), f(med((r) => r.directRead.readHashMbPerSecond)),
    f(med((r) => r.download.wholeMbPerSecond / r.directRead.readHashMbPerSecond), 2), f(med((r) => r.directRead.readMbPerSecond))])
  process.stdout.write(`\nDownload (every byte hashed with SHA-256 and checked; the range from byte ${Math.floor(size / 2) + 1} to the end)\n`)
  process.stdout.write(table(['round', 'API whole MB/s', 'API range MB/s', 'direct read+hash MB/s', 'API/direct', 'direct read, no hash MB/s'], downloadRows))

  const round2 = (value: number) => Number(value.toFixed(2))
  await recordResult('media-throughput', {
    command: `npm run bench:media -- --size-mib ${sizeMiB} --chunk-mib ${chunkBytes / MiB} --rounds ${rounds}`,
    settings: { fileBytes: size, chunkBytes, rounds, warmupMiB: WARMUP_MIB, database: 'PostgreSQL (local server)', mediaUploadBytesPerSecond: 1024 * MiB },
    loadAverage: (await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).map(Number),
    rounds: results.map((r) => JSON.parse(JSON.stringify(r, (_key, value: unknown) => typeof value === 'number' ? round2(value) : value)) as object),
    median: {
      uploadApiMbPerSecond: round2(med((r) => r.upload.mbPerSecond)), uploadDirectMbPerSecond: round2(med((r) => r.directWrite.mbPerSecond)),
      uploadRatio: round2(med((r) => r.upload.mbPerSecond / r.directWrite.mbPerSecond)), completingChunkMs: round2(med((r) => r.upload.completingChunkMs)),
      otherChunksMedianMs: round2(med((r) => r.upload.otherChunksMedianMs)),
      downloadApiMbPerSecond: round2(med((r) => r.download.wholeMbPerSecond)), downloadRangeMbPerSecond: round2(med((r) => r.download.rangeMbPerSecond)),
      downloadDirectMbPerSecond: round2(med((r) => r.directRead.readHashMbPerSecond)), downloadRatio: round2(med((r) => r.download.wholeMbPerSecond / r.directRead.readHashMbPerSecond)),
      servicePeakRssMiB: round2(Math.max(...results.map((r) => r.upload.servicePeakRssMiB))),
    },
  })
} finally {
  await database.drop()
  await rm(work, { recursive: true, force: true })
}
