import type { Role } from './scenario.js'

/** A request that undoes what a successful write made, for `--cleanup`. */
export interface Undo {
  operation: string
  as: Role
  path: Record<string, string>
  body?: unknown
}

const REASON = 'conformance run cleaned up'
const ids = (items: unknown) => (Array.isArray(items) ? items.map((item) => (item as { id?: unknown }).id).filter((id): id is string => typeof id === 'string') : [])
const parsed = (text: string | Uint8Array | undefined): Record<string, unknown> => {
  try {
    return typeof text === 'string' ? JSON.parse(text) as Record<string, unknown> : {}
  } catch {
    return {}
  }
}

/**
 * What undoes a successful write, from the request and its answer: records pushed are deleted,
 * content withdrawn, systems suspended, uploads cancelled. Periods, reports, logs, status events,
 * topics and media files have no way back in the API and stay.
 */
export function undoOf(operation: string, requestBody: string | Uint8Array | undefined, answer: unknown, province: string): Undo[] {
  const body = parsed(requestBody)
  const record = (kind: 'Station' | 'Cluster' | 'Board', items: unknown): Undo[] =>
    ids(items).map((id) => ({ operation: `delete${kind}`, as: 'province', path: { code: province, id } }))
  const answered = (answer ?? {}) as { content?: { id?: string }, upload?: { id?: string }, system?: { id?: string } }
  switch (operation) {
    case 'pushStations': return record('Station', body.items)
    case 'pushClusters': return record('Cluster', body.items)
    case 'pushBoards': return record('Board', body.items)
    case 'pushRegistry': return [...record('Station', body.stations), ...record('Cluster', body.clusters), ...record('Board', body.boards)]
    case 'publishContent':
    case 'shareContent':
      return answered.content?.id ? [{ operation: 'withdrawContent', as: 'central', path: { id: answered.content.id }, body: { reason: REASON } }] : []
    case 'registerSystem':
      return answered.system?.id ? [{ operation: 'updateSystem', as: 'central', path: { id: answered.system.id }, body: { status: 'suspended' } }] : []
    case 'createMediaUpload':
      return answered.upload?.id ? [{ operation: 'cancelMediaUpload', as: 'province', path: { id: answered.upload.id } }] : []
    default: return []
  }
}
