import { sql } from 'kysely'
import type { Db } from '../db/database.js'

/**
 * The replay guard every instance shares: one insert per call, keyed by issuer and jti.
 * The primary key decides a race between two instances; no read comes before the write.
 */
export class ReplayStore {
  constructor(private readonly db: Db) {}

  /** True the first time a token is seen; false for a replay. */
  async firstUse(issuer: string, jti: string, expiresAt: Date): Promise<boolean> {
    const row = await this.db.insertInto('call_tokens_seen')
      .values({ issuer, jti, expires_at: expiresAt })
      .onConflict((oc) => oc.columns(['issuer', 'jti']).doNothing())
      .returning('jti')
      .executeTakeFirst()
    return row !== undefined
  }

  /** Forgets tokens that expired more than `graceSeconds` ago: they would be refused as expired anyway. */
  async prune(graceSeconds: number): Promise<number> {
    const result = await this.db.deleteFrom('call_tokens_seen')
      .where('expires_at', '<', sql<Date>`now() - make_interval(secs => ${graceSeconds})`)
      .executeTakeFirst()
    return Number(result.numDeletedRows)
  }
}
