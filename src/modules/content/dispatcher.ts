import { randomUUID } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import type { ServiceKeys } from '../../auth/service-keys.js'
import { retryAfterMs } from '../../client/http.js'
import { signCall } from '../../client/sign.js'
import type { Config } from '../../config.js'
import type { Db } from '../../db/database.js'
import { every, type Job } from '../../jobs.js'
import { OutboundClient, OutboundRefused, outboundPolicy } from '../../http/outbound.js'
import { OutboxStore, type AttemptOutcome, type DueNotification } from './outbox.js'

export interface DispatcherDeps {
  db: Db
  config: Config
  serviceKeys: ServiceKeys
  log: FastifyBaseLogger
  metrics: Registry
}

/** Exponential backoff with jitter (half fixed, half random), capped; a receiver's Retry-After wins, within the cap. */
export function backoffMs(failures: number, settings: { base: number, max: number }, retryAfter?: number): number {
  if (retryAfter !== undefined) return Math.min(settings.max, retryAfter)
  const ceiling = Math.min(settings.max, settings.base * 2 ** Math.min(failures, 40))
  return ceiling / 2 + Math.random() * (ceiling / 2)
}

/**
 * Sends the webhook outbox: every WEBHOOK_POLL_MS (and at once when this instance queues
 * something) it leases due lanes up to WEBHOOK_CONCURRENCY and drains each one in order,
 * emergencies first, until the lane is empty or an attempt fails. Every attempt carries a
 * fresh call token signed by the service key with `aud` the province's system id.
 */
export class WebhookDispatcher {
  private readonly store: OutboxStore
  private readonly outbound: OutboundClient
  private readonly lanes = new Map<string, { abort: AbortController, done: Promise<void> }>()
  private readonly leaseMs: number
  private readonly outcomes: Counter
  private readonly deliverySeconds: Histogram
  private job: Job | undefined
  private heartbeat: Job | undefined
  private stopped = false

  constructor(private readonly deps: DispatcherDeps) {
    const { config } = deps
    this.store = new OutboxStore(deps.db, `${config.SERVICE_ID}/${randomUUID()}`)
    this.outbound = new OutboundClient(outboundPolicy(config.OUTBOUND_ALLOWED_HOSTS), {
      connectMs: config.WEBHOOK_CONNECT_TIMEOUT_MS,
      headersMs: config.WEBHOOK_RESPONSE_TIMEOUT_MS,
      totalMs: config.WEBHOOK_CONNECT_TIMEOUT_MS + 2 * config.WEBHOOK_RESPONSE_TIMEOUT_MS,
      maxBytes: 1024 * 1024,
    })
    // Longer than one attempt can take, so a lease held by a live instance never runs out mid-send.
    this.leaseMs = config.WEBHOOK_CONNECT_TIMEOUT_MS + 2 * config.WEBHOOK_RESPONSE_TIMEOUT_MS + 10_000
    this.outcomes = new Counter({
      name: 'ttn_webhook_deliveries_total', help: 'Webhook delivery attempts, by outcome: delivered (2xx), refused (another status), unreachable (no answer)',
      labelNames: ['outcome'], registers: [deps.metrics],
    })
    this.deliverySeconds = new Histogram({
      name: 'ttn_content_delivery_seconds', help: 'Time from a content notification being queued (its version committed) to its webhook delivery, by priority',
      labelNames: ['priority'], buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600], registers: [deps.metrics],
    })
    const store = this.store
    const depth = new Gauge({ name: 'ttn_webhook_outbox_depth', help: 'Webhook notifications not yet delivered, over every instance', registers: [deps.metrics] })
    new Gauge({
      name: 'ttn_webhook_outbox_oldest_pending_seconds', help: 'Age of the oldest webhook notification not yet delivered', registers: [deps.metrics],
      async collect() {
        try {
          const { pending, oldestSeconds } = await store.depth()
          depth.set(pending)
          this.set(oldestSeconds)
        } catch {
          // The database is unreachable: the metrics keep their last values, /health says why.
        }
      },
    })
  }

  start(): void {
    const { config, log } = this.deps
    if (config.WEBHOOK_CONCURRENCY === 0) return
    // Heard from several times per timeout, so a live instance keeps its lanes through a slow beat or two.
    this.heartbeat = every(config.WEBHOOK_SENDER_TIMEOUT_MS / 5, 'webhook-sender', log, () => this.store.heard())
    this.job = every(config.WEBHOOK_POLL_MS, 'webhooks', log, () => this.fill())
    void this.store.forgetSilentSenders().catch((error: unknown) => log.warn({ err: error }, 'could not forget the webhook senders gone for a day'))
  }

  /** Looks for due deliveries now, e.g. right after a publication committed. */
  kick(): void {
    if (this.job && !this.stopped) void this.job.runNow()
  }

  async stop(): Promise<void> {
    this.stopped = true
    await this.job?.stop()
    for (const lane of this.lanes.values()) lane.abort.abort()
    await Promise.all([...this.lanes.values()].map((lane) => lane.done))
    await this.heartbeat?.stop()
    if (this.heartbeat) await this.store.leave().catch((error: unknown) => this.deps.log.warn({ err: error }, 'could not say this webhook sender left; its record goes after a day'))
    await this.outbound.close()
  }

  private async fill(): Promise<void> {
    const free = this.deps.config.WEBHOOK_CONCURRENCY - this.lanes.size
    if (free <= 0 || this.stopped) return
    for (const lane of await this.store.claim(free, this.leaseMs, this.deps.config.WEBHOOK_SENDER_TIMEOUT_MS)) {
      const abort = new AbortController()
      const done = this.drain(lane.province, lane.failures, abort.signal)
        .catch((error: unknown) => this.deps.log.warn({ err: error, province: lane.province }, 'webhook lane failed; its lease will expire and it will be retried'))
        .finally(() => {
          this.lanes.delete(lane.province)
          this.kick()
        })
      this.lanes.set(lane.province, { abort, done })
    }
  }

  private async drain(province: string, failures: number, signal: AbortSignal): Promise<void> {
    for (;;) {
      if (signal.aborted) return this.store.release(province)
      const due = await this.store.head(province)
      if (!due) return this.store.release(province)
      const outcome = await this.attempt(due, signal)
      if (signal.aborted) return this.store.release(province)
      if (outcome.delivered) {
        this.outcomes.inc({ outcome: 'delivered' })
        await this.store.delivered(due, outcome)
        if (due.priority) this.deliverySeconds.observe({ priority: due.priority }, Math.max(0, Date.now() - due.queuedAt.getTime()) / 1000)
        failures = 0
        // Every lane busy and another province's emergency waiting for one: this lane's ordinary
        // backlog gives way, and the freed lane goes to the emergency first.
        if (due.priority !== 'emergency' && this.lanes.size >= this.deps.config.WEBHOOK_CONCURRENCY
          && await this.store.emergencyWaiting(this.deps.config.WEBHOOK_SENDER_TIMEOUT_MS)) return this.store.release(province)
        if (!await this.store.renew(province, this.leaseMs)) return
        continue
      }
      this.outcomes.inc({ outcome: outcome.status === null ? 'unreachable' : 'refused' })
      const delay = backoffMs(failures, { base: this.deps.config.WEBHOOK_BACKOFF_BASE_MS, max: this.deps.config.WEBHOOK_BACKOFF_MAX_MS }, outcome.retryAfterMs)
      this.deps.log.info({ province, notification: due.notificationId, status: outcome.status, error: outcome.error, retryInMs: Math.round(delay) }, 'webhook delivery failed; will retry')
      return this.store.failed(due, outcome, delay)
    }
  }

  private async attempt(due: DueNotification, signal: AbortSignal): Promise<AttemptOutcome & { delivered: boolean, retryAfterMs?: number | undefined }> {
    if (!due.webhookUrl) return { delivered: false, status: null, error: `${due.systemId} is suspended or has no webhook URL any more` }
    const url = new URL(due.webhookUrl)
    const { config, serviceKeys } = this.deps
    const token = await signCall({
      issuer: config.SERVICE_ID, audience: due.systemId, key: serviceKeys.current,
      method: 'POST', pathAndQuery: url.pathname + url.search, body: due.body,
    })
    try {
      const response = await this.outbound.call(due.webhookUrl, {
        method: 'POST',
        body: due.body,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'user-agent': 'ttn-interop-webhooks' },
        signal,
      })
      const delivered = response.status >= 200 && response.status < 300
      const retryAfter = response.headers['retry-after']
      return {
        delivered,
        status: response.status,
        error: delivered ? null : `the receiver answered ${response.status}`,
        retryAfterMs: retryAfterMs(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter),
      }
    } catch (error) {
      if (error instanceof OutboundRefused) return { delivered: false, status: null, error: `${error.code}: ${error.message}` }
      const { code, message } = error as { code?: string, message?: string }
      return { delivered: false, status: null, error: [code, message].filter(Boolean).join(': ') || 'no answer' }
    }
  }
}
