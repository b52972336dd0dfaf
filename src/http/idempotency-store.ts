import { sql } from 'kysely'
import type { Db } from '../db/database.js'

export interface StoredAttempt {
  requestHash: string
  state: 'in_flight' | 'done'
  lockedUntil: Date
  receiptId: string | null
  response: { status: number, type: string | null, body: string } | null
  expiresAt: Date
}

export class IdempotencyStore {
  constructor(private readonly db: Db) {}

  /** Claims a key for a request; false when the key is already taken (by this request or another). */
  async claim(caller: string, key: string, requestHash: string, leaseMs: number, ttlHours: number): Promise<boolean> {
    const row = await this.db.insertInto('idempotency_keys').values({
      caller, key, request_hash: requestHash, state: 'in_flight',
      locked_until: sql<Date>`now() + make_interval(secs => ${leaseMs / 1000})`,
      expires_at: sql<Date>`now() + make_interval(hours => ${ttlHours})`,
    }).onConflict((oc) => oc.columns(['caller', 'key']).doNothing()).returning('key').executeTakeFirst()
    return row !== undefined
  }

  async find(caller: string, key: string): Promise<StoredAttempt | undefined> {
    const row = await this.db.selectFrom('idempotency_keys').selectAll().where('caller', '=', caller).where('key', '=', key).executeTakeFirst()
    return row && {
      requestHash: row.request_hash,
      state: row.state,
      lockedUntil: row.locked_until,
      receiptId: row.receipt_id,
      response: row.response_status === null ? null : { status: row.response_status, type: row.response_type, body: row.response_body ?? '' },
      expiresAt: row.expires_at,
    }
  }

  /** Takes over an abandoned claim (its lease ran out and nothing was committed); false if another request took it first. */
  async reclaim(caller: string, key: string, requestHash: string, leaseMs: number, ttlHours: number): Promise<boolean> {
    const row = await this.db.updateTable('idempotency_keys').set({
      request_hash: requestHash, state: 'in_flight', receipt_id: null,
      locked_until: sql<Date>`now() + make_interval(secs => ${leaseMs / 1000})`,
      expires_at: sql<Date>`now() + make_interval(hours => ${ttlHours})`,
    }).where('caller', '=', caller).where('key', '=', key)
      .where((eb) => eb.or([eb('expires_at', '<', sql<Date>`now()`), eb.and([eb('state', '=', 'in_flight'), eb('locked_until', '<', sql<Date>`now()`), eb('receipt_id', 'is', null)])]))
      .returning('key').executeTakeFirst()
    return row !== undefined
  }

  /** Notes, inside the write's own transaction, that the write committed under this key. */
  async attachReceipt(db: Db, caller: string, key: string, receiptId: string): Promise<void> {
    await db.updateTable('idempotency_keys').set({ receipt_id: receiptId }).where('caller', '=', caller).where('key', '=', key).execute()
  }

  async complete(caller: string, key: string, response: { status: number, type: string | null, body: string }): Promise<void> {
    await this.db.updateTable('idempotency_keys').set({
      state: 'done', response_status: response.status, response_type: response.type, response_body: response.body,
    }).where('caller', '=', caller).where('key', '=', key).execute()
  }

  async release(caller: string, key: string): Promise<void> {
    await this.db.deleteFrom('idempotency_keys').where('caller', '=', caller).where('key', '=', key).where('state', '=', 'in_flight').execute()
  }

  async prune(): Promise<number> {
    const result = await this.db.deleteFrom('idempotency_keys').where('expires_at', '<', sql<Date>`now()`).executeTakeFirst()
    return Number(result.numDeletedRows)
  }
}
