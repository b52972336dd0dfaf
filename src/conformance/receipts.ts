import type { JSONWebKeySet } from 'jose'
import { basePathOf } from '../client/http.js'
import { verifyReceipt } from '../client/verify.js'
import type { Contract, JsonSchema } from './contract.js'
import { send, type Answer, type PreparedRequest } from './http.js'

/**
 * Checks the receipt a write answers with: signed by a key of the target's
 * `/.well-known/jwks.json`, issued by the service to the caller, and about this very call.
 */
export class ReceiptCheck {
  private jwks: Promise<JSONWebKeySet> | undefined

  constructor(private readonly contract: Contract, private readonly target: string, private readonly serviceId: string) {}

  /** Whether the success schema of an answer holds a receipt. */
  declaresReceipt(schema: JsonSchema | undefined): boolean {
    if (!schema) return false
    const properties = this.contract.resolve(schema).properties as Record<string, unknown> | undefined
    return properties?.receipt !== undefined
  }

  async problem(answer: Answer, request: PreparedRequest, caller: string | undefined): Promise<string | undefined> {
    let receipt: { jws?: unknown } | undefined
    try {
      receipt = (JSON.parse(answer.text) as { receipt?: { jws?: unknown } }).receipt
    } catch {
      return 'the answer is not JSON, so it has no receipt'
    }
    if (!receipt) return `a ${answer.status} answer to a write has no receipt`
    if (typeof receipt.jws !== 'string') return 'the receipt has no jws'
    try {
      const claims = await verifyReceipt(receipt.jws, await this.serviceKeys(), this.serviceId)
      if (caller !== undefined && claims.sub !== caller) return `the receipt is for ${claims.sub}, not the caller ${caller}`
      if (claims.req.htm !== request.method || claims.req.htu !== request.pathAndQuery) {
        return `the receipt attests ${claims.req.htm} ${claims.req.htu}, not ${request.method} ${request.pathAndQuery}`
      }
      if (claims.res.status !== answer.status) return `the receipt attests status ${claims.res.status}, the answer was ${answer.status}`
      return undefined
    } catch (error) {
      return `the receipt does not verify against ${this.target}/.well-known/jwks.json: ${(error as Error).message}`
    }
  }

  private serviceKeys(): Promise<JSONWebKeySet> {
    this.jwks ??= send(this.target, async () => ({ method: 'GET', pathAndQuery: `${basePathOf(this.target)}/.well-known/jwks.json`, headers: {} }))
      .then((answer) => JSON.parse(answer.text) as JSONWebKeySet)
    return this.jwks
  }
}
