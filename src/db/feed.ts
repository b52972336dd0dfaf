import { sql, type SelectQueryBuilder } from 'kysely'
import { decodeCursor, encodeCursor } from '../http/pagination.js'
import { HttpProblem } from '../http/problem.js'

/**
 * Feeds that never skip. A sequence number is taken when a row is written, but transactions
 * commit in another order, so paging by "seq greater than the last one" can pass a row that
 * commits later with a lower number. Feed rows carry the id of the transaction that wrote
 * them (`xid xid8`, default pg_current_xact_id()), and readers see only rows of transactions
 * older than the oldest one still running: that set never grows below a cursor. Rows are read
 * in (xid, seq) order and the cursor is the (xid, seq) of the last row served.
 *
 * The position is compared and ordered as xid8 through the table-qualified column. The text
 * form a cursor carries must never be what rows are sorted by: '10000' sorts before '9999', and
 * a reader would skip or repeat rows whenever the ones still to read had ids of different lengths.
 */
export interface FeedPosition { xid: string, seq: number }

export const FEED_START: FeedPosition = { xid: '0', seq: 0 }

const MAX_XID8 = 2n ** 64n - 1n

export function decodeFeedCursor(cursor: string | undefined): FeedPosition {
  const key = decodeCursor(cursor, ['string', 'number'] as const)
  if (!key) return FEED_START
  const [xid, seq] = key
  if (!/^[0-9]{1,20}$/.test(xid) || BigInt(xid) > MAX_XID8 || !Number.isSafeInteger(seq) || seq < 0) {
    throw new HttpProblem('invalid-cursor', 'the cursor is malformed; start again without one')
  }
  return { xid, seq }
}

export const encodeFeedCursor = (position: FeedPosition) => encodeCursor([position.xid, position.seq])

export type FeedTable = 'registry_changes' | 'content_events'

/**
 * One page of a feed table: the settled rows after `position`, in (xid, seq) order, each with
 * its position as `feed_xid` (text) and `seq`.
 */
export function settledPage<DB, TB extends FeedTable & keyof DB, O>(
  query: SelectQueryBuilder<DB, TB, O>,
  table: TB,
  position: FeedPosition,
  limit: number,
) {
  const xid = sql.ref(`${table}.xid`)
  const seq = sql.ref(`${table}.seq`)
  return query
    .select([sql<string>`${xid}::text`.as('feed_xid'), sql<number>`${seq}`.as('feed_seq')])
    .where(sql<boolean>`${xid} < pg_snapshot_xmin(pg_current_snapshot())`)
    .where(sql<boolean>`(${xid}, ${seq}) > (${position.xid}::xid8, ${position.seq}::bigint)`)
    .orderBy(xid)
    .orderBy(seq)
    .limit(limit)
}

/** The cursor after a page: the last row's position, or the same position when the page is empty. */
export const nextFeedCursor = (rows: readonly { feed_xid: string, feed_seq: number }[], position: FeedPosition) => {
  const last = rows.at(-1)
  return encodeFeedCursor(last ? { xid: last.feed_xid, seq: last.feed_seq } : position)
}
