import { sql, type Selectable } from 'kysely'
import type { System, SystemRegistration, SystemUpdate } from '../../../schemas/systems.js'
import type { PublicJwk } from '../../../schemas/trust.js'
import type { Db } from '../../db/database.js'
import type { SystemKeysTable, SystemsTable } from '../../db/tables.js'
import { HttpProblem } from '../../http/problem.js'

const algOf = (jwk: PublicJwk) => (jwk.kty === 'EC' ? 'ES256' as const : 'EdDSA' as const)

export interface RegisteredKey {
  kid: string
  alg: 'ES256' | 'EdDSA'
  jwk: PublicJwk
  status: 'active' | 'retired'
}

/** What call-token verification needs to know of an issuer. */
export interface IssuerRecord {
  id: string
  role: 'province' | 'central'
  provinceCode: string | null
  status: 'active' | 'suspended'
  jwksUri: string | null
  keys: RegisteredKey[]
}

const toSystem = (row: Selectable<SystemsTable>, keys: Selectable<SystemKeysTable>[]): System => ({
  id: row.id,
  role: row.role,
  provinceCode: row.province_code,
  name: row.name,
  jwksUri: row.jwks_uri,
  webhookUrl: row.webhook_url,
  status: row.status,
  keyRecovery: row.key_recovery,
  keys: keys.map((k) => ({
    kid: k.kid, alg: k.alg, status: k.status, addedAt: k.added_at.toISOString(),
    retiredAt: k.retired_at?.toISOString() ?? null, jwk: k.jwk as PublicJwk,
  })),
  version: row.version,
  createdAt: row.created_at.toISOString(),
  updatedAt: row.updated_at.toISOString(),
})

/** Checks a registration against the rules the schema cannot state. */
export function registrationProblem(registration: SystemRegistration): string | undefined {
  if (registration.role === 'province') {
    if (!registration.provinceCode) return 'a provincial system needs provinceCode'
    if (registration.id !== `province-${registration.provinceCode}`) return `a provincial system's id is province-${registration.provinceCode}`
  } else if (registration.provinceCode) {
    return 'a central system has no provinceCode'
  } else if (registration.id.startsWith('province-')) {
    return 'ids province-<code> are for provincial systems'
  }
  if (registration.jwks && registration.jwksUri) return 'give either jwks or jwksUri, not both'
  if (!registration.jwks && !registration.jwksUri) return 'give the public keys: jwks or jwksUri'
  const kids = registration.jwks?.keys.map((k) => k.kid) ?? []
  if (new Set(kids).size !== kids.length) return 'two keys have the same kid'
  return undefined
}

export class SystemsStore {
  constructor(private readonly db: Db) {}

  async get(id: string, db: Db = this.db): Promise<System | undefined> {
    const row = await db.selectFrom('systems').selectAll().where('id', '=', id).executeTakeFirst()
    if (!row) return undefined
    const keys = await db.selectFrom('system_keys').selectAll().where('system_id', '=', id).orderBy('added_at').orderBy('kid').execute()
    return toSystem(row, keys)
  }

  async isActiveProvince(code: string): Promise<boolean> {
    const row = await this.db.selectFrom('admin_units').select('code')
      .where('code', '=', code).where('level', '=', 'province').where('status', '=', 'active').executeTakeFirst()
    return row !== undefined
  }

  async issuer(id: string): Promise<IssuerRecord | undefined> {
    const system = await this.get(id)
    if (!system) return undefined
    return {
      id: system.id, role: system.role, provinceCode: system.provinceCode, status: system.status, jwksUri: system.jwksUri,
      keys: system.keys.map((k) => ({ kid: k.kid, alg: k.alg, jwk: k.jwk, status: k.status })),
    }
  }

  async list(filter: { role?: string | undefined, status?: string | undefined, afterId?: string | undefined, limit: number }): Promise<System[]> {
    let query = this.db.selectFrom('systems').selectAll().orderBy('id').limit(filter.limit + 1)
    if (filter.role) query = query.where('role', '=', filter.role as 'province')
    if (filter.status) query = query.where('status', '=', filter.status as 'active')
    if (filter.afterId) query = query.where('id', '>', filter.afterId)
    const rows = await query.execute()
    const keys = rows.length === 0 ? [] : await this.db.selectFrom('system_keys').selectAll()
      .where('system_id', 'in', rows.map((r) => r.id)).orderBy('added_at').orderBy('kid').execute()
    return rows.map((row) => toSystem(row, keys.filter((k) => k.system_id === row.id)))
  }

  async register(registration: SystemRegistration & { keyRecovery?: boolean | undefined }, db: Db): Promise<System> {
    const inserted = await db.insertInto('systems').values({
      id: registration.id,
      role: registration.role,
      province_code: registration.provinceCode ?? null,
      name: registration.name,
      jwks_uri: registration.jwksUri ?? null,
      webhook_url: registration.webhookUrl ?? null,
      status: registration.status ?? 'active',
      key_recovery: registration.keyRecovery ?? false,
    }).onConflict((oc) => oc.column('id').doNothing()).returning('id').executeTakeFirst()
    if (!inserted) throw new HttpProblem('conflict', `system ${registration.id} is already registered`)
    for (const jwk of registration.jwks?.keys ?? []) await this.insertKey(db, registration.id, jwk)
    return (await this.get(registration.id, db))!
  }

  /** Grants or withdraws the right to recover other systems' keys: the operator's act, from SYSTEMS_FILE. */
  async setKeyRecovery(id: string, allowed: boolean, db: Db = this.db): Promise<void> {
    await db.updateTable('systems').set({ key_recovery: allowed, version: sql`version + 1`, updated_at: sql`now()` }).where('id', '=', id).execute()
  }

  async update(id: string, update: SystemUpdate, db: Db): Promise<System | undefined> {
    const updated = await db.updateTable('systems').set({
      ...(update.name !== undefined ? { name: update.name } : {}),
      ...(update.webhookUrl !== undefined ? { webhook_url: update.webhookUrl } : {}),
      ...(update.jwksUri !== undefined ? { jwks_uri: update.jwksUri } : {}),
      ...(update.status !== undefined ? { status: update.status } : {}),
      version: sql`version + 1`,
      updated_at: sql`now()`,
    }).where('id', '=', id).returning('id').executeTakeFirst()
    return updated ? this.get(id, db) : undefined
  }

  async addKey(id: string, jwk: PublicJwk, db: Db): Promise<void> {
    const inserted = await this.insertKey(db, id, jwk)
    if (!inserted) throw new HttpProblem('conflict', `system ${id} already has a key ${jwk.kid}`)
    await this.touch(id, db)
  }

  /**
   * Replaces a system's keys by recovery: the given keys become its only active ones, every
   * other key is retired and the JWKS URL removed. Answers the kids retired.
   */
  async recoverKeys(id: string, keys: PublicJwk[], db: Db): Promise<string[]> {
    const given = new Set(keys.map((k) => k.kid))
    const retired = await db.updateTable('system_keys').set({ status: 'retired', retired_at: sql`now()` })
      .where('system_id', '=', id).where('status', '=', 'active').where('kid', 'not in', [...given]).returning('kid').execute()
    for (const jwk of keys) {
      if (!await this.insertKey(db, id, jwk)) {
        const existing = await db.selectFrom('system_keys').select('status').where('system_id', '=', id).where('kid', '=', jwk.kid).executeTakeFirstOrThrow()
        if (existing.status === 'retired') throw new HttpProblem('conflict', `key ${jwk.kid} of ${id} was retired; a recovery brings new keys`)
      }
    }
    await db.updateTable('systems').set({ jwks_uri: null, version: sql`version + 1`, updated_at: sql`now()` }).where('id', '=', id).execute()
    return retired.map((r) => r.kid)
  }

  async recordEvent(db: Db, event: { id: string, type: 'system.keys-recovered', systemId: string, payload: unknown }): Promise<void> {
    await db.insertInto('system_events').values({ id: event.id, type: event.type, system_id: event.systemId, payload: JSON.stringify(event.payload) }).execute()
  }

  /** Retires a key for good; retiring a retired key changes nothing. */
  async retireKey(id: string, kid: string, db: Db, publishedElsewhere?: PublicJwk): Promise<'retired' | 'already-retired' | 'not-found'> {
    const key = await db.selectFrom('system_keys').select('status').where('system_id', '=', id).where('kid', '=', kid).executeTakeFirst()
    if (!key && publishedElsewhere) {
      await db.insertInto('system_keys').values({
        system_id: id, kid, alg: algOf(publishedElsewhere), jwk: JSON.stringify(publishedElsewhere), status: 'retired', retired_at: sql`now()`,
      }).execute()
      await this.touch(id, db)
      return 'retired'
    }
    if (!key) return 'not-found'
    if (key.status === 'retired') return 'already-retired'
    await db.updateTable('system_keys').set({ status: 'retired', retired_at: sql`now()` })
      .where('system_id', '=', id).where('kid', '=', kid).execute()
    await this.touch(id, db)
    return 'retired'
  }

  private async insertKey(db: Db, id: string, jwk: PublicJwk): Promise<boolean> {
    const row = await db.insertInto('system_keys')
      .values({ system_id: id, kid: jwk.kid, alg: algOf(jwk), jwk: JSON.stringify(jwk) })
      .onConflict((oc) => oc.columns(['system_id', 'kid']).doNothing())
      .returning('kid').executeTakeFirst()
    return row !== undefined
  }

  private async touch(id: string, db: Db) {
    await db.updateTable('systems').set({ version: sql`version + 1`, updated_at: sql`now()` }).where('id', '=', id).execute()
  }
}
