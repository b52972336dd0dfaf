import { createHash } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { generateKey, importSigningKey, type SigningKey } from '../client/keys.js'
import type { Facts } from './scenario.js'

const VIETNAM_OFFSET_MS = 7 * 3600_000

const sha256Hex = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')
const vietnamDate = (time: number) => new Date(time + VIETNAM_OFFSET_MS).toISOString().slice(0, 10)

/** A short WAVE file of 8 kHz 16-bit mono PCM: the smallest media every deployment accepts and can measure. */
export function waveFile(samples: number, tone: number): Uint8Array {
  const data = Buffer.alloc(samples * 2)
  for (let i = 0; i < samples; i++) data.writeInt16LE(Math.round(800 * Math.sin((2 * Math.PI * tone * i) / 8000)), i * 2)
  const head = Buffer.alloc(44)
  head.write('RIFF', 0)
  head.writeUInt32LE(36 + data.length, 4)
  head.write('WAVEfmt ', 8)
  head.writeUInt32LE(16, 16)
  head.writeUInt16LE(1, 20)
  head.writeUInt16LE(1, 22)
  head.writeUInt32LE(8000, 24)
  head.writeUInt32LE(16000, 28)
  head.writeUInt16LE(2, 32)
  head.writeUInt16LE(16, 34)
  head.write('data', 36)
  head.writeUInt32LE(data.length, 40)
  return new Uint8Array(Buffer.concat([head, data]))
}

export interface RunFacts {
  facts: Facts
  /** The system the run registers for itself, with the key it signs with. */
  spare: { systemId: string, key: SigningKey }
  /** Stops serving the file the target fetches for registerExternalMedia. */
  close(): Promise<void>
}

/**
 * What a run fixes before it starts: names of its own (so runs on one server never collide),
 * dates, keys, and media files; one of them served on `mediaHost` for the target to fetch.
 */
export async function runFacts(province: string, tag: string, mediaHost: string): Promise<RunFacts> {
  const now = Date.now()
  const media = waveFile(4000, 440)
  const other = waveFile(4000, 660)
  const external = waveFile(4000, 880)
  const server = http.createServer((request, response) => {
    if (request.url !== '/conformance.wav') return void response.writeHead(404).end()
    response.writeHead(200, { 'content-type': 'audio/wav', 'content-length': external.length }).end(external)
  })
  await new Promise<void>((resolve) => server.listen(0, mediaHost, resolve))
  const spareKey = await generateKey()
  const newKey = await generateKey()
  const recoveryKey = await generateKey()
  const spareSystemId = `conformance-${tag}`
  const facts: Facts = {
    province,
    today: vietnamDate(now),
    tomorrow: vietnamDate(now + 86_400_000),
    yesterday: vietnamDate(now - 86_400_000),
    now: new Date(now).toISOString(),
    anHourAgo: new Date(now - 3600_000).toISOString(),
    stationId: `conformance-${tag}-station`,
    otherStationId: `conformance-${tag}-station-2`,
    clusterId: `conformance-${tag}-cluster`,
    boardId: `conformance-${tag}-board`,
    topicId: `conformance-${tag}`,
    periodId: `conformance-${tag}`,
    spareSystemId,
    spareJwks: { keys: [spareKey.publicJwk] },
    newKey: newKey.publicJwk,
    newKeyId: newKey.publicJwk.kid!,
    recoveryJwks: { keys: [recoveryKey.publicJwk] },
    media,
    mediaBytes: media.length,
    mediaSha256: sha256Hex(media),
    otherMediaBytes: other.length,
    otherMediaSha256: sha256Hex(other),
    externalMediaUrl: `http://${mediaHost}:${(server.address() as AddressInfo).port}/conformance.wav`,
    externalMediaSha256: sha256Hex(external),
  }
  return {
    facts,
    spare: { systemId: spareSystemId, key: await importSigningKey(spareKey.privateJwk) },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}
