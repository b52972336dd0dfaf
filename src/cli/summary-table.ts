import type { ProvinceFigures } from '../../schemas/summaries.js'

type SummaryRow = Pick<ProvinceFigures, 'stations' | 'clusters' | 'devices' | 'broadcast' | 'content'> & { province?: string, name?: string, reports?: Record<string, string | undefined> }

/** The summary as a fixed-width table an operator reads in a terminal. */
export function summaryTable(summary: { generatedAt: string, period: { id: string } | null, provinces: SummaryRow[], total?: SummaryRow }): string {
  const header = ['province', 'stations', 'IP %', 'clusters', 'online', 'offline', 'stale', 'hours 7d', 'content played', 'reports']
  const line = (label: string, r: SummaryRow) => [
    label, r.stations.total, (r.stations.ipShare * 100).toFixed(1), r.clusters.total, r.devices.online, r.devices.offline, r.devices.stale,
    r.broadcast.hoursLast7Days, `${r.content.played}/${r.content.items}`, Object.entries(r.reports ?? {}).map(([form, state]) => `${form}: ${state}`).join(', '),
  ].map(String)
  const rows = [header, ...summary.provinces.map((p) => line(`${p.province} ${p.name}`, p)), ...(summary.total ? [line('Toàn quốc', summary.total)] : [])]
  const widths = header.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  const table = rows.map((r) => r.map((cell, i) => (i === 0 || i === r.length - 1 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ').trimEnd())
  return [`summary at ${summary.generatedAt}, report period ${summary.period?.id ?? 'none'}`, ...table].join('\n') + '\n'
}
