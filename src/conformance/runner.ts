import fc from 'fast-check'
import type { SigningKey } from '../client/keys.js'
import { signCall } from '../client/sign.js'
import { SchemaArbitraries, deriveSeed, sampleOne } from './arbitrary.js'
import type { Contract, JsonSchema, Operation, Parameter } from './contract.js'
import { send, waitOut, type Answer, type PreparedRequest } from './http.js'
import { mutationsOf, type InvalidKind } from './mutations.js'
import { CheckLog } from './report.js'
import { ATTACKS, forgeToken, type TokenRequest } from './tokens.js'

export interface ConformanceCaller {
  systemId: string
  key: SigningKey
}

export interface ApiRunOptions {
  target: string
  contract: Contract
  /** A provincial system (`province-NN`): operations scoped to a province are called on its own. */
  province: ConformanceCaller
  /** A central-role system, for the operations reserved to central. */
  central?: ConformanceCaller | undefined
  /** The service's SERVICE_ID, the `aud` of every call token. */
  audience: string
  seed: number
  /** Generated valid requests per operation. */
  runs: number
  concurrency?: number
}

const PROBLEM = 'application/problem+json'
const PROVINCE_POLICIES = new Set(['province', 'province-or-central'])
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])
const UNKNOWN_QUERY_PARAMETER = 'conformanceUnknown'
/** Tries of each use of the replayed token when the target asks to wait. */
const REPLAY_ATTEMPTS = 4

/** Percent-encodes everything but unreserved characters, so no URL parser re-encodes what was signed. */
const encode = (text: string) =>
  encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)

const asText = (value: unknown): string | undefined =>
  value === null || value === undefined ? undefined : typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value)

interface Draft {
  operation: Operation
  caller: ConformanceCaller | undefined
  path: Record<string, string>
  query: [string, string][]
  headers: Record<string, string>
  body?: string | undefined
  bodyValue?: unknown
  mediaType?: string
}

const isJson = (mediaType: string) => mediaType === 'application/json' || mediaType.endsWith('+json')

/** The media type a request body is sent as: JSON when the operation takes it, else the first it declares. */
function requestMedia(operation: Operation): { mediaType: string, schema?: JsonSchema | undefined } | undefined {
  const content = operation.definition.requestBody?.content ?? {}
  const mediaType = Object.keys(content).find(isJson) ?? Object.keys(content)[0]
  return mediaType ? { mediaType, schema: content[mediaType]?.schema } : undefined
}

const provinceOf = (systemId: string) => /^province-(\d{2})$/.exec(systemId)?.[1]

/**
 * Tests a service against the contract, operation by operation, with requests generated from
 * the contract's own schemas: valid ones must get a declared status, content type and body;
 * invalid ones a 4xx problem document; the trust-model attacks 401 or 403; nothing a 5xx.
 */
export class ApiConformance {
  private readonly arbitraries: SchemaArbitraries
  private readonly provinceCode: string
  private readonly parameterSchemas = new Map<string, JsonSchema>()
  readonly log = new CheckLog()

  constructor(private readonly options: ApiRunOptions) {
    this.arbitraries = new SchemaArbitraries(options.contract)
    const code = provinceOf(options.province.systemId)
    if (!code) throw new Error(`the provincial caller must be a system id like province-79, not ${options.province.systemId}`)
    this.provinceCode = code
  }

  async run(): Promise<CheckLog> {
    const queue = [...this.options.contract.operations]
    const worker = async () => {
      for (let operation = queue.shift(); operation; operation = queue.shift()) await this.checkOperation(operation)
    }
    await Promise.all(Array.from({ length: this.options.concurrency ?? 4 }, worker))
    return this.log
  }

  private async checkOperation(operation: Operation): Promise<void> {
    try {
      await this.checkGeneratedRequests(operation)
    } catch (error) {
      // A schema the generator cannot satisfy fails that operation, not the run.
      this.log.record('generation', operation.id, `no request could be generated: ${(error as Error).message}`)
    }
  }

  private async checkGeneratedRequests(operation: Operation): Promise<void> {
    for (let run = 0; run < this.options.runs; run++) {
      const caller = this.callerFor(operation, run)
      if (operation.secured && !caller) {
        this.log.skip('valid-request', operation.id, 'no central key given (--central-key)')
        break
      }
      const seed = deriveSeed(this.options.seed, operation.id, 'valid', run)
      // The first request has only what the contract requires: nothing in it may be refused as malformed.
      const minimal = run === 0
      const draft = this.draft(operation, caller, seed, minimal)
      await this.expect(minimal ? 'valid-request:minimal' : 'valid-request', draft, seed, (answer) => this.validAnswer(operation, answer, minimal))
    }
    await this.checkInvalidRequests(operation)
    if (operation.secured) await this.checkTrust(operation)
  }

  /** Who calls an operation on a given run: its policy's role, alternating where both may. */
  private callerFor(operation: Operation, run: number): ConformanceCaller | undefined {
    const { province, central } = this.options
    if (!operation.secured) return undefined
    if (operation.policy === 'central') return central
    if (operation.policy === 'province' || !central) return province
    return run % 2 === 0 ? province : central
  }

  /**
   * A request valid under the contract, generated from the operation's schemas with `seed`;
   * a minimal one has only the required parameters.
   */
  private draft(operation: Operation, caller: ConformanceCaller | undefined, seed: number, minimal = false): Draft {
    const parameters = operation.definition.parameters ?? []
    const generated = (location: Parameter['in']) => this.parameterValues(operation, parameters.filter((p) => p.in === location), seed, minimal)
    const path = Object.fromEntries(Object.entries(generated('path')).map(([name, value]) => [name, this.pathValue(operation, name, value)]))
    const query = Object.entries(generated('query'))
    const headers = Object.fromEntries(Object.entries(generated('header')).filter(([name]) => !['authorization', 'content-type'].includes(name)))
    const media = requestMedia(operation)
    if (!media) return { operation, caller, path, query, headers }
    const { mediaType, schema } = media
    // Bodies that are not JSON (files, text) are sent as a few bytes of that type: the kit checks the answer, not the content.
    if (!isJson(mediaType) || !schema) return { operation, caller, path, query, headers, mediaType, body: 'conformance' }
    const bodyValue = this.validValue(schema, seed, `${operation.id} request body`)
    return { operation, caller, path, query, headers, mediaType, bodyValue, body: JSON.stringify(bodyValue) }
  }

  private pathValue(operation: Operation, name: string, generated: string): string {
    if (PROVINCE_POLICIES.has(operation.policy) && name === 'code') return this.provinceCode
    // A system acts on itself only where that cannot change its own keys or status mid-run.
    if (operation.policy === 'self-or-central' && name === 'id' && SAFE_METHODS.has(operation.method)) return this.options.province.systemId
    return generated
  }

  private parameterValues(operation: Operation, parameters: Parameter[], seed: number, minimal: boolean): Record<string, string> {
    if (minimal) parameters = parameters.filter((p) => p.required)
    if (parameters.length === 0) return {}
    // One schema object per parameter set, so its generator and validator are built once.
    const key = `${operation.id} ${parameters[0]!.in} ${minimal}`
    let schema = this.parameterSchemas.get(key)
    if (!schema) {
      schema = {
        type: 'object',
        properties: Object.fromEntries(parameters.map((p) => [p.name, p.in === 'header' ? headerSafe(p.schema) : p.schema ?? { type: 'string' }])),
        required: parameters.filter((p) => p.required).map((p) => p.name),
      }
      this.parameterSchemas.set(key, schema)
    }
    for (let attempt = 0; ; attempt++) {
      const values = this.validValue(schema, seed + attempt * 7919, `${operation.id} parameters`) as Record<string, unknown>
      const texts: Record<string, string> = {}
      for (const parameter of parameters) {
        const text = asText(values[parameter.name])
        if (text !== undefined && this.options.contract.acceptsText(parameter.schema ?? {}, text)) texts[parameter.name] = text
      }
      // A path segment `.` or `..` is resolved away by every URL parser, however it is encoded.
      const dotSegment = parameters.some((p) => p.in === 'path' && /^\.\.?$/.test(texts[p.name] ?? ''))
      if (!dotSegment || attempt === 20) return texts
    }
  }

  private validValue(schema: JsonSchema, seed: number, what: string): unknown {
    const arbitrary = this.arbitraries.of(schema)
    for (let attempt = 0; attempt < 50; attempt++) {
      const value = sampleOne(arbitrary, seed + attempt)
      if (this.options.contract.check(schema, value) === undefined) return value
    }
    throw new Error(`could not generate a value valid for ${what}`)
  }

  private prepare(draft: Draft, changes: { query?: [string, string][], body?: string | undefined, caller?: ConformanceCaller | undefined } = {}): PreparedRequest {
    const path = draft.operation.path.replace(/\{([^}]+)\}/g, (_, name: string) => encode(draft.path[name] ?? ''))
    const query = changes.query ?? draft.query
    const search = query.map(([name, value]) => `${encode(name)}=${encode(value)}`).join('&')
    const body = 'body' in changes ? changes.body : draft.body
    return {
      method: draft.operation.method,
      pathAndQuery: search ? `${path}?${search}` : path,
      headers: { ...draft.headers, ...(body !== undefined ? { 'content-type': draft.mediaType ?? 'application/json' } : {}) },
      body,
    }
  }

  private tokenRequest(prepared: PreparedRequest, caller: ConformanceCaller): TokenRequest {
    return { issuer: caller.systemId, audience: this.options.audience, key: caller.key, method: prepared.method, pathAndQuery: prepared.pathAndQuery, body: prepared.body }
  }

  private async signed(prepared: PreparedRequest, caller: ConformanceCaller | undefined): Promise<PreparedRequest> {
    if (!caller) return prepared
    const token = await signCall({ ...this.tokenRequest(prepared, caller), body: prepared.body })
    return { ...prepared, headers: { ...prepared.headers, authorization: `Bearer ${token}` } }
  }

  private async expect(check: string, draft: Draft, seed: number, verdict: (answer: Answer) => string | undefined,
    changes: Parameters<ApiConformance['prepare']>[1] = {}): Promise<void> {
    const caller = 'caller' in changes ? changes.caller : draft.caller
    let described = ''
    try {
      const answer = await send(this.options.target, async () => {
        const prepared = this.prepare(draft, changes)
        described = `${prepared.method} ${prepared.pathAndQuery}`
        return this.signed(prepared, caller)
      })
      this.log.record(check, draft.operation.id, verdict(answer), { request: described, status: answer.status, seed })
    } catch (error) {
      this.log.record(check, draft.operation.id, `no answer: ${(error as Error).message}`, { request: described, seed })
    }
  }

  /** Declared status, declared content type, body valid against the declared schema, and never a 5xx. */
  private declared(operation: Operation, answer: Answer): string | undefined {
    if (answer.status >= 500) return `answered ${answer.status}: ${answer.text.slice(0, 200)}`
    const responses = operation.definition.responses
    const response = responses[String(answer.status)] ?? responses[`${String(answer.status)[0]}XX`] ?? responses.default
    if (!response) return `status ${answer.status} is not declared (declared: ${Object.keys(responses).join(', ')})`
    const content = response.content ?? {}
    if (Object.keys(content).length === 0) return answer.text.length > 0 ? `status ${answer.status} declares no body but one was sent` : undefined
    // A declared range such as audio/* covers every audio type.
    const media = content[answer.mediaType] ?? content[`${answer.mediaType.split('/')[0]}/*`]
    if (!media) return `status ${answer.status} answered ${answer.mediaType || 'no content type'}, declared ${Object.keys(content).join(', ')}`
    if (!media.schema) return undefined
    if (!isJson(answer.mediaType)) {
      const reason = this.options.contract.check(media.schema, answer.text)
      return reason ? `status ${answer.status} ${answer.mediaType} body does not match the declared schema: ${reason}` : undefined
    }
    let body: unknown
    try {
      body = JSON.parse(answer.text)
    } catch {
      return `status ${answer.status} body is not JSON`
    }
    const reason = this.options.contract.check(media.schema, body)
    return reason ? `status ${answer.status} body does not match the declared schema: ${reason}` : undefined
  }

  /**
   * A valid request gets a declared answer and is never refused for its token. Optional values
   * may be well-formed yet meaningless to the service (an opaque cursor it never issued), so
   * only a minimal request must also not be refused as malformed.
   */
  private validAnswer(operation: Operation, answer: Answer, minimal: boolean): string | undefined {
    const declared = this.declared(operation, answer)
    if (declared) return declared
    if (answer.status === 401) return `a correctly signed call was refused: ${problemCode(answer)}`
    // A 413 about a size the request declares (a media file over the deployment's limit) is a limit, not malformation.
    const malformed = answer.status === 400 || answer.status === 415 || (answer.status === 413 && problemCode(answer) === 'body-too-large')
    if (minimal && malformed) return `a request valid under the contract was refused as malformed: ${problemDetail(answer)}`
    return undefined
  }

  private refusedAsBadInput(operation: Operation, answer: Answer): string | undefined {
    if (answer.status < 400 || answer.status >= 500) return `expected a 4xx problem document, got ${answer.status}${answer.status >= 500 ? `: ${answer.text.slice(0, 200)}` : ''}`
    if (answer.mediaType !== PROBLEM) return `a ${answer.status} refusal was ${answer.mediaType || 'without content type'}, not ${PROBLEM}`
    return this.declared(operation, answer)
  }

  private refusedByTrust(operation: Operation, answer: Answer, statuses = [401, 403]): string | undefined {
    if (!statuses.includes(answer.status)) return `expected ${statuses.join(' or ')}, got ${answer.status}`
    if (answer.mediaType !== PROBLEM) return `a ${answer.status} refusal was ${answer.mediaType || 'without content type'}, not ${PROBLEM}`
    return this.declared(operation, answer)
  }

  private async checkInvalidRequests(operation: Operation): Promise<void> {
    const caller = this.callerFor(operation, 0)
    if (operation.secured && !caller) return
    const seed = deriveSeed(this.options.seed, operation.id, 'invalid')
    const draft = this.draft(operation, caller, seed)
    const refused = (answer: Answer) => this.refusedAsBadInput(operation, answer)

    await this.expect('invalid-query:unknown-parameter', draft, seed, refused, { query: [...draft.query, [UNKNOWN_QUERY_PARAMETER, '1']] })
    const queryParameters = (operation.definition.parameters ?? []).filter((p) => p.in === 'query')
    const badQuery = queryParameters.map((p) => [p.name, badText(this.options.contract, p.schema ?? {})] as const).find(([, text]) => text !== undefined)
    if (badQuery) {
      await this.expect('invalid-query:bad-value', draft, seed, refused, {
        query: [...draft.query.filter(([name]) => name !== badQuery[0]), [badQuery[0], badQuery[1]!]],
      })
    }

    const bodySchema = draft.bodyValue === undefined ? undefined : requestMedia(operation)?.schema
    if (!bodySchema) return
    await this.expect('invalid-body:malformed-json', draft, seed, refused, { body: `${draft.body!.slice(0, -1)},` })
    const mutations = mutationsOf(this.options.contract, bodySchema, draft.bodyValue)
    const kinds: InvalidKind[] = ['wrong-type', 'missing-required', 'unknown-field', 'over-limit']
    for (const kind of kinds) {
      const candidates = mutations.filter((m) => m.kind === kind)
      if (candidates.length === 0) continue
      const start = sampleOne(fc.nat(candidates.length - 1), deriveSeed(seed, kind))
      for (let i = 0; i < candidates.length; i++) {
        const mutation = candidates[(start + i) % candidates.length]!
        const invalid = mutation.apply(draft.bodyValue)
        if (this.options.contract.check(bodySchema, invalid) === undefined) continue
        const perItem = withinItem(operation.definition['x-ttn-per-item'], mutation.pointer)
        await this.expect(`invalid-body:${kind}`, draft, seed, (answer) => {
          // A batch that accepts its items one by one may take the request and name the bad item in its answer.
          const reason = perItem && answer.status >= 200 && answer.status < 300 ? this.declared(operation, answer) : refused(answer)
          return reason ? `${reason} (changed ${mutation.pointer})` : undefined
        }, { body: JSON.stringify(invalid) })
        break
      }
    }
  }

  private async checkTrust(operation: Operation): Promise<void> {
    const caller = this.callerFor(operation, 0)
    const seed = deriveSeed(this.options.seed, operation.id, 'trust')
    await this.checkRoleAndScope(operation, seed)
    if (!caller) return
    // Minimal, so that a service which let the token through would answer from the handler.
    const draft = this.draft(operation, caller, seed, true)
    const refused = (answer: Answer) => this.refusedByTrust(operation, answer)

    for (const attack of ATTACKS) {
      let described = ''
      try {
        const answer = await send(this.options.target, async () => {
          const prepared = this.prepare(draft)
          described = `${prepared.method} ${prepared.pathAndQuery}`
          const token = await attack.token(this.tokenRequest(prepared, caller))
          return token ? { ...prepared, headers: { ...prepared.headers, authorization: `Bearer ${token}` } } : prepared
        })
        const reason = refused(answer)
        this.log.record(`token:${attack.name}`, operation.id, reason && `${attack.expectation}: ${reason}`, { request: described, status: answer.status, seed })
      } catch (error) {
        this.log.record(`token:${attack.name}`, operation.id, `no answer: ${(error as Error).message}`, { request: described, seed })
      }
    }
    await this.checkReplay(operation, draft, caller, seed)
  }

  /**
   * Sends one token twice. A target that asks to wait (429 or 503 with Retry-After) is waited
   * out: before the first use with a fresh token, before the second with the same one.
   */
  private async checkReplay(operation: Operation, draft: Draft, caller: ConformanceCaller, seed: number): Promise<void> {
    const prepared = this.prepare(draft)
    const described = `${prepared.method} ${prepared.pathAndQuery}`
    const signed = async () => ({ ...prepared, headers: { ...prepared.headers, authorization: `Bearer ${await forgeToken(this.tokenRequest(prepared, caller))}` } })
    try {
      let withToken = await signed()
      let first = await send(this.options.target, async () => withToken, 1)
      for (let attempt = 1; first.retryAfter !== undefined && attempt < REPLAY_ATTEMPTS; attempt++) {
        await waitOut(first)
        withToken = await signed()
        first = await send(this.options.target, async () => withToken, 1)
      }
      let second = await send(this.options.target, async () => withToken, 1)
      for (let attempt = 1; second.retryAfter !== undefined && attempt < REPLAY_ATTEMPTS; attempt++) {
        await waitOut(second)
        second = await send(this.options.target, async () => withToken, 1)
      }
      const reason = first.status === 401 ? `the first use was refused too (${problemCode(first)})` : this.refusedByTrust(operation, second)
      this.log.record('token:replayed', operation.id, reason && `a token used twice is refused the second time: ${reason}`, { request: described, status: second.status, seed })
    } catch (error) {
      this.log.record('token:replayed', operation.id, `no answer: ${(error as Error).message}`, { request: described, seed })
    }
  }

  /** A province may not call what is central's, nor act on another province; central may not call what is a province's. */
  private async checkRoleAndScope(operation: Operation, seed: number): Promise<void> {
    const { province, central } = this.options
    const forbidden = (answer: Answer) => this.refusedByTrust(operation, answer, [403])
    if (operation.policy === 'central') {
      await this.expect('policy:role', this.draft(operation, province, seed, true), seed, forbidden)
    }
    if (operation.policy === 'province' && central) {
      await this.expect('policy:role', this.draft(operation, central, seed, true), seed, forbidden)
    }
    if (PROVINCE_POLICIES.has(operation.policy)) {
      const draft = this.draft(operation, province, seed, true)
      const otherProvince = this.provinceCode === '01' ? '02' : '01'
      await this.expect('policy:scope', { ...draft, path: { ...draft.path, code: otherProvince } }, seed, forbidden)
    }
  }
}

/** Whether `pointer` is inside one item of the array at `arrayPointer`. */
function withinItem(arrayPointer: string | undefined, pointer: string): boolean {
  return arrayPointer !== undefined && new RegExp(`^${arrayPointer.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/\\d+(/|$)`).test(pointer)
}

/** Header values are visible ASCII whatever else their schema allows: nothing else crosses HTTP intact. */
function headerSafe(schema: JsonSchema | undefined): JsonSchema {
  const base = schema ?? { type: 'string' }
  return base.type === 'string' && base.pattern === undefined ? { ...base, pattern: '^[\\x21-\\x7E]+$' } : base
}

/** A text the parameter's schema refuses, if one of a few usual suspects is. */
function badText(contract: Contract, schema: JsonSchema): string | undefined {
  const resolved = contract.resolve(schema)
  const candidates = ['not a valid value!', '-1', '1e400', ...(typeof resolved.maxLength === 'number' ? ['x'.repeat(resolved.maxLength + 1)] : []), '']
  return candidates.find((text) => !contract.acceptsText(schema, text))
}

function problemCode(answer: Answer): string {
  try {
    const problem = JSON.parse(answer.text) as { code?: string, detail?: string }
    return problem.code ?? problem.detail ?? answer.text.slice(0, 120)
  } catch {
    return answer.text.slice(0, 120)
  }
}

function problemDetail(answer: Answer): string {
  try {
    const problem = JSON.parse(answer.text) as { code?: string, detail?: string }
    return `${problem.code ?? ''} ${problem.detail ?? ''}`.trim().slice(0, 300)
  } catch {
    return answer.text.slice(0, 200)
  }
}
