import { existsSync, readFileSync } from 'node:fs'
import { parseEnv } from 'node:util'
import { Type, type Static } from 'typebox'
import { Value } from 'typebox/value'
import { StringEnum } from '../schemas/common.js'

/**
 * Every setting of the service, read from the environment. The descriptions double as the
 * configuration table of the README and as the error text when a value is wrong.
 */
export const ConfigSchema = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 8080, description: 'TCP port the HTTP server listens on' }),
  HOST: Type.String({ minLength: 1, default: '127.0.0.1', description: 'interface to bind; 0.0.0.0 to accept connections from other machines' }),
  PUBLIC_URL: Type.Optional(Type.String({ pattern: '^https?://[^\\s]+$', description: 'base URL callers use to reach the service, shown in logs' })),
  PUBLIC_BASE_PATH: Type.Optional(Type.String({ pattern: '^(/[A-Za-z0-9._~-]+)+$', maxLength: 200, description: 'path prefix a gateway puts before the service\'s paths and strips again, e.g. /ttn: call tokens are checked against the path as the caller sent it, prefix included, and the contract\'s servers carry it' })),
  DATABASE_URL: Type.Optional(Type.String({ pattern: '^postgres(ql)?://', description: 'PostgreSQL connection string; without it the embedded database in DATA_DIR is used' })),
  DATABASE_READ_URL: Type.Optional(Type.String({ pattern: '^postgres(ql)?://', description: 'PostgreSQL connection string of a read replica that summaries are computed on; without it they read the primary' })),
  DATABASE_POOL_MAX: Type.Integer({ minimum: 1, maximum: 200, default: 20, description: 'largest number of PostgreSQL connections per instance' }),
  DATABASE_PREPARED_STATEMENTS: Type.Boolean({ default: true, description: 'prepare each small statement once per PostgreSQL connection; false behind a connection pooler that cannot keep named prepared statements (PgBouncer in transaction mode before 1.21)' }),
  DATABASE_STATEMENT_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 600_000, default: 15_000, description: 'longest time one SQL statement may run' }),
  DATA_DIR: Type.String({ minLength: 1, default: './data', description: 'folder for the embedded database and generated keys' }),
  LOG_LEVEL: StringEnum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { default: 'info', description: 'one of fatal, error, warn, info, debug, trace, silent' }),
  LOG_PRETTY: Type.Optional(Type.Boolean({ description: 'true for human-readable logs, false for JSON lines; unset, human-readable when standard output is a terminal and JSON lines otherwise' })),
  BODY_LIMIT_BYTES: Type.Integer({ minimum: 1024, maximum: 64 * 1024 * 1024, default: 4 * 1024 * 1024, description: 'largest request body accepted, in bytes' }),
  SERVICE_ID: Type.String({ pattern: '^[a-z0-9][a-z0-9-]*[a-z0-9]$', maxLength: 64, default: 'ttn-central', description: 'identity of this service: the aud of call tokens, the iss of receipts and webhook calls' }),
  CENTRAL_KEY_FILE: Type.Optional(Type.String({ minLength: 1, description: 'file holding the private JWK (or a JWK set, newest first) the service signs with; generated into DATA_DIR when unset' })),
  SYSTEMS_FILE: Type.Optional(Type.String({ minLength: 1, description: 'JSON file of systems to register or update at start' })),
  CLOCK_SKEW_SECONDS: Type.Integer({ minimum: 0, maximum: 300, default: 60, description: 'clock difference tolerated between callers and the service, in seconds' }),
  SYSTEMS_CACHE_MS: Type.Integer({ minimum: 0, maximum: 300_000, default: 5_000, description: 'how long an instance trusts its cached copy of a system and its keys, in milliseconds' }),
  JWKS_REFRESH_SECONDS: Type.Integer({ minimum: 1, maximum: 86_400, default: 600, description: 'how long keys fetched from a jwksUri are kept before fetching again, in seconds' }),
  OUTBOUND_ALLOWED_HOSTS: Type.Optional(Type.String({ maxLength: 2000, description: 'comma-separated hosts (name or name:port) the service may call over plain http and at non-public addresses: a test network only; every other JWKS and webhook URL must be https to a public address' })),
  AUDIT_SEAL_INTERVAL_MS: Type.Integer({ minimum: 100, maximum: 3_600_000, default: 10_000, description: 'how often settled audit entries are appended to the transparency log and a new checkpoint is signed, in milliseconds; an entry is in a checkpoint within about twice this' }),
  AUDIT_UNVERIFIED_SAMPLE: Type.Integer({ minimum: 0, maximum: 100_000, default: 20, description: 'calls without a verified caller (refused tokens, anonymous calls) one instance records one by one per minute; the rest of the minute is recorded as counts' }),
  CALLER_CONCURRENCY: Type.Integer({ minimum: 1, maximum: 1000, default: 2, description: 'requests of one calling system one instance runs at once (so at most this many of its database connections); more wait, holding nothing' }),
  CALLER_QUEUE: Type.Integer({ minimum: 0, maximum: 100_000, default: 16, description: 'requests of one calling system that wait for their turn on one instance; beyond it they are refused with 429' }),
  CALLER_QUEUE_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 600_000, default: 10_000, description: 'longest wait for a turn before a request is refused with 429, in milliseconds' }),
  CALLER_BODY_BYTES_PER_SECOND: Type.Integer({ minimum: 1024, maximum: 1024 * 1024 * 1024, default: 128 * 1024, description: 'request-body bytes one calling system may send per second on one instance, on average; a body beyond its budget is refused with 429 before it is read' }),
  CALLER_BODY_BURST_BYTES: Type.Integer({ minimum: 1024, maximum: 16 * 1024 * 1024 * 1024, default: 1024 * 1024, description: 'request-body bytes one calling system may send at once on one instance before CALLER_BODY_BYTES_PER_SECOND applies; a larger body is let in when none were sent for a while, and the system then waits until the budget is paid back' }),
  CALLER_REFUSAL_DELAY_MS: Type.Integer({ minimum: 0, maximum: 10_000, default: 1000, description: 'how long a request refused for its caller\'s share (429 caller-busy, body-rate-exceeded) waits before it is answered, its body unread, so that a caller ignoring Retry-After cannot keep the instance busy refusing it; never more than the Retry-After it is told' }),
  UNVERIFIED_RATE_PER_MINUTE: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 300, description: 'calls without a verified caller (public routes, refused tokens) one address may make per minute on one instance before 429, checked before any signature work' }),
  TRUST_PROXY: Type.Optional(Type.String({ maxLength: 2000, description: 'comma-separated addresses or CIDR ranges of load balancers whose X-Forwarded-For names the client address; unset: the connection\'s address counts' })),
  MAX_CONNECTIONS: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 4096, description: 'open client connections one instance accepts; more are closed at once' }),
  HEADERS_TIMEOUT_MS: Type.Integer({ minimum: 1000, maximum: 120_000, default: 10_000, description: 'longest time a client may take to send the request line and headers' }),
  METRICS_HOST: Type.String({ minLength: 1, default: '127.0.0.1', description: 'interface the Prometheus metrics listener binds, apart from the API' }),
  METRICS_PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 9464, description: 'port of the Prometheus metrics listener (GET /metrics), never the API port; 0 turns it off' }),
  RATE_LIMIT_PER_MINUTE: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 600, description: 'calls one system (or one address, for public routes) may make per minute on one instance before 429' }),
  OVERLOAD_EVENT_LOOP_DELAY_MS: Type.Integer({ minimum: 0, maximum: 60_000, default: 1000, description: 'event-loop delay above which the instance answers 503; 0 turns the check off' }),
  OVERLOAD_HEAP_BYTES: Type.Integer({ minimum: 0, default: 1_500_000_000, description: 'heap use above which the instance answers 503; 0 turns the check off' }),
  OVERLOAD_DATABASE_QUEUE: Type.Integer({ minimum: 0, maximum: 100_000, default: 200, description: 'requests waiting for a database connection above which new ones get 503' }),
  IDEMPOTENCY_TTL_HOURS: Type.Integer({ minimum: 1, maximum: 720, default: 24, description: 'how long the answer to a write sent with an Idempotency-Key is kept for its retries, in hours' }),
  REQUEST_TIMEOUT_MS: Type.Integer({ minimum: 1000, maximum: 600_000, default: 60_000, description: 'longest time a client may take to send a request' }),
  SUMMARY_CACHE_SECONDS: Type.Integer({ minimum: 0, maximum: 3600, default: 15, description: 'how long an instance reuses a computed summary before computing it again, in seconds; 0 computes every time' }),
  SHUTDOWN_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 120_000, default: 10_000, description: 'how long a stopping instance waits for in-flight requests' }),
  STALE_AFTER_SECONDS: Type.Integer({ minimum: 10, maximum: 604_800, default: 600, description: 'how long after its newest status event a device counts as stale (presumed offline) when read, in seconds' }),
  STATUS_RETENTION_DAYS: Type.Integer({ minimum: 1, maximum: 3650, default: 400, description: 'how long device status history is kept, in days; older events are refused and `ttn prune` removes them' }),
  AVAILABILITY_RETENTION_DAYS: Type.Integer({ minimum: 1, maximum: 36_500, default: 1830, description: 'how long the daily availability of each device (time in each state, faults, last report) is kept, in days; `ttn prune` removes older days' }),
  MEDIA_DIR: Type.Optional(Type.String({ minLength: 1, description: 'folder of the media store (files named by SHA-256, and uploads in progress); DATA_DIR/media when unset. Every instance must see the same folder (a shared volume)' })),
  MEDIA_MAX_BYTES: Type.Integer({ minimum: 1024, maximum: 10_000_000_000, default: 2 * 1024 * 1024 * 1024, description: 'largest media file accepted, in bytes' }),
  MEDIA_CHUNK_BYTES: Type.Integer({ minimum: 64 * 1024, maximum: 64 * 1024 * 1024, default: 8 * 1024 * 1024, description: 'largest chunk of a media upload one PATCH may carry, in bytes' }),
  MEDIA_UPLOAD_BYTES_PER_SECOND: Type.Integer({ minimum: 1024, maximum: 1024 * 1024 * 1024, default: 32 * 1024 * 1024, description: 'media-upload bytes one calling system may send per second on one instance (bursts of one chunk), apart from CALLER_BODY_BYTES_PER_SECOND' }),
  MEDIA_UPLOAD_HOURS: Type.Integer({ minimum: 1, maximum: 720, default: 24, description: 'how long an upload may take to complete before it and its bytes are dropped, in hours' }),
  MEDIA_UNUSED_HOURS: Type.Integer({ minimum: 0, maximum: 87_600, default: 72, description: 'how long a media file no valid content item uses is kept after its upload, in hours; then the retention job removes it' }),
  MEDIA_RETENTION_INTERVAL_MS: Type.Integer({ minimum: 1000, maximum: 86_400_000, default: 3_600_000, description: 'how often an instance runs the media retention job, in milliseconds' }),
  MEDIA_FETCH_TIMEOUT_MS: Type.Integer({ minimum: 1000, maximum: 3_600_000, default: 300_000, description: 'longest time fetching an external media file to verify it may take, in milliseconds' }),
  WEBHOOK_CONCURRENCY: Type.Integer({ minimum: 0, maximum: 256, default: 8, description: 'webhook deliveries one instance makes at once, at most one per province; 0 leaves delivery to other instances' }),
  WEBHOOK_POLL_MS: Type.Integer({ minimum: 10, maximum: 60_000, default: 1000, description: 'how often an instance looks for webhook deliveries that are due, in milliseconds' }),
  WEBHOOK_SENDER_TIMEOUT_MS: Type.Integer({ minimum: 500, maximum: 600_000, default: 5000, description: 'how long an instance sending webhooks may go unheard (it says it is alive every fifth of this) before another instance takes over the provinces it was sending to, in milliseconds' }),
  WEBHOOK_CONNECT_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 60_000, default: 5000, description: 'longest wait to connect to a webhook receiver, in milliseconds' }),
  WEBHOOK_RESPONSE_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 120_000, default: 10_000, description: 'longest wait for a webhook receiver\'s response headers, and again for its body, in milliseconds' }),
  WEBHOOK_BACKOFF_BASE_MS: Type.Integer({ minimum: 1, maximum: 3_600_000, default: 1000, description: 'wait before the first retry of a failed webhook delivery; each further failure doubles it, with jitter' }),
  WEBHOOK_BACKOFF_MAX_MS: Type.Integer({ minimum: 1, maximum: 86_400_000, default: 600_000, description: 'longest wait between webhook retries, Retry-After included, in milliseconds' }),
}, { additionalProperties: true })

export type Config = Static<typeof ConfigSchema>

/** A path of the service as callers reach it: behind a gateway, under PUBLIC_BASE_PATH. For links the service writes (Location, redirects, Atom). */
export const publicPath = (config: Pick<Config, 'PUBLIC_BASE_PATH'>, path: string) => `${config.PUBLIC_BASE_PATH ?? ''}${path}`

export class ConfigError extends Error {}

const keys = Object.keys(ConfigSchema.properties) as (keyof Config)[]

/** Reads the configuration from an environment, or throws a ConfigError naming the first bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const raw: Record<string, unknown> = {}
  for (const key of keys) {
    const value = env[key]
    if (value !== undefined && value !== '') raw[key] = value
  }
  const candidate = Value.Default(ConfigSchema, Value.Convert(ConfigSchema, raw))
  const [first] = Value.Errors(ConfigSchema, candidate)
  if (first) {
    const key = first.instancePath.split('/')[1] as keyof Config
    const property = ConfigSchema.properties[key] as { description?: string } | undefined
    throw new ConfigError(`${key}: expected ${property?.description ?? first.message} (got ${JSON.stringify(raw[key] ?? null)})`)
  }
  return candidate as Config
}

/** Where `ttn init` writes the settings of a local setup, relative to the working folder (the project's, under `npm start`). */
export const LOCAL_ENV_FILE = 'local/ttn.env'

/**
 * Adds the settings of an env file (NAME=value lines) to `env`, which keeps every variable it
 * already sets: the file named by ENV_FILE, which must exist; else LOCAL_ENV_FILE when it exists;
 * none when ENV_FILE is set empty. Returns the file read.
 */
export function readEnvFile(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const named = env.ENV_FILE
  if (named === '' || (named === undefined && !existsSync(LOCAL_ENV_FILE))) return undefined
  const file = named ?? LOCAL_ENV_FILE
  let settings: NodeJS.Dict<string>
  try {
    settings = parseEnv(readFileSync(file, 'utf8'))
  } catch (error) {
    throw new ConfigError(`ENV_FILE: cannot read ${file}: ${(error as Error).message}`)
  }
  for (const [name, value] of Object.entries(settings)) if (env[name] === undefined) env[name] = value
  return file
}
