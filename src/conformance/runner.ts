import fc from 'fast-check'
import type { SigningKey } from '../client/keys.js'
import { basePathOf } from '../client/http.js'
import { signCall } from '../client/sign.js'
import { provinceOfSystem } from '../client/system-id.js'
import { SchemaArbitraries, deriveSeed, sampleOne } from './arbitrary.js'
import { cosign, type CheckpointClaims } from '../client/transparency.js'
import type { Contract, JsonSchema, Operation, Parameter, ResponseObject } from './contract.js'
import { undoOf, type Undo } from './cleanup.js'
import { runFacts, type RunFacts } from './facts.js'
import { headerProblem } from './headers.js'
import { send, waitOut, type Answer, type PreparedRequest } from './http.js'
import { mutationsOf, type InvalidKind } from './mutations.js'
import { ReceiptCheck } from './receipts.js'
import { CheckLog, type Detail } from './report.js'
import { MissingValue, resolve, stepName, stepsFor, type Compute, type Kept, type Step, type Template } from './scenario.js'
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
  /** Only these operations (by operationId) are checked; the scenario still makes what they need first. */
  operations?: string[] | undefined
  /** Told how far the run is, every few operations. */
  onProgress?: ((progress: Progress) => void) | undefined
  /** The address the kit serves a media file on for the target to fetch (registerExternalMedia). */
  mediaHost?: string | undefined
  /** How long a step that waits on the target's background work (a checkpoint) is asked again. */
  settleSeconds?: number | undefined
  /** Undo what the run's writes made, where the API has a way back (delete, withdraw, suspend, cancel). */
  cleanup?: boolean | undefined
}

export interface Progress {
  phase: 'scenario' | 'operations'
  done: number
  total: number
  requests: number
  failing: number
}

/** The target could not be reached at all: the run stops, since every check would fail the same way. */
export class Unreachable extends Error {
  constructor(readonly target: string, readonly reason: string) {
    super(`cannot reach ${target}: ${reason}`)
  }
}

const CONNECTION_ERRORS = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET', 'CERT_HAS_EXPIRED', 'DEPTH_ZERO_SELF_SIGNED_CERT'])

function connectionFailure(error: unknown): string | undefined {
  const seen = error as { code?: string, message?: string, cause?: unknown }
  if (seen.code && CONNECTION_ERRORS.has(seen.code)) return `${seen.code}${seen.message && !seen.message.includes(seen.code) ? ` ${seen.message}` : ''}`
  return seen.cause ? connectionFailure(seen.cause) : undefined
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
  body?: string | Uint8Array | undefined
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


/**
 * Tests a service against the contract, operation by operation, with requests generated from
 * the contract's own schemas: valid ones must get a declared status, content type and body;
 * invalid ones a 4xx problem document; the trust-model attacks 401 or 403; nothing a 5xx.
 */
export class ApiConformance {
  private readonly arbitraries: SchemaArbitraries
  private readonly provinceCode: string
  private readonly parameterSchemas = new Map<string, JsonSchema>()
  private readonly receipts: ReceiptCheck
  /** Success answers of the scenario's steps, by step name, for the steps after them. */
  private readonly kept = new Map<string, Kept>()
  /** Path values of each operation's first successful step: the generated requests act on what exists. */
  private readonly boundPaths = new Map<string, Record<string, string>>()
  private readonly selected: Operation[]
  private fixtures: RunFacts | undefined
  /** What undoes each successful write, in the order they were made. */
  private readonly made: Undo[] = []
  readonly log = new CheckLog()
  private readonly basePath: string

  constructor(private readonly options: ApiRunOptions) {
    this.arbitraries = new SchemaArbitraries(options.contract)
    const code = provinceOfSystem(options.province.systemId)
    if (!code) throw new Error(`the provincial caller must be a system id like province-79, not ${options.province.systemId}`)
    this.provinceCode = code
    this.receipts = new ReceiptCheck(options.contract, options.target, options.audience)
    this.basePath = basePathOf(options.target)
    const known = new Set(options.contract.operations.map((o) => o.id))
    const unknown = (options.operations ?? []).filter((id) => !known.has(id))
    if (unknown.length > 0) throw new Error(`the contract has no operation ${unknown.join(', ')}`)
    const wanted = options.operations && new Set(options.operations)
    this.selected = options.contract.operations.filter((o) => !wanted || wanted.has(o.id))
  }

  async run(): Promise<CheckLog> {
    await this.probe()
    const tag = `${Date.now().toString(36)}-${(this.options.seed >>> 0).toString(36)}`
    this.fixtures = await runFacts(this.provinceCode, tag, this.options.mediaHost ?? '127.0.0.1')
    try {
      await this.runScenario()
      const queue = [...this.selected]
      let done = 0
      const worker = async () => {
        for (let operation = queue.shift(); operation; operation = queue.shift()) {
          await this.checkOperation(operation)
          this.progress('operations', ++done, this.selected.length)
        }
      }
      await Promise.all(Array.from({ length: this.options.concurrency ?? 4 }, worker))
      if (this.options.cleanup) await this.cleanUp()
    } finally {
      await this.fixtures.close()
    }
    for (const operation of this.selected) {
      if (!this.log.reached(operation.id)) this.log.record('success', operation.id, 'no request got a success answer whose body matched its schema')
    }
    return this.log
  }

  /**
   * Undoes what the run made, newest first, so clusters go before their stations. What is
   * already gone (deleted by the scenario itself) answers 404 and counts as undone.
   */
  private async cleanUp(): Promise<void> {
    const byId = new Map(this.options.contract.operations.map((o) => [o.id, o]))
    let undone = 0
    for (const undo of this.made.reverse()) {
      const operation = byId.get(undo.operation)
      const caller = undo.as === 'spare' ? this.fixtures!.spare : this.options[undo.as]
      if (!operation || !caller) continue
      const draft: Draft = {
        operation, caller, path: undo.path, query: [], headers: { 'if-match': '*' },
        ...(undo.body !== undefined ? { body: JSON.stringify(undo.body), bodyValue: undo.body, mediaType: 'application/json' } : {}),
      }
      const answer = await send(this.options.target, async () => this.signed(this.prepare(draft), caller))
      if (answer.status < 300 || answer.status === 404 || answer.status === 409 || answer.status === 410) undone++
    }
    this.log.cleanedUp = { undone, of: this.made.length }
  }

  private progress(phase: Progress['phase'], done: number, total: number): void {
    if (done % 10 !== 0 && done !== total) return
    this.options.onProgress?.({ phase, done, total, requests: this.log.requests, failing: this.log.failed().length })
  }

  /** One request before anything else, so that a target that is down stops the run with one line. */
  private async probe(): Promise<void> {
    try {
      await send(this.options.target, async () => ({ method: 'GET', pathAndQuery: `${this.basePath}/.well-known/jwks.json`, headers: {} }), 1)
    } catch (error) {
      throw new Unreachable(this.options.target, connectionFailure(error) ?? (error as Error).message)
    }
  }

  /**
   * Walks the scenario: each step's request is filled with what earlier answers said and must
   * get its success answer; the answer is kept for the steps after it.
   */
  private async runScenario(): Promise<void> {
    const byId = new Map(this.options.contract.operations.map((o) => [o.id, o]))
    const steps = stepsFor(new Set(this.selected.map((o) => o.id))).filter((step) => byId.has(step.operation))
    for (const [index, step] of steps.entries()) {
      await this.runStep(step, byId.get(step.operation)!)
      this.progress('scenario', index + 1, steps.length)
    }
  }

  private callerOf(step: Step, operation: Operation): ConformanceCaller | undefined {
    if (step.as === 'spare') return this.fixtures!.spare
    if (step.as) return this.options[step.as]
    return this.callerFor(operation, 0)
  }

  private readonly compute: Compute = async (kind, input) => {
    switch (kind) {
      case 'cosignature': {
        const [, payload] = String(input).split('.')
        const checkpoint = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8')) as CheckpointClaims
        return cosign(checkpoint, this.options.province)
      }
    }
  }

  private async runStep(step: Step, operation: Operation): Promise<void> {
    const name = stepName(step)
    const caller = this.callerOf(step, operation)
    if (operation.secured && !caller) return this.log.skip('success', operation.id, 'no central key given (--central-key)')
    const seed = deriveSeed(this.options.seed, name, 'scenario')
    const fill = async (template: Record<string, Template> | undefined) =>
      Object.fromEntries(Object.entries(await resolve(template ?? {}, this.fixtures!.facts, this.kept, this.compute) as Record<string, unknown>).map(([k, v]) => [k, asText(v) ?? '']))
    let draft: Draft
    try {
      const base = this.draft(operation, caller, seed, true)
      const path = { ...base.path, ...await fill(step.path) }
      const query = Object.entries({ ...Object.fromEntries(base.query), ...await fill(step.query) })
      const headers = { ...base.headers, ...await fill(step.headers) }
      draft = { ...base, path, query, headers }
      if (step.bytes) draft.body = this.fixtures!.facts[step.bytes.fact] as Uint8Array
      else if (step.body !== undefined) {
        draft.bodyValue = await resolve(step.body, this.fixtures!.facts, this.kept, this.compute)
        draft.body = JSON.stringify(draft.bodyValue)
      }
    } catch (error) {
      if (!(error instanceof MissingValue)) throw error
      return this.log.record('success', operation.id, `not attempted: ${error.message}`, { request: `${operation.method} ${operation.path} (${name})`, seed })
    }
    const succeeded = (answer: Answer) => (step.status ? answer.status === step.status : answer.status >= 200 && answer.status < 300)
    const deadline = Date.now() + (this.options.settleSeconds ?? 60) * 1000
    const answer = await this.expect('success', draft, seed, (answer) => {
      const reason = this.declared(operation, answer)
      if (reason) return reason
      return succeeded(answer) ? undefined : `expected ${step.status ?? 'a 2xx'} (${name}), got ${answer.status}: ${problemDetail(answer)}`
    }, {}, step.eventually ? (answer) => !succeeded(answer) && Date.now() < deadline : undefined)
    if (!answer || !succeeded(answer)) return
    this.kept.set(name, { body: parseJson(answer), headers: answer.headers })
    if (!this.boundPaths.has(operation.id)) this.boundPaths.set(operation.id, draft.path)
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
    const path = { ...Object.fromEntries(Object.entries(generated('path')).map(([name, value]) => [name, this.pathValue(operation, name, value)])), ...this.boundPaths.get(operation.id) }
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

  private prepare(draft: Draft, changes: { query?: [string, string][], body?: string | Uint8Array | undefined, caller?: ConformanceCaller | undefined } = {}): PreparedRequest {
    const path = draft.operation.path.replace(/\{([^}]+)\}/g, (_, name: string) => encode(draft.path[name] ?? ''))
    const query = changes.query ?? draft.query
    const search = query.map(([name, value]) => `${encode(name)}=${encode(value)}`).join('&')
    const body = 'body' in changes ? changes.body : draft.body
    return {
      method: draft.operation.method,
      pathAndQuery: this.basePath + (search ? `${path}?${search}` : path),
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

  /**
   * Sends a draft (with `changes`) and records `check` with the verdict on the answer; every
   * answer also has its declared headers checked, and a success its receipt. `again` says
   * whether to ask again, for answers that wait on the target's background work.
   */
  private async expect(check: string, draft: Draft, seed: number, verdict: (answer: Answer) => string | undefined,
    changes: Parameters<ApiConformance['prepare']>[1] = {}, again?: (answer: Answer) => boolean): Promise<Answer | undefined> {
    const caller = 'caller' in changes ? changes.caller : draft.caller
    let prepared: PreparedRequest | undefined
    try {
      let answer: Answer
      for (let attempt = 0; ; attempt++) {
        answer = await send(this.options.target, async () => {
          prepared = this.prepare(draft, changes)
          return this.signed(prepared, caller)
        })
        if (!again?.(answer)) break
        await waitOut({ ...answer, retryAfter: 1 })
      }
      await this.recordAnswer(check, draft.operation, verdict(answer), answer, prepared!, caller, { seed })
      return answer
    } catch (error) {
      const unreachable = connectionFailure(error)
      if (unreachable) throw new Unreachable(this.options.target, unreachable)
      this.log.record(check, draft.operation.id, `no answer: ${(error as Error).message}`, { request: describe(prepared), seed })
      return undefined
    }
  }

  /**
   * Records a check on one answer, and what every answer is held to besides: the headers its
   * status declares, and on a success to a write, a receipt that verifies.
   */
  private async recordAnswer(check: string, operation: Operation, failure: string | undefined, answer: Answer, prepared: PreparedRequest,
    caller: ConformanceCaller | undefined, detail: Detail): Promise<void> {
    const full: Detail = { ...detail, request: describe(prepared), status: answer.status, response: excerpt(answer) }
    this.log.record(check, operation.id, failure, full)
    const response = this.responseFor(operation, answer.status)
    this.log.record('headers', operation.id, headerProblem(this.options.contract, response, answer), full)
    if (answer.status >= 400 || !response) return
    if (this.options.cleanup && answer.status < 300) this.made.push(...undoOf(operation.id, prepared.body, parseJson(answer), this.provinceCode))
    if (this.declared(operation, answer) === undefined) this.log.reach(operation.id)
    // Checked even when the body fails its schema, so that a missing receipt is named as such.
    if (answer.status < 300 && this.receipts.declaresReceipt(response.content?.['application/json']?.schema)) {
      this.log.record('receipt', operation.id, await this.receipts.problem(answer, prepared, caller?.systemId), full)
    }
  }

  private responseFor(operation: Operation, status: number): ResponseObject | undefined {
    const responses = operation.definition.responses
    return responses[String(status)] ?? responses[`${String(status)[0]}XX`] ?? responses.default
  }

  /** Declared status, declared content type, body valid against the declared schema, and never a 5xx. */
  private declared(operation: Operation, answer: Answer): string | undefined {
    if (answer.status >= 500) return `answered ${answer.status}: ${answer.text.slice(0, 200)}`
    const response = this.responseFor(operation, answer.status)
    if (!response) return `status ${answer.status} is not declared (declared: ${Object.keys(operation.definition.responses).join(', ')})`
    const content = response.content ?? {}
    // A 304 has no content whatever a document generator wrote for it (RFC 9110, 15.4.5).
    if (Object.keys(content).length === 0 || answer.status === 304) return answer.text.length > 0 ? `status ${answer.status} declares no body but one was sent` : undefined
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
    if (reason) return `status ${answer.status} body does not match the declared schema: ${reason}`
    const codes = media['x-problem-codes']
    const code = (body as { code?: unknown }).code
    if (codes && !codes.includes(String(code))) return `problem code ${String(code)} is not one the operation declares for ${answer.status} (${codes.join(', ')})`
    return undefined
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
      // Those that really make the body invalid, shallowest first: the first is sent on every run whatever the seed, and one more the seed picks.
      const candidates = mutations.filter((m) => m.kind === kind && this.options.contract.check(bodySchema, m.apply(draft.bodyValue)) !== undefined)
        .sort((a, b) => a.pointer.split('/').length - b.pointer.split('/').length)
      if (candidates.length === 0) continue
      const picked = sampleOne(fc.nat(candidates.length - 1), deriveSeed(seed, kind))
      for (const mutation of new Set([candidates[0]!, candidates[picked]!])) {
        const perItem = withinItem(operation.definition['x-ttn-per-item'], mutation.pointer)
        await this.expect(`invalid-body:${kind}`, draft, seed, (answer) => {
          // A batch that accepts its items one by one may take the request and name the bad item in its answer.
          const reason = perItem && answer.status >= 200 && answer.status < 300 ? this.declared(operation, answer) : refused(answer)
          return reason ? `${reason} (changed ${mutation.pointer})` : undefined
        }, { body: JSON.stringify(mutation.apply(draft.bodyValue)) })
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
      let prepared: PreparedRequest | undefined
      try {
        const answer = await send(this.options.target, async () => {
          prepared = this.prepare(draft)
          const token = await attack.token(this.tokenRequest(prepared, caller))
          return token ? { ...prepared, headers: { ...prepared.headers, authorization: `Bearer ${token}` } } : prepared
        })
        const reason = refused(answer)
        await this.recordAnswer(`token:${attack.name}`, operation, reason && `${attack.expectation}: ${reason}`, answer, prepared!, undefined, { seed })
      } catch (error) {
        const unreachable = connectionFailure(error)
        if (unreachable) throw new Unreachable(this.options.target, unreachable)
        this.log.record(`token:${attack.name}`, operation.id, `no answer: ${(error as Error).message}`, { request: describe(prepared), seed })
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
      this.log.record('token:replayed', operation.id, reason && `a token used twice is refused the second time: ${reason}`, { request: described, status: second.status, seed, response: excerpt(second) })
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

const describe = (prepared: PreparedRequest | undefined) => (prepared ? `${prepared.method} ${prepared.pathAndQuery}` : '')

/** The start of an answer, for a report to show what the target said. */
function excerpt(answer: Answer): string {
  const headers = Object.entries(answer.headers).map(([name, value]) => `${name}: ${value}`).join('\n')
  return `${answer.status}\n${headers}\n\n${answer.text.slice(0, 600)}`
}

function parseJson(answer: Answer): unknown {
  try {
    return JSON.parse(answer.text)
  } catch {
    return answer.text
  }
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
