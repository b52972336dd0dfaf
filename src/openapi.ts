import { readFileSync } from 'node:fs'
import type { SwaggerOptions } from '@fastify/swagger'
import { MAX_BROADCAST_LOG_BATCH } from '../schemas/content.js'
import { MAX_PAGE_LIMIT } from '../schemas/common.js'
import { MAX_REGISTRY_BATCH } from '../schemas/registry.js'
import { MAX_CROSS_CHECK_DAYS, MAX_SCHEDULE_BATCH, MAX_SLOTS_PER_DAY, SCHEDULE_DAYS_AHEAD, SCHEDULE_DAYS_BACK } from '../schemas/schedules.js'
import { MAX_STATUS_BATCH } from '../schemas/status.js'
import { MAX_CALL_TOKEN_LIFETIME_SECONDS } from './client/sign.js'
import { MIN_DEPRECATION_DAYS } from './http/deprecation.js'
import { contractFromRoutes } from './http/responses.js'
import { ConfigSchema } from './config.js'
import { problemExampleComponents } from './http/problem-examples.js'
import { projectPath } from './paths.js'

const { version } = JSON.parse(readFileSync(projectPath('package.json'), 'utf8')) as { version: string }

const description = `
The interoperability API between Vietnam's central source-information system (Hệ thống thông tin nguồn trung ương)
and the 34 provincial source-information systems (Hệ thống thông tin nguồn cấp tỉnh).

Provinces push their commune radio stations, loudspeaker clusters, bulletin boards, device status, broadcast logs and
periodic reports; central publishes essential content and reads national summaries.

**Calls between systems** are authenticated by a call token signed over that very request (security scheme \`callToken\`);
every accepted write answers with a \`receipt\` signed by the service, verifiable offline with \`/.well-known/jwks.json\`.

**Errors** are RFC 9457 problem documents (\`application/problem+json\`) with a stable \`code\`; \`GET /problems\` lists them.
Unknown fields in bodies and queries are refused. Lists page by opaque cursor with \`limit\` at most 1000.

**The record.** Every call is an entry of the audit log, a transparency log (RFC 9162 style): an accepted write's entry
commits with it and its receipt names the entry's leaf; signed checkpoints, inclusion and consistency proofs, and the
cosignatures of witnesses are under \`/v2/audit\`.

${limitsTable()}

${versioningPolicy()}

**Through a proxy or gateway.** A call token is signed over the method, the path and query as sent and the body's bytes.
Anything between the caller and the service must pass the path and query byte for byte (no re-encoding of \`%2F\` or
\`+\`, no reordering or dropping of parameters, no trailing slash added or removed) and the body unchanged (no
re-serialised JSON, no added charset, no decompression or recompression of the bytes): otherwise the call fails with 401
\`path-mismatch\` or \`body-hash-mismatch\`. The \`Authorization\` header must reach the service as sent.
`.trim()

/** How `/v2` evolves and how an operation leaves it. */
function versioningPolicy(): string {
  return `
**Versions.** The major version is in the path (\`/v2\`); \`info.version\` is the contract's version (semantic versioning).
Within \`/v2\` changes are only additive and come with a new minor version: new operations, new optional query
parameters and request fields, new fields in answers, new problem codes, new values of an enum in answers. A client ignores
fields and enum values of answers it does not know; it never sends fields the contract does not declare (they are refused).
A change that could break a correct client (a field removed, renamed or made required, a type or meaning changed, a
status code changed) comes only as a new major version (\`/v3\`), served beside \`/v2\` for at least ${MIN_DEPRECATION_DAYS} days.

**Deprecation.** An operation on its way out is marked \`deprecated\` in the contract from the day it is announced, and its
every answer carries \`Deprecation\` (RFC 9745: since when), \`Sunset\` (RFC 8594: after when it may be removed, at least
${MIN_DEPRECATION_DAYS} days later) and, when it has one, \`Link: <successor>; rel="successor-version"\`. Central announces
it to every registered system's contact when it is marked. A client that logs these headers learns of it without reading
the contract again.
`.trim()
}

/** The limits a caller meets, with this deployment's defaults (each setting can be changed by the operator). */
function limitsTable(): string {
  const setting = (name: keyof typeof ConfigSchema.properties) => (ConfigSchema.properties[name] as { default?: unknown }).default
  const rows: [string, string, string][] = [
    ['request body', `${Number(setting('BODY_LIMIT_BYTES')) / 1024 / 1024} MiB`, '413 `body-too-large`'],
    ['registry batch', `${MAX_REGISTRY_BATCH} records in all`, '400 `validation-failed`'],
    ['status batch', `${MAX_STATUS_BATCH} events`, '400'],
    ['broadcast-log batch', `${MAX_BROADCAST_LOG_BATCH} entries`, '400'],
    ['broadcast-schedule batch', `${MAX_SCHEDULE_BATCH} station-days of ${MAX_SLOTS_PER_DAY} slots at most, days from ${SCHEDULE_DAYS_BACK} before today to ${SCHEDULE_DAYS_AHEAD} after`, '400, 422 `rule-violated`'],
    ['schedule cross-check', `${MAX_CROSS_CHECK_DAYS} days`, '422 `rule-violated`'],
    ['page', `\`limit\` ≤ ${MAX_PAGE_LIMIT}`, '400'],
    ['media file', `${Number(setting('MEDIA_MAX_BYTES')) / 1024 / 1024 / 1024} GiB; audio, video or image by its bytes`, '413 `media-too-large`, 422 `media-type-refused`'],
    ['upload chunk', `${Number(setting('MEDIA_CHUNK_BYTES')) / 1024 / 1024} MiB; upload bytes ${Number(setting('MEDIA_UPLOAD_BYTES_PER_SECOND')) / 1024 / 1024} MiB a second per system and instance`, '413 `body-too-large`, 429 `body-rate-exceeded`'],
    ['unfinished upload', `${String(setting('MEDIA_UPLOAD_HOURS'))} hours`, '409 `upload-not-open`'],
    ['calls per system', `${String(setting('RATE_LIMIT_PER_MINUTE'))} a minute per instance`, '429 `rate-limited` + `Retry-After`'],
    ['requests of one system at once', `${String(setting('CALLER_CONCURRENCY'))} running and ${String(setting('CALLER_QUEUE'))} waiting (at most ${Number(setting('CALLER_QUEUE_TIMEOUT_MS')) / 1000} s) per instance`, `429 \`caller-busy\` + \`Retry-After\`, answered after ${Number(setting('CALLER_REFUSAL_DELAY_MS')) / 1000} s, connection closed`],
    ['request-body bytes per system', `${Number(setting('CALLER_BODY_BYTES_PER_SECOND')) / 1024} KiB a second, bursts of ${Number(setting('CALLER_BODY_BURST_BYTES')) / 1024 / 1024} MiB, per instance; a larger body is let in after a quiet while and then paid back; a body without Content-Length counts as the largest accepted`, `429 \`body-rate-exceeded\` + \`Retry-After\` before the body is read, answered after ${Number(setting('CALLER_REFUSAL_DELAY_MS')) / 1000} s, connection closed`],
    ['calls without a verified caller', `${String(setting('UNVERIFIED_RATE_PER_MINUTE'))} a minute per address and instance`, '429 `rate-limited` + `Retry-After`'],
    ['call token lifetime', `${MAX_CALL_TOKEN_LIFETIME_SECONDS} s, clocks ± ${String(setting('CLOCK_SKEW_SECONDS'))} s`, '401'],
    ['active keys per system', '10', '422 `rule-violated`'],
    ['request line and headers', `${Number(setting('HEADERS_TIMEOUT_MS')) / 1000} s`, 'connection closed'],
    ['whole request', `${Number(setting('REQUEST_TIMEOUT_MS')) / 1000} s`, '408'],
    ['open connections', `${String(setting('MAX_CONNECTIONS'))} per instance`, 'connection closed'],
    ['URLs the service calls (`jwksUri`, `webhookUrl`)', 'https to a public address', '422 `outbound-url-insecure`, `outbound-address-forbidden`'],
  ]
  return ['**Limits** (defaults; an operator may change them):', '', '| what | limit | beyond it |', '|---|---|---|',
    ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n')
}

const callTokenDescription = `
Every call between systems carries \`Authorization: Bearer <call token>\`: a compact JWS signed with the caller's
private key over that very request. Header: \`alg\` ES256 or EdDSA (nothing else), \`kid\` of a key registered for
the caller, \`typ\` \`ttn-call+jwt\`; no \`jwk\`, \`jku\`, \`x5u\` or \`x5c\`. Claims:

| claim | value |
|---|---|
| \`iss\` | the caller's system id, e.g. \`province-79\` |
| \`aud\` | the callee's system id: this service's \`SERVICE_ID\` (\`ttn-central\` by default) |
| \`iat\`, \`exp\` | issued at and expiry, NumericDate; \`exp - iat\` at most 300 seconds; clocks may differ by \`CLOCK_SKEW_SECONDS\` |
| \`jti\` | unique per call, at most 128 characters; a token is accepted once |
| \`htm\` | the HTTP method, upper case |
| \`htu\` | the path and query exactly as sent, e.g. \`/v2/systems/province-79?x=1\` |
| \`bsh\` | base64url (no padding) SHA-256 of the exact body bytes; of no bytes for a request without a body |

The checks run in this order, each with its own problem code: \`token-missing\`, \`token-malformed\`, \`token-type\`,
\`token-algorithm\`, \`token-embedded-key\`, \`issuer-unknown\`, \`key-unknown\`, \`key-retired\`, \`signature-invalid\`,
\`audience-mismatch\`, \`token-lifetime\`, \`token-not-yet-valid\`, \`token-expired\`, \`method-mismatch\`, \`path-mismatch\`,
\`body-hash-mismatch\`, \`token-replayed\` (all 401), then \`issuer-suspended\`, \`role-forbidden\`, \`scope-forbidden\` (403).
The service signs its own webhook calls the same way, with \`aud\` the receiving province's system id.
`.trim()

const webhookDescription = `
Central POSTs this notification to the \`webhookUrl\` of every target province's system when an item is published, updated or
withdrawn. The call is signed like every call (see \`callToken\`) with the service's key from \`/.well-known/jwks.json\`:
\`iss\` is the service's \`SERVICE_ID\`, \`aud\` the province's system id, \`htu\` the webhook URL's path and query, \`bsh\` the
SHA-256 of the body bytes. A receiver checks the token (the client package's \`verifyServiceCall()\` does every check) and answers
2xx once it has stored the notification. Anything else, or no answer, is retried with exponential backoff and jitter, as
\`Retry-After\` says when sent, until a 2xx: the same notification \`id\` comes again, so a receiver discards what it already has.
Emergencies go before everything else queued for the province. The feed (\`GET /v2/contents/feed\`) serves the same notifications.
`.trim()

const problemReply = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
})

/** The notifications central sends to provincial systems, for vendors who implement the receiver. */
const webhooks = {
  systemKeysRecovered: {
    post: {
      operationId: 'receiveKeysRecoveredNotification',
      tags: ['systems'],
      summary: 'Central replaced the system\'s keys by recovery (sent by central to the system)',
      description: 'Sent, signed like every webhook call, when a central system allowed to recover keys replaced this system\'s keys ' +
        '(`POST /v2/systems/{id}/key-recovery`). A system that did not ask for it treats it as an incident and calls central at once.',
      security: [{ callToken: [] }],
      requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/KeysRecoveredNotification' } } } },
      responses: {
        200: { description: 'Accepted.' },
        204: { description: 'Accepted, with no body.' },
        401: problemReply('The call token was refused. Retried later.'),
      },
    },
  },
  contentNotification: {
    post: {
      operationId: 'receiveContentNotification',
      tags: ['content'],
      summary: 'A content item was published, updated or withdrawn (sent by central to a province)',
      description: webhookDescription,
      security: [{ callToken: [] }],
      requestBody: {
        required: true,
        content: { 'application/json': { schema: { $ref: '#/components/schemas/ContentNotification' } } },
      },
      responses: {
        200: { description: 'Accepted: the receiver stored the notification, or already had it.' },
        202: { description: 'Accepted for processing; equally final.' },
        204: { description: 'Accepted, with no body.' },
        401: problemReply('The call token was refused: forged, expired, replayed, for another audience, or the body hash does not match. Retried later.'),
      },
    },
  },
}

/** Where callers reach the service: behind a gateway that strips PUBLIC_BASE_PATH, every path starts with it. */
function contractServers(basePath = '') {
  return [{ url: basePath || '/', description: 'The instance that serves this document (`GET /openapi.json`).' }, {
    url: `{origin}${basePath}`,
    description: 'An instance of the service: its `PUBLIC_URL`. Central gives each vendor the address of a test instance and of production.',
    variables: { origin: { default: 'http://127.0.0.1:8080', description: 'Scheme, host and port of the instance (the default is a local one started with `npm start`).' } },
  }]
}

/** The document @fastify/swagger builds the contract from; `basePath` is PUBLIC_BASE_PATH. */
export const openApiDocument = (basePath?: string): SwaggerOptions => ({
  openapi: {
    openapi: '3.1.0',
    info: {
      title: 'ttn-interop',
      version,
      description,
      contact: { name: 'Operator of the central source-information system (Hệ thống thông tin nguồn trung ương)' },
      // The contract itself, so that vendors may copy it into their code, clients and documentation.
      license: { name: 'Creative Commons Attribution 4.0', identifier: 'CC-BY-4.0' },
    },
    servers: contractServers(basePath),
    webhooks,
    components: {
      examples: problemExampleComponents,
      securitySchemes: {
        callToken: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'ttn-call+jwt',
          description: callTokenDescription,
        },
      },
    },
    tags: [
      { name: 'health', description: 'Liveness and readiness for load balancers and orchestrators.' },
      { name: 'catalogue', description: 'Administrative units (đơn vị hành chính): provinces and commune-level units, before and after the 2025 reorganisation.' },
      { name: 'systems', description: 'The systems allowed to call the service, with their public keys (đăng ký hệ thống kết nối).' },
      { name: 'trust', description: 'The service\'s keys, receipts for accepted writes, and the tamper-evident audit log.' },
      { name: 'registry', description: 'Commune radio stations (đài truyền thanh cấp xã), loudspeaker clusters (cụm loa) and public electronic bulletin boards (bảng tin điện tử công cộng), pushed by provinces; and the changes feed central mirrors them with.' },
      { name: 'reports', description: 'Periodic reports (báo cáo định kỳ): periods with their deadlines in Vietnam time, versioned submissions with receipts, central\'s review.' },
      { name: 'status', description: 'Device status (trạng thái thiết bị): batched status events of stations, clusters and boards, the current state of each device with offline detection, history, and the national overview.' },
      { name: 'summaries', description: 'National and provincial summaries (báo cáo tổng hợp) for central, as JSON or CSV.' },
      { name: 'content', description: 'Essential information (thông tin thiết yếu) central publishes to provinces: topics, publication, versions and withdrawal, the feed, signed webhook notifications with their delivery state, acknowledgements; and content provinces share.' },
      { name: 'media', description: 'Media files (tệp âm thanh, video, hình ảnh) of content items: resumable uploads in chunks, checked from their bytes (type, SHA-256, playing time) and stored under their hash; files hosted elsewhere, verified by fetching them; downloads that resume with `Range`.' },
      { name: 'broadcasts', description: 'Broadcast logs (nhật ký phát thanh) and schedules (lịch phát sóng) provinces send, the cross-check of one with the other, and the reach of each content item.' },
      { name: 'problems', description: 'The problem types errors refer to.' },
    ],
  },
  refResolver: {
    buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`),
  },
  convertConstToEnum: false,
  transformObject: (documents) => ('openapiObject' in documents ? contractFromRoutes(documents.openapiObject) : documents.swaggerObject),
})

/**
 * The contract as the code declares it. Building it needs the routes, not data, so the app
 * is given a PostgreSQL pool that is never connected.
 */
export async function generateOpenApi(): Promise<string> {
  const { buildApp } = await import('./app.js')
  const { loadConfig } = await import('./config.js')
  const { openPostgres } = await import('./db/database.js')
  const { ephemeralServiceKeys } = await import('./auth/service-keys.js')
  const database = openPostgres({ url: 'postgresql://contract-only.invalid/none' })
  const app = await buildApp({ config: loadConfig({}), database, serviceKeys: await ephemeralServiceKeys() })
  try {
    await app.ready()
    return JSON.stringify(app.swagger(), null, 2) + '\n'
  } finally {
    await app.close()
    await database.close()
  }
}
