import type { IncomingHttpHeaders } from 'node:http'
import { HttpProblem } from './problem.js'

interface Bucket { bytes: number, at: number }

/**
 * A token bucket of request-body bytes per calling system, in memory per instance. The work a
 * call costs (receiving, hashing, parsing, validating and storing its body) grows with its bytes,
 * not with the count of calls: a count limit lets one caller's maximum-size batches take the
 * whole machine, two cores of it being enough to slow every other caller. Bytes are known from
 * Content-Length before the body is read, so a caller over its budget is refused before any of
 * that work is done.
 *
 * The burst stays small so that a caller's work is spread out in time rather than heaped up: a
 * body larger than the burst is let in when the bucket is full and leaves it in debt, which the
 * caller then waits out.
 */
export class BodyBudget {
  private readonly buckets = new Map<string, Bucket>()

  constructor(private readonly bytesPerSecond: number, private readonly burstBytes: number, private readonly largestBody: number,
    private readonly now: () => number = Date.now) {}

  /**
   * What a request's body counts for: its Content-Length; nothing beyond the largest accepted,
   * which is refused with 413 unread; a body of unknown length (chunked) counts as the largest.
   */
  cost(headers: IncomingHttpHeaders): number {
    const length = headers['content-length']
    if (length !== undefined) {
      const bytes = Number(length)
      return Number.isSafeInteger(bytes) && bytes >= 0 && bytes <= this.largestBody ? bytes : 0
    }
    return headers['transfer-encoding'] ? this.largestBody : 0
  }

  /**
   * Takes `bytes` from the caller's budget, or throws 429 with the seconds until it will hold them.
   * A request without a body takes nothing and is never refused here, even while the caller pays
   * back a large body: a read costs no body work, and its 429 would be a code its operation lacks.
   */
  take(caller: string, bytes: number): void {
    if (bytes === 0) return
    const bucket = this.filled(caller)
    if (bucket.bytes < this.needed(bytes)) throw this.spent(caller, bytes, bucket.bytes)
    bucket.bytes -= bytes
    if (bucket.bytes >= this.burstBytes) this.buckets.delete(caller)
    else this.buckets.set(caller, bucket)
  }

  /** Gives back what `take` took for a request that was then refused without its body being read. */
  refund(caller: string, bytes: number): void {
    const bucket = this.filled(caller)
    bucket.bytes = Math.min(this.burstBytes, bucket.bytes + bytes)
    if (bucket.bytes >= this.burstBytes) this.buckets.delete(caller)
    else this.buckets.set(caller, bucket)
  }

  /**
   * Refuses, before any signature work, a request claiming to be from a caller whose budget
   * cannot cover it. It takes nothing: a forger naming another system is refused only when that
   * system has spent its budget on its own verified calls, and spends none of it.
   */
  refuseIfShort(claimedCaller: string | undefined, bytes: number): void {
    if (!claimedCaller || bytes === 0 || !this.buckets.has(claimedCaller)) return
    const bucket = this.filled(claimedCaller)
    if (bucket.bytes < this.needed(bytes)) throw this.spent(claimedCaller, bytes, bucket.bytes)
  }

  /** What the bucket must hold to let a body in: all of it, or a full bucket for a body larger than the burst. */
  private needed(bytes: number): number {
    return Math.min(bytes, this.burstBytes)
  }

  /** The caller's bucket refilled up to now; a caller absent from the map has a full one. */
  private filled(caller: string): Bucket {
    const now = this.now()
    const bucket = this.buckets.get(caller)
    if (!bucket) return { bytes: this.burstBytes, at: now }
    bucket.bytes = Math.min(this.burstBytes, bucket.bytes + (now - bucket.at) * this.bytesPerSecond / 1000)
    bucket.at = now
    return bucket
  }

  private spent(caller: string, wanted: number, held: number) {
    const seconds = Math.max(1, Math.ceil((this.needed(wanted) - held) / this.bytesPerSecond))
    // The body is left unread: closing the connection stops the service from receiving it.
    return new HttpProblem('body-rate-exceeded', `${caller} sent more request-body bytes than its ${this.bytesPerSecond} a second ` +
      `(bursts up to ${this.burstBytes}) on this instance; this body of ${wanted} bytes fits again in about ${seconds} s`,
      { headers: { 'retry-after': String(seconds), connection: 'close' } })
  }
}
