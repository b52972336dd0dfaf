import { createHash } from 'node:crypto'
import type { App } from '../../src/app-type.js'
import { signedInject, type TestSystem } from './systems.js'

/** Media files made here, byte by byte, so the suite needs no recordings. */

export const sha256Hex = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex')

/** A WAVE file of 16-bit mono PCM: `seconds` of a quiet tone at `rate` samples a second. */
export function wav(seconds: number, rate = 8000): Buffer {
  const samples = Math.round(seconds * rate)
  const data = Buffer.alloc(samples * 2)
  for (let i = 0; i < samples; i++) data.writeInt16LE(Math.round(1000 * Math.sin((2 * Math.PI * 440 * i) / rate)), i * 2)
  const header = Buffer.alloc(44)
  header.write('RIFF', 0)
  header.writeUInt32LE(36 + data.length, 4)
  header.write('WAVEfmt ', 8)
  header.writeUInt32LE(16, 16)
  header.writeUInt16LE(1, 20) // PCM
  header.writeUInt16LE(1, 22) // mono
  header.writeUInt32LE(rate, 24)
  header.writeUInt32LE(rate * 2, 28)
  header.writeUInt16LE(2, 32)
  header.writeUInt16LE(16, 34)
  header.write('data', 36)
  header.writeUInt32LE(data.length, 40)
  return Buffer.concat([header, data])
}

/** Silent MPEG-1 Layer III frames (128 kbit/s, 44.1 kHz, mono): 1152 samples each, 417 bytes. */
export function mp3(frames: number): Buffer {
  const frame = Buffer.alloc(417)
  frame.set([0xff, 0xfb, 0x90, 0xc0])
  return Buffer.concat(Array.from({ length: frames }, () => frame))
}

export const mp3Seconds = (frames: number) => (frames * 1152) / 44_100

/** The start of a Linux executable, padded to `bytes`: what a renamed program looks like. */
export function elf(bytes = 8192): Buffer {
  const file = Buffer.alloc(bytes)
  file.set([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00])
  file.writeUInt16LE(2, 16) // ET_EXEC
  file.writeUInt16LE(0x3e, 18) // x86-64
  return file
}

export const CHUNK = 'application/offset+octet-stream'

export const begin = (app: App, system: TestSystem, file: Buffer, extra: Record<string, unknown> = {}) =>
  signedInject(app, system, { method: 'POST', url: '/v2/media/uploads', body: { bytes: file.length, sha256: sha256Hex(file), ...extra } })

export const chunk = (app: App, system: TestSystem, id: string, offset: number, bytes: Buffer) =>
  signedInject(app, system, { method: 'PATCH', url: `/v2/media/uploads/${id}`, body: bytes, headers: { 'content-type': CHUNK, 'upload-offset': String(offset) } })

/** Uploads a whole file in chunks of `size` and answers the last response. */
export async function upload(app: App, system: TestSystem, file: Buffer, size = 64 * 1024) {
  const created = await begin(app, system, file)
  const { id } = created.json().upload
  let last = created
  for (let offset = 0; offset < file.length; offset += size) last = await chunk(app, system, id, offset, file.subarray(offset, offset + size))
  return last
}
