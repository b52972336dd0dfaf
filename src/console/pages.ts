/**
 * The console's pages, rendered on the server from what the service answers: every figure is
 * written as text, and every chart and the map have their figures in a table.
 */
import type { Static } from 'typebox'
import type { ContentItem, DeliveryReport, Reach } from '../../schemas/content.js'
import type { Cluster, Station } from '../../schemas/registry.js'
import type { FormSubmissions, ReportFormName, ReportPeriod, ReportStatus } from '../../schemas/reports.js'
import type { DeviceCurrentState } from '../../schemas/status.js'
import type { NationalSummary, ProvinceFigures } from '../../schemas/summaries.js'
import type { Trends } from '../../schemas/trends.js'
import type { ConsoleColour } from '../../schemas/console.js'
import { dailyChart } from './charts.js'
import { html, type Html, type Part } from './html.js'
import { formats, label, type Lang, type LabelKey } from './labels.js'
import { TILES } from './tiles.js'

export interface Caller { systemId: string, role: 'central' | 'province', provinceCode: string | null }

export interface PageContext {
  lang: Lang
  caller: Caller
  /** The 34 provinces' names by code, from the reference list. */
  provinceNames: ReadonlyMap<string, string>
  /** The page's path and query, for the link to the other language. */
  url: URL
}

type Band = 'good' | 'fair' | 'poor' | 'none'

const otherLanguageHref = (url: URL, lang: Lang) => {
  const target = new URL(url)
  target.searchParams.set('lang', lang === 'vi' ? 'en' : 'vi')
  return target.pathname + target.search
}

function layout(context: PageContext, current: 'map' | 'province' | 'trends' | 'emergencies' | null, title: string, main: Part): Html {
  const { lang, caller } = context
  const t = (key: LabelKey) => label(lang, key)
  const item = (name: NonNullable<typeof current>, href: string, text: string) =>
    html`<li><a href="${href}"${current === name ? html` aria-current="page"` : ''}>${text}</a></li>`
  const menu = caller.role === 'central'
    ? [item('map', '/', t('navMap')), item('trends', '/trends', t('navTrends')), item('emergencies', '/emergencies', t('navEmergencies'))]
    : [item('province', `/provinces/${caller.provinceCode ?? ''}`, t('navProvince')), item('trends', '/trends', t('navTrends'))]
  return html`<!doctype html>
<html lang="${lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} — ${t('consoleName')}</title>
<link rel="stylesheet" href="/assets/console.css">
</head>
<body>
<a class="skip" href="#main">${t('skipToContent')}</a>
<header>
  <p class="brand">${t('consoleName')}</p>
  <nav aria-label="${t('mainMenu')}"><ul>${menu}</ul></nav>
  <p class="caller">${t('signedInAs')}: <strong>${caller.systemId}</strong> (${t(caller.role === 'central' ? 'roleCentral' : 'roleProvince')})</p>
  <p class="language"><a href="${otherLanguageHref(context.url, lang)}" lang="${lang === 'vi' ? 'en' : 'vi'}" hreflang="${lang === 'vi' ? 'en' : 'vi'}">${t('otherLanguage')}</a></p>
</header>
<main id="main" tabindex="-1">
<h1>${title}</h1>
${main}
</main>
</body>
</html>
`
}

export function errorPage(context: PageContext, status: number, detail: string): Html {
  const t = (key: LabelKey) => label(context.lang, key)
  return layout(context, null, t('errorTitle'), html`<p class="problem">${status}: ${detail}</p><p><a href="/">${t('errorBack')}</a></p>`)
}

// The national map

type ReportState = Static<typeof ReportStatus>
/** Worst first: a province's state for the period is its least advanced form's. */
const REPORT_ORDER: readonly ReportState[] = ['missing', 'returned', 'late', 'submitted', 'accepted']
const REPORT_BAND: Record<ReportState, Band> = { missing: 'poor', returned: 'fair', late: 'fair', submitted: 'good', accepted: 'good' }

export function reportStateOf(figures: Static<typeof ProvinceFigures>): ReportState | undefined {
  const states = Object.values(figures.reports)
  return REPORT_ORDER.find((state) => states.includes(state))
}

/** The emergency the map and the board show first: central's newest active one, with where it stands in each province. */
export interface Emergency {
  item: Static<typeof ContentItem>
  deliveries: Static<typeof DeliveryReport>
  reach: Static<typeof Reach>
}

interface Measure { band: Band, text: string }

function measureOf(colour: Static<typeof ConsoleColour>, lang: Lang, figures: Static<typeof ProvinceFigures> | undefined, emergency: Emergency | undefined): Measure {
  const t = (key: LabelKey) => label(lang, key)
  const f = formats(lang)
  if (!figures) return { band: 'none', text: t('noData') }
  switch (colour) {
    case 'online': {
      const { online, registered } = figures.devices
      if (registered === 0) return { band: 'none', text: t('noData') }
      const share = online / registered
      return { band: share >= 0.8 ? 'good' : share >= 0.5 ? 'fair' : 'poor', text: `${f.percent(share)} (${online}/${registered})` }
    }
    case 'reports': {
      const state = reportStateOf(figures)
      return state ? { band: REPORT_BAND[state], text: t(state) } : { band: 'none', text: t('noPeriod') }
    }
    case 'emergency': {
      if (!emergency) return { band: 'none', text: t('noEmergency') }
      const province = emergency.deliveries.provinces.find((p) => p.province === figures.province)
      if (!province) return { band: 'none', text: t('notTargeted') }
      if (!province.acknowledgedAt) return { band: 'poor', text: t('notAcknowledged') }
      const seconds = emergency.reach.latency.byProvince.find((p) => p.province === figures.province)?.acknowledgedSeconds
      return { band: 'good', text: seconds === null || seconds === undefined ? t('acknowledged') : `${t('acknowledged')}: ${f.number(seconds)} ${t('seconds')}` }
    }
  }
}

function legendOf(colour: Static<typeof ConsoleColour>, lang: Lang): { band: Band, text: string }[] {
  const t = (key: LabelKey) => label(lang, key)
  switch (colour) {
    case 'online': return [{ band: 'good', text: t('bandHigh') }, { band: 'fair', text: t('bandMid') }, { band: 'poor', text: t('bandLow') }, { band: 'none', text: t('noData') }]
    case 'reports': return [
      { band: 'good', text: `${t('submitted')}, ${t('accepted')}` }, { band: 'fair', text: `${t('late')}, ${t('returned')}` },
      { band: 'poor', text: t('missing') }, { band: 'none', text: t('noPeriod') },
    ]
    case 'emergency': return [{ band: 'good', text: t('acknowledged') }, { band: 'poor', text: t('notAcknowledged') }, { band: 'none', text: `${t('notTargeted')}, ${t('noEmergency')}` }]
  }
}

export const COLOURS: readonly { colour: Static<typeof ConsoleColour>, key: LabelKey }[] = [
  { colour: 'online', key: 'colourOnline' }, { colour: 'reports', key: 'colourReports' }, { colour: 'emergency', key: 'colourEmergency' },
]

export function mapPage(context: PageContext, colour: Static<typeof ConsoleColour>, summary: Static<typeof NationalSummary>, emergency: Emergency | undefined): Html {
  const { lang } = context
  const t = (key: LabelKey) => label(lang, key)
  const f = formats(lang)
  const byCode = new Map(summary.provinces.map((p) => [p.province, p]))
  const switcher = html`<nav aria-label="${t('colourBy')}" class="colour-switch"><p>${t('colourBy')}:</p><ul>${COLOURS.map((c) =>
    html`<li><a href="/?colour=${c.colour}"${c.colour === colour ? html` aria-current="true"` : ''}>${t(c.key)}</a></li>`)}</ul></nav>`
  const colouredFor = colour === 'reports' && summary.period
    ? html`<p>${t('period')}: <strong>${summary.period.title}</strong> (${summary.period.id}), ${t('deadline')} ${f.instant(summary.period.deadline)}</p>`
    : colour === 'emergency'
      ? html`<p>${t('latestEmergency')}: ${emergency ? html`<strong lang="${emergency.item.language}">${emergency.item.title}</strong> (${f.instant(emergency.item.publishedAt)})` : t('noEmergency')}</p>`
      : ''
  const legend = html`<section aria-labelledby="legend-title" class="legend"><h2 id="legend-title">${t('legend')}</h2><ul>${legendOf(colour, lang).map((entry) =>
    html`<li><span class="swatch band-${entry.band}" aria-hidden="true"></span>${entry.text}</li>`)}</ul></section>`
  const tiles = html`<ol class="tiles" aria-label="${t('mapTitle')}">${TILES.map((tile) => {
    const figures = byCode.get(tile.code)
    const measure = measureOf(colour, lang, figures, emergency)
    return html`<li class="tile-${tile.code}"><a class="tile band-${measure.band}" href="/provinces/${tile.code}" data-province="${tile.code}"><span class="tile-name">${figures?.name ?? context.provinceNames.get(tile.code) ?? tile.code}</span><span class="tile-value">${measure.text}</span></a></li>`
  })}</ol>`
  const rows = summary.provinces.map((p) => html`<tr><td>${p.province}</td><th scope="row"><a href="/provinces/${p.province}">${p.name}</a></th>
    <td>${measureOf('online', lang, p, emergency).text}</td><td>${measureOf('reports', lang, p, emergency).text}</td><td>${measureOf('emergency', lang, p, emergency).text}</td></tr>`)
  const table = html`<section aria-labelledby="map-table-title"><h2 id="map-table-title">${t('mapTable')}</h2>
<table><thead><tr><th scope="col">${t('code')}</th><th scope="col">${t('province')}</th><th scope="col">${t('devicesOnlineOf')}</th><th scope="col">${t('reportState')}</th><th scope="col">${t('emergencyAck')}</th></tr></thead>
<tbody>${rows}</tbody></table></section>`
  return layout(context, 'map', t('mapTitle'), html`${switcher}${colouredFor}<div class="map">${tiles}${legend}</div>${table}
<p class="generated">${t('generatedAt')} ${f.instant(summary.generatedAt)}</p>`)
}

// One province

export interface ProvinceData {
  figures: Static<typeof ProvinceFigures>
  generatedAt: string
  period: Static<typeof ReportPeriod> | null
  reports: { form: ReportFormName, history: Static<typeof FormSubmissions.custom.History> }[]
  stations: Static<typeof Station.Record>[]
  clusters: Static<typeof Cluster.Record>[]
  /** Each device down, with since when (null beyond the devices the console looked up). */
  devicesDown: { device: Static<typeof DeviceCurrentState>, since: string | null }[]
}

const figureTable = (caption: string, rows: [string, string | number][], lang: Lang) => html`<table class="figures"><caption>${caption}</caption>
<thead><tr><th scope="col">${label(lang, 'figure')}</th><th scope="col">${label(lang, 'value')}</th></tr></thead>
<tbody>${rows.map(([name, value]) => html`<tr><th scope="row">${name}</th><td>${typeof value === 'number' ? formats(lang).number(value) : value}</td></tr>`)}</tbody></table>`

export function provincePage(context: PageContext, data: ProvinceData): Html {
  const { lang } = context
  const t = (key: LabelKey) => label(lang, key)
  const f = formats(lang)
  const p = data.figures
  const overview = html`<section aria-labelledby="overview-title"><h2 id="overview-title">${t('overview')}</h2><div class="figure-grid">
${figureTable(t('stations'), [[t('total'), p.stations.total], [t('wired'), p.stations.wired], [t('fm'), p.stations.fm], [t('wired_fm'), p.stations.wiredFm], [t('ip'), p.stations.ip]], lang)}
${figureTable(t('clusters'), [[t('total'), p.clusters.total], [t('ip'), p.clusters.ip], [t('fm'), p.clusters.fm], [t('wired'), p.clusters.wired], [t('boards'), p.boards.total]], lang)}
${figureTable(t('devicesNow'), [[t('online'), p.devices.online], [t('offline'), p.devices.offline], [t('stale'), p.devices.stale], [t('neverReported'), p.devices.neverReported],
    [t('upShare7'), f.percent(p.availability.upShareLast7Days)]], lang)}
${figureTable(t('content'), [[t('contentItems'), p.content.items], [t('contentDelivered'), p.content.delivered], [t('contentAcknowledged'), p.content.acknowledged], [t('contentPlayed'), p.content.played]], lang)}
</div></section>`
  const stateName = (d: Static<typeof DeviceCurrentState>) => d.stale ? t('stateStale') : d.state === 'fault' ? t('stateFault') : t('stateOffline')
  const down = html`<section aria-labelledby="down-title"><h2 id="down-title">${t('devicesDown')}</h2>${data.devicesDown.length === 0 ? html`<p>${t('noDevicesDown')}</p>` : html`<table>
<thead><tr><th scope="col">${t('deviceType')}</th><th scope="col">${t('deviceId')}</th><th scope="col">${t('state')}</th><th scope="col">${t('since')}</th><th scope="col">${t('lastReport')}</th></tr></thead>
<tbody>${data.devicesDown.map(({ device: d, since }) => html`<tr><td>${t(d.deviceType)}</td><th scope="row">${d.deviceId}</th><td>${stateName(d)}${d.faultMessage ? html` (${d.faultMessage})` : ''}</td><td>${since ? f.instant(since) : '—'}</td><td>${f.instant(d.observedAt)}</td></tr>`)}</tbody></table>`}</section>`
  const reports = html`<section aria-labelledby="reports-title"><h2 id="reports-title">${t('reports')}</h2>${!data.period ? html`<p>${t('noPeriod')}</p>` : html`
<p>${t('period')}: <strong>${data.period.title}</strong> (${data.period.id}), ${t('deadline')} ${f.instant(data.period.deadline)}</p>
${data.reports.map(({ form, history }) => {
    const state = (p.reports as Record<string, Static<typeof ReportStatus> | undefined>)[form]
    return html`<h3>${t('form')} ${t(form)}: ${state ? t(state) : t('noData')}</h3>${history.versions.length === 0 ? html`<p>${t('noVersions')}</p>` : html`<table>
<thead><tr><th scope="col">${t('version')}</th><th scope="col">${t('submittedAt')}</th><th scope="col">${t('onTime')}</th><th scope="col">${t('state')}</th><th scope="col">${t('warnings')}</th></tr></thead>
<tbody>${history.versions.map((v) => html`<tr><th scope="row">${v.version}</th><td>${f.instant(v.submittedAt)}</td><td>${v.onTime ? t('yes') : t('no')}</td><td>${v.state === 'submitted' ? t('awaitingReview') : t(v.state)}</td><td>${v.warnings.length ? v.warnings.map((w) => w.message).join('; ') : '—'}</td></tr>`)}</tbody></table>`}`
  })}`}</section>`
  // The lists are the service's first page; the counts are the summary's.
  const listed = (shown: number, total: number) => shown < total ? html`<p>${t('listedFirst').replace('{n}', f.number(shown))}</p>` : ''
  const stations = html`<section aria-labelledby="stations-title"><h2 id="stations-title">${t('stations')} (${f.number(p.stations.total)})</h2>${listed(data.stations.length, p.stations.total)}<table>
<thead><tr><th scope="col">${t('deviceId')}</th><th scope="col">${t('name')}</th><th scope="col">${t('commune')}</th><th scope="col">${t('kind')}</th><th scope="col">${t('status')}</th></tr></thead>
<tbody>${data.stations.map((s) => html`<tr><th scope="row">${s.id}</th><td>${s.name}</td><td>${s.communeCode}</td><td>${t(s.kind)}</td><td>${t(s.status)}</td></tr>`)}</tbody></table></section>`
  const clusters = html`<section aria-labelledby="clusters-title"><h2 id="clusters-title">${t('clusters')} (${f.number(p.clusters.total)})</h2>${listed(data.clusters.length, p.clusters.total)}<table>
<thead><tr><th scope="col">${t('deviceId')}</th><th scope="col">${t('station')}</th><th scope="col">${t('village')}</th><th scope="col">${t('kind')}</th><th scope="col">${t('status')}</th></tr></thead>
<tbody>${data.clusters.map((c) => html`<tr><th scope="row">${c.id}</th><td>${c.stationId}</td><td>${c.village ?? '—'}</td><td>${t(c.kind)}</td><td>${t(c.status)}</td></tr>`)}</tbody></table></section>`
  return layout(context, 'province', `${p.name} (${p.province})`, html`${overview}
<p><a href="/trends?province=${p.province}">${t('seeTrends')}</a></p>
${down}${reports}${stations}${clusters}
<p class="generated">${t('generatedAt')} ${f.instant(data.generatedAt)}</p>`)
}

// Trends

export function trendsPage(context: PageContext, trends: Static<typeof Trends>, provinceName: string | null): Html {
  const { lang } = context
  const t = (key: LabelKey) => label(lang, key)
  const f = formats(lang)
  const days = trends.days.map((d) => d.day)
  const describe = (values: (number | null)[], format: (n: number) => string) => t('chartRange')
    .replace('{from}', days[0] ?? '').replace('{to}', days.at(-1) ?? '').replace('{max}', format(Math.max(0, ...values.map((v) => v ?? 0))))
  const percent = (v: number) => `${f.number(v)}%`
  const series = [
    { id: 'up-share', title: t('chartUpShare'), values: trends.days.map((d) => d.upShare === null ? null : Math.round(d.upShare * 1000) / 10), kind: 'line' as const, max: 100, format: percent },
    { id: 'airtime', title: t('chartAirtime'), values: trends.days.map((d) => d.airtimeHours), kind: 'bars' as const, format: f.number },
    { id: 'plays', title: t('chartPlays'), values: trends.days.map((d) => d.contentPlays), kind: 'bars' as const, format: f.number },
    { id: 'reports', title: t('chartReports'), values: trends.days.map((d) => d.reportsSubmitted), kind: 'bars' as const, format: f.number },
  ]
  const charts = series.map((s) => dailyChart({ ...s, days, description: describe(s.values, s.format) }))
  const table = html`<section aria-labelledby="chart-table-title"><h2 id="chart-table-title">${t('chartTable')}</h2><table>
<thead><tr><th scope="col">${t('day')}</th>${series.map((s) => html`<th scope="col">${s.title}</th>`)}</tr></thead>
<tbody>${trends.days.map((d, i) => html`<tr><th scope="row">${d.day}</th>${series.map((s) => html`<td>${s.values[i] === null ? '—' : s.format(s.values[i]!)}</td>`)}</tr>`)}</tbody></table></section>`
  const title = provinceName ? `${t('trendsOf')} ${provinceName}` : t('trendsNational')
  return layout(context, 'trends', title, html`<div class="charts">${charts}</div>${table}
<p class="generated">${t('generatedAt')} ${f.instant(trends.generatedAt)}</p>`)
}

// The emergency board

export function emergenciesPage(context: PageContext, emergencies: Emergency[]): Html {
  const { lang } = context
  const t = (key: LabelKey) => label(lang, key)
  const f = formats(lang)
  const webhookText = { none: t('webhookNone'), pending: t('webhookPending'), delivered: t('webhookDelivered') }
  const boards = emergencies.map(({ item, deliveries, reach }, n) => {
    const seconds = new Map(reach.latency.byProvince.map((p) => [p.province, p.acknowledgedSeconds]))
    // Fastest acknowledgement first, then those still waiting, by code.
    const provinces = [...deliveries.provinces].sort((a, b) =>
      (seconds.get(a.province) ?? Infinity) - (seconds.get(b.province) ?? Infinity) || a.province.localeCompare(b.province))
    return html`<section aria-labelledby="emergency-${n}" class="emergency">
<h2 id="emergency-${n}" lang="${item.language}">${item.title}</h2>
${item.summary ? html`<p lang="${item.language}">${item.summary}</p>` : ''}
<p>${t('publishedAt')} ${f.instant(item.publishedAt)}. ${t('provincesAcknowledged')}: <strong>${reach.provincesAcknowledged}/${reach.provincesTargeted}</strong></p>
<table><thead><tr><th scope="col">${t('province')}</th><th scope="col">${t('webhook')}</th><th scope="col">${t('acknowledgedAt')}</th><th scope="col">${t('secondsToAck')}</th></tr></thead>
<tbody>${provinces.map((p) => {
      const s = seconds.get(p.province)
      return html`<tr class="${p.acknowledgedAt ? 'acknowledged' : 'waiting'}"><th scope="row"><a href="/provinces/${p.province}">${context.provinceNames.get(p.province) ?? p.province}</a> (${p.province})</th><td>${webhookText[p.webhook]}</td>
<td>${p.acknowledgedAt ? f.instant(p.acknowledgedAt) : t('notAcknowledged')}</td><td>${s === null || s === undefined ? '—' : `${f.number(s)} ${t('seconds')}`}</td></tr>`
    })}</tbody></table></section>`
  })
  return layout(context, 'emergencies', t('emergenciesTitle'), emergencies.length ? boards : html`<p>${t('noEmergency')}</p>`)
}

export function notForProvincePage(context: PageContext): Html {
  return layout(context, 'emergencies', label(context.lang, 'emergenciesTitle'), html`<p>${label(context.lang, 'emergencyOnlyCentral')}</p>`)
}
