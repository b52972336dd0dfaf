import { Type, type Static } from 'typebox'
import { AdminUnitCode, CalendarDate, CommuneCode, Instant, Nullable, Page, PageQuery, ProvinceCode, ref, Strict, StringEnum } from './common.js'

export const AdminUnitLevel = StringEnum(['province', 'commune'], {
  description: 'Level of the unit: `province` (cấp tỉnh) or `commune` (cấp xã: xã, phường, đặc khu).',
})

export const AdminUnitKind = StringEnum(['tinh', 'thanh_pho', 'xa', 'phuong', 'dac_khu'], { description: 'Kind of unit: `tinh` (tỉnh), `thanh_pho` (thành phố trực thuộc trung ương), `xa` (xã), `phuong` (phường), `dac_khu` (đặc khu).' })

const unitProperties = {
  code: AdminUnitCode(),
  name: Nullable(Type.String(), { description: 'Official name (tên đơn vị); null for a former unit known only by its code.' }),
  level: AdminUnitLevel,
  kind: Nullable(AdminUnitKind, { description: 'Kind of unit; null for a former unit whose kind is not recorded.' }),
  provinceCode: Nullable(ProvinceCode(), { description: 'For a commune-level unit, the province it belongs to; null for a province.' }),
  status: StringEnum(['active', 'retired'], { description: '`active`, or `retired` when the unit was merged into another (its code is never reused).' }),
  successorCode: Nullable(AdminUnitCode(), { description: 'For a retired unit, the unit it became part of.' }),
  retiredOn: Nullable(CalendarDate(), { description: 'Date the unit ceased to exist.' }),
  updatedAt: Instant('When the catalogue last changed this unit.'),
}

export const AdminUnit = Strict(unitProperties, {
  $id: 'AdminUnit',
  description: 'An administrative unit (đơn vị hành chính) of the national catalogue.',
  examples: [{ code: '02', name: 'Hà Giang', level: 'province', kind: null, provinceCode: null, status: 'retired', successorCode: '08', retiredOn: '2025-07-01', updatedAt: '2025-07-01T00:00:00.000Z' }],
})
export type AdminUnit = Static<typeof AdminUnit>

export const AdminUnitPredecessor = Strict({
  code: AdminUnitCode(),
  name: Nullable(Type.String(), { description: 'Name the former unit had, when known.' }),
  effectiveOn: CalendarDate('Date the merger took effect.'),
}, { $id: 'AdminUnitPredecessor', description: 'A former unit merged into this one (đơn vị trước sắp xếp).' })

export const AdminUnitDetail = Strict({
  ...unitProperties,
  predecessors: Type.Array(ref(AdminUnitPredecessor), { description: 'The former units this unit was formed from.' }),
  successor: Nullable(Strict({ code: AdminUnitCode(), name: Nullable(Type.String()) }), {
    description: 'For a retired unit, the unit it became part of, with its current name.',
  }),
}, {
  $id: 'AdminUnitDetail',
  description: 'An administrative unit with the units it was formed from and the one it became.',
  examples: [{
    code: '08', name: 'Tuyên Quang', level: 'province', kind: 'tinh', provinceCode: null, status: 'active',
    successorCode: null, retiredOn: null, updatedAt: '2025-07-01T00:00:00.000Z',
    predecessors: [{ code: '02', name: 'Hà Giang', effectiveOn: '2025-07-01' }, { code: '08', name: 'Tuyên Quang', effectiveOn: '2025-07-01' }],
    successor: null,
  }],
})
export type AdminUnitDetail = Static<typeof AdminUnitDetail>

export const AdminUnitPage = Page('AdminUnitPage', ref(AdminUnit), 'A page of administrative units, ordered by code.')

export const AdminUnitListQuery = Strict({
  level: Type.Optional(AdminUnitLevel),
  province: Type.Optional(ProvinceCode('Only this province and its commune-level units.')),
  includeRetired: Type.Optional(Type.Boolean({ default: false, description: 'Also list units that no longer exist.' })),
  ...PageQuery,
})
export type AdminUnitListQuery = Static<typeof AdminUnitListQuery>


/** One line of the commune list imported by `ttn catalogue import` (CSV with a header line). */
export const CommuneCsvRow = Strict({
  code: CommuneCode(),
  name: Type.String({ minLength: 1, maxLength: 200, description: 'Official name.' }),
  kind: Type.String({ description: '`xa`, `phuong` or `dac_khu`, or the Vietnamese `xã`, `phường`, `đặc khu`.' }),
  province_code: ProvinceCode(),
  former_codes: Type.Optional(Type.String({ pattern: '^([0-9]{5}([; ]+[0-9]{5})*)?$', description: 'Codes of the former communes it absorbed (whole or in part), separated by `;`; a former code on several lines was split between them.' })),
  effective_on: Type.Optional(CalendarDate('Date the unit took this form; 2025-07-01 when empty.')),
  succession_note: Type.Optional(Type.String({ maxLength: 500, description: 'A note on the successions of this line, e.g. which part of a split commune it took.' })),
})
export type CommuneCsvRow = Static<typeof CommuneCsvRow>

export const MAX_RESOLVE_CODES = 1000

export const ResolveAdminUnitsRequest = Strict({
  codes: Type.Array(AdminUnitCode(), {
    minItems: 1, maxItems: MAX_RESOLVE_CODES, uniqueItems: true,
    description: `Codes to resolve, current or former (1 to ${MAX_RESOLVE_CODES}, no repeats).`,
  }),
}, {
  $id: 'ResolveAdminUnitsRequest',
  description: 'Codes, possibly of units merged away since, to map onto the units that exist now.',
  examples: [{ codes: ['02', '79'] }],
})

export const AdminUnitSuccessor = Strict({
  unit: ref(AdminUnit),
  note: Nullable(Type.String({ maxLength: 500 }), { description: 'What the succession says, e.g. which part of a split unit went here.' }),
}, { $id: 'AdminUnitSuccessor', description: 'An active unit a code is, or became (part of).' })

export const AdminUnitResolution = Strict({
  code: AdminUnitCode('The code asked about.'),
  current: Nullable(ref(AdminUnit), {
    description: 'The one active unit the code is or became part of; null for an unknown code, and for a unit split between several (see `successors`).',
  }),
  successors: Type.Array(ref(AdminUnitSuccessor), { maxItems: 100, description: 'Every active unit the code is or became (part of): one for a unit merged whole, several for one split, none for an unknown code.' }),
}, { $id: 'AdminUnitResolution', description: 'Where one code stands today.' })

export const ResolveAdminUnitsResponse = Strict({
  items: Type.Array(ref(AdminUnitResolution), { description: 'One entry per code asked, in the order asked.' }),
}, { $id: 'ResolveAdminUnitsResponse', description: 'The current units for each code asked.' })

export const CatalogueVersion = Strict({
  version: Type.Integer({ format: 'int64', minimum: 1, description: 'Version number, from 1 (the list shipped with the service).' }),
  source: Type.String({ maxLength: 500, description: 'The file the version was imported from.' }),
  sha256: Type.String({ minLength: 64, maxLength: 64, pattern: '^[0-9a-f]{64}$', description: 'SHA-256 (hex) of that file.' }),
  units: Type.Integer({ format: 'int64', minimum: 0, description: 'Active commune-level units after the import.' }),
  added: Type.Integer({ format: 'int64', minimum: 0 }),
  updated: Type.Integer({ format: 'int64', minimum: 0 }),
  retired: Type.Integer({ format: 'int64', minimum: 0 }),
  successions: Type.Integer({ format: 'int64', minimum: 0 }),
  importedAt: Instant(),
}, { $id: 'CatalogueVersion', description: 'A version of the commune catalogue (danh mục đơn vị hành chính cấp xã): an import and what it changed.' })

export const CatalogueVersionList = Strict({ items: Type.Array(ref(CatalogueVersion), { maxItems: 10_000 }) }, { $id: 'CatalogueVersionList', description: 'Every version, oldest first.' })

export const CatalogueChange = Strict({
  code: Type.String({ maxLength: 11, description: 'The unit changed, or `old>new` for a succession.' }),
  change: StringEnum(['added', 'updated', 'retired', 'succession']),
  before: Nullable(Type.Record(Type.String(), Type.Unknown()), { description: 'What the unit was before, when it existed.' }),
  after: Nullable(Type.Record(Type.String(), Type.Unknown()), { description: 'What it is after.' }),
}, { $id: 'CatalogueChange', description: 'One difference a version made.' })

export const CatalogueChangePage = Page('CatalogueChangePage', ref(CatalogueChange), 'The changes of one version, by code.')

export const catalogueComponents = [
  AdminUnit, AdminUnitPredecessor, AdminUnitDetail, AdminUnitPage,
  ResolveAdminUnitsRequest, AdminUnitSuccessor, AdminUnitResolution, ResolveAdminUnitsResponse,
  CatalogueVersion, CatalogueVersionList, CatalogueChange, CatalogueChangePage,
]
