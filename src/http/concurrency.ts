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

  /** Requests of a caller running now, and waiting. */
  load(caller: string): { running: number, waiting: number } {
    return { running: this.running.get(caller) ?? 0, waiting: this.waiting.get(caller)?.length ?? 0 }
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
    return new HttpProblem('caller-busy', `${caller} already has ${this.limit} requests running and ${this.queue} waiting on this instance; ` +
      'send fewer at once, or retry after Retry-After seconds', { headers: { 'retry-after': '1' } })
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
