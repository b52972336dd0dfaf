import { randomBytes } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import { SignJWT } from 'jose'
import type { Receipt } from '../../../schemas/trust.js'
import type { ServiceKeys } from '../../auth/service-keys.js'
import type { SigningKey } from '../../client/keys.js'
import type { ReceiptClaims } from '../../client/verify.js'
import { auditLeafHash, encodeHash } from '../../client/transparency.js'
import type { Db } from '../../db/database.js'
import type { IdempotencyRecorder } from '../../http/idempotency.js'
import { callEntry } from '../audit/entry.js'
import type { AuditStore } from '../audit/store.js'
import type { ReceiptStore } from './store.js'

export const RECEIPT_TYPE = 'ttn-receipt+jwt'

declare module 'fastify' {
  interface FastifyRequest {
    /** The receipt issued for this request, recorded in the audit log. */
    receiptId?: string
  }
}

/** What a write did, as the receipt states it. */
export interface WriteResult {
  status: number
  /** The records touched, e.g. `{ entity: 'station', id: 'st-1', version: 3 }`; large batches give counts instead. */
  records: Record<string, unknown>[]
}

/** What one receipt states: who issued it to whom, under which id and when, and the call, its result and its log entry. */
export interface ReceiptContent {
  issuer: string
  subject: string
  id: string
  issuedAt: Date
  req: ReceiptClaims['req']
  res: WriteResult
  log: NonNullable<ReceiptClaims['log']>
}

/** The receipt's JWS; apart from the issuer so that published test vectors are signed exactly as the service signs. */
export function signReceipt(key: SigningKey, content: ReceiptContent): Promise<string> {
  return new SignJWT({ req: content.req, res: content.res, log: content.log })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: RECEIPT_TYPE })
    .setIssuer(content.issuer)
    .setSubject(content.subject)
    .setJti(content.id)
    .setIssuedAt(Math.floor(content.issuedAt.getTime() / 1000))
    .sign(key.key)
}

/**
 * Signs receipts for accepted writes. The receipt, the write's audit entry (with the caller's
 * signed call token) and its Idempotency-Key are stored in the write's own transaction, so a
 * caller never holds a receipt for something that did not happen, and nothing that happened
 * lacks its entry. The receipt names the entry's place in the transparency log.
 */
export class ReceiptIssuer {
  constructor(
    private readonly keys: ServiceKeys,
    private readonly serviceId: string,
    private readonly store: ReceiptStore,
    private readonly audit: AuditStore,
    private readonly idempotency: IdempotencyRecorder,
  ) {}

  async issue(request: FastifyRequest, result: WriteResult, db: Db): Promise<Receipt> {
    const call = request.signedCall
    const caller = request.caller
    if (!call || !caller) throw new Error('receipts are issued only for verified calls')
    const id = randomBytes(16).toString('base64url')
    const entry = callEntry(request, { status: result.status, problemCode: null, receiptId: id, callToken: call.token })
    const entryId = await this.audit.append(db, entry)
    const jws = await signReceipt(this.keys.current, {
      issuer: this.serviceId,
      subject: caller.systemId,
      id,
      issuedAt: request.receivedAt,
      req: {
        jti: call.jti, htm: request.method, htu: call.htu, bsh: request.bodySha256, receivedAt: request.receivedAt.toISOString(), kid: call.kid,
        ...(call.actor ? { act: call.actor } : {}),
      },
      res: result,
      log: { index: entryId - 1, leafHash: encodeHash(auditLeafHash(entry)) },
    })
    await this.store.insert({ id, issuedAt: request.receivedAt, caller: caller.systemId, provinceCode: caller.provinceCode, jws }, db)
    await this.idempotency.record(request, id, db)
    request.receiptId = id
    request.auditEntryId = entryId
    return { id, jws }
  }
}
