/** Daily series drawn as small SVG charts, server-side; each chart's figures are also in a table on its page. */
import { html, type Html } from './html.js'

export interface DailySeries {
  id: string
  title: string
  /** What a screen reader hears instead of the drawing: the range and the highest value. */
  description: string
  days: readonly string[]
  values: readonly (number | null)[]
  kind: 'line' | 'bars'
  /** The top of the value axis; the series' own highest value when not given. */
  max?: number
  format: (value: number) => string
}

const WIDTH = 720
const HEIGHT = 220
const MARGIN = { top: 12, right: 16, bottom: 28, left: 56 }
const PLOT = { width: WIDTH - MARGIN.left - MARGIN.right, height: HEIGHT - MARGIN.top - MARGIN.bottom }

/** A round number at or above `value`, so the axis reads 0, half and top without odd figures. */
export function axisTop(value: number): number {
  if (value <= 0) return 1
  const magnitude = 10 ** Math.floor(Math.log10(value))
  const step = [1, 2, 2.5, 5, 10].find((s) => s * magnitude >= value)!
  return step * magnitude
}

export function dailyChart(series: DailySeries): Html {
  const n = series.values.length
  const top = series.max ?? axisTop(Math.max(0, ...series.values.map((v) => v ?? 0)))
  const x = (i: number) => MARGIN.left + (n <= 1 ? PLOT.width / 2 : (i / (n - 1)) * PLOT.width)
  const y = (v: number) => MARGIN.top + PLOT.height - (Math.min(v, top) / top) * PLOT.height
  const slot = PLOT.width / Math.max(n, 1)
  const marks = series.kind === 'bars'
    ? series.values.map((v, i) => v ? html`<rect x="${(MARGIN.left + i * slot + slot * 0.1).toFixed(1)}" y="${y(v).toFixed(1)}" width="${(slot * 0.8).toFixed(1)}" height="${(MARGIN.top + PLOT.height - y(v)).toFixed(1)}"/>` : '')
    // A day between days without data has no line to draw: its dot shows it.
    : html`<path d="${series.values.map((v, i) => v === null ? '' : `${i === 0 || series.values[i - 1] === null ? 'M' : 'L'}${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ')}"/>${
      series.values.map((v, i) => v === null ? '' : html`<circle cx="${x(i).toFixed(1)}" cy="${y(v).toFixed(1)}" r="3"/>`)}`
  const ticks = [0, top / 2, top].map((v) => html`<line class="grid" x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${y(v)}" y2="${y(v)}"/><text class="tick" x="${MARGIN.left - 6}" y="${y(v) + 4}" text-anchor="end">${series.format(v)}</text>`)
  const first = series.days[0] ?? ''
  const last = series.days[n - 1] ?? ''
  return html`<figure class="chart">
  <figcaption id="${series.id}-title">${series.title}</figcaption>
  <svg viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-labelledby="${series.id}-title ${series.id}-desc" class="chart-${series.kind}">
    <desc id="${series.id}-desc">${series.description}</desc>
    ${ticks}
    <g class="marks">${marks}</g>
    <text class="tick" x="${MARGIN.left}" y="${HEIGHT - 8}">${first}</text>
    <text class="tick" x="${WIDTH - MARGIN.right}" y="${HEIGHT - 8}" text-anchor="end">${last}</text>
  </svg>
</figure>`
}
