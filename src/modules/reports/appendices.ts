import type { Static } from 'typebox'
import type { Appendix02Form, Appendix02Line, Appendix03Form, Appendix03Line, CrossCheckWarning } from '../../../schemas/reports.js'

type Line02 = Static<typeof Appendix02Line>
type Line03 = Static<typeof Appendix03Line>
type Warning = Static<typeof CrossCheckWarning>
export interface FieldProblem { pointer: string, message: string }

/**
 * Phụ lục 02 and 03 as the ministry reads them: a line per commune (and station, or funding
 * source), the province totals derived from the lines, a draft built from the registry, and
 * each submitted line checked against that draft.
 */

/** Province totals of Phụ lục 02, from its lines. */
export function appendix02Totals(form: Static<typeof Appendix02Form>) {
  const withStation = form.lines.filter((l) => l.stationId !== null)
  const byKind = { wired: 0, fm: 0, wiredFm: 0, ip: 0 }
  for (const line of withStation) if (line.stationKind) byKind[line.stationKind === 'wired_fm' ? 'wiredFm' : line.stationKind]++
  const sum = (pick: (l: Line02) => number) => form.lines.reduce((n, l) => n + pick(l), 0)
  return {
    communes: new Set(form.lines.map((l) => l.communeCode)).size,
    communesWithoutStation: new Set(form.lines.filter((l) => l.stationId === null).map((l) => l.communeCode)).size,
    stations: withStation.length,
    stationsByKind: byKind,
    clusters: { ip: sum((l) => l.clusters.ip), fm: sum((l) => l.clusters.fm), wired: sum((l) => l.clusters.wired) },
    newStations: withStation.filter((l) => l.programme === 'new_station').length,
    clustersReplaced: sum((l) => l.clustersReplaced),
    villagesCovered: sum((l) => l.villagesCovered),
  }
}

/** Totals of Phụ lục 03 by funding source, and overall, from its lines. */
export function appendix03Totals(form: Static<typeof Appendix03Form>) {
  const bySource = new Map<string, { source: string, newStations: number, clustersReplaced: number, clustersAdded: number, amountMillionVnd: number }>()
  for (const line of form.lines) {
    const total = bySource.get(line.fundingSource) ?? { source: line.fundingSource, newStations: 0, clustersReplaced: 0, clustersAdded: 0, amountMillionVnd: 0 }
    total.newStations += line.newStations
    total.clustersReplaced += line.clustersReplaced
    total.clustersAdded += line.clustersAdded
    total.amountMillionVnd = Math.round((total.amountMillionVnd + line.amountMillionVnd) * 1000) / 1000
    bySource.set(line.fundingSource, total)
  }
  const sources = [...bySource.values()].sort((a, b) => a.source.localeCompare(b.source))
  const sum = (key: 'newStations' | 'clustersReplaced' | 'clustersAdded' | 'amountMillionVnd') => Math.round(sources.reduce((n, s) => n + s[key], 0) * 1000) / 1000
  return {
    communes: new Set(form.lines.map((l) => l.communeCode)).size,
    bySource: sources,
    total: { newStations: sum('newStations'), clustersReplaced: sum('clustersReplaced'), clustersAdded: sum('clustersAdded'), amountMillionVnd: sum('amountMillionVnd') },
  }
}

/** What makes an appendix unusable: a commune of another province, a station or commune and source given twice. */
export function appendixProblems(form: 'appendix-02' | 'appendix-03', lines: (Line02 | Line03)[], communesOfProvince: Set<string>): FieldProblem[] {
  const problems: FieldProblem[] = []
  const seen = new Set<string>()
  lines.forEach((line, i) => {
    if (!communesOfProvince.has(line.communeCode)) problems.push({ pointer: `/lines/${i}/communeCode`, message: `commune ${line.communeCode} is not a commune of the province` })
    const key = form === 'appendix-02'
      ? ((line as Line02).stationId === null ? `commune ${line.communeCode} without a station` : `station ${(line as Line02).stationId}`)
      : `commune ${line.communeCode} and source ${(line as Line03).fundingSource}`
    if (seen.has(key)) problems.push({ pointer: `/lines/${i}`, message: `${key} has two lines` })
    seen.add(key)
  })
  return problems
}

/** Each submitted line of Phụ lục 02 against the registry's: a difference is a warning for the reviewer. */
export function crossCheckAppendix02(form: Static<typeof Appendix02Form>, registry: Line02[]): Warning[] {
  const byStation = new Map(registry.filter((l) => l.stationId).map((l) => [l.stationId!, l]))
  const warnings: Warning[] = []
  form.lines.forEach((line, i) => {
    if (line.stationId === null) return
    const known = byStation.get(line.stationId)
    if (!known) {
      warnings.push({ pointer: `/lines/${i}/stationId`, reported: 1, observed: 0, message: `station ${line.stationId} is not in service in the registry` })
      return
    }
    const figures: [string, number, number][] = [
      ['clusters/ip', line.clusters.ip, known.clusters.ip], ['clusters/fm', line.clusters.fm, known.clusters.fm], ['clusters/wired', line.clusters.wired, known.clusters.wired],
      ['clustersReplaced', line.clustersReplaced, known.clustersReplaced], ['villagesCovered', line.villagesCovered, known.villagesCovered],
    ]
    for (const [field, reported, observed] of figures) {
      if (reported !== observed) warnings.push({ pointer: `/lines/${i}/${field}`, reported, observed, message: `station ${line.stationId}: reported ${reported}, the registry holds ${observed}` })
    }
    for (const field of ['communeCode', 'stationKind', 'status', 'programme'] as const) {
      if (line[field] !== known[field]) warnings.push({ pointer: `/lines/${i}/${field}`, reported: 0, observed: 0, message: `station ${line.stationId}: reported ${String(line[field])}, the registry says ${String(known[field])}` })
    }
  })
  return warnings
}

/** Each submitted line of Phụ lục 03 against what the registry's programmes and funding sources give. */
export function crossCheckAppendix03(form: Static<typeof Appendix03Form>, registry: Line03[]): Warning[] {
  const key = (l: Line03) => `${l.communeCode}/${l.fundingSource}`
  const known = new Map(registry.map((l) => [key(l), l]))
  const warnings: Warning[] = []
  form.lines.forEach((line, i) => {
    const seen = known.get(key(line))
    for (const field of ['newStations', 'clustersReplaced', 'clustersAdded'] as const) {
      const observed = seen?.[field] ?? 0
      if (line[field] !== observed) warnings.push({ pointer: `/lines/${i}/${field}`, reported: line[field], observed, message: `commune ${line.communeCode}, ${line.fundingSource}: reported ${line[field]}, the registry gives ${observed}` })
    }
  })
  return warnings
}
