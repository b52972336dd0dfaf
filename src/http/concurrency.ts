import { HttpProblem } from './problem.js'

interface Waiter { admit: () => void, timer: NodeJS.Timeout }

/**
 * A bounded share of the instance per calling system: at most `limit` of a caller's requests
 * run at once, up to `queue` more wait their turn in memory (holding no database connection,
 * their bodies not yet read), and the rest are refused at once with 429 and Retry-After. So
 * one caller's parallel batches take at most `limit` database connections, and every other
 * caller keeps the rest of the pool.
 */
export class CallerBulkhead {
  private readonly running = new Map<string, number>()
  private readonly waiting = new Map<string, Waiter[]>()

  constructor(private readonly limit: number, private readonly queue: number, private readonly queueTimeoutMs: number) {}

  /** Resolves with the release function once the caller may run; throws 429 when its share and queue are full. */
  acquire(caller: string): Promise<() => void> {
    const release = this.releaser(caller)
    if ((this.running.get(caller) ?? 0) < this.limit) {
      this.running.set(caller, (this.running.get(caller) ?? 0) + 1)
      return Promise.resolve(release)
    }
    const line = this.waiting.get(caller) ?? []
    if (line.length >= this.queue) return Promise.reject(this.busy(caller))
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        admit: () => {
          clearTimeout(waiter.timer)
          resolve(release)
        },
        timer: setTimeout(() => {
          const current = this.waiting.get(caller) ?? []
          const at = current.indexOf(waiter)
          if (at >= 0) current.splice(at, 1)
          reject(this.busy(caller))
        }, this.queueTimeoutMs),
      }
      line.push(waiter)
      this.waiting.set(caller, line)
    })
  }

  /**
   * Refuses at once, before any signature work, a request claiming to be from a caller whose
   * share and queue are already full of verified requests. A forger naming someone else gains
   * nothing: it is refused only when that caller is saturated by its own work.
   */
  refuseIfFull(claimedCaller: string | undefined): void {
    if (!claimedCaller) return
    if ((this.running.get(claimedCaller) ?? 0) >= this.limit && (this.waiting.get(claimedCaller)?.length ?? 0) >= this.queue) throw this.busy(claimedCaller)
  }

  private releaser(caller: string): () => void {
    let released = false
    return () => {
      if (released) return
      released = true
      const next = this.waiting.get(caller)?.shift()
      if (next) return next.admit()
      const running = (this.running.get(caller) ?? 1) - 1
      if (running > 0) this.running.set(caller, running)
      else this.running.delete(caller)
      if (this.waiting.get(caller)?.length === 0) this.waiting.delete(caller)
    }
  }

  private busy(caller: string) {
    // The body is left unread: closing the connection stops the service from receiving it.
    return new HttpProblem('caller-busy', `${caller} already has ${this.limit} requests running and ${this.queue} waiting on this instance; ` +
      'send fewer at once, or retry after Retry-After seconds', { headers: { 'retry-after': '1', connection: 'close' } })
  }
}

/**
 * Runs the tasks of one key one after another, in order, in memory: a caller's batches that
 * must not interleave wait here for each other instead of inside a transaction, where each
 * would hold a database connection while it waits for a lock. (Instances still serialise
 * among themselves with an advisory lock.)
 */
export class KeyedSerializer {
  private readonly tails = new Map<string, Promise<unknown>>()

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve()
    const result = previous.then(task, task)
    const tail = result.catch(() => undefined)
    this.tails.set(key, tail)
    void tail.then(() => { if (this.tails.get(key) === tail) this.tails.delete(key) })
    return result
  }
}

const SLICE = 500
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve))

/**
 * Runs `each` over a large batch in slices, letting other requests' callbacks run between them:
 * a batch of thousands of items then blocks the event loop for one slice at a time, not for
 * the whole batch, so a small call of another caller is not held behind it.
 */
export async function inSlices<T>(items: readonly T[], each: (item: T, index: number) => void): Promise<void> {
  for (let start = 0; start < items.length; start += SLICE) {
    if (start > 0) await nextTurn()
    const end = Math.min(items.length, start + SLICE)
    for (let index = start; index < end; index++) each(items[index]!, index)
  }
}
