/**
 * The stateful part of a run: which operations create what others need, and which values each
 * request takes from the answers before it. Generated requests alone rarely reach a handler
 * (an id the target never issued is a 404), so before the generated checks the kit walks this
 * table in order, and every operation of the contract gets a request that the target can
 * answer with success, whose body, headers and receipt are then checked.
 */

/** A value taken from the success answer of an earlier step: a JSON pointer into its body, or a header. */
export interface Taken { take: string, pointer?: string, header?: string, quoted?: boolean }
/** A value the run fixes before it starts (ids of its own, today's date, a media file). */
export interface Fact { fact: keyof Facts }
/** A value the kit computes from taken ones, such as a cosignature of a checkpoint. */
export interface Computed { compute: 'cosignature', from: Taken }
export type Source = Taken | Fact | Computed

/** A request template: plain JSON, with sources anywhere a value is. */
export type Template = Source | string | number | boolean | null | Template[] | { [name: string]: Template }

export type Role = 'province' | 'central' | 'spare'

export interface Step {
  operation: string
  /** The step's name where an operation has more than one (another status, another resource); answers are kept under it. */
  label?: string
  /** Who calls: the operation's own role by default; `spare` is a system the run registers for itself. */
  as?: Role
  path?: Record<string, Template>
  query?: Record<string, Template>
  headers?: Record<string, Template>
  /** The request body; without one, a body generated from the contract, as small as it may be. */
  body?: Template
  /** Raw bytes sent instead of JSON (an upload chunk). */
  bytes?: Fact
  /** The status this step succeeds with, when it is not a 2xx (a 304 to a conditional GET). */
  status?: number
  /** The answer depends on work the target does in the background (signing a checkpoint): asked again until it succeeds. */
  eventually?: boolean
  /** Facts that name what this step creates (a station's id): later steps using them need it to have run. */
  makes?: (keyof Facts)[]
}

export interface Facts {
  province: string
  today: string
  tomorrow: string
  yesterday: string
  now: string
  anHourAgo: string
  stationId: string
  otherStationId: string
  clusterId: string
  boardId: string
  topicId: string
  periodId: string
  spareSystemId: string
  spareJwks: unknown
  newKey: unknown
  newKeyId: string
  recoveryJwks: unknown
  media: Uint8Array
  mediaBytes: number
  mediaSha256: string
  otherMediaBytes: number
  otherMediaSha256: string
  externalMediaUrl: string
  externalMediaSha256: string
}

const take = (step: string, pointer?: string): Taken => ({ take: step, ...(pointer !== undefined ? { pointer } : {}) })
const header = (step: string, name: string): Taken => ({ take: step, header: name })
/** A version number as the entity tag the service sends for it (`"3"`). */
const etagOf = (step: string, pointer: string): Taken => ({ take: step, pointer, quoted: true })
const fact = (name: keyof Facts): Fact => ({ fact: name })

const province = fact('province')
const commune = take('listAdminUnits', '/items/0/code')
// Funded by a programme, so the appendix drafts built from the registry have a line.
const station = { communeCode: commune, name: 'Đài truyền thanh xã (kiểm thử)', kind: 'wired_fm', status: 'operating', programme: 'new_station', fundingSource: 'local_budget' }
const reportPath = { code: province, periodId: fact('periodId') }
const review = { decision: 'accept' }
const counts = { ip: 1, fm: 0, wired: 0 }
const cosigned = (from: Taken): Computed => ({ compute: 'cosignature', from })

/**
 * In the order they run. Each step takes only from steps above it; `dependenciesOf` finds them,
 * so a run limited to a few operations still makes what those need first.
 */
export const SCENARIO: Step[] = [
  // What needs nothing: the public catalogue and problem types, the service's keys.
  { operation: 'live' },
  { operation: 'ready' },
  { operation: 'getServiceKeys' },
  { operation: 'listProblemTypes' },
  { operation: 'getProblemType', path: { code: take('listProblemTypes', '/0/code') } },
  { operation: 'listAdminUnits', query: { level: 'commune', province } },
  { operation: 'getAdminUnit', path: { code: commune } },
  { operation: 'resolveAdminUnits', body: { codes: [province, commune] } },
  { operation: 'listCatalogueVersions' },
  { operation: 'listCatalogueChanges', path: { version: take('listCatalogueVersions', '/items/0/version') } },

  // Systems: a spare one the run registers, so no key or status of the callers changes.
  { operation: 'registerSystem', makes: ['spareSystemId'], body: { id: fact('spareSystemId'), role: 'central', name: 'Conformance spare system', jwks: fact('spareJwks') } },
  { operation: 'listSystems' },
  { operation: 'getSystem', as: 'central', path: { id: take('registerSystem', '/system/id') } },
  { operation: 'addSystemKey', as: 'spare', makes: ['newKeyId'], path: { id: fact('spareSystemId') }, body: fact('newKey') },
  { operation: 'retireSystemKey', as: 'spare', path: { id: fact('spareSystemId'), kid: fact('newKeyId') } },
  { operation: 'updateSystem', as: 'central', path: { id: take('registerSystem', '/system/id') }, body: { status: 'suspended' } },
  { operation: 'recoverSystemKeys', path: { id: take('registerSystem', '/system/id') }, body: { jwks: fact('recoveryJwks'), reason: 'conformance run' } },

  // The registry of the caller's province.
  { operation: 'pushStations', makes: ['stationId'], body: { items: [{ id: fact('stationId'), ...station }] } },
  { operation: 'pushRegistry', makes: ['otherStationId'], body: { stations: [{ id: fact('otherStationId'), ...station }] } },
  { operation: 'pushClusters', makes: ['clusterId'], body: { items: [{ id: fact('clusterId'), stationId: fact('stationId'), kind: 'ip', status: 'operating' }] } },
  { operation: 'pushBoards', makes: ['boardId'], body: { items: [{ id: fact('boardId'), communeCode: commune, placement: 'outdoor', status: 'operating' }] } },
  { operation: 'listStations', path: { code: province } },
  { operation: 'listClusters', path: { code: province } },
  { operation: 'listBoards', path: { code: province } },
  { operation: 'listNationalStations' },
  { operation: 'listNationalClusters' },
  { operation: 'listNationalBoards' },
  { operation: 'listChanges' },
  { operation: 'getStation', path: { code: province, id: fact('stationId') } },
  { operation: 'getStation', label: 'getStation:not-modified', path: { code: province, id: fact('stationId') }, headers: { 'if-none-match': header('getStation', 'etag') }, status: 304 },
  { operation: 'getCluster', path: { code: province, id: fact('clusterId') } },
  { operation: 'getCluster', label: 'getCluster:not-modified', path: { code: province, id: fact('clusterId') }, headers: { 'if-none-match': header('getCluster', 'etag') }, status: 304 },
  { operation: 'getBoard', path: { code: province, id: fact('boardId') } },
  { operation: 'getBoard', label: 'getBoard:not-modified', path: { code: province, id: fact('boardId') }, headers: { 'if-none-match': header('getBoard', 'etag') }, status: 304 },
  { operation: 'replaceStation', path: { code: province, id: fact('stationId') }, headers: { 'if-match': header('getStation', 'etag') }, body: { ...station, status: 'degraded' } },
  { operation: 'replaceCluster', path: { code: province, id: fact('clusterId') }, headers: { 'if-match': header('getCluster', 'etag') }, body: { stationId: fact('stationId'), kind: 'fm', status: 'operating' } },
  { operation: 'replaceBoard', path: { code: province, id: fact('boardId') }, headers: { 'if-match': header('getBoard', 'etag') }, body: { communeCode: commune, placement: 'indoor', status: 'operating' } },

  // Device status of what was pushed.
  { operation: 'sendStatusEvents', path: { code: province }, body: { events: [{ deviceType: 'station', deviceId: fact('stationId'), state: 'online', observedAt: fact('anHourAgo') }] } },
  { operation: 'listDeviceStatus', path: { code: province } },
  { operation: 'getStatusHistory', path: { code: province, type: 'station', id: fact('stationId') } },
  { operation: 'getStatusOverview' },
  { operation: 'getProvinceAvailability', path: { code: province } },
  { operation: 'getNationalAvailability' },
  { operation: 'getProvinceTrends', path: { code: province } },
  { operation: 'getNationalTrends' },

  // Media: an upload completed in one chunk, another cancelled, a file hosted elsewhere.
  { operation: 'createMediaUpload', body: { bytes: fact('mediaBytes'), sha256: fact('mediaSha256'), fileName: 'conformance.wav', mimeType: 'audio/wav' } },
  { operation: 'getMediaUpload', path: { id: take('createMediaUpload', '/upload/id') } },
  { operation: 'sendMediaChunk', makes: ['mediaSha256'], path: { id: take('createMediaUpload', '/upload/id') }, headers: { 'upload-offset': '0' }, bytes: fact('media') },
  { operation: 'downloadMedia', path: { sha256: fact('mediaSha256') } },
  { operation: 'downloadMedia', label: 'downloadMedia:range', path: { sha256: fact('mediaSha256') }, headers: { range: 'bytes=0-15' }, status: 206 },
  { operation: 'downloadMedia', label: 'downloadMedia:not-modified', path: { sha256: fact('mediaSha256') }, headers: { 'if-none-match': header('downloadMedia', 'etag') }, status: 304 },
  { operation: 'createMediaUpload', label: 'createMediaUpload:to-cancel', body: { bytes: fact('otherMediaBytes'), sha256: fact('otherMediaSha256') } },
  { operation: 'cancelMediaUpload', path: { id: take('createMediaUpload:to-cancel', '/upload/id') } },
  { operation: 'registerExternalMedia', body: { url: fact('externalMediaUrl'), sha256: fact('externalMediaSha256') } },

  // Content: central publishes to the province, the province reads, acknowledges, airs and shares.
  { operation: 'listContentTopics' },
  { operation: 'addContentTopic', makes: ['topicId'], body: { id: fact('topicId'), title: 'Conformance topic' } },
  // To one commune, so that the province acknowledges for a commune it was sent to.
  {
    operation: 'publishContent',
    body: { title: 'Conformance bulletin', summary: 'A test item', topic: fact('topicId'), priority: 'priority', targets: [], communes: [commune], media: [{ sha256: fact('mediaSha256') }], test: true },
  },
  { operation: 'listContents' },
  { operation: 'getContent', as: 'province', path: { id: take('publishContent', '/content/id') } },
  { operation: 'readContentFeed', as: 'province' },
  { operation: 'getContentAlert', as: 'province', path: { id: take('publishContent', '/content/id') } },
  { operation: 'exportAlerts' },
  { operation: 'acknowledgeContent', as: 'province', path: { id: take('publishContent', '/content/id') }, body: { receivedAt: fact('now'), communes: [commune] } },
  { operation: 'getContentDeliveries', path: { id: take('publishContent', '/content/id') } },
  {
    operation: 'sendBroadcastLogs', path: { code: province },
    body: { entries: [{ stationId: fact('stationId'), contentId: take('publishContent', '/content/id'), startedAt: fact('anHourAgo'), endedAt: fact('now'), source: 'central' }] },
  },
  { operation: 'listBroadcastLogs', path: { code: province } },
  { operation: 'getContentReach', path: { id: take('publishContent', '/content/id') } },
  {
    operation: 'updateContent', path: { id: take('publishContent', '/content/id') }, headers: { 'if-match': etagOf('publishContent', '/content/version') },
    body: { title: 'Conformance bulletin (corrected)', topic: fact('topicId'), priority: 'priority', targets: [], communes: [commune], test: true },
  },
  { operation: 'withdrawContent', path: { id: take('publishContent', '/content/id') }, headers: { 'if-match': etagOf('updateContent', '/content/version') }, body: { reason: 'conformance run' } },
  { operation: 'shareContent', path: { code: province }, body: { title: 'Conformance shared item', topic: fact('topicId') } },
  {
    operation: 'pushBroadcastSchedules', path: { code: province },
    body: { schedules: [{ stationId: fact('stationId'), date: fact('today'), slots: [{ startsAt: fact('now'), durationSeconds: 600, localProgramme: 'Conformance', source: 'local' }] }] },
  },
  { operation: 'listBroadcastSchedules', path: { code: province } },
  { operation: 'crossCheckBroadcastSchedules', path: { code: province }, query: { from: fact('yesterday'), to: fact('today') } },

  // Reports: central opens a period, the province submits every form, central reviews each.
  {
    operation: 'openReportPeriod', makes: ['periodId'],
    body: {
      id: fact('periodId'), title: 'Conformance period', dueOn: fact('today'), forms: ['indicators', 'feedback', 'appendix-02', 'appendix-03', 'conformance-form'],
      customForms: [{ name: 'conformance-form', title: 'Conformance form', schema: { type: 'object', additionalProperties: true } }],
    },
  },
  { operation: 'listReportPeriods' },
  { operation: 'correctReportPeriod', path: { periodId: fact('periodId') }, body: { title: 'Conformance period (corrected)', reason: 'conformance run' } },
  { operation: 'extendReportDeadline', path: { periodId: fact('periodId') }, body: { province, dueOn: fact('tomorrow'), reason: 'conformance run' } },
  {
    operation: 'submitIndicators', path: reportPath,
    body: {
      stations: { wired: 0, fm: 0, wiredFm: 1, ip: 0 }, clusters: counts, investment: { newStations: 0, clustersReplaced: 0, clustersAddedToVillages: 0 }, bulletinBoards: 1,
      informationWorkers: { total: 1, trained: 1 }, bulletins: { produced: 1, aired: 1, airtimeHours: 1 },
      fundingMillionVnd: { newRuralDevelopment: 0, sustainablePovertyReduction: 0, localBudget: 0, other: 0 },
    },
  },
  { operation: 'submitFeedback', path: reportPath, body: { communes: [{ communeCode: commune, byChannel: [{ channel: 'hotline', received: 1, answered: 1 }], byTopic: [], averageHoursToAnswer: 2 }] } },
  { operation: 'draftAppendix02', path: reportPath },
  { operation: 'draftAppendix03', path: reportPath },
  { operation: 'submitAppendix02', path: reportPath, body: take('draftAppendix02', '/form') },
  { operation: 'submitAppendix03', path: reportPath, body: take('draftAppendix03', '/form') },
  { operation: 'submitCustomForm', path: { ...reportPath, form: 'conformance-form' }, body: { note: 'conformance' } },
  { operation: 'getIndicatorsHistory', path: reportPath },
  { operation: 'getFeedbackHistory', path: reportPath },
  { operation: 'getAppendix02History', path: reportPath },
  { operation: 'getAppendix03History', path: reportPath },
  { operation: 'getCustomFormHistory', path: { ...reportPath, form: 'conformance-form' } },
  { operation: 'reviewIndicators', path: { ...reportPath, version: take('submitIndicators', '/submission/version') }, body: review },
  { operation: 'reviewFeedback', path: { ...reportPath, version: take('submitFeedback', '/submission/version') }, body: review },
  { operation: 'reviewAppendix02', path: { ...reportPath, version: take('submitAppendix02', '/submission/version') }, body: review },
  { operation: 'reviewAppendix03', path: { ...reportPath, version: take('submitAppendix03', '/submission/version') }, body: review },
  { operation: 'reviewCustomForm', path: { ...reportPath, form: 'conformance-form', version: take('submitCustomForm', '/submission/version') }, body: review },
  { operation: 'getReportPeriodStatus', path: { periodId: fact('periodId') } },
  { operation: 'getNationalSummary', query: { periodId: fact('periodId') } },
  { operation: 'getProvinceSummary', path: { code: province }, query: { periodId: fact('periodId') } },

  // Trust: receipts of the writes above, the audit log and its proofs once a checkpoint covers them.
  { operation: 'getReceipt', path: { id: take('pushStations', '/receipt/id') } },
  { operation: 'listAuditEntries' },
  { operation: 'getLatestCheckpoint', eventually: true },
  { operation: 'listCheckpoints' },
  { operation: 'getConsistencyProof', query: { from: 1, to: take('getLatestCheckpoint', '/treeSize') } },
  { operation: 'getReceiptInclusionProof', path: { id: take('pushStations', '/receipt/id') }, eventually: true },
  // The leaf of the province's own call: a system may see proofs of its own calls only.
  { operation: 'getEntryInclusionProof', path: { leafIndex: take('getReceiptInclusionProof', '/leafIndex') }, query: { treeSize: take('getReceiptInclusionProof', '/treeSize') } },
  { operation: 'cosignCheckpoint', as: 'province', body: { cosignature: cosigned(take('getLatestCheckpoint', '/jws')) } },

  // Last, so what the steps above read is still there.
  { operation: 'deleteStation', path: { code: province, id: fact('otherStationId') } },
  { operation: 'deleteCluster', path: { code: province, id: fact('clusterId') }, headers: { 'if-match': etagOf('replaceCluster', '/record/version') } },
  { operation: 'deleteBoard', path: { code: province, id: fact('boardId') }, headers: { 'if-match': etagOf('replaceBoard', '/record/version') } },
]

export const stepName = (step: Step) => step.label ?? step.operation

function isSource(template: Template): template is Source {
  return typeof template === 'object' && template !== null && !Array.isArray(template) && ('take' in template || 'fact' in template || 'compute' in template)
}

/** The steps a template takes values from, and the facts it uses. */
function sourcesOf(template: Template | undefined, found: { steps: Set<string>, facts: Set<string> }): void {
  if (template === undefined || template === null || typeof template !== 'object') return
  if (isSource(template)) {
    if ('take' in template) found.steps.add(template.take)
    if ('compute' in template) found.steps.add(template.from.take)
    if ('fact' in template) found.facts.add(template.fact)
    return
  }
  for (const item of Array.isArray(template) ? template : Object.values(template)) sourcesOf(item, found)
}

/** The steps a step needs before it: those it takes values from, and the earlier ones that make the facts it uses. */
function dependenciesOf(step: Step, table: Step[] = SCENARIO): Set<string> {
  const found = { steps: new Set<string>(), facts: new Set<string>() }
  for (const part of [step.path, step.query, step.headers, step.body, step.bytes]) sourcesOf(part as Template | undefined, found)
  for (const earlier of table.slice(0, table.indexOf(step))) {
    if (earlier.makes?.some((made) => found.facts.has(made))) found.steps.add(stepName(earlier))
  }
  return found.steps
}

/** The steps that reach the given operations, with every step they need, in the table's order. */
export function stepsFor(operations: Set<string>, table: Step[] = SCENARIO): Step[] {
  const byName = new Map(table.map((step) => [stepName(step), step]))
  const wanted = new Set<string>()
  const want = (step: Step) => {
    if (wanted.has(stepName(step))) return
    wanted.add(stepName(step))
    for (const name of dependenciesOf(step, table)) {
      const needed = byName.get(name)
      if (!needed) throw new Error(`step ${stepName(step)} takes from ${name}, which is not in the scenario`)
      want(needed)
    }
  }
  for (const step of table) if (operations.has(step.operation)) want(step)
  return table.filter((step) => wanted.has(stepName(step)))
}

export interface Kept { body: unknown, headers: Record<string, string> }

export class MissingValue extends Error {}

/** The value a JSON pointer names inside `value`. */
function at(value: unknown, pointer: string): unknown {
  let current = value
  for (const segment of pointer.split('/').slice(1)) {
    const key = segment.replaceAll('~1', '/').replaceAll('~0', '~')
    current = current !== null && typeof current === 'object' ? (current as Record<string, unknown>)[key] : undefined
  }
  return current
}

export type Compute = (kind: Computed['compute'], input: unknown) => Promise<unknown>

/** Fills a template with the run's facts and what earlier answers said; throws MissingValue if an answer it needs is not there. */
export async function resolve(template: Template, facts: Facts, kept: Map<string, Kept>, compute: Compute): Promise<unknown> {
  if (template === null || typeof template !== 'object') return template
  if (Array.isArray(template)) return Promise.all(template.map((item) => resolve(item, facts, kept, compute)))
  if (isSource(template)) {
    if ('fact' in template) return facts[template.fact]
    if ('compute' in template) return compute(template.compute, await resolve(template.from, facts, kept, compute))
    const answer = kept.get(template.take)
    if (!answer) throw new MissingValue(`${template.take} got no success answer`)
    const value = template.header !== undefined ? answer.headers[template.header] : at(answer.body, template.pointer ?? '')
    if (value === undefined || value === null) throw new MissingValue(`the answer of ${template.take} has no ${template.header ?? template.pointer}`)
    return template.quoted ? `"${String(value)}"` : value
  }
  const entries = await Promise.all(Object.entries(template).map(async ([name, item]) => [name, await resolve(item, facts, kept, compute)] as const))
  return Object.fromEntries(entries)
}
