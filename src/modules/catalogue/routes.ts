import { Type } from 'typebox'
import { AdminUnitCode, DEFAULT_PAGE_LIMIT, PageQuery, Strict, ref } from '../../../schemas/common.js'
import {
  AdminUnitDetail, AdminUnitListQuery, AdminUnitPage, CatalogueChangePage, CatalogueVersionList, ResolveAdminUnitsRequest, ResolveAdminUnitsResponse,
} from '../../../schemas/catalogue.js'
import type { App } from '../../app-type.js'
import { decodeCursor, toPage } from '../../http/pagination.js'
import { notFound } from '../../http/problem.js'
import { problemResponses } from '../../http/responses.js'
import { CatalogueStore } from './store.js'
import { notFoundExample } from '../../http/problem-examples.js'

export async function catalogueRoutes(app: App) {
  const store = new CatalogueStore(app.deps.database.db)

  app.get('/v2/admin-units', {
    config: { policy: 'public' },
    schema: {
      tags: ['catalogue'],
      operationId: 'listAdminUnits',
      summary: 'List administrative units',
      description: 'The national catalogue of administrative units (danh mục đơn vị hành chính): the 34 provinces since 1 July 2025, ' +
        'the 63 before, and the commune-level units imported from the official list. Public; ordered by code.',
      querystring: AdminUnitListQuery,
      response: { 200: ref(AdminUnitPage) },
    },
  }, async (request) => {
    const { limit = 100, cursor, includeRetired = false, level, province } = request.query
    const [afterCode] = decodeCursor(cursor, ['string'] as const) ?? []
    const rows = await store.list({ level, province, includeRetired, afterCode, limit })
    return toPage(rows, limit, (unit) => [unit.code], (unit) => unit)
  })

  app.get('/v2/admin-units/:code', {
    config: { problems: notFoundExample('administrative unit 99999'), policy: 'public' },
    schema: {
      tags: ['catalogue'],
      operationId: 'getAdminUnit',
      summary: 'Get one administrative unit',
      description: 'One unit with the former units it was formed from and, when retired, the unit it became part of.',
      params: Strict({ code: AdminUnitCode() }),
      response: { 200: ref(AdminUnitDetail), ...problemResponses([404]) },
    },
  }, async (request) => {
    const unit = await store.get(request.params.code)
    if (!unit) throw notFound(`administrative unit ${request.params.code}`)
    return unit
  })

  app.post('/v2/admin-units/resolve', {
    config: { policy: 'public' },
    schema: {
      tags: ['catalogue'],
      operationId: 'resolveAdminUnits',
      summary: 'Map codes onto the units that exist today',
      description: 'For each code, current or former, every active unit it is or was merged into (`successors`, with the note ' +
        'of each succession; `current` when there is exactly one): how a province maps commune codes of its old records onto the ' +
        '2025 units. A commune split between several new ones answers all of them, never one picked silently. Reads only; POST because the list can be long.',
      body: ref(ResolveAdminUnitsRequest),
      response: { 200: ref(ResolveAdminUnitsResponse) },
    },
  }, async (request) => {
    const { codes } = request.body
    const resolved = await store.resolve(codes)
    return {
      items: codes.map((code) => {
        const successors = resolved.get(code) ?? []
        return { code, current: successors.length === 1 ? successors[0]!.unit : null, successors }
      }),
    }
  })

  app.get('/v2/admin-units/versions', {
    config: { policy: 'public' },
    schema: {
      tags: ['catalogue'],
      operationId: 'listCatalogueVersions',
      summary: 'The versions of the commune catalogue',
      description: 'Version 1 is the official list of 1 July 2025 shipped with the service; each `ttn catalogue import` that changes anything is a new version, with the SHA-256 of its file.',
      response: { 200: ref(CatalogueVersionList) },
    },
  }, async () => ({ items: await store.versions() }))

  app.get('/v2/admin-units/versions/:version/changes', {
    config: { problems: notFoundExample('catalogue version 7'), policy: 'public' },
    schema: {
      tags: ['catalogue'],
      operationId: 'listCatalogueChanges',
      summary: 'What one version of the catalogue changed',
      params: Strict({ version: Type.Integer({ format: 'int32', minimum: 1, maximum: 1_000_000, description: 'The version.' }) }),
      querystring: Strict({ ...PageQuery }),
      response: { 200: ref(CatalogueChangePage), ...problemResponses([404]) },
    },
  }, async (request) => {
    const { version } = request.params
    const { limit = DEFAULT_PAGE_LIMIT, cursor } = request.query
    if (!(await store.versions()).some((v) => v.version === version)) throw notFound(`catalogue version ${version}`)
    const [afterCode] = decodeCursor(cursor, ['string'] as const) ?? []
    return toPage(await store.changes(version, afterCode, limit), limit, (c) => [c.code], (c) => c)
  })
}
