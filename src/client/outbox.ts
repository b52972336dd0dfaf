import { randomUUID } from 'node:crypto'
import { mkdir, open, readFile, readdir, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { TtnApiError, type SignedHttp } from './http.js'

export interface OutboxEntry {
  seq: number
  method: 'PUT' | 'POST' | 'PATCH' | 'DELETE'
  path: string
  body?: unknown
  /** Sent with every attempt, so a push that reached the service before a crash is not applied twice. */
  idempotencyKey: string
  enqueuedAt: string
}

export interface DrainReport {
  sent: number
  /** Refused whole (a 4xx); kept in `rejected/` with the problem. */
  rejected: number
  /** Sent, but the answer names entries it refused (status events, broadcast logs); kept in `rejected/` with the answer. */
  partlyRejected: number
  pending: number
}

/** Batches of status events and broadcast logs are taken in part: the answer lists the entries refused. */
const refusesEntries = (answer: unknown): boolean => {
  const rejections = (answer as { rejections?: unknown } | null)?.rejections
  return Array.isArray(rejections) && rejections.length > 0
}

const NAME = /^(\d{12})\.json$/
const fileOf = (seq: number) => `${String(seq).padStart(12, '0')}.json`

/** Writes a file and makes it durable before it counts: data, then the rename, then the folder. */
async function writeDurably(dir: string, name: string, text: string): Promise<void> {
  const temporary = join(dir, `.${name}.${randomUUID()}.tmp`)
  const handle = await open(temporary, 'wx')
  try {
    await handle.writeFile(text)
    await handle.sync()
  } finally {
    await handle.close()
  }
  await rename(temporary, join(dir, name))
  const folder = await open(dir, 'r')
  try {
    await folder.sync()
  } finally {
    await folder.close()
  }
}

/**
 * A durable outbox on disk for a provincial system's pushes: each push is written to disk
 * before anything is sent, then sent in order once the service is reachable. A push the
 * service refuses for good (a 4xx other than 429) is moved to `rejected/` with the problem,
 * and one taken in part is copied there with the answer naming the refused entries, for a
 * person to look at; nothing is lost and, thanks to the Idempotency-Key each entry
 * carries, nothing is applied twice even if the process dies between sending and forgetting.
 */
export class Outbox {
  private constructor(readonly dir: string, private readonly http: SignedHttp, private nextSeq: number) {}

  static async open(dir: string, http: SignedHttp): Promise<Outbox> {
    await mkdir(join(dir, 'rejected'), { recursive: true })
    const seqs = await Outbox.seqs(dir)
    const rejected = await Outbox.seqs(join(dir, 'rejected'))
    return new Outbox(dir, http, Math.max(0, ...seqs, ...rejected) + 1)
  }

  private static async seqs(dir: string): Promise<number[]> {
    return (await readdir(dir)).map((name) => NAME.exec(name)?.[1]).filter((s): s is string => s !== undefined).map(Number).sort((a, b) => a - b)
  }

  async enqueue(method: OutboxEntry['method'], path: string, body?: unknown): Promise<OutboxEntry> {
    const entry: OutboxEntry = {
      seq: this.nextSeq++, method, path, ...(body === undefined ? {} : { body }),
      idempotencyKey: `outbox-${randomUUID()}`, enqueuedAt: new Date().toISOString(),
    }
    await writeDurably(this.dir, fileOf(entry.seq), JSON.stringify(entry))
    return entry
  }

  async pending(): Promise<OutboxEntry[]> {
    const entries: OutboxEntry[] = []
    for (const seq of await Outbox.seqs(this.dir)) entries.push(JSON.parse(await readFile(join(this.dir, fileOf(seq)), 'utf8')) as OutboxEntry)
    return entries
  }

  /**
   * Sends what is waiting, oldest first, and stops at the first entry that cannot be sent
   * yet (the service unreachable or busy) after `patienceMs`, keeping it and all after it.
   */
  async drain(options: { patienceMs?: number, onSent?: (entry: OutboxEntry, answer: unknown) => unknown, signal?: AbortSignal } = {}): Promise<DrainReport> {
    const report: DrainReport = { sent: 0, rejected: 0, partlyRejected: 0, pending: 0 }
    const queue = await this.pending()
    for (const [index, entry] of queue.entries()) {
      const deadline = Date.now() + (options.patienceMs ?? 60_000)
      for (let attempt = 0; ; attempt++) {
        try {
          const answer = await this.http.send(entry.method, entry.path, entry.body, { idempotent: true, retry: false, headers: { 'idempotency-key': entry.idempotencyKey } })
          if (refusesEntries(answer.body)) {
            await writeDurably(join(this.dir, 'rejected'), fileOf(entry.seq), JSON.stringify({ ...entry, answer: answer.body }))
            report.partlyRejected++
          }
          await options.onSent?.(entry, answer.body)
          await rm(join(this.dir, fileOf(entry.seq)))
          report.sent++
          break
        } catch (error) {
          if (error instanceof TtnApiError && error.problem?.code === 'idempotency-answer-lost') {
            // Applied before a crash of the service; the receipt proves it.
            await options.onSent?.(entry, error.problem)
            await rm(join(this.dir, fileOf(entry.seq)))
            report.sent++
            break
          }
          const stillRunning = error instanceof TtnApiError && error.problem?.code === 'idempotency-key-in-flight'
          if (error instanceof TtnApiError && !error.retryable && !stillRunning) {
            await writeDurably(join(this.dir, 'rejected'), fileOf(entry.seq), JSON.stringify({ ...entry, problem: error.problem ?? { status: error.status } }))
            await rm(join(this.dir, fileOf(entry.seq)))
            report.rejected++
            break
          }
          if (Date.now() >= deadline || options.signal?.aborted) {
            report.pending = queue.length - index
            return report
          }
          await sleep(Math.min(10_000, 250 * 2 ** attempt))
        }
      }
    }
    return report
  }
}
