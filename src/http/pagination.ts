import { HttpProblem } from './problem.js'

/**
 * Cursors are opaque to callers: base64url of the sort key of the last item served.
 * The key shape is checked on the way back in so a forged cursor is a 400, not a 500.
 */
export function encodeCursor(key: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url')
}

/** Parts of a cursor the database reads as timestamptz or uuid, as the service writes them. */
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

type PartKind = 'string' | 'number' | 'instant' | 'uuid'

const validPart = (kind: PartKind, part: unknown) => {
  if (kind === 'number') return typeof part === 'number' && Number.isSafeInteger(part)
  if (typeof part !== 'string' || part.length > 200 || part.includes('\u0000')) return false
  if (kind === 'instant') return INSTANT.test(part) && !Number.isNaN(Date.parse(part))
  return kind === 'string' || UUID.test(part)
}

export function decodeCursor<K extends readonly PartKind[]>(
  cursor: string | undefined,
  shape: K,
): { [I in keyof K]: K[I] extends 'number' ? number : string } | undefined {
  if (cursor === undefined) return undefined
  let key: unknown
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
  } catch {
    key = undefined
  }
  const valid = Array.isArray(key) && key.length === shape.length && key.every((part, i) => validPart(shape[i]!, part))
  if (!valid) throw new HttpProblem('invalid-cursor', 'the cursor is malformed; start again without one')
  return key as never
}

/** Splits a page fetched with `limit + 1` rows into the page and the cursor of the next one. */
export function toPage<Row, Item>(
  rows: Row[],
  limit: number,
  keyOf: (row: Row) => readonly (string | number)[],
  toItem: (row: Row) => Item,
): { items: Item[], nextCursor: string | null } {
  const more = rows.length > limit
  const pageRows = more ? rows.slice(0, limit) : rows
  const last = pageRows[pageRows.length - 1]
  return {
    items: pageRows.map(toItem),
    nextCursor: more && last !== undefined ? encodeCursor(keyOf(last)) : null,
  }
}
