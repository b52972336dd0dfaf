import { sql } from 'kysely'
import type { Db } from '../../db/database.js'
import type { Item } from './store.js'
import { recordReached } from './latency.js'

/** Delivery order of the outbox: emergencies first, then priority bulletins, then the rest. */
export const RANK: Record<Item['priority'], number> = { emergency: 0, priority: 1, normal: 2 }

/** A lane `l` no live sender holds: its lease ran out, or its owner went unheard for `senderTimeoutMs`. */
const laneFree = (senderTimeoutMs: number) => sql<boolean>`(l.lease_expires_at is null or l.lease_expires_at < now() or not exists (
  select 1 from webhook_senders s where s.owner = l.lease_owner and s.heard_at > now() - ${senderTimeoutMs} * interval '1 millisecond'))`

/** The next notification of a lane, with what is needed to send it. */
export interface DueNotification {
  notificationId: string
  province: string
  systemId: string
  webhookUrl: string | null
  body: string
  /** A content notification's priority (system events have none), and when it was queued. */
  priority: Item['priority'] | undefined
  queuedAt: Date
}

export interface AttemptOutcome {
  status: number | null
  error: string | null
}

/**
 * The webhook outbox in the database. Deliveries are grouped in lanes, one per province:
 * an instance leases a lane (FOR UPDATE SKIP LOCKED, with an expiry so a crashed instance's
 * lanes come back) and sends its notifications one at a time, emergencies first. A failure
 * backs the whole lane off, so a dead endpoint costs one attempt per backoff and never holds
 * up another province; the next attempt starts again from the most urgent notification.
 */
export class OutboxStore {
  constructor(private readonly db: Db, private readonly owner: string) {}

  /** Says this instance is alive: the lanes it holds stay its own while it is heard from within the sender timeout. */
  async heard(): Promise<void> {
    await this.hear().execute(this.db)
  }

  private hear() {
    return sql`insert into webhook_senders (owner, heard_at) values (${this.owner}, now()) on conflict (owner) do update set heard_at = now()`
  }

  /** This instance stops sending: its record goes, and any lane it still holds is free at once. */
  async leave(): Promise<void> {
    await sql`delete from webhook_senders where owner = ${this.owner}`.execute(this.db)
  }

  /** Forgets the instances not heard from for a day: a lane they held is free either way. */
  async forgetSilentSenders(): Promise<void> {
    await sql`delete from webhook_senders where heard_at < now() - interval '1 day'`.execute(this.db)
  }

  /**
   * Leases up to `limit` lanes that are due and have work, the most urgent first; returns each
   * lane's failure count. A lane is free when its lease ran out or its owner has not been heard
   * from within `senderTimeoutMs` (it died, or stopped): a dead instance holds no province's
   * emergencies for longer than that.
   */
  async claim(limit: number, leaseMs: number, senderTimeoutMs: number): Promise<{ province: string, failures: number }[]> {
    const claimed = await sql<{ province_code: string, failures: number }>`
      with heard as (${this.hear()})
      update webhook_lanes set lease_owner = ${this.owner}, lease_expires_at = now() + ${leaseMs} * interval '1 millisecond'
      where province_code in (
        select l.province_code from webhook_lanes l
        where l.next_attempt_at <= now()
          and ${laneFree(senderTimeoutMs)}
          and exists (select 1 from webhook_outbox o where o.province_code = l.province_code and o.state = 'pending')
        order by (select min(o.rank) from webhook_outbox o where o.province_code = l.province_code and o.state = 'pending'),
          (select min(o.created_at) from webhook_outbox o where o.province_code = l.province_code and o.state = 'pending'), l.next_attempt_at
        limit ${limit}
        for update skip locked
      )
      returning province_code, failures`.execute(this.db)
    return claimed.rows.map((r) => ({ province: r.province_code, failures: r.failures }))
  }

  /** Whether a province's emergency waits for a lane: pending, due, and no live sender holds its lane. */
  async emergencyWaiting(senderTimeoutMs: number): Promise<boolean> {
    const row = await sql<{ waiting: boolean }>`
      select exists (
        select 1 from webhook_lanes l
        where l.next_attempt_at <= now()
          and ${laneFree(senderTimeoutMs)}
          and exists (select 1 from webhook_outbox o where o.province_code = l.province_code and o.state = 'pending' and o.rank = ${RANK.emergency})
      ) as waiting`.execute(this.db)
    return row.rows[0]?.waiting === true
  }

  /** Extends the lease; false when the lane is no longer this instance's. */
  async renew(province: string, leaseMs: number): Promise<boolean> {
    const row = await this.db.updateTable('webhook_lanes')
      .set({ lease_expires_at: sql`now() + ${leaseMs} * interval '1 millisecond'` })
      .where('province_code', '=', province).where('lease_owner', '=', this.owner)
      .returning('province_code').executeTakeFirst()
    return row !== undefined
  }

  /** The most urgent pending notification of a lane: a content event, or an event of the province's system. */
  async head(province: string): Promise<DueNotification | undefined> {
    const row = await this.db.selectFrom('webhook_outbox as o')
      .leftJoin('content_events as e', 'e.id', 'o.notification_id')
      .leftJoin('system_events as se', 'se.id', 'o.notification_id')
      .leftJoin('systems as s', (join) => join.onRef('s.id', '=', 'o.system_id').on('s.status', '=', 'active'))
      .select(['o.notification_id', 'o.province_code', 'o.system_id', 'o.created_at', 's.webhook_url', 'e.type', 'e.item', 'e.occurred_at',
        'se.type as system_type', 'se.payload', 'se.occurred_at as system_occurred_at'])
      .where('o.province_code', '=', province).where('o.state', '=', 'pending')
      .orderBy('o.rank').orderBy('o.created_at').orderBy('o.notification_id')
      .limit(1).executeTakeFirst()
    if (!row) return undefined
    const body = row.type
      ? { id: row.notification_id, type: row.type, occurredAt: row.occurred_at!.toISOString(), content: row.item }
      : { id: row.notification_id, type: row.system_type, occurredAt: row.system_occurred_at!.toISOString(), system: row.payload }
    return {
      notificationId: row.notification_id, province: row.province_code, systemId: row.system_id, webhookUrl: row.webhook_url, body: JSON.stringify(body),
      priority: row.type ? (row.item as Item).priority : undefined, queuedAt: row.created_at,
    }
  }

  /** Queues a notification of a provincial system's own (not content) on its lane, ahead of ordinary content. */
  static async enqueueSystemEvent(trx: Db, event: { id: string, systemId: string, provinceCode: string }): Promise<void> {
    await trx.insertInto('webhook_outbox').values({
      notification_id: event.id, province_code: event.provinceCode, system_id: event.systemId, content_id: null, rank: 1,
    }).execute()
    await OutboxStore.openLanes(trx, [event.provinceCode], false)
  }

  /** Gives each province a lane for what was just queued; an emergency does not wait out the backoff a lane built up on earlier failures. */
  static async openLanes(trx: Db, provinces: string[], emergency: boolean): Promise<void> {
    if (provinces.length === 0) return
    await sql`
      insert into webhook_lanes (province_code) select unnest(${provinces}::text[])
      on conflict (province_code) do update set next_attempt_at =
        case when ${emergency} then least(webhook_lanes.next_attempt_at, now()) else webhook_lanes.next_attempt_at end`.execute(trx)
  }

  /**
   * Queues for a province system that can be notified now (registered with a webhook URL, given
   * one, or reactivated) the latest version of every item still in force for its province that
   * its outbox does not hold: a province whose webhook comes after a publication still hears of
   * what it must broadcast. An item is for the province when its current version's audience
   * holds it (it targets the province or one of its communes), as the feed counts it. Withdrawn
   * and expired items are not sent; running it again queues nothing. Answers how many
   * notifications were queued.
   */
  static async queueMissed(trx: Db, systemId: string): Promise<number> {
    const queued = await sql<{ province_code: string, rank: number }>`
      insert into webhook_outbox (notification_id, province_code, system_id, content_id, rank)
      select e.id, s.province_code, s.id, c.id, (${JSON.stringify(RANK)}::jsonb ->> c.priority)::smallint
      from systems s
      cross join contents c
      cross join lateral (select id from content_events where content_id = c.id order by version desc limit 1) e
      where s.id = ${systemId} and s.role = 'province' and s.status = 'active' and s.webhook_url is not null and s.province_code is not null
        and c.status = 'active' and (c.valid_until is null or c.valid_until > now())
        and (c.audience is null or s.province_code = any(c.audience))
      order by c.id
      on conflict (notification_id, province_code) do nothing
      returning province_code, rank`.execute(trx)
    const province = queued.rows[0]?.province_code
    if (province) await OutboxStore.openLanes(trx, [province], queued.rows.some((r) => r.rank === RANK.emergency))
    return queued.rows.length
  }

  async delivered(due: DueNotification, outcome: AttemptOutcome): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const row = await trx.updateTable('webhook_outbox')
        .set({ state: 'delivered', attempts: sql`attempts + 1`, last_attempt_at: sql`now()`, last_status: outcome.status, last_error: null, delivered_at: sql`now()` })
        .where('notification_id', '=', due.notificationId).where('province_code', '=', due.province).returning('content_id').executeTakeFirst()
      // The item before the lane, as a publication takes them, so the two never wait on each other.
      if (row?.content_id) await recordReached(trx, row.content_id, due.province, 'delivered')
      await trx.updateTable('webhook_lanes').set({ failures: 0 }).where('province_code', '=', due.province).where('lease_owner', '=', this.owner).execute()
    })
  }

  /** Records a failed attempt and hands the lane back, due again after `delayMs`. */
  async failed(due: DueNotification, outcome: AttemptOutcome, delayMs: number): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.updateTable('webhook_outbox')
        .set({ attempts: sql`attempts + 1`, last_attempt_at: sql`now()`, last_status: outcome.status, last_error: outcome.error?.slice(0, 500) ?? null })
        .where('notification_id', '=', due.notificationId).where('province_code', '=', due.province).execute()
      await trx.updateTable('webhook_lanes')
        .set({ failures: sql`failures + 1`, next_attempt_at: sql`now() + ${Math.round(delayMs)} * interval '1 millisecond'`, lease_owner: null, lease_expires_at: null })
        .where('province_code', '=', due.province).where('lease_owner', '=', this.owner).execute()
    })
  }

  /** Hands a lane back at once: it is empty, or this instance is stopping. */
  async release(province: string): Promise<void> {
    await this.db.updateTable('webhook_lanes').set({ lease_owner: null, lease_expires_at: null })
      .where('province_code', '=', province).where('lease_owner', '=', this.owner).execute()
  }

  /** Pending notifications and the age of the oldest, for the metrics. */
  async depth(): Promise<{ pending: number, oldestSeconds: number }> {
    const row = await this.db.selectFrom('webhook_outbox')
      .select([(eb) => eb.fn.countAll<number>().as('pending'), sql<number | null>`extract(epoch from now() - min(created_at))::float8`.as('oldest')])
      .where('state', '=', 'pending').executeTakeFirstOrThrow()
    return { pending: Number(row.pending), oldestSeconds: Math.max(0, Number(row.oldest ?? 0)) }
  }
}
