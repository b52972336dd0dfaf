import { sql } from 'kysely'
import type { Db } from '../db/database.js'

export interface StoredWrite {
  requestHash: string
  receiptId: string
  /** Seconds since the write committed. */
  ageSeconds: number
  response: { status: number, type: string | null, body: string } | null
}

export class IdempotencyKeyTaken extends Error {}

export class IdempotencyStore {
  constructor(private readonly db: Db) {}

  async find(caller: string, key: string): Promise<StoredWrite | undefined> {
    const row = await this.db.selectFrom('idempotency_keys').selectAll()
      .select(sql<number>`extract(epoch from now() - created_at)`.as('age_seconds'))
      .where('caller', '=', caller).where('key', '=', key).where('expires_at', '>', sql<Date>`now()`).executeTakeFirst()
    return row && {
      requestHash: row.request_hash,
      receiptId: row.receipt_id,
      ageSeconds: Number(row.age_seconds),
      response: row.response_status === null ? null : { status: row.response_status, type: row.response_type, body: row.response_body ?? '' },
    }
  }

  /**
   * Records, inside the write's transaction, that the write is done under this key; an expired
   * record of the key is replaced. A second request racing under the same key waits here for
   * the first to commit, then fails.
   */
  async record(trx: Db, entry: { caller: string, key: string, requestHash: string, receiptId: string, ttlHours: number }): Promise<void> {
    const taken = await trx.insertInto('idempotency_keys').values({
      caller: entry.caller, key: entry.key, request_hash: entry.requestHash, receipt_id: entry.receiptId,
      expires_at: sql<Date>`now() + make_interval(hours => ${entry.ttlHours})`,
    }).onConflict((oc) => oc.columns(['caller', 'key']).doUpdateSet({
      request_hash: entry.requestHash, receipt_id: entry.receiptId, response_status: null, response_type: null, response_body: null,
      created_at: sql<Date>`now()`, expires_at: sql<Date>`now() + make_interval(hours => ${entry.ttlHours})`,
    }).where('idempotency_keys.expires_at', '<=', sql<Date>`now()`)).returning('key').executeTakeFirst()
    if (!taken) throw new IdempotencyKeyTaken()
  }

  async saveAnswer(caller: string, key: string, receiptId: string, response: { status: number, type: string | null, body: string }): Promise<void> {
    await this.db.updateTable('idempotency_keys').set({
      response_status: response.status, response_type: response.type, response_body: response.body,
    }).where('caller', '=', caller).where('key', '=', key).where('receipt_id', '=', receiptId).execute()
  }

  async prune(): Promise<number> {
    const result = await this.db.deleteFrom('idempotency_keys').where('expires_at', '<', sql<Date>`now()`).executeTakeFirst()
    return Number(result.numDeletedRows)
  }
}
