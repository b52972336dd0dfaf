import { Type, type Static } from 'typebox'
import { Instant, Page, PageQuery, ProvinceCode, Strict, ref } from './common.js'
import { Jwks, PublicJwk, Receipt } from './trust.js'

export const SystemId = (description = 'System id: `province-<code>` for a provincial system (e.g. `province-79`), any other for a central-role caller.') =>
  Type.String({ minLength: 3, maxLength: 64, pattern: '^[a-z0-9][a-z0-9-]*[a-z0-9]$', description, examples: ['province-79'] })

export const SystemRole = Type.Union([Type.Literal('province'), Type.Literal('central')], {
  description: '`province` for a provincial system (HTTTN cấp tỉnh), `central` for the central system (HTTTN trung ương) and operators.',
})
export const SystemStatus = Type.Union([Type.Literal('active'), Type.Literal('suspended')], {
  description: '`active`, or `suspended`: every call of a suspended system is refused with 403.',
})
const Name = Type.String({ minLength: 1, maxLength: 200, description: 'Human-readable name of the system.' })
const HttpsUrl = (description: string) => Type.String({ maxLength: 2000, pattern: '^https?://[^\\s]+$', description })

export const KeyInfo = Strict({
  kid: Type.String(),
  alg: Type.Union([Type.Literal('ES256'), Type.Literal('EdDSA')]),
  status: Type.Union([Type.Literal('active'), Type.Literal('retired')], { description: 'A retired key verifies nothing.' }),
  addedAt: Instant(),
  retiredAt: Type.Union([Instant(), Type.Null()]),
  jwk: ref(PublicJwk),
}, { $id: 'KeyInfo', description: 'A public key registered for a system.' })

export const System = Strict({
  id: SystemId(),
  role: SystemRole,
  provinceCode: Type.Union([ProvinceCode(), Type.Null()], { description: 'The province a provincial system acts for; null for central.' }),
  name: Name,
  jwksUri: Type.Union([Type.String(), Type.Null()], { description: 'Where the system publishes its public keys, when not registered inline.' }),
  webhookUrl: Type.Union([Type.String(), Type.Null()], { description: 'Where the service sends signed notifications.' }),
  status: SystemStatus,
  keys: Type.Array(ref(KeyInfo), { description: 'Keys registered inline, active and retired.' }),
  version: Type.Integer({ description: 'Incremented by every change.' }),
  createdAt: Instant(),
  updatedAt: Instant(),
}, { $id: 'System', description: 'A system allowed to call the service (hệ thống kết nối).' })
export type System = Static<typeof System>

export const SystemRegistration = Strict({
  id: SystemId(),
  role: SystemRole,
  provinceCode: Type.Optional(ProvinceCode('Required for a provincial system and equal to the code in its id.')),
  name: Name,
  jwks: Type.Optional(ref(Jwks)),
  jwksUri: Type.Optional(HttpsUrl('URL of a JWKS the service fetches (cached) instead of inline keys.')),
  webhookUrl: Type.Optional(HttpsUrl('Where the service sends signed notifications.')),
  status: Type.Optional(SystemStatus),
}, {
  $id: 'SystemRegistration',
  description: 'A system to register, with inline keys (`jwks`) or a `jwksUri`.',
  examples: [{ id: 'province-79', role: 'province', provinceCode: '79', name: 'HTTTN Thành phố Hồ Chí Minh', jwksUri: 'https://ttn.example.vn/.well-known/jwks.json', webhookUrl: 'https://ttn.example.vn/hooks/ttn' }],
})
export type SystemRegistration = Static<typeof SystemRegistration>

export const SystemUpdate = Strict({
  name: Type.Optional(Name),
  webhookUrl: Type.Optional(Type.Union([HttpsUrl('New webhook URL.'), Type.Null()])),
  jwksUri: Type.Optional(Type.Union([HttpsUrl('New JWKS URL.'), Type.Null()])),
  provinceCode: Type.Optional(ProvinceCode('Central only.')),
  status: Type.Optional(SystemStatus),
}, {
  $id: 'SystemUpdate',
  description: 'Fields to change. A system may change its own `name`, `webhookUrl` and `jwksUri`; `status` and `provinceCode` are central\'s.',
  minProperties: 1,
})
export type SystemUpdate = Static<typeof SystemUpdate>

export const SystemWriteResult = Strict({ system: ref(System), receipt: ref(Receipt) }, {
  $id: 'SystemWriteResult', description: 'The system as stored, and the receipt of the change.',
})

export const SystemPage = Page('SystemPage', ref(System), 'A page of registered systems, ordered by id.')
export const SystemListQuery = Strict({
  role: Type.Optional(SystemRole),
  status: Type.Optional(SystemStatus),
  ...PageQuery,
})

/** The format of `SYSTEMS_FILE`: systems registered or updated when the service starts. */
export const SystemsFile = Type.Array(ref(SystemRegistration), { maxItems: 500 })

export const systemsComponents = [KeyInfo, System, SystemRegistration, SystemUpdate, SystemWriteResult, SystemPage]
