import type { SystemUpdate, System } from '../../../schemas/systems.js'
import type { PublicJwk } from '../../../schemas/trust.js'
import type { Caller } from '../../auth/call-token.js'
import { outboundProblem, type OutboundPolicy } from '../../http/outbound.js'
import { HttpProblem } from '../../http/problem.js'

/**
 * What may change of a registered system, and by whom. A system's identity (role, province)
 * never changes. Its name, webhook and keys are its own: only calls it signs change them, so a
 * receipt naming it as the caller always means it. Central suspends and reactivates systems,
 * and replaces a system's keys only by an explicit recovery it is allowed to make.
 */
export function checkUpdate(caller: Caller, existing: System, update: SystemUpdate): void {
  const own = caller.systemId === existing.id
  const selfFields = (['name', 'webhookUrl', 'jwksUri'] as const).filter((field) => update[field] !== undefined)
  if (!own && selfFields.length > 0) {
    throw new HttpProblem('scope-forbidden', `only ${existing.id} itself changes its ${selfFields.join(', ')}; central may change its status`)
  }
  if (update.status !== undefined) {
    if (caller.role !== 'central') throw new HttpProblem('scope-forbidden', 'only the central system changes a system\'s status')
    if (own) throw new HttpProblem('rule-violated', `${existing.id} cannot change its own status; another central system can`)
  }
  if (update.jwksUri === null && !existing.keys.some((k) => k.status === 'active')) {
    throw new HttpProblem('rule-violated', 'removing jwksUri would leave the system without an active key')
  }
}

/** A change after which a province system may have items to catch up on: a webhook URL given, or a reactivation. */
export const opensNotifications = (update: SystemUpdate): boolean => Boolean(update.webhookUrl) || update.status === 'active'

/** A system keeps at least one key it can sign with. */
export function checkKeyRetirement(existing: System, kid: string): void {
  const others = existing.keys.filter((k) => k.kid !== kid && k.status === 'active')
  if (others.length === 0 && !existing.jwksUri) throw new HttpProblem('rule-violated', `${kid} is the last active key of ${existing.id}; add its successor first`)
}

/** A recovery is central's, by a system the operator allowed to, of another system, with keys that are new. */
export function checkRecovery(recoverer: System | undefined, target: System, keys: PublicJwk[]): void {
  if (!recoverer?.keyRecovery || recoverer.role !== 'central') {
    throw new HttpProblem('role-forbidden', `${recoverer?.id ?? 'the caller'} may not recover keys: the operator grants it to a central system in SYSTEMS_FILE (keyRecovery)`)
  }
  if (target.id === recoverer.id) throw new HttpProblem('rule-violated', 'a system rotates its own keys with POST /v2/systems/{id}/keys, not by recovery')
  const kids = keys.map((k) => k.kid)
  if (new Set(kids).size !== kids.length) throw new HttpProblem('rule-violated', 'two keys have the same kid')
}

/** The service calls a system's JWKS URL and webhook: only public https addresses (or the operator's test hosts). */
export function checkOutboundUrls(urls: { jwksUri?: string | null | undefined, webhookUrl?: string | null | undefined }, policy: OutboundPolicy): void {
  for (const field of ['jwksUri', 'webhookUrl'] as const) {
    const url = urls[field]
    if (typeof url !== 'string') continue
    const problem = outboundProblem(url, policy)
    if (problem) throw new HttpProblem(problem.code, `${field}: ${problem.detail}`, { errors: [{ in: 'body', pointer: `/${field}`, message: problem.detail }] })
  }
}
