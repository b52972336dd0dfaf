import { HttpProblem } from './problem.js'

/**
 * Cursors are opaque to callers: base64url of the sort key of the last item served.
 * The key shape is checked on the way back in so a forged cursor is a 400, not a 500.
 */
export function encodeCursor(key: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url')
}

export function decodeCursor<K extends readonly ('string' | 'number')[]>(
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
  const valid = Array.isArray(key) && key.length === shape.length &&
    key.every((part, i) => typeof part === shape[i] && (typeof part === 'string' ? part.length <= 200 && !part.includes('\u0000') : Number.isSafeInteger(part)))
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
