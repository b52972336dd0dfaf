import type { ProvinceFigures } from '../../schemas/summaries.js'

/** Fixed-width columns, for a terminal: each padded to its widest cell, the columns in `rightAligned` on the right; empty cells as `-`. */
export function table(header: string[], rows: unknown[][], rightAligned: ReadonlySet<number> = new Set()): string {
  const cells = [header, ...rows.map((row) => row.map((cell) => (cell === null || cell === undefined ? '-' : String(cell))))]
  const widths = header.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)))
  return cells.map((row) => row.map((cell, i) => (rightAligned.has(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n') + '\n'
}

type SummaryRow = Pick<ProvinceFigures, 'stations' | 'clusters' | 'devices' | 'broadcast' | 'content'> & { province?: string, name?: string, reports?: Record<string, string | undefined> }

/** The summary as a fixed-width table an operator reads in a terminal. */
export function summaryTable(summary: { generatedAt: string, period: { id: string } | null, provinces: SummaryRow[], total?: SummaryRow }): string {
  const header = ['province', 'stations', 'IP %', 'clusters', 'online', 'offline', 'stale', 'hours 7d', 'content played', 'reports']
  const line = (label: string, r: SummaryRow) => [
    label, r.stations.total, (r.stations.ipShare * 100).toFixed(1), r.clusters.total, r.devices.online, r.devices.offline, r.devices.stale,
    r.broadcast.hoursLast7Days, `${r.content.played}/${r.content.items}`, Object.entries(r.reports ?? {}).map(([form, state]) => `${form}: ${state}`).join(', '),
  ]
  const rows = [...summary.provinces.map((p) => line(`${p.province} ${p.name}`, p)), ...(summary.total ? [line('Toàn quốc', summary.total)] : [])]
  // The figures on the right, the province and the reports on the left.
  const figures = new Set(header.map((_, i) => i).slice(1, -1))
  return `summary at ${summary.generatedAt}, report period ${summary.period?.id ?? 'none'}\n${table(header, rows, figures)}`
}
