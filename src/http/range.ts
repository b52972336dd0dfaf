/**
 * What a download answers for a `Range` header (RFC 9110 §14): the whole file, one range of it,
 * or 416. One range is what a resuming client sends; a header this service does not serve (many
 * ranges, another unit, bad syntax) is ignored, as the RFC allows, and the whole file sent.
 */
export type RangeAnswer = { kind: 'whole' } | { kind: 'part', start: number, end: number } | { kind: 'unsatisfiable' }

const SINGLE = /^bytes=(\d*)-(\d*)$/

export function byteRange(header: string | undefined, size: number): RangeAnswer {
  const match = header ? SINGLE.exec(header.trim()) : null
  if (!match) return { kind: 'whole' }
  const [, first, last] = match as unknown as [string, string, string]
  if (first === '' && last === '') return { kind: 'whole' }
  if (first === '') {
    // A suffix: the last N bytes.
    const length = Number(last)
    if (length === 0) return { kind: 'unsatisfiable' }
    return { kind: 'part', start: Math.max(0, size - length), end: size - 1 }
  }
  const start = Number(first)
  const end = last === '' ? Number.MAX_SAFE_INTEGER : Number(last)
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end < start) return { kind: 'whole' }
  if (start >= size) return { kind: 'unsatisfiable' }
  return { kind: 'part', start, end: Math.min(end, size - 1) }
}

/** Whether an `If-None-Match` list names this strong ETag (weak comparison, as the RFC says for it). */
export function noneMatch(header: string | undefined, etag: string): boolean {
  if (!header) return false
  if (header.trim() === '*') return true
  return header.split(',').map((tag) => tag.trim().replace(/^W\//, '')).includes(etag)
}

/** Whether a `Range` should be honoured under `If-Range`: only when the validator is this exact ETag. */
export function rangeStillValid(ifRange: string | undefined, etag: string): boolean {
  return ifRange === undefined || ifRange.trim() === etag
}
