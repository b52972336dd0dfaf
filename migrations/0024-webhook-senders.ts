import { sql, type Kysely } from 'kysely'

/**
 * The instances sending the webhook outbox, with when each was last heard from. A lane's lease
 * holds only while its owner is heard from, so the lanes of an instance that died (emergencies
 * included) come back within WEBHOOK_SENDER_TIMEOUT_MS, not at the end of a lease sized for the
 * slowest receiver.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create table webhook_senders (owner text primary key, heard_at timestamptz not null)`.execute(db)
}
