import type { FastifyReply, FastifyRequest } from 'fastify'
import { Type, type TSchema } from 'typebox'
import { ProvinceCode, ProvinceParams, Strict, ref } from '../../../schemas/common.js'
import {
  BatchResult, Board, BoardBatch, BoardListQuery, BoardNationalQuery, BoardPage, BoardWriteResult, Cluster, ClusterBatch,
  ClusterListQuery, ClusterNationalQuery, ClusterPage, ClusterWriteResult, RecordId, RegistryBatch, RegistryBatchResult, Station,
  StationBatch, StationListQuery, StationNationalQuery, StationPage, StationWriteResult,
} from '../../../schemas/registry.js'
import type { App } from '../../app-type.js'
import { decodeCursor, toPage } from '../../http/pagination.js'
import { HttpProblem, notFound } from '../../http/problem.js'
import { ETAG_HEADER, problemResponses } from '../../http/responses.js'
import { notFoundExample, routeProblems, type RouteProblems } from '../../http/problem-examples.js'
import type { EntityName } from './entities.js'
import { RegistryStore, type BatchOutcome, type ListFilter, type Outcome, type RegistryBatch as Batch } from './store.js'

interface EntityRoutes {
  name: EntityName
  plural: 'stations' | 'clusters' | 'boards'
  title: string
  vietnamese: string
  Replacement: TSchema
  Record: TSchema
  Batch: TSchema
  Page: TSchema
  WriteResult: TSchema
  ListQuery: TSchema
  NationalQuery: TSchema
}

const entities: EntityRoutes[] = [
  { name: 'station', plural: 'stations', title: 'stations', vietnamese: 'đài truyền thanh cấp xã', Replacement: Station.Replacement, Record: Station.Record, Batch: StationBatch, Page: StationPage, WriteResult: StationWriteResult, ListQuery: StationListQuery, NationalQuery: StationNationalQuery },
  { name: 'cluster', plural: 'clusters', title: 'loudspeaker clusters', vietnamese: 'cụm loa', Replacement: Cluster.Replacement, Record: Cluster.Record, Batch: ClusterBatch, Page: ClusterPage, WriteResult: ClusterWriteResult, ListQuery: ClusterListQuery, NationalQuery: ClusterNationalQuery },
  { name: 'board', plural: 'boards', title: 'bulletin boards', vietnamese: 'bảng tin điện tử công cộng', Replacement: Board.Replacement, Record: Board.Record, Batch: BoardBatch, Page: BoardPage, WriteResult: BoardWriteResult, ListQuery: BoardListQuery, NationalQuery: BoardNationalQuery },
]

/** The id of each entity's example record, for the examples of its 404s. */
const exampleIds = Object.fromEntries([Station, Cluster, Board].map((schemas, i) => [entities[i]!.name, ((schemas.Input as { examples?: { id: string }[] }).examples)![0]!.id]))

const RecordParams = Strict({ code: ProvinceCode(), id: RecordId() })
const IfMatch = Type.Object({
  'if-match': Type.Optional(Type.String({ maxLength: 200, description: 'The ETag of the version the change is based on (`"3"`), or `*`.' })),
})
const IfNoneMatch = Type.Object({
  'if-none-match': Type.Optional(Type.String({ maxLength: 200, description: 'An ETag the caller holds; 304 when it is still current.' })),
})

const etag = (version: number) => `"${version}"`

/** Strong comparison (RFC 9110): `*` or one of the listed tags equals the current one. */
function matches(header: string, version: number): boolean {
  if (header.trim() === '*') return true
  return header.split(',').map((tag) => tag.trim()).includes(etag(version))
}

const tally = (outcomes: Outcome[]) => ({
  created: outcomes.filter((o) => o.result === 'created').length,
  updated: outcomes.filter((o) => o.result === 'updated').length,
  unchanged: outcomes.filter((o) => o.result === 'unchanged').length,
  items: outcomes,
})

/** What a receipt lists: per kind, the ids a batch created (at version 1) and the records it updated. */
const touched = (outcome: BatchOutcome) => (Object.entries(outcome.outcomes) as [EntityName, Outcome[]][])
  .filter(([, items]) => items.some((o) => o.result !== 'unchanged'))
  .map(([entity, items]) => ({
    entity,
    created: items.filter((o) => o.result === 'created').map((o) => o.id),
    updated: items.filter((o) => o.result === 'updated').map((o) => ({ id: o.id, version: o.version })),
  }))

function listFilter(query: Record<string, unknown>, province?: string): ListFilter {
  const limit = (query.limit as number | undefined) ?? 100
  const after = decodeCursor(query.cursor as string | undefined, ['string', 'string'] as const)
  return {
    province: province ?? (query.province as string | undefined),
    commune: query.commune as string | undefined,
    kind: query.kind as string | undefined,
    status: query.status as string | undefined,
    station: query.station as string | undefined,
    placement: query.placement as string | undefined,
    updatedSince: query.updatedSince as string | undefined,
    includeDeleted: (query.includeDeleted as boolean | undefined) ?? false,
    after,
    limit,
  }
}

const pageOf = (rows: Record<string, unknown>[], limit: number) =>
  toPage(rows, limit, (r) => [r.province as string, r.id as string], (r) => r)


/** A batch the registry's rules refuse whole: a commune of another province, a cluster of a station that does not exist. */
const batchProblems: RouteProblems = {
  422: [{
    code: 'rule-violated', detail: 'nothing was written: /clusters/3/stationId: station dai-26740-02 does not exist in province 79',
    errors: [{ in: 'body', pointer: '/clusters/3/stationId', message: 'station dai-26740-02 does not exist in province 79' }],
  }],
}
/** A station deleted while clusters still hang on it. */
const stationInUseProblems: RouteProblems = {
  422: [{ code: 'rule-violated', detail: 'station dai-26740 still has clusters (loa-26740-01); delete or move them first' }],
}

export async function registryRoutes(app: App) {
  const { db } = app.deps.database
  const store = new RegistryStore(db)

  /** Applies a batch and signs its receipt in one transaction. */
  const applyBatch = (request: FastifyRequest, province: string, batch: Batch, pointers: Partial<Record<EntityName, string>>) =>
    db.transaction().execute(async (trx) => {
      const outcome = await store.applyBatch(trx, province, batch, pointers)
      const receipt = await app.receipts.issue(request, { status: 200, records: touched(outcome) }, trx)
      return { outcome, receipt }
    })

  app.put('/v2/provinces/:code/registry', {
    config: { problems: batchProblems, policy: 'province' },
    schema: {
      tags: ['registry'],
      operationId: 'pushRegistry',
      summary: 'Upsert stations, clusters and boards together',
      description: 'One atomic batch of up to 1000 records in all: a cluster may name a station of the same batch. ' +
        'Every bad record is named by JSON pointer and nothing is written.',
      params: ProvinceParams,
      body: ref(RegistryBatch),
      response: { 200: ref(RegistryBatchResult), ...problemResponses([422]) },
    },
  }, async (request) => {
    const body = request.body
    const count = (body.stations?.length ?? 0) + (body.clusters?.length ?? 0) + (body.boards?.length ?? 0)
    if (count === 0 || count > 1000) {
      throw new HttpProblem('validation-failed', `a batch holds 1 to 1000 records in all, not ${count}`, { errors: [{ in: 'body', pointer: '/', message: 'must hold 1 to 1000 records in all' }] })
    }
    const { outcome, receipt } = await applyBatch(request, request.params.code, body, { station: '/stations', cluster: '/clusters', board: '/boards' })
    return {
      stations: tally(outcome.outcomes.station),
      clusters: tally(outcome.outcomes.cluster),
      boards: tally(outcome.outcomes.board),
      unverifiedCommunes: outcome.unverifiedCommunes,
      receipt,
    }
  })

  for (const entity of entities) {
    const collection = `/v2/provinces/:code/${entity.plural}`
    const one = `${collection}/:id`
    const label = `${entity.title} (${entity.vietnamese})`
    const missing = notFoundExample(`${entity.name} ${exampleIds[entity.name]} of province 79`)

    app.put(collection, {
      config: { problems: batchProblems, policy: 'province' },
      schema: {
        tags: ['registry'],
        operationId: `push${entity.plural[0]!.toUpperCase()}${entity.plural.slice(1)}`,
        summary: `Upsert ${entity.title}`,
        description: `Creates or updates up to 1000 ${label} by the province's own ids, atomically: if one record is bad, ` +
          'every bad record is named by JSON pointer and nothing is written. A record sent unchanged keeps its version and emits no change.',
        params: ProvinceParams,
        body: ref(entity.Batch),
        response: { 200: ref(BatchResult), ...problemResponses([422]) },
      },
    }, async (request) => {
      const { code } = request.params
      const { items } = request.body as { items: never[] }
      const { outcome, receipt } = await applyBatch(request, code, { [entity.plural]: items }, { [entity.name]: '/items' })
      return { ...tally(outcome.outcomes[entity.name]), unverifiedCommunes: outcome.unverifiedCommunes, receipt }
    })

    app.get(collection, {
      config: { policy: 'province-or-central' },
      schema: {
        tags: ['registry'],
        operationId: `list${entity.plural[0]!.toUpperCase()}${entity.plural.slice(1)}`,
        summary: `List a province's ${entity.title}`,
        params: ProvinceParams,
        querystring: entity.ListQuery,
        response: { 200: ref(entity.Page) },
      },
    }, async (request) => {
      const filter = listFilter(request.query as Record<string, unknown>, request.params.code)
      return pageOf(await store.list(entity.name, filter), filter.limit)
    })

    app.get(`/v2/${entity.plural}`, {
      config: { policy: 'central' },
      schema: {
        tags: ['registry'],
        operationId: `listNational${entity.plural[0]!.toUpperCase()}${entity.plural.slice(1)}`,
        summary: `List ${entity.title} of every province`,
        querystring: entity.NationalQuery,
        response: { 200: ref(entity.Page) },
      },
    }, async (request) => {
      const filter = listFilter(request.query as Record<string, unknown>)
      return pageOf(await store.list(entity.name, filter), filter.limit)
    })

    app.get(one, {
      config: { problems: missing, policy: 'province-or-central' },
      schema: {
        tags: ['registry'],
        operationId: `get${entity.name[0]!.toUpperCase()}${entity.name.slice(1)}`,
        summary: `Get one ${entity.name}`,
        description: 'Answers with an `ETag` (the version); with `If-None-Match` holding it, 304 and no body.',
        params: RecordParams,
        headers: IfNoneMatch,
        response: { 200: { ...ref(entity.Record), headers: { ETag: ETAG_HEADER } }, 304: { description: 'The version the caller holds is current: no body.', headers: { ETag: ETAG_HEADER } }, ...problemResponses([404]) },
      },
    }, async (request, reply) => {
      const { code, id } = request.params
      const record = await store.get(entity.name, code, id)
      if (!record || record.deletedAt) throw notFound(`${entity.name} ${id} of province ${code}`)
      reply.header('etag', etag(record.version as number))
      const held = request.headers['if-none-match']
      if (held && matches(held, record.version as number)) return reply.code(304).send()
      return record
    })

    const guarded = async (request: FastifyRequest, reply: FastifyReply, write: (trx: typeof db, current: Record<string, unknown>) => Promise<{ record: Record<string, unknown>, result: 'updated' | 'unchanged' | 'deleted' }>, required: boolean) => {
      const { code, id } = request.params as { code: string, id: string }
      const ifMatch = request.headers['if-match']
      if (required && !ifMatch) throw new HttpProblem('precondition-required', `send If-Match with the ETag of the ${entity.name} you change`)
      const { written, receipt } = await db.transaction().execute(async (trx) => {
        const row = await store.getRow(trx, entity.name, code, id, true)
        if (!row || row.deleted_at) throw notFound(`${entity.name} ${id} of province ${code}`)
        const current = store.toRecord(entity.name, row)
        if (ifMatch && !matches(ifMatch, current.version as number)) {
          throw new HttpProblem('precondition-failed', `${entity.name} ${id} is at version ${String(current.version)}, not ${ifMatch}`)
        }
        const written = await write(trx, current)
        const receipt = await app.receipts.issue(request, {
          status: 200, records: written.result === 'unchanged' ? [] : [{ entity: entity.name, id, version: written.record.version, result: written.result }],
        }, trx)
        return { written, receipt }
      })
      reply.header('etag', etag(written.record.version as number))
      return { ...written, receipt }
    }

    app.put(one, {
      config: { problems: routeProblems(missing, batchProblems), policy: 'province' },
      schema: {
        tags: ['registry'],
        operationId: `replace${entity.name[0]!.toUpperCase()}${entity.name.slice(1)}`,
        summary: `Replace one ${entity.name}`,
        description: 'Needs `If-Match` with the current ETag: 428 without it, 412 when another change came first.',
        params: RecordParams,
        headers: IfMatch,
        body: ref(entity.Replacement),
        response: { 200: { ...ref(entity.WriteResult), headers: { ETag: ETAG_HEADER } }, ...problemResponses([404, 412, 422, 428]) },
      },
    }, async (request, reply) => guarded(request, reply, async (trx, current) => {
      const { code, id } = request.params
      const outcome = await store.applyBatch(trx, code, { [entity.plural]: [{ ...(request.body as object), id }] }, { [entity.name]: '' })
      const [{ row }] = outcome.outcomes[entity.name] as [Outcome]
      return row ? { record: store.toRecord(entity.name, row), result: 'updated' } : { record: current, result: 'unchanged' }
    }, true))

    app.delete(one, {
      config: { problems: routeProblems(missing, entity.name === 'station' ? stationInUseProblems : {}), policy: 'province' },
      schema: {
        tags: ['registry'],
        operationId: `delete${entity.name[0]!.toUpperCase()}${entity.name.slice(1)}`,
        summary: `Delete one ${entity.name}`,
        description: 'A soft delete: the record leaves the lists and the changes feed carries its deletion. `If-Match` is honoured when sent.' +
          (entity.name === 'station' ? ' A station with clusters cannot be deleted.' : ''),
        params: RecordParams,
        headers: IfMatch,
        response: { 200: { ...ref(entity.WriteResult), headers: { ETag: ETAG_HEADER } }, ...problemResponses([404, 412, 422]) },
      },
    }, async (request, reply) => guarded(request, reply, async (trx) => {
      const { code, id } = request.params
      return { record: await store.delete(trx, entity.name, code, id), result: 'deleted' }
    }, false))
  }
}
