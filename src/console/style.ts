/** The console's one style sheet, served by the console itself; tile places come from the tile grid. */
import { TILE_GRID, TILES } from './tiles.js'

const tilePlaces = TILES.map((tile) => `.tile-${tile.code} { grid-row: ${tile.row}; grid-column: ${tile.column}; }`).join('\n')

// Text #1a1a1a on every background below stays above 4.5:1 (WCAG AA); the focus ring is above 3:1 on white.
export const CONSOLE_CSS = `
*, *::before, *::after { box-sizing: border-box; }
body { margin: 0; font-family: system-ui, "Segoe UI", Roboto, "Noto Sans", sans-serif; font-size: 1rem; line-height: 1.5; color: #1a1a1a; background: #fff; }
a { color: #0b4f9c; }
a:focus-visible, [tabindex]:focus-visible { outline: 3px solid #b34700; outline-offset: 2px; }
.skip { position: absolute; left: -100vw; top: 0; background: #fff; padding: .5rem 1rem; }
.skip:focus { left: 0; }
header { display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; align-items: center; padding: .75rem 1rem; background: #eef3fa; border-bottom: 1px solid #7a8aa0; }
header p { margin: 0; }
.brand { font-weight: 700; }
header nav ul { display: flex; gap: 1rem; list-style: none; margin: 0; padding: 0; }
header nav a[aria-current="page"] { font-weight: 700; text-decoration-thickness: 3px; }
main { padding: 1rem; max-width: 72rem; }
main:focus { outline: none; }
h1 { font-size: 1.6rem; margin: .5rem 0 1rem; }
h2 { font-size: 1.25rem; margin: 1.5rem 0 .5rem; }
h3 { font-size: 1.05rem; margin: 1rem 0 .25rem; }
table { border-collapse: collapse; margin: .5rem 0 1rem; }
th, td { border: 1px solid #8a8a8a; padding: .25rem .5rem; text-align: left; vertical-align: top; }
thead th { background: #eef3fa; }
caption { text-align: left; font-weight: 700; padding: .25rem 0; }
.figure-grid { display: flex; flex-wrap: wrap; gap: 0 1.5rem; }
.colour-switch { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; }
.colour-switch p { margin: 0; }
.colour-switch ul { display: flex; flex-wrap: wrap; gap: .5rem; list-style: none; margin: 0; padding: 0; }
.colour-switch a { display: inline-block; padding: .25rem .75rem; border: 2px solid #0b4f9c; border-radius: .25rem; text-decoration: none; }
.colour-switch a[aria-current="true"] { background: #0b4f9c; color: #fff; }
.map { display: flex; flex-wrap: wrap; gap: 1.5rem; align-items: flex-start; }
.tiles { display: grid; grid-template-columns: repeat(${TILE_GRID.columns}, minmax(7.5rem, 1fr)); grid-template-rows: repeat(${TILE_GRID.rows}, auto); gap: .25rem; list-style: none; margin: 0; padding: 0; flex: 1 1 40rem; }
.tile { display: flex; flex-direction: column; min-height: 3.5rem; padding: .25rem .4rem; border: 1px solid #4d4d4d; border-radius: .25rem; color: #1a1a1a; text-decoration: none; font-size: .85rem; line-height: 1.25; }
.tile:hover .tile-name { text-decoration: underline; }
.tile-name { font-weight: 700; }
.band-good { background: #cdebd3; }
.band-fair { background: #fbe7a1; }
.band-poor { background: #f8c9c4; }
.band-none { background: #e6e6e6; }
.legend ul { list-style: none; margin: 0; padding: 0; }
.legend li { display: flex; gap: .5rem; align-items: center; margin: .25rem 0; }
.swatch { display: inline-block; width: 1.5rem; height: 1rem; border: 1px solid #4d4d4d; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(28rem, 1fr)); gap: 1rem; }
.chart { margin: 0; }
.chart figcaption { font-weight: 700; }
.chart svg { width: 100%; height: auto; }
.chart .grid { stroke: #b0b0b0; stroke-width: 1; }
.chart .tick { font-size: 15px; fill: #1a1a1a; }
.chart-line .marks path { fill: none; stroke: #0b4f9c; stroke-width: 2.5; }
.chart-line .marks circle { fill: #0b4f9c; }
.chart-bars .marks rect { fill: #0b4f9c; }
.problem { font-weight: 700; }
.generated { color: #4d4d4d; font-size: .9rem; }
${tilePlaces}
`
