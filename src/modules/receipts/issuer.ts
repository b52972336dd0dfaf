import { randomBytes } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import { SignJWT } from 'jose'
import type { Receipt } from '../../../schemas/trust.js'
import type { ServiceKeys } from '../../auth/service-keys.js'
import type { Db } from '../../db/database.js'
import type { IdempotencyRecorder } from '../../http/idempotency.js'
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

/**
 * Signs receipts for accepted writes. A receipt is stored in the same transaction as the
 * write it attests, so a caller never holds a receipt for something that did not happen.
 */
export class ReceiptIssuer {
  constructor(
    private readonly keys: ServiceKeys,
    private readonly serviceId: string,
    private readonly store: ReceiptStore,
    private readonly idempotency: IdempotencyRecorder,
  ) {}

  async issue(request: FastifyRequest, result: WriteResult, db: Db): Promise<Receipt> {
    const call = request.signedCall
    const caller = request.caller
    if (!call || !caller) throw new Error('receipts are issued only for verified calls')
    const id = randomBytes(16).toString('base64url')
    const key = this.keys.current
    const jws = await new SignJWT({
      req: { jti: call.jti, htm: request.method, htu: request.url, bsh: request.bodySha256, receivedAt: request.receivedAt.toISOString() },
      res: result,
    })
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: RECEIPT_TYPE })
      .setIssuer(this.serviceId)
      .setSubject(caller.systemId)
      .setJti(id)
      .setIssuedAt(Math.floor(request.receivedAt.getTime() / 1000))
      .sign(key.key)
    await this.store.insert({ id, issuedAt: request.receivedAt, caller: caller.systemId, provinceCode: caller.provinceCode, jws }, db)
    await this.idempotency.record(request, id, db)
    request.receiptId = id
    return { id, jws }
  }
}
