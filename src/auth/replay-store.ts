import { sql } from 'kysely'
import type { Db } from '../db/database.js'

interface Waiting {
  issuer: string
  jti: string
  expiresAt: Date
  resolve: (firstUse: boolean) => void
  reject: (error: unknown) => void
}

const MAX_BATCH = 500

/**
 * The replay guard every instance shares: an insert keyed by issuer and jti, so the primary
 * key decides a race between instances and no read comes before the write. Calls arriving
 * together share one insert statement (and one commit), which keeps the guard off the
 * critical path under load; each call still waits for its own answer.
 */
export class ReplayStore {
  private waiting: Waiting[] = []
  private scheduled = false

  constructor(private readonly db: Db) {}

  /** True the first time a token is seen; false for a replay. */
  firstUse(issuer: string, jti: string, expiresAt: Date): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ issuer, jti, expiresAt, resolve, reject })
      if (this.waiting.length >= MAX_BATCH) this.flush()
      else if (!this.scheduled) {
        this.scheduled = true
        setImmediate(() => this.flush())
      }
    })
  }

  private flush(): void {
    this.scheduled = false
    const batch = this.waiting
    this.waiting = []
    if (batch.length === 0) return
    // Three array parameters whatever the batch's size: one statement text, prepared once.
    sql<{ issuer: string, jti: string }>`insert into call_tokens_seen (issuer, jti, expires_at)
      select * from unnest(${batch.map((w) => w.issuer)}::text[], ${batch.map((w) => w.jti)}::text[], ${batch.map((w) => w.expiresAt.toISOString())}::timestamptz[])
      on conflict (issuer, jti) do nothing returning issuer, jti`.execute(this.db)
      .then(({ rows: inserted }) => {
        const fresh = new Set(inserted.map((row) => `${row.issuer}\n${row.jti}`))
        for (const w of batch) {
          const key = `${w.issuer}\n${w.jti}`
          // The same token twice in one batch: the first is its use, the second a replay.
          w.resolve(fresh.delete(key))
        }
      }, (error: unknown) => {
        for (const w of batch) w.reject(error)
      })
  }

  /**
   * Forgets tokens that expired before `cutoff`: verification would refuse them as expired anyway.
   * The cutoff comes from the instance clock, the one verification judges expiry by, never the
   * database's: with the two apart, the database's would forget tokens still accepted here.
   */
  async prune(cutoff: Date): Promise<number> {
    const result = await this.db.deleteFrom('call_tokens_seen').where('expires_at', '<', cutoff).executeTakeFirst()
    return Number(result.numDeletedRows)
  }
}
