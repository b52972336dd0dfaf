/**
 * `ttn console`: a web console for officials on 127.0.0.1, signing every call to the service
 * with the operator's key. It only reads, and only for its own pages: see signer.ts.
 */
import { readFile } from 'node:fs/promises'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { parse } from 'csv-parse/sync'
import Fastify, { type FastifyError, type FastifyReply, type FastifyRequest } from 'fastify'
import type { Static } from 'typebox'
import { ProvinceParams } from '../../schemas/common.js'
import { ConsoleMapQuery, ConsolePageQuery, ConsoleTrendsQuery, type ConsoleLanguage } from '../../schemas/console.js'
import type { ContentPage, DeliveryReport, Reach } from '../../schemas/content.js'
import type { DeviceCurrentState, DeviceStatusPage, StatusHistoryPage } from '../../schemas/status.js'
import { ReportFormName } from '../../schemas/reports.js'
import type { NationalSummary, ProvinceSummary } from '../../schemas/summaries.js'
import type { System } from '../../schemas/systems.js'
import type { Trends } from '../../schemas/trends.js'
import type { TtnClient } from '../client/client.js'
import { TtnApiError } from '../client/http.js'
import { path, query } from '../client/paging.js'
import { createValidatorCompiler } from '../http/validation.js'
import { projectPath } from '../paths.js'
import type { Html } from './html.js'
import type { Lang } from './labels.js'
import {
  emergenciesPage, errorPage, mapPage, notForProvincePage, provincePage, trendsPage, type Caller, type Emergency, type PageContext, type ProvinceData,
} from './pages.js'
import { checkRequest, ConsoleProblem, ServiceReader } from './signer.js'
import { CONSOLE_CSS } from './style.js'

export interface ConsoleOptions {
  /** The typed client of the operator's system: its key signs every call. */
  client: TtnClient
  /** 0 takes any free port. */
  port: number
}

export interface RunningConsole {
  url: string
  caller: Caller
  close: () => Promise<void>
}

const LANGUAGE_COOKIE = 'ttn-console-lang'
/** The emergencies the board shows at most, newest first. */
const BOARD_SIZE = 10

// The pages are what the official reads now: nothing is kept by the browser, and no other site may frame them.
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
  'cache-control': 'no-store',
}

function languageOf(request: FastifyRequest, reply: FastifyReply, chosen: Static<typeof ConsoleLanguage> | undefined): Lang {
  if (chosen) {
    reply.header('set-cookie', `${LANGUAGE_COOKIE}=${chosen}; Path=/; Max-Age=31536000; SameSite=Strict; HttpOnly`)
    return chosen
  }
  const remembered = new RegExp(`(?:^|;\\s*)${LANGUAGE_COOKIE}=(vi|en)(?:;|$)`).exec(request.headers.cookie ?? '')?.[1]
  return remembered === 'en' ? 'en' : 'vi'
}

/**
 * Central's active emergencies that are not exercises, newest first, each with its deliveries and reach. An emergency
 * in force is among central's newest items, so the newest 100 active ones are searched, not the whole library.
 */
async function activeEmergencies(reader: ServiceReader, limit: number): Promise<Emergency[]> {
  const page = await reader.get<Static<typeof ContentPage>>('/v2/contents' + query({ origin: 'central', status: 'active', limit: 100 }))
  const now = Date.now()
  const items = page.items.filter((item) => item.priority === 'emergency' && !item.test && (item.validUntil === null || Date.parse(item.validUntil) > now)).slice(0, limit)
  return Promise.all(items.map(async (item) => {
    const [deliveries, reach] = await Promise.all([
      reader.get<Static<typeof DeliveryReport>>(path`/v2/contents/${item.id}/deliveries`),
      reader.get<Static<typeof Reach>>(path`/v2/contents/${item.id}/reach`),
    ])
    return { item, deliveries, reach }
  }))
}

/** Devices down whose start of trouble the page looks up, one history read each; the rest show their last report only. */
const SINCE_LOOKUPS = 100

/**
 * Since when a device is down: a silent one since its last report; one that reports offline or
 * in fault since the start of its newest run of periods in that state (a period ends at each
 * Vietnam midnight, so a run may span several).
 */
async function downSince(reader: ServiceReader, code: string, device: Static<typeof DeviceCurrentState>): Promise<string> {
  if (device.stale) return device.observedAt
  const history = await reader.get<Static<typeof StatusHistoryPage>>(path`/v2/provinces/${code}/devices/${device.deviceType}/${device.deviceId}/status-history` + query({ limit: 100 }))
  let since = device.observedAt
  for (const period of history.items) {
    if (period.state !== device.state) break
    since = period.observedAt
  }
  return since
}

async function provinceData(reader: ServiceReader, code: string): Promise<ProvinceData> {
  const everything = query({ limit: 1000 })
  const [summary, stations, clusters, offline, fault, stale] = await Promise.all([
    reader.get<Static<typeof ProvinceSummary>>(path`/v2/summaries/provinces/${code}`),
    reader.get<{ items: ProvinceData['stations'] }>(path`/v2/provinces/${code}/stations` + everything),
    reader.get<{ items: ProvinceData['clusters'] }>(path`/v2/provinces/${code}/clusters` + everything),
    reader.get<Static<typeof DeviceStatusPage>>(path`/v2/provinces/${code}/status` + query({ state: 'offline', limit: 1000 })),
    reader.get<Static<typeof DeviceStatusPage>>(path`/v2/provinces/${code}/status` + query({ state: 'fault', limit: 1000 })),
    reader.get<Static<typeof DeviceStatusPage>>(path`/v2/provinces/${code}/status` + query({ stale: true, limit: 1000 })),
  ])
  const down = [...new Map([...offline.items, ...fault.items, ...stale.items].map((d) => [`${d.deviceType}/${d.deviceId}`, d])).values()]
    .sort((a, b) => a.observedAt.localeCompare(b.observedAt))
  const period = summary.period
  const forms = period ? ReportFormName.enum.filter((form) => period.forms.includes(form)) : []
  const reports = await Promise.all(forms.map(async (form) => ({
    form,
    history: await reader.get<ProvinceData['reports'][number]['history']>(path`/v2/provinces/${code}/reports/${period!.id}/${form}`),
  })))
  const devicesDown = await Promise.all(down.map(async (device, n) => ({ device, since: n < SINCE_LOOKUPS ? await downSince(reader, code, device) : null })))
  return { figures: summary.province, generatedAt: summary.generatedAt, period, reports, stations: stations.items, clusters: clusters.items, devicesDown }
}

/** A failure to reach the service at all (refused, reset, timed out), as Node and undici name them. */
const unreachable = (error: Error) => [error, error.cause].some((e) => /^(?:E[A-Z]+|UND_ERR_\w+)$/.test(String((e as { code?: unknown } | undefined)?.code ?? '')))

/** The provinces of 2025 by code, from the reference list the service's catalogue starts from. */
async function provinceNames(): Promise<Map<string, string>> {
  const rows = parse(await readFile(projectPath('reference', 'provinces-2025.csv')), { columns: true }) as { code: string, name: string }[]
  return new Map(rows.map((row) => [row.code, row.name]))
}

export async function startConsole(options: ConsoleOptions): Promise<RunningConsole> {
  const reader = new ServiceReader(options.client)
  const names = await provinceNames()
  const system = await reader.get<Static<typeof System>>(path`/v2/systems/${reader.systemId}`)
  const caller: Caller = { systemId: system.id, role: system.role === 'central' ? 'central' : 'province', provinceCode: system.provinceCode ?? null }

  const app = Fastify({ logger: false }).withTypeProvider<TypeBoxTypeProvider>()
  app.setValidatorCompiler(createValidatorCompiler())
  let ownHost = ''

  // ownHost is set once the console listens, before any request can arrive.
  app.addHook('onRequest', async (request) => { checkRequest(request.method, request.headers, ownHost) })
  app.addHook('onSend', async (_request, reply) => { reply.headers(SECURITY_HEADERS) })

  const context = (request: FastifyRequest, reply: FastifyReply, lang: Static<typeof ConsoleLanguage> | undefined): PageContext =>
    ({ lang: languageOf(request, reply, lang), caller, provinceNames: names, url: new URL(request.url, `http://${ownHost}`) })
  const sendPage = (reply: FastifyReply, page: Html) => reply.type('text/html; charset=utf-8').send(page.text)

  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    if (error instanceof TtnApiError) {
      const page = errorPage(context(request, reply, undefined), error.status, error.problem?.detail ?? error.message)
      return sendPage(reply.code(error.status), page)
    }
    const problem = error instanceof ConsoleProblem ? error
      : error.validation ? new ConsoleProblem('validation-failed', error.message)
        : unreachable(error) ? new ConsoleProblem('service-unreachable', `the service at ${options.client.http.options.baseUrl} did not answer: ${error.message}`)
          : new ConsoleProblem('console-failed', error.message)
    return reply.code(problem.status).type('application/problem+json; charset=utf-8').send(problem.toDocument())
  })
  app.setNotFoundHandler(async (request, reply) => {
    const problem = new ConsoleProblem('not-found', `no page ${request.url.split('?')[0]}`)
    return reply.code(problem.status).type('application/problem+json; charset=utf-8').send(problem.toDocument())
  })

  app.get('/assets/console.css', async (_request, reply) => reply.type('text/css; charset=utf-8').send(CONSOLE_CSS))

  app.get('/', { schema: { querystring: ConsoleMapQuery } }, async (request, reply) => {
    if (caller.role !== 'central') return reply.redirect(`/provinces/${caller.provinceCode ?? ''}`)
    const [summary, emergencies] = await Promise.all([
      reader.get<Static<typeof NationalSummary>>('/v2/summaries/national'),
      activeEmergencies(reader, 1),
    ])
    return sendPage(reply, mapPage(context(request, reply, request.query.lang), request.query.colour ?? 'online', summary, emergencies[0]))
  })

  app.get('/provinces/:code', { schema: { params: ProvinceParams, querystring: ConsolePageQuery } }, async (request, reply) =>
    sendPage(reply, provincePage(context(request, reply, request.query.lang), await provinceData(reader, request.params.code))))

  app.get('/trends', { schema: { querystring: ConsoleTrendsQuery } }, async (request, reply) => {
    const province = request.query.province ?? (caller.role === 'central' ? undefined : caller.provinceCode ?? undefined)
    const trends = await reader.get<Static<typeof Trends>>((province ? path`/v2/provinces/${province}/trends` : '/v2/trends') + query({ days: 90 }))
    return sendPage(reply, trendsPage(context(request, reply, request.query.lang), trends, province ? names.get(province) ?? province : null))
  })

  app.get('/emergencies', { schema: { querystring: ConsolePageQuery } }, async (request, reply) => {
    const page = context(request, reply, request.query.lang)
    if (caller.role !== 'central') return sendPage(reply, notForProvincePage(page))
    return sendPage(reply, emergenciesPage(page, await activeEmergencies(reader, BOARD_SIZE)))
  })

  // The service's answers as they are (JSON, or CSV with format=csv), for the operations the console forwards.
  app.get('/api/*', async (request, reply) => {
    const forwarded = await reader.forward(request.url.slice('/api'.length))
    return reply.code(forwarded.status).type(forwarded.contentType).send(forwarded.body)
  })

  const address = await app.listen({ host: '127.0.0.1', port: options.port })
  ownHost = new URL(address).host
  return { url: `http://${ownHost}/`, caller, close: () => app.close() }
}
