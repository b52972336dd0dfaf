import type { SigningKey } from '../client/keys.js'
import { SchemaArbitraries, deriveSeed, sampleOne } from './arbitrary.js'
import type { Contract } from './contract.js'
import { send, type Answer, type PreparedRequest } from './http.js'
import { CheckLog } from './report.js'
import { forgeToken, type Forgery, type TokenRequest } from './tokens.js'

export interface WebhookRunOptions {
  /** The receiver's URL, as registered as the system's `webhookUrl`. */
  url: string
  contract: Contract
  /** The service's id (`iss` of its calls) and one of its private keys. */
  serviceId: string
  serviceKey: SigningKey
  /** The receiving system's id, the `aud` of the calls it accepts. */
  systemId: string
  seed: number
  /** Valid notifications sent per webhook. */
  runs: number
}

const now = () => Math.floor(Date.now() / 1000)

/**
 * Tests a receiver of the contract's webhooks: notifications generated from each webhook's
 * request schema and signed like the service signs them must be accepted, and forged,
 * expired, replayed, misaddressed or altered ones refused with a 4xx.
 */
export async function checkWebhookReceiver(options: WebhookRunOptions): Promise<CheckLog> {
  const log = new CheckLog()
  const webhooks = options.contract.webhooks()
  if (webhooks.length === 0) throw new Error('the contract declares no webhooks')
  const arbitraries = new SchemaArbitraries(options.contract)
  const target = new URL(options.url)
  const pathAndQuery = target.pathname + target.search

  for (const webhook of webhooks) {
    const schema = webhook.definition.requestBody?.content['application/json']?.schema
    const notification = (seed: number) => {
      if (!schema) return undefined
      for (let attempt = 0; attempt < 50; attempt++) {
        const value = sampleOne(arbitraries.of(schema), seed + attempt)
        if (options.contract.check(schema, value) === undefined) return JSON.stringify(value)
      }
      throw new Error(`could not generate a valid ${webhook.id} notification`)
    }
    const request = (body: string | undefined): TokenRequest => ({
      issuer: options.serviceId, audience: options.systemId, key: options.serviceKey, method: webhook.method, pathAndQuery, body,
    })
    const deliver = async (check: string, seed: number, body: string | undefined, token: string | undefined, verdict: (answer: Answer) => string | undefined, sentBody = body) => {
      const prepared: PreparedRequest = {
        method: webhook.method,
        pathAndQuery,
        headers: { ...(sentBody !== undefined ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: sentBody,
      }
      try {
        const answer = await send(target.origin, async () => prepared, 1)
        log.record(check, webhook.id, verdict(answer), { request: `${webhook.method} ${options.url}`, status: answer.status, seed })
        return answer
      } catch (error) {
        log.record(check, webhook.id, `no answer: ${(error as Error).message}`, { request: `${webhook.method} ${options.url}`, seed })
        return undefined
      }
    }
    const accepted = (answer: Answer) => answer.status >= 200 && answer.status < 300 ? undefined : `a valid notification was refused with ${answer.status}: ${answer.text.slice(0, 200)}`
    const refused = (what: string) => (answer: Answer) => answer.status >= 400 && answer.status < 500 ? undefined : `${what} must be refused with a 4xx, got ${answer.status}`

    let lastValid: { body: string | undefined, token: string } | undefined
    for (let run = 0; run < options.runs; run++) {
      const seed = deriveSeed(options.seed, webhook.id, 'valid', run)
      const body = notification(seed)
      const token = await forgeToken(request(body))
      const answer = await deliver('webhook:valid', seed, body, token, accepted)
      if (answer && answer.status < 300) lastValid = { body, token }
    }
    if (lastValid) {
      await deliver('webhook:replayed', options.seed, lastValid.body, lastValid.token, refused('a notification whose token was already used'))
    }
    const forgeries: [string, string, Forgery][] = [
      ['webhook:forged', 'a notification signed by another key', { signing: 'other-key' }],
      ['webhook:expired', 'an expired notification', { claims: { iat: now() - 900, exp: now() - 600 } }],
      ['webhook:wrong-audience', 'a notification addressed to another system', { claims: { aud: `${options.systemId}-other` } }],
      ['webhook:alg-none', 'an unsigned notification', { signing: 'none' }],
    ]
    for (const [check, what, forgery] of forgeries) {
      const seed = deriveSeed(options.seed, webhook.id, check)
      const body = notification(seed)
      await deliver(check, seed, body, await forgeToken(request(body), forgery), refused(what))
    }
    const seed = deriveSeed(options.seed, webhook.id, 'tampered')
    const signedBody = notification(seed)
    const otherBody = notification(seed + 1000) ?? ''
    const sentBody = otherBody === signedBody ? `${otherBody} ` : otherBody
    await deliver('webhook:body-tampered', seed, signedBody, await forgeToken(request(signedBody)), refused('a notification whose body is not the signed one'), sentBody)
    await deliver('webhook:token-missing', seed, signedBody, undefined, refused('a notification without a token'))
  }
  return log
}

