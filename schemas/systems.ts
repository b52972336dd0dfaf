import { Type, type Static } from 'typebox'
import { Instant, Nullable, Page, PageQuery, ProvinceCode, ref, Strict, StringEnum } from './common.js'
import { Jwks, PublicJwk, Receipt } from './trust.js'

export const SystemId = (description = 'System id: `province-<code>` for a provincial system (e.g. `province-79`), any other for a central-role caller.') =>
  Type.String({ minLength: 3, maxLength: 64, pattern: '^[a-z0-9][a-z0-9-]*[a-z0-9]$', description, examples: ['province-79'] })

export const SystemRole = StringEnum(['province', 'central'], {
  description: '`province` for a provincial system (HTTTN cấp tỉnh), `central` for the central system (HTTTN trung ương) and operators.',
})
export const SystemStatus = StringEnum(['active', 'suspended'], {
  description: '`active`, or `suspended`: every call of a suspended system is refused with 403.',
})
const Name = Type.String({ minLength: 1, maxLength: 200, description: 'Human-readable name of the system.' })
const HttpsUrl = (description: string) => Type.String({ maxLength: 2000, pattern: '^https?://[^\\s]+$', description })

export const KeyInfo = Strict({
  kid: Type.String({ maxLength: 128 }),
  alg: StringEnum(['ES256', 'EdDSA']),
  status: StringEnum(['active', 'retired'], { description: 'A retired key verifies nothing.' }),
  addedAt: Instant(),
  retiredAt: Nullable(Instant()),
  jwk: ref(PublicJwk),
}, { $id: 'KeyInfo', description: 'A public key registered for a system.' })

export const System = Strict({
  id: SystemId(),
  role: SystemRole,
  provinceCode: Nullable(ProvinceCode(), { description: 'The province a provincial system acts for; null for central.' }),
  name: Name,
  jwksUri: Nullable(Type.String({ maxLength: 2000 }), { description: 'Where the system publishes its public keys, when not registered inline.' }),
  webhookUrl: Nullable(Type.String({ maxLength: 2000 }), { description: 'Where the service sends signed notifications.' }),
  status: SystemStatus,
  keyRecovery: Type.Boolean({ description: 'Whether this central system may recover another system\'s keys (`POST /v2/systems/{id}/key-recovery`); granted only by the operator in SYSTEMS_FILE.' }),
  keys: Type.Array(ref(KeyInfo), { description: 'Keys registered inline, active and retired.' }),
  version: Type.Integer({ format: 'int64', description: 'Incremented by every change.' }),
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
  webhookUrl: Type.Optional(Nullable(HttpsUrl('New webhook URL.'))),
  jwksUri: Type.Optional(Nullable(HttpsUrl('New JWKS URL.'))),
  status: Type.Optional(SystemStatus),
}, {
  $id: 'SystemUpdate',
  description: 'Fields to change. A system changes its own `name`, `webhookUrl` and `jwksUri` (its keys are its own to prove); ' +
    'central changes another system\'s `status` only. A system\'s role and province never change: register the new system instead.',
  minProperties: 1,
})

export const KeyRecovery = Strict({
  jwks: ref(Jwks),
  reason: Type.String({ minLength: 10, maxLength: 500, description: 'Why the system\'s own keys cannot be used: recorded in the audit log and sent to the system.' }),
}, {
  $id: 'KeyRecovery',
  description: 'New keys for a system that lost control of its own (khôi phục khóa): they replace every active key, and the JWKS URL.',
  examples: [{ jwks: { keys: [{ kty: 'EC', crv: 'P-256', kid: 'province-79-2027', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0' }] }, reason: 'Private key of the provincial system lost in a server failure, request 12/2026' }],
})

export const KeysRecoveredNotification = Strict({
  id: Type.String({ format: 'uuid', description: 'Notification id.' }),
  type: Type.Literal('system.keys-recovered'),
  occurredAt: Instant(),
  system: Strict({
    id: SystemId('The system whose keys were replaced.'),
    recoveredBy: SystemId('The central system that replaced them.'),
    reason: Type.String({ maxLength: 500 }),
    keys: Type.Array(Type.String({ maxLength: 128 }), { maxItems: 10, description: 'kids of the keys now active.' }),
    retired: Type.Array(Type.String({ maxLength: 128 }), { maxItems: 1000, description: 'kids of the keys retired by the recovery.' }),
    receiptId: Type.String({ maxLength: 64, description: 'The receipt of the recovery call; its audit entry holds central\'s signed token.' }),
  }),
}, {
  $id: 'KeysRecoveredNotification',
  description: 'Sent to a system\'s webhook when central replaced its keys by recovery. A system that did not ask for it should treat it as an incident.',
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

/** One entry of `SYSTEMS_FILE`: a registration, and what only the operator grants. */
export const SystemsFileEntry = Strict({
  ...SystemRegistration.properties,
  keyRecovery: Type.Optional(Type.Boolean({ description: 'Lets this central system recover other systems\' keys.' })),
}, { $id: 'SystemsFileEntry', description: 'A system SYSTEMS_FILE registers at start if it is not registered yet.' })
export type SystemsFileEntry = Static<typeof SystemsFileEntry>

/** The format of `SYSTEMS_FILE`: systems registered when the service starts, if they are not yet. */
export const SystemsFile = Type.Array(SystemsFileEntry, { maxItems: 500 })

export const systemsComponents = [KeyInfo, System, SystemRegistration, SystemUpdate, KeyRecovery, KeysRecoveredNotification, SystemWriteResult, SystemPage]
