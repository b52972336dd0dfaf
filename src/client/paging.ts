/** Query strings, escaped paths, and iterators over paged lists and cursor feeds, for every area of the client. */

export type Query = Record<string, string | number | boolean | undefined>

export const query = (params: Query = {}) => {
  const entries = Object.entries(params).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)] as [string, string])
  return entries.length ? '?' + new URLSearchParams(entries).toString() : ''
}
export const path = (strings: TemplateStringsArray, ...values: (string | number)[]) =>
  strings.reduce((out, s, i) => out + s + (i < values.length ? encodeURIComponent(String(values[i])) : ''), '')

/** Every item of a paged list, fetching page after page. */
export async function* pages<T>(fetchPage: (cursor: string | undefined) => Promise<{ items: T[], nextCursor: string | null }>): AsyncGenerator<T> {
  let cursor: string | undefined
  do {
    const page = await fetchPage(cursor)
    yield* page.items
    cursor = page.nextCursor ?? undefined
  } while (cursor)
}

export interface FeedOptions {
  after?: string | undefined
  /** Keep asking every so many milliseconds once caught up, until `signal` aborts; without it the feed ends when caught up. */
  followMs?: number | undefined
  /** Sees every cursor, to store it and resume from there after a restart. */
  onCursor?: (cursor: string) => unknown
  signal?: AbortSignal | undefined
}

/** Every item of a cursor feed from `after`, page after page, following it when asked. */
export async function* cursorFeed<T>(fetchPage: (after: string | undefined) => Promise<{ items: T[], nextCursor: string }>, options: FeedOptions): AsyncGenerator<T> {
  let after = options.after
  for (;;) {
    const page = await fetchPage(after)
    yield* page.items
    after = page.nextCursor
    await options.onCursor?.(after)
    if (page.items.length > 0) continue
    if (options.followMs === undefined || options.signal?.aborted) return
    await new Promise((resolve) => setTimeout(resolve, options.followMs))
  }
}
