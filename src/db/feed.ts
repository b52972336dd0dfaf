import { sql, type RawBuilder } from 'kysely'
import { decodeCursor, encodeCursor } from '../http/pagination.js'
import { HttpProblem } from '../http/problem.js'

/**
 * Feeds that never skip. A sequence number is taken when a row is written, but transactions
 * commit in another order, so paging by "seq greater than the last one" can pass a row that
 * commits later with a lower number. Feed rows carry the id of the transaction that wrote
 * them (`xid`, default pg_current_xact_id()), and readers see only rows of transactions older
 * than the oldest one still running: that set never grows below a cursor. Rows are read in
 * (xid, seq) order and the cursor is the (xid, seq) of the last row served.
 */
export const settled: RawBuilder<boolean> = sql<boolean>`xid < pg_snapshot_xmin(pg_current_snapshot())`

export interface FeedPosition { xid: string, seq: number }

export const FEED_START: FeedPosition = { xid: '0', seq: 0 }

export function decodeFeedCursor(cursor: string | undefined): FeedPosition {
  const key = decodeCursor(cursor, ['string', 'number'] as const)
  if (!key) return FEED_START
  if (!/^[0-9]{1,20}$/.test(key[0])) throw new HttpProblem('invalid-cursor', 'the cursor is malformed; start again without one')
  return { xid: key[0], seq: key[1] }
}

export const encodeFeedCursor = (position: FeedPosition) => encodeCursor([position.xid, position.seq])

/** The condition "after this position" for a query over a feed table. */
export const afterPosition = (position: FeedPosition): RawBuilder<boolean> =>
  sql<boolean>`(xid, seq) > (${position.xid}::xid8, ${position.seq}::bigint)`
