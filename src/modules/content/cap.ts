import type { Item } from './store.js'

/**
 * An item as an OASIS Common Alerting Protocol 1.2 alert, for disaster agencies and other
 * alerting systems. Only priority and emergency items are alerts; a withdrawal is a Cancel.
 */
export const CAP_NAMESPACE = 'urn:oasis:names:tc:emergency:cap:1.2'
export const CAP_CONTENT_TYPE = 'application/cap+xml'

export const isAlert = (item: Pick<Item, 'priority'>) => item.priority !== 'normal'

/** The CAP categories of the essential-information topics; any other topic is `Other`. */
const CATEGORIES: Record<string, string[]> = {
  'security-order': ['Security'],
  'disasters-fire-epidemics': ['Met', 'Geo', 'Fire', 'Health'],
  'fighting-violations': ['Security'],
  'task-2024-health-vietnam': ['Health'],
  'task-2024-disaster-climate': ['Met', 'Env'],
  'task-2024-avian-influenza': ['Health'],
  'task-2024-african-swine-fever': ['Health'],
  'task-2024-environment': ['Env'],
  'task-2024-traffic-safety': ['Transport'],
  'task-2024-digital-transformation': ['Infra'],
}

/** Thông tư 39/2020's levels as CAP's three scales. */
const SCALES = {
  emergency: { urgency: 'Immediate', severity: 'Severe', certainty: 'Observed' },
  priority: { urgency: 'Expected', severity: 'Moderate', certainty: 'Likely' },
} as const

/** A place an alert is for: a province, with the communes named when only they are targeted. */
export interface AlertArea { province: { code: string, name: string }, communes: { code: string, name: string }[] }

export interface AlertContext {
  sender: string
  /** Every earlier version of the item, for the references of an update or a cancel. */
  earlier: { version: number, at: string }[]
  topicTitle: string
  /** One entry per target province, or the nation when the item targets all. */
  areas: AlertArea[] | 'nation'
  /** SHA-1 of each media file, as CAP's digest names resources. */
  sha1: Map<string, string>
  /** Base URL that makes a stored file's path absolute; the path alone without it. */
  publicUrl: string | undefined
  /** PUBLIC_BASE_PATH, or '' when no gateway puts a prefix before the service's paths. */
  basePath: string
}

/** A stored file's path as callers reach it (under a gateway's base path), absolute when PUBLIC_URL is known. */
const storedFileUri = (path: string, context: AlertContext) => context.publicUrl ? new URL(context.basePath + path, context.publicUrl).href : context.basePath + path

const escape = (text: string) => text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', '\'': '&apos;' })[c]!)
  // XML 1.0 cannot carry most control characters, even escaped.
  .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '')

const element = (name: string, content: string | number | null | undefined, indent: string) =>
  content === null || content === undefined ? '' : `${indent}<${name}>${escape(String(content))}</${name}>\n`

const VIETNAM_OFFSET_MS = 7 * 3_600_000

/** CAP's instant form: seconds, an explicit offset, no fraction; in Vietnam time. */
export function capTime(instant: string): string {
  const local = new Date(Date.parse(instant) + VIETNAM_OFFSET_MS).toISOString()
  return `${local.slice(0, 19)}+07:00`
}

const identifier = (sender: string, item: Pick<Item, 'id'>, version: number) => `${sender}.${item.id}.v${version}`

export function capAlert(item: Item, context: AlertContext): string {
  const scale = SCALES[item.priority as 'emergency' | 'priority']
  const msgType = item.status === 'withdrawn' ? 'Cancel' : item.version === 1 ? 'Alert' : 'Update'
  const references = context.earlier.filter((e) => e.version < item.version)
    .map((e) => `${context.sender},${identifier(context.sender, item, e.version)},${capTime(e.at)}`).join(' ')
  const description = [item.summary, item.body].filter((part): part is string => Boolean(part)).join('\n\n')
  const i1 = '  '
  const i2 = '    '
  const i3 = '      '
  const resources = item.media.map((m) => `${i2}<resource>\n` +
    element('resourceDesc', `${m.kind} ${m.mimeType}${m.durationSeconds === null ? '' : `, ${m.durationSeconds} s`}`, i3) +
    element('mimeType', m.mimeType, i3) + element('size', m.bytes, i3) +
    element('uri', m.source === 'stored' ? storedFileUri(m.url, context) : m.url, i3) +
    element('digest', context.sha1.get(m.sha256), i3) + `${i2}</resource>\n`).join('')
  const geocode = (valueName: string, value: string) => `${i3}<geocode>\n${element('valueName', valueName, `${i3}  `)}${element('value', value, `${i3}  `)}${i3}</geocode>\n`
  const areas = context.areas === 'nation'
    ? `${i2}<area>\n${element('areaDesc', 'Toàn quốc', i3)}${i2}</area>\n`
    : context.areas.map((area) => `${i2}<area>\n` +
      element('areaDesc', area.communes.length === 0 ? area.province.name : `${area.communes.map((c) => c.name).join(', ')} (${area.province.name})`, i3) +
      (area.communes.length === 0 ? geocode('VN-PROVINCE', area.province.code) : area.communes.map((c) => geocode('VN-COMMUNE', c.code)).join('')) +
      `${i2}</area>\n`).join('')
  return `<alert xmlns="${CAP_NAMESPACE}">\n` +
    element('identifier', identifier(context.sender, item, item.version), i1) +
    element('sender', context.sender, i1) +
    element('sent', capTime(item.updatedAt), i1) +
    element('status', item.test ? 'Exercise' : 'Actual', i1) +
    element('msgType', msgType, i1) +
    element('scope', 'Public', i1) +
    element('note', item.withdrawalReason, i1) +
    (references ? element('references', references, i1) : '') +
    `${i1}<info>\n` +
    element('language', item.language, i2) +
    (CATEGORIES[item.topic] ?? ['Other']).map((category) => element('category', category, i2)).join('') +
    element('event', context.topicTitle, i2) +
    element('urgency', item.status === 'withdrawn' ? 'Past' : scale.urgency, i2) +
    element('severity', scale.severity, i2) +
    element('certainty', scale.certainty, i2) +
    element('effective', capTime(item.validFrom), i2) +
    element('expires', item.validUntil && capTime(item.validUntil), i2) +
    element('senderName', 'Hệ thống thông tin nguồn trung ương', i2) +
    element('headline', item.title, i2) +
    element('description', description || null, i2) +
    resources + areas +
    `${i1}</info>\n` +
    '</alert>\n'
}

export const capDocument = (alert: string) => `<?xml version="1.0" encoding="UTF-8"?>\n${alert}`

/** An Atom feed of alerts, each entry carrying its CAP document, newest first. */
export function capFeed(feed: { id: string, updated: string, basePath: string }, entries: { item: Item, alert: string }[]): string {
  const body = entries.map(({ item, alert }) => '  <entry>\n' +
    element('id', `urn:uuid:${item.id}:v${item.version}`, '    ') +
    element('title', item.title, '    ') +
    element('updated', new Date(item.updatedAt).toISOString(), '    ') +
    `    <link rel="alternate" type="${CAP_CONTENT_TYPE}" href="${escape(`${feed.basePath}/v2/contents/${item.id}/cap`)}"/>\n` +
    // Embedded as it is: indenting it would change the text of its elements.
    `    <content type="${CAP_CONTENT_TYPE}">\n${alert}    </content>\n` +
    '  </entry>\n').join('')
  return '<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n' +
    element('id', feed.id, '  ') + element('title', 'Thông tin khẩn cấp và ưu tiên (CAP 1.2)', '  ') + element('updated', feed.updated, '  ') +
    `  <link rel="self" href="${escape(`${feed.basePath}/v2/cap/alerts`)}"/>\n  <author>\n${element('name', 'Hệ thống thông tin nguồn trung ương', '    ')}  </author>\n` +
    body + '</feed>\n'
}
