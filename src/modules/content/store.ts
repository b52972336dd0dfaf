import { sql } from 'kysely'
import type { Static } from 'typebox'
import type { Ack, ContentItem, ContentNotification, Delivery, ProvinceDeliveries, Topic } from '../../../schemas/content.js'
import type { Db } from '../../db/database.js'
import { settledPage, type FeedPosition } from '../../db/feed.js'
import type { AlertArea } from './cap.js'
import { recordReached } from './latency.js'
import { OutboxStore, RANK } from './outbox.js'

export type Item = Static<typeof ContentItem>
type Notification = Static<typeof ContentNotification>
export type EventType = Notification['type']

/** Who an event goes to: null for every province. */
export type Audience = string[] | null

/** The audience of a version: every province, or the provinces it targets and those of the communes it targets, in order. */
export const audienceOf = (version: Pick<Item, 'targets' | 'communes'>): Audience =>
  (version.targets === 'all' ? null : [...new Set([...version.targets, ...version.communes.map((c) => c.province)])].sort())

/** The provinces a new version goes to: those it targets and those the previous one did, so a province dropped from the targets hears of it. */
export function widen(previous: Audience, next: Audience): Audience {
  if (previous === null || next === null) return null
  return [...new Set([...previous, ...next])].sort()
}

const toTopic = (row: { id: string, kind: Static<typeof Topic>['kind'], title: string, basis: string | null, created_at: Date }): Static<typeof Topic> =>
  ({ id: row.id, kind: row.kind, title: row.title, basis: row.basis, createdAt: row.created_at.toISOString() })

export interface FeedRow extends Notification { feed_xid: string, feed_seq: number }

export class ContentStore {
  constructor(private readonly db: Db) {}

  async topics(): Promise<Static<typeof Topic>[]> {
    const rows = await this.db.selectFrom('content_topics').select(['id', 'kind', 'title', 'basis', 'created_at']).orderBy('position').execute()
    return rows.map(toTopic)
  }

  /** Undefined when a topic with this id exists. */
  async addTopic(trx: Db, topic: { id: string, title: string, basis?: string | undefined }): Promise<Static<typeof Topic> | undefined> {
    const row = await trx.insertInto('content_topics').values({ id: topic.id, kind: 'custom', title: topic.title, basis: topic.basis ?? null })
      .onConflict((oc) => oc.column('id').doNothing())
      .returning(['id', 'kind', 'title', 'basis', 'created_at']).executeTakeFirst()
    return row && toTopic(row)
  }

  async topicExists(id: string, db: Db = this.db): Promise<boolean> {
    return (await db.selectFrom('content_topics').select('id').where('id', '=', id).executeTakeFirst()) !== undefined
  }

  /** The codes of the active provinces. */
  async activeProvinces(db: Db = this.db): Promise<string[]> {
    const rows = await db.selectFrom('admin_units').select('code').where('level', '=', 'province').where('status', '=', 'active').orderBy('code').execute()
    return rows.map((r) => r.code)
  }

  /** Those of `codes` that are active commune-level units, with their provinces. */
  async activeCommunes(codes: string[], db: Db = this.db): Promise<{ code: string, province: string }[]> {
    if (codes.length === 0) return []
    const rows = await db.selectFrom('admin_units').select(['code', 'province_code'])
      .where('level', '!=', 'province').where('status', '=', 'active').where('province_code', 'is not', null)
      .where(sql<boolean>`code = any(${codes}::text[])`).execute()
    return rows.map((r) => ({ code: r.code, province: r.province_code! }))
  }

  async get(id: string, db: Db = this.db, lock = false): Promise<Item | undefined> {
    let query = db.selectFrom('contents').select('item').where('id', '=', id)
    // No key changes: the lock leaves the key-share locks of rows that reference the item (a
    // delivery recording its latency, an acknowledgement) free, so neither waits on the other.
    if (lock) query = query.forNoKeyUpdate()
    const row = await query.executeTakeFirst()
    return row?.item as Item | undefined
  }

  /** Whether a province may read an item: one that was ever sent to it, or one it shared. */
  async visibleTo(id: string, province: string): Promise<boolean> {
    return (await this.visibility([id], province)).visible.has(id)
  }

  /** Of the ids given, the items that exist and those a province may read (see `visibleTo`). */
  async visibility(ids: string[], province: string, db: Db = this.db): Promise<{ known: Set<string>, visible: Set<string> }> {
    if (ids.length === 0) return { known: new Set(), visible: new Set() }
    const rows = await db.selectFrom('contents').select('id')
      .select((eb) => eb.or([
        eb('province_code', '=', province),
        eb.exists(eb.selectFrom('content_events').select('seq').whereRef('content_events.content_id', '=', 'contents.id')
          .where(sql<boolean>`(audience is null or ${province} = any(audience))`)),
      ]).as('visible'))
      .where('id', 'in', ids).execute()
    return { known: new Set(rows.map((r) => r.id)), visible: new Set(rows.filter((r) => r.visible).map((r) => r.id)) }
  }

  /** The audience of the latest event of an item, to widen with the next one. */
  async audience(id: string, db: Db): Promise<Audience> {
    const row = await db.selectFrom('content_events').select('audience').where('content_id', '=', id).orderBy('version', 'desc').limit(1).executeTakeFirst()
    return row?.audience ?? null
  }

  /** Stores a version of an item (the first inserts it), with the media files it uses. */
  async save(trx: Db, item: Item): Promise<void> {
    const row = {
      origin: item.origin, province_code: item.province, version: item.version, status: item.status, topic_id: item.topic,
      priority: item.priority, targets: item.targets === 'all' ? null : item.targets, audience: audienceOf(item), language: item.language, test: item.test,
      item: JSON.stringify(item),
      published_by: item.publishedBy, published_at: item.publishedAt, updated_at: item.updatedAt, valid_until: item.validUntil,
    }
    await trx.insertInto('contents').values({ id: item.id, ...row }).onConflict((oc) => oc.column('id').doUpdateSet(row)).execute()
    // The files the current version uses, which the media retention job keeps while it is in force.
    await trx.deleteFrom('content_media').where('content_id', '=', item.id).execute()
    if (item.media.length > 0) await trx.insertInto('content_media').values(item.media.map((m) => ({ content_id: item.id, sha256: m.sha256 }))).execute()
  }

  /**
   * Records an event in the feed and queues its webhook notification for every province of
   * the audience whose active system has a webhook URL, in the same transaction.
   */
  async emit(trx: Db, event: { id: string, type: EventType, item: Item, audience: Audience }): Promise<string[]> {
    await trx.insertInto('content_events').values({
      id: event.id, content_id: event.item.id, version: event.item.version, type: event.type, audience: event.audience,
      item: JSON.stringify(event.item), occurred_at: event.item.updatedAt,
    }).execute()
    const queued = await sql<{ province_code: string }>`
      insert into webhook_outbox (notification_id, province_code, system_id, content_id, rank)
      select distinct on (s.province_code) ${event.id}::uuid, s.province_code, s.id, ${event.item.id}::uuid, ${RANK[event.item.priority]}::smallint
      from systems s
      where s.role = 'province' and s.status = 'active' and s.webhook_url is not null and s.province_code is not null
        and (${event.audience}::text[] is null or s.province_code = any(${event.audience}::text[]))
      order by s.province_code, s.id
      returning province_code`.execute(trx)
    const provinces = queued.rows.map((r) => r.province_code)
    await OutboxStore.openLanes(trx, provinces, event.item.priority === 'emergency')
    return provinces
  }

  /** Settled events after `position` meant for `province` (every event for central), in feed order. */
  async feed(position: FeedPosition, province: string | undefined, limit: number): Promise<FeedRow[]> {
    let query = settledPage(this.db.selectFrom('content_events').select(['id', 'type', 'item', 'occurred_at']), 'content_events', position, limit)
    if (province) query = query.where(sql<boolean>`(audience is null or ${province} = any(audience))`)
    const rows = await query.execute()
    return rows.map((row) => ({ feed_xid: row.feed_xid, feed_seq: row.feed_seq, id: row.id, type: row.type, occurredAt: row.occurred_at.toISOString(), content: row.item as Item }))
  }

  async list(filter: {
    origin?: string | undefined, province?: string | undefined, topic?: string | undefined, status?: string | undefined, language?: string | undefined,
    after?: readonly [string, string] | undefined, limit: number,
  }): Promise<Item[]> {
    let query = this.db.selectFrom('contents').select('item').orderBy('published_at', 'desc').orderBy('id').limit(filter.limit + 1)
    if (filter.origin) query = query.where('origin', '=', filter.origin as 'central')
    if (filter.province) query = query.where('province_code', '=', filter.province)
    if (filter.topic) query = query.where('topic_id', '=', filter.topic)
    if (filter.status) query = query.where('status', '=', filter.status as 'active')
    if (filter.language) query = query.where('language', '=', filter.language)
    if (filter.after) {
      const [publishedAt, id] = filter.after
      query = query.where(sql<boolean>`(published_at < ${publishedAt}::timestamptz or (published_at = ${publishedAt}::timestamptz and id > ${id}::uuid))`)
    }
    return (await query.execute()).map((row) => row.item as Item)
  }

  /** What a CAP alert of an item says beyond the item: earlier versions, the topic's title, the places by name (the nation, or each province with the communes targeted in it), the SHA-1 of its files. */
  async alertFacts(item: Item): Promise<{ earlier: { version: number, at: string }[], topicTitle: string, areas: AlertArea[] | 'nation', sha1: Map<string, string> }> {
    const provinces = item.targets === 'all' ? [] : [...new Set([...item.targets, ...item.communes.map((c) => c.province)])]
    const codes = [...provinces, ...item.communes.map((c) => c.code)]
    const [earlier, topic, units, media] = await Promise.all([
      this.db.selectFrom('content_events').select(['version', 'occurred_at']).where('content_id', '=', item.id).where('version', '<', item.version).orderBy('version').execute(),
      this.db.selectFrom('content_topics').select('title').where('id', '=', item.topic).executeTakeFirst(),
      codes.length === 0 ? Promise.resolve([]) : this.db.selectFrom('admin_units').select(['code', 'name']).where('code', 'in', codes).execute(),
      item.media.length === 0 ? Promise.resolve([]) : this.db.selectFrom('media').select(['sha256', 'sha1']).where('sha256', 'in', item.media.map((m) => m.sha256)).execute(),
    ])
    const name = new Map(units.map((u) => [u.code, u.name ?? u.code]))
    const unit = (code: string) => ({ code, name: name.get(code) ?? code })
    const whole = new Set(item.targets === 'all' ? [] : item.targets)
    return {
      earlier: earlier.map((e) => ({ version: e.version, at: e.occurred_at.toISOString() })),
      topicTitle: topic?.title ?? item.topic,
      areas: item.targets === 'all' ? 'nation' : provinces.sort().map((code) => ({
        province: unit(code),
        communes: whole.has(code) ? [] : item.communes.filter((c) => c.province === code).map((c) => unit(c.code)),
      })),
      sha1: new Map(media.map((m) => [m.sha256, m.sha1])),
    }
  }

  /** The current versions of the alerts (priority and emergency items) in force, and those withdrawn in the last day, newest first. */
  async alerts(limit: number): Promise<Item[]> {
    const rows = await this.db.selectFrom('contents').select('item')
      .where('origin', '=', 'central').where('priority', '!=', 'normal')
      .where(sql<boolean>`(status = 'active' and (valid_until is null or valid_until > now())) or (status = 'withdrawn' and updated_at > now() - interval '1 day')`)
      .orderBy('updated_at', 'desc').orderBy('id').limit(limit).execute()
    return rows.map((row) => row.item as Item)
  }

  /** Stores an acknowledgement; the same one sent again changes nothing. */
  async ack(trx: Db, ack: {
    contentId: string, province: string, version: number, receivedAt: string, scheduledAt: string | null, stations: number | null, communes: string[] | null,
  }): Promise<{ ack: Static<typeof Ack>, result: 'created' | 'updated' | 'unchanged' }> {
    const existing = await trx.selectFrom('content_acks').selectAll().where('content_id', '=', ack.contentId).where('province_code', '=', ack.province).forUpdate().executeTakeFirst()
    const same = (a: Date | null, b: string | null) => (a === null ? b === null : b !== null && a.getTime() === new Date(b).getTime())
    const communes = ack.communes && [...ack.communes].sort()
    const sameCommunes = (stored: string[] | null) => (stored === null ? communes === null : communes !== null && stored.join() === communes.join())
    const figures = { received_at: ack.receivedAt, scheduled_at: ack.scheduledAt, stations: ack.stations, communes }
    let result: 'created' | 'updated' | 'unchanged'
    if (!existing) {
      await trx.insertInto('content_acks').values({ content_id: ack.contentId, province_code: ack.province, version: ack.version, ...figures }).execute()
      await recordReached(trx, ack.contentId, ack.province, 'acknowledged')
      result = 'created'
    } else if (same(existing.received_at, ack.receivedAt) && same(existing.scheduled_at, ack.scheduledAt) && existing.stations === ack.stations && sameCommunes(existing.communes)) {
      result = 'unchanged'
    } else {
      await trx.updateTable('content_acks').set(figures).where('content_id', '=', ack.contentId).where('province_code', '=', ack.province).execute()
      result = 'updated'
    }
    const row = await trx.selectFrom('content_acks').selectAll().where('content_id', '=', ack.contentId).where('province_code', '=', ack.province).executeTakeFirstOrThrow()
    return {
      result,
      ack: {
        contentId: row.content_id, province: row.province_code, version: row.version, receivedAt: row.received_at.toISOString(),
        scheduledAt: row.scheduled_at?.toISOString() ?? null, stations: row.stations, communes: row.communes, acknowledgedAt: row.acknowledged_at.toISOString(),
      },
    }
  }

  /** Every province any version of an item was sent to. */
  async provincesReached(contentId: string): Promise<string[]> {
    const audiences = await this.db.selectFrom('content_events').select('audience').where('content_id', '=', contentId).execute()
    return audiences.some((a) => a.audience === null)
      ? this.activeProvinces()
      : [...new Set(audiences.flatMap((a) => a.audience ?? []))].sort()
  }

  /** Every province an item was ever meant for, with the current version's communes there, its webhook deliveries and acknowledgement. */
  async deliveries(item: Item): Promise<Static<typeof ProvinceDeliveries>[]> {
    const provinces = await this.provincesReached(item.id)
    const [outbox, acks] = await Promise.all([
      this.db.selectFrom('webhook_outbox as o')
        .innerJoin('content_events as e', 'e.id', 'o.notification_id')
        .leftJoin('webhook_lanes as l', 'l.province_code', 'o.province_code')
        .select(['o.notification_id', 'o.province_code', 'o.system_id', 'o.state', 'o.attempts', 'o.last_attempt_at', 'o.last_status', 'o.last_error',
          'o.delivered_at', 'e.type', 'e.version', 'l.next_attempt_at'])
        .where('o.content_id', '=', item.id)
        .orderBy('e.seq').execute(),
      this.db.selectFrom('content_acks').select(['province_code', 'acknowledged_at']).where('content_id', '=', item.id).execute(),
    ])
    return provinces.map((province) => {
      const rows = outbox.filter((r) => r.province_code === province)
      const notifications: Static<typeof Delivery>[] = rows.map((r) => ({
        notificationId: r.notification_id, type: r.type, version: r.version, state: r.state, attempts: r.attempts,
        lastAttemptAt: r.last_attempt_at?.toISOString() ?? null, lastStatus: r.last_status, lastError: r.last_error,
        nextAttemptAt: r.state === 'pending' ? (r.next_attempt_at?.toISOString() ?? null) : null,
        deliveredAt: r.delivered_at?.toISOString() ?? null,
      }))
      return {
        province,
        communes: item.communes.filter((c) => c.province === province).map((c) => c.code),
        systemId: rows.at(-1)?.system_id ?? null,
        webhook: rows.length === 0 ? 'none' as const : rows.some((r) => r.state === 'pending') ? 'pending' as const : 'delivered' as const,
        notifications,
        acknowledgedAt: acks.find((a) => a.province_code === province)?.acknowledged_at.toISOString() ?? null,
      }
    })
  }
}
